import json
from pathlib import Path

import pytest

from bench import __version__
from tests.cli_helpers import run_bench


def test_version() -> None:
    result = run_bench("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"bench {__version__}"


def test_help_lists_subcommands() -> None:
    result = run_bench("--help")
    assert result.exit_code == 0 and "info" in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    assert run_bench("frobnicate").exit_code == 2


def test_info_reports_environment(bench_home: Path) -> None:
    result = run_bench("info")
    assert result.exit_code == 0, result.stderr
    assert "body model      skeleton (built in)" in result.stdout
    assert str(bench_home) in result.stdout


def test_info_json(bench_home: Path) -> None:
    result = run_bench("info", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["bench"] == __version__
    assert data["body_model"]["backend"] == "skeleton"
    assert data["packages"]["torch"].startswith("2.13.0")
    assert data["results_store"]["present"] is False


def test_info_switches_to_smpl_backend(bench_home: Path, tiny_smpl_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_BODY_MODELS", str(tiny_smpl_dir))
    result = run_bench("info", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["body_model"]["backend"] == "smpl"


def test_info_bad_body_model_path(bench_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_BODY_MODELS", str(tmp_path / "missing" / "SMPL_NEUTRAL.npz"))
    result = run_bench("info")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "SMPL_NEUTRAL.npz" in lines[0]


def test_internal_errors_exit_1_without_traceback(bench_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.cli.info as info_module

    def boom(config):  # noqa: ANN001
        raise RuntimeError("kaboom")

    monkeypatch.setattr(info_module, "collect_info", boom)
    result = run_bench("info")
    assert result.exit_code == 1
    assert "internal error: RuntimeError: kaboom" in result.stderr and "Traceback" not in result.stderr
    debug = run_bench("--debug", "info")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr
