"""Fixtures of the importer tests: fake AMASS + release folders in tmp dirs, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_helpers import CliResult, run_bench
from tests.data.importers.fixtures import AmassTruth, build_amass, build_posefix, build_posescript_v2


@pytest.fixture
def amass(tmp_path: Path) -> tuple[Path, AmassTruth]:
    """A fake AMASS root (mixed old/new folder names) and what its frames contain."""
    root = tmp_path / "amass"
    return root, build_amass(root)


@pytest.fixture
def posescript_release(tmp_path: Path) -> Path:
    release = tmp_path / "posescript_release"
    build_posescript_v2(release)
    return release


@pytest.fixture
def posefix_release(tmp_path: Path) -> Path:
    release = tmp_path / "posefix_release"
    build_posefix(release)
    return release


@pytest.fixture
def import_cli(bench_home: Path) -> Callable[..., CliResult]:
    """``bench data import ARGS...`` in-process, with an empty BENCH_HOME."""

    def run(*args: str | Path) -> CliResult:
        return run_bench("data", "import", *(str(a) for a in args))

    return run
