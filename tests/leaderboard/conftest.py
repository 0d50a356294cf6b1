"""Fixtures of the leaderboard tests: a results store with the known entries of ``entries.py``,
its table, and the app under Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from leaderboard.build import build_table
from leaderboard.serve import APP_PATH, TABLE_ENV
from tests.leaderboard.entries import fill_store
from tests.tasks.fixtures import synth_dataset  # noqa: F401  (session fixture shared with the task tests)

APP_TIMEOUT_S = 120


@pytest.fixture
def board_home(bench_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BENCH_HOME holding a store with :data:`entries.ENTRIES` and its built table (default path)."""
    monkeypatch.delenv(TABLE_ENV, raising=False)
    store = bench_home / "results.sqlite"
    fill_store(store)
    build_table(store, bench_home / "leaderboard" / "table.parquet")
    return bench_home


def open_app() -> AppTest:
    """The leaderboard app after its first run."""
    at = AppTest.from_file(str(APP_PATH), default_timeout=APP_TIMEOUT_S)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app(board_home: Path) -> AppTest:
    """The app over :func:`board_home`'s table, first run done."""
    return open_app()


def show(at: AppTest, section: str) -> AppTest:
    """Open a section (lazy tab) and rerun; fails on any exception in the page."""
    at.session_state["section"] = section
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
