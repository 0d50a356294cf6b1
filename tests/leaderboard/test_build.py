"""``bench leaderboard build``: the store → one parquet table with task metadata, and reading it back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.errors import NotFoundError, UserError
from bench.store import ResultsStore
from leaderboard.build import FORMAT_VERSION, METADATA_KEY, SCHEMA, build_table, load_table, table_digest
from tests.cli_helpers import run_bench
from tests.leaderboard.entries import ENTRIES, Entry, fill_store, run_result
from tests.store.runs import make_run


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    ids = fill_store(tmp_path / "r.sqlite")
    build_table(tmp_path / "r.sqlite", tmp_path / "t.parquet")
    return tmp_path / "t.parquet", ids


def test_table_holds_every_score_with_run_metadata(built: tuple[Path, dict[str, int]]) -> None:
    path, ids = built
    board = load_table(path)
    frame = board.scores
    assert list(frame.columns) == SCHEMA.names
    assert set(frame["run_id"]) == set(ids.values()) and board.meta["runs"] == len(ENTRIES)
    uni = frame[(frame["entry"] == "UniPose-small") & (frame["task"] == "rpe") & (frame["metric"] == "pa_mpjpe_mm")].iloc[0]
    assert (uni["value"], uni["state"], uni["is_main"], uni["direction"], uni["unit"]) == (48.0, "ok", True, "lower", "mm")
    assert (uni["joint_set"], uni["alignment"], uni["parameter_count"], uni["date"]) == ("lsp14", "procrustes", 250_000_000, "2025-03-01")
    assert json.loads(uni["protocol_json"])["joint_set"] == "lsp14"
    smoke = frame[frame["entry"] == "smoke-test"].iloc[0]
    assert not smoke["eligible"] and smoke["ineligible_reasons"].startswith("--limit 8")


def test_missing_default_metric_becomes_a_failed_row(built: tuple[Path, dict[str, int]]) -> None:
    frame = load_table(built[0]).scores
    failed = frame[frame["state"] == "failed"]
    assert list(zip(failed["entry"], failed["task"], failed["metric"])) == [("broken-model", "text2pose", "recall_t2p_top5")]
    assert failed["is_main"].all() and failed["value"].isna().all()
    assert not (frame["metric"].str.contains("posescript_top2")).any()  # variants not requested are not failures


def test_task_metadata_travels_in_the_parquet(built: tuple[Path, dict[str, int]]) -> None:
    meta = json.loads(pq.read_schema(built[0]).metadata[METADATA_KEY])
    assert meta["version"] == FORMAT_VERSION and meta["rp_protocols"] == ["blocks32", "posescript"]
    pose2text = meta["tasks"]["pose2text"]
    assert pose2text["main_by_protocol"] == {"blocks32": "r_precision_top1", "posescript": "r_precision_posescript_top1"}
    assert (pose2text["family"], pose2text["input_modality"], pose2text["main_direction"]) == ("comprehension", "pose", "higher")
    assert meta["tasks"]["rpe"]["main_by_protocol"] == {} and meta["tasks"]["rpe"]["family"] == "reasoning"


def test_task_unknown_to_the_registry_keeps_its_rows(tmp_path: Path) -> None:
    run = make_run("legacy")
    legacy = run.tasks["pose2text"]
    run = replace(run, tasks={"oldtask": replace(legacy, task="oldtask")})
    with ResultsStore(tmp_path / "r.sqlite") as store:
        store.add_run(run)
    build_table(tmp_path / "r.sqlite", tmp_path / "t.parquet")
    board = load_table(tmp_path / "t.parquet")
    info = board.meta["tasks"]["oldtask"]
    assert (info["family"], info["main_metric"], info["main_direction"]) == ("unknown", "r_precision_top1", "higher")
    assert set(board.scores["state"]) == {"ok"}


def test_rebuild_changes_the_digest(tmp_path: Path) -> None:
    fill_store(tmp_path / "r.sqlite", ENTRIES[:2])
    build_table(tmp_path / "r.sqlite", tmp_path / "t.parquet")
    before = table_digest(tmp_path / "t.parquet")
    with ResultsStore(tmp_path / "r.sqlite") as store:
        store.add_run(run_result(Entry("new", 0.5)))
    build_table(tmp_path / "r.sqlite", tmp_path / "t.parquet")
    assert table_digest(tmp_path / "t.parquet") != before
    assert list(tmp_path.glob(".table-*")) == []  # no temporary file left behind


def test_unreadable_tables_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="bench leaderboard build"):
        load_table(tmp_path / "absent.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(UserError, match="not a readable parquet file"):
        load_table(tmp_path / "junk.parquet")
    pq.write_table(pa.Table.from_pandas(pd.DataFrame({"a": [1]})), tmp_path / "plain.parquet")
    with pytest.raises(UserError, match="not a PoseBench leaderboard table"):
        load_table(tmp_path / "plain.parquet")
    fill_store(tmp_path / "r.sqlite", ENTRIES[:1])
    build_table(tmp_path / "r.sqlite", tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet")
    meta = json.loads(table.schema.metadata[METADATA_KEY])
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps({**meta, "version": 99})}), tmp_path / "v99.parquet")
    with pytest.raises(UserError, match="format version 99"):
        load_table(tmp_path / "v99.parquet")


def test_cli_build(bench_home: Path) -> None:
    missing = run_bench("leaderboard", "build")
    assert missing.exit_code == 2 and "no results store yet" in missing.stderr
    fill_store(bench_home / "results.sqlite", ENTRIES[:3])
    result = run_bench("leaderboard", "build", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["runs"] == 3 and out["tasks"] == 9 and Path(out["table"]) == bench_home / "leaderboard" / "table.parquet"
    other = bench_home / "elsewhere.parquet"
    assert run_bench("leaderboard", "build", "--table", str(other)).exit_code == 0 and other.is_file()


def test_cli_build_says_how_many_runs_it_hides_as_ineligible(bench_home: Path) -> None:
    store = bench_home / "results.sqlite"
    fill_store(store, ENTRIES[:3])
    everyone = run_bench("leaderboard", "build")
    assert everyone.exit_code == 0, everyone.stderr
    assert everyone.stdout.splitlines()[-1] == "ineligible: 0 of 3 runs (the app shows every run)"

    limit = "--limit 8: only part of each split was scored"
    body = "body model 'smpl'; leaderboard numbers use 'skeleton'"
    fill_store(store, (Entry("smoke-a", 0.5, eligible=False), Entry("smoke-b", 0.5, eligible=False)))
    with ResultsStore(store) as results:
        results.add_run(replace(make_run("both"), ineligible_reasons=(body, limit)))
    built = run_bench("leaderboard", "build")
    assert built.exit_code == 0, built.stderr
    assert built.stdout.splitlines()[1:] == [
        "ineligible: 3 of 6 runs, hidden unless 'Show ineligible runs' is on:",
        f"  3 runs: {limit}",
        f"  1 run: {body}",
    ]
    out = json.loads(run_bench("leaderboard", "build", "--json").stdout)
    assert (out["runs"], out["ineligible"], out["ineligible_reasons"]) == (6, 3, {limit: 3, body: 1})

    with ResultsStore(store) as results:
        for k in range(11):
            results.add_run(replace(make_run(f"odd-{k}"), ineligible_reasons=(f"reason {k:02d}",)))
    many = run_bench("leaderboard", "build").stdout.splitlines()
    assert many[1] == "ineligible: 14 of 17 runs, hidden unless 'Show ineligible runs' is on:"
    assert many[2:4] == [f"  3 runs: {limit}", f"  1 run: {body}"] and len(many) == 2 + 10 + 1
    assert many[-1] == "  ... and 3 more reasons (`bench leaderboard build --json` lists all)"
