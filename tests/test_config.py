from pathlib import Path

import pytest

from bench.config import load_config
from bench.errors import ConfigError


def test_defaults_without_env(tmp_path: Path) -> None:
    config = load_config(env={"HOME": str(tmp_path)})
    assert config.body_model == "skeleton"
    assert config.body_models is None
    assert config.results_store.name == "results.sqlite"
    assert config.sources["home"] == "default"


def test_env_overrides_and_body_model_switch(tmp_path: Path) -> None:
    smpl = tmp_path / "SMPL_NEUTRAL.npz"
    config = load_config(env={"BENCH_HOME": str(tmp_path / "h"), "BENCH_BODY_MODELS": str(smpl)})
    assert config.home == tmp_path / "h"
    assert config.data_dir == tmp_path / "h" / "data"
    assert config.body_model == "smpl" and config.body_models == smpl
    smplh = load_config(env={"BENCH_HOME": str(tmp_path), "BENCH_BODY_MODELS": str(tmp_path / "SMPLH_NEUTRAL.npz")})
    assert smplh.body_model == "smplh"


def test_config_file_is_read_and_env_wins(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('body_model = "skeleton"\ndevice = "cpu"\ntext_model = "/x"\n')
    config = load_config(env={"BENCH_HOME": str(tmp_path), "BENCH_TEXT_MODEL": "/y"})
    assert config.config_file == tmp_path / "config.toml"
    assert config.text_model == Path("/y") and config.sources["text_model"] == "env"
    assert config.sources["device"] == "file"


@pytest.mark.parametrize(
    "content, message",
    [("home = [", "not valid TOML"), ("colour = 'red'", "unknown key"), ("device = 3", "expected a string"),
     ('body_model = "mano"', "unknown body model")],
)
def test_bad_config_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={"BENCH_HOME": str(tmp_path)})


def test_explicit_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_with_overrides_records_option_source(tmp_path: Path) -> None:
    config = load_config(env={"BENCH_HOME": str(tmp_path)}).with_overrides(device="cuda", text_model=None)
    assert config.device == "cuda" and config.sources["device"] == "option"
    assert config.text_model is None
