"""Uploading a bundle in the page: the CLI's validator and scorer, a clear one-line error, nothing
stored on failure, the table rebuilt on success."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from bench.store import ResultsStore
from leaderboard.build import load_table, table_digest
from tests.leaderboard.conftest import open_app, show
from tests.submissions.bundles import meta_for, write_bundle, zip_bundle
from tasks import get_task


@pytest.fixture
def upload_app(board_home: Path, synth_small: Path) -> AppTest:
    """The app over the test board, with the small synth dataset available under BENCH_HOME/data."""
    (board_home / "data").mkdir()
    (board_home / "data" / "synth-small").symlink_to(synth_small)
    return show(open_app(), "Submit")


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="bundle").upload(name, data, "application/zip")
    at.run()
    at.button(key="upload_go").click().run()
    return at


def stored_runs(home: Path) -> list[dict[str, Any]]:
    with ResultsStore(home / "results.sqlite", create=False) as store:
        return store.runs()


def test_bad_bundle_is_refused_and_nothing_changes(upload_app: AppTest, board_home: Path, tmp_path: Path,
                                                  synth_dataset: Any) -> None:  # fmt: skip
    runs, digest = stored_runs(board_home), table_digest(board_home / "leaderboard" / "table.parquet")
    predictions = {"image2pose": get_task("image2pose").reference_predictions(synth_dataset, "ceiling")}
    meta = meta_for(["image2pose"], data="synth-small")
    del meta["licence"]
    bundle = zip_bundle(write_bundle(tmp_path / "b", predictions, meta=meta), tmp_path / "b.zip")
    at = upload(upload_app, "my<b>bundle.zip", bundle.read_bytes())
    assert not at.exception and len(at.error) == 1
    message = at.error[0].value.replace("\\", "")
    assert message == "my<b>bundle.zip:meta.json: field 'licence': missing required field (expected a non-empty string)"
    assert not at.success
    assert stored_runs(board_home) == runs
    assert table_digest(board_home / "leaderboard" / "table.parquet") == digest


def test_good_bundle_is_scored_stored_and_shown(upload_app: AppTest, board_home: Path, tmp_path: Path,
                                                synth_dataset: Any) -> None:  # fmt: skip
    before = len(stored_runs(board_home))
    predictions = {"image2pose": get_task("image2pose").reference_predictions(synth_dataset, "ceiling")}
    meta = meta_for(["image2pose"], model_name="uploaded-model", data="synth-small")
    bundle = zip_bundle(write_bundle(tmp_path / "b", predictions, meta=meta, pose_format="npz"), tmp_path / "b.zip")
    at = upload(upload_app, "uploaded.zip", bundle.read_bytes())
    assert not at.exception and not at.error
    assert "Stored run" in at.success[0].value and "uploaded" in at.success[0].value
    runs = stored_runs(board_home)
    assert len(runs) == before + 1 and runs[0]["model_name"] == "uploaded-model" and runs[0]["status"] == "verified"
    board = load_table(board_home / "leaderboard" / "table.parquet")
    mine = board.scores[(board.scores["entry"] == "uploaded-model") & (board.scores["metric"] == "pa_mpjpe_mm")]
    assert len(mine) == 1 and mine["value"].iloc[0] == pytest.approx(0.0, abs=1e-3)  # ground truth: zero error
    show(at, "Leaderboard")
    at.toggle(key="ineligible").set_value(True).run()
    assert "uploaded-model" in set(at.dataframe[0].value["Entry"])


def test_only_zip_files_are_accepted(upload_app: AppTest, board_home: Path) -> None:
    runs = stored_runs(board_home)
    assert upload_app.file_uploader(key="bundle").allowed_type == [".zip"]
    at = upload(upload_app, "bundle.zip", json.dumps({"not": "a zip"}).encode())
    assert "not a valid zip archive" in at.error[0].value.replace("\\", "")
    assert stored_runs(board_home) == runs
