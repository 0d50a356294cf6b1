"""Session-wide fixtures shared by every test area.

Area-local fixtures live in ``tests/<area>/conftest.py``. Fixtures here are built once per session
(the small synth dataset, tiny trained evaluators) because they cost seconds each. Edit this file by
adding fixtures; never rewrite it wholesale.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never touch the network or the user's home.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def bench_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty BENCH_HOME for one test; BENCH_BODY_MODELS and BENCH_CONFIG unset."""
    home = tmp_path / "bench_home"
    home.mkdir()
    monkeypatch.setenv("BENCH_HOME", str(home))
    for var in ("BENCH_BODY_MODELS", "BENCH_CONFIG", "BENCH_TEXT_MODEL"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def tiny_smpl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only folder in smplx layout with tiny synthetic models (tests/body/tiny_smpl.py):
    ``smpl/SMPL_NEUTRAL.npz`` (24 joints, 144 vertices) and ``smplh/SMPLH_NEUTRAL.npz`` (52 joints).
    Use it as ``load_body_model("smpl", tiny_smpl_dir)`` or ``BENCH_BODY_MODELS``."""
    from tests.body.tiny_smpl import smpl_model_arrays, write_smpl_model

    root = tmp_path_factory.mktemp("tiny_smpl")
    for model_type in ("smpl", "smplh"):
        write_smpl_model(root, smpl_model_arrays(model_type), model_type=model_type)
    return root


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small PoseBench-Synth dataset (``build_synth(root, size="small", seed=0)``), built once per
    test session (well under a minute); returns its folder, named ``synth-small``. Open it with
    ``bench.data.load_dataset(path, path.parent)``. Its files are read-only: copy it to modify it."""
    from bench.data.synth.build import build_synth

    root = tmp_path_factory.mktemp("synth_data") / "synth-small"
    build_synth(root, size="small", seed=0, workers=2)
    for path in root.rglob("*"):
        if path.is_file():
            path.chmod(0o444)
    return root
