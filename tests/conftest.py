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
