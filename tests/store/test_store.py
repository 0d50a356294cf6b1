"""The results store: schema and migrations, atomic runs, reading back, and the results CLI."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from bench.errors import NotFoundError, UserError
from bench.store import ResultsStore
from bench.store_migrations import LATEST_VERSION, current_version
from submissions.result import RunResult
from tasks.result import TaskResult
from tests.cli_helpers import run_bench
from tests.store.runs import make_run


def test_new_store_has_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "results.sqlite"
    with ResultsStore(path) as store:
        assert store.runs() == []
    conn = sqlite3.connect(path)
    assert current_version(conn) == LATEST_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_add_run_and_read_back(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "r.sqlite") as store:
        first = store.add_run(make_run("a"))
        second = store.add_run(make_run("b", value=50.0))
        assert [r["id"] for r in store.runs()] == [second, first]
        run = store.run(first)
        assert run["model_name"] == "a" and run["meta"] == {"model_name": "a"} and run["settings"]["batch_size"] == 8
        main = next(s for s in run["scores"] if s["is_main"])
        assert (main["metric"], main["value"], main["ci_low"]) == ("r_precision_top1", 42.0, 37.0)
        assert main["protocol"]["seed"] == 0
        bleu = next(s for s in run["scores"] if s["metric"] == "bleu4")
        assert bleu["ci_low"] is None and bleu["unit"] == "x100"
        samples = store.samples(first, "pose2text")
        assert [s["sample_id"] for s in samples] == ["s0", "s1", "s2"]
        assert samples[1]["metrics"] == {"r_precision_top1": 100.0}
        assert len(store.scores()) == 4 and store.scores(eligible_only=True) == []


def test_unknown_run_is_not_found(tmp_path: Path) -> None:
    with ResultsStore(tmp_path / "r.sqlite") as store, pytest.raises(NotFoundError, match="no run with id 7"):
        store.run(7)


def test_missing_store_without_create(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no results store"):
        ResultsStore(tmp_path / "absent.sqlite", create=False)
    assert not (tmp_path / "absent.sqlite").exists()


def test_failed_write_leaves_store_unchanged(tmp_path: Path) -> None:
    """A run whose samples break a constraint half-way is rolled back entirely."""
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as store:
        store.add_run(make_run("kept"))
    before = _dump(path)
    bad = make_run("broken")
    task = bad.tasks["pose2text"]
    duplicated = TaskResult(task.task, task.task_version, task.n, task.data_hash, task.evaluator_id,
                            task.evaluator_sha256, task.metrics, task.samples + task.samples[:1])  # fmt: skip
    bad = RunResult(**{**bad.__dict__, "tasks": {"pose2text": duplicated}})
    with ResultsStore(path) as store, pytest.raises(sqlite3.IntegrityError):
        store.add_run(bad)
    assert _dump(path) == before


def test_interrupted_write_leaves_store_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as store:
        store.add_run(make_run("kept"))
    before = _dump(path)
    import bench.store as store_module

    real_json = store_module._json
    calls = {"n": 0}

    def interrupting_json(value: object) -> str:
        calls["n"] += 1
        if calls["n"] == 8:  # after the run row and some scores were inserted
            raise KeyboardInterrupt
        return real_json(value)

    monkeypatch.setattr(store_module, "_json", interrupting_json)
    with ResultsStore(path) as store, pytest.raises(KeyboardInterrupt):
        store.add_run(make_run("interrupted"))
    assert _dump(path) == before


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    ResultsStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (?, 'from the future', 'x')", (LATEST_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(UserError, match="newer than this bench supports"):
        ResultsStore(path)


def test_garbage_file_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="not a readable results store"):
        ResultsStore(path)


def _dump(path: Path) -> list[tuple[str, list[tuple]]]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    out = [(t, sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)) for t in tables]
    conn.close()
    return out


# ----- CLI ------------------------------------------------------------------------------------------


@pytest.fixture
def stored(bench_home: Path) -> Path:
    with ResultsStore(bench_home / "results.sqlite") as store:
        store.add_run(make_run("alpha"))
        store.add_run(make_run("beta", value=60.0))
    return bench_home / "results.sqlite"


def test_results_list_empty_without_store(bench_home: Path) -> None:
    result = run_bench("results", "list")
    assert result.exit_code == 0 and "(none)" in result.stdout
    assert not (bench_home / "results.sqlite").exists()


def test_results_list_and_show(stored: Path) -> None:
    listed = run_bench("results", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [r["model_name"] for r in json.loads(listed.stdout)] == ["beta", "alpha"]
    shown = run_bench("results", "show", "1")
    assert shown.exit_code == 0 and "alpha" in shown.stdout and "r_precision_top1 *" in shown.stdout
    assert json.loads(run_bench("results", "show", "2", "--json").stdout)["scores"][0]["value"] == 60.0
    missing = run_bench("results", "show", "9")
    assert missing.exit_code == 2 and "no run with id 9" in missing.stderr


def test_results_export_formats(stored: Path, tmp_path: Path) -> None:
    as_csv = run_bench("results", "export", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 4 and {r["model_name"] for r in rows} == {"alpha", "beta"}
    assert json.loads(rows[0]["protocol"])
    as_json = json.loads(run_bench("results", "export", "--format", "json").stdout)
    assert {r["metric"] for r in as_json} == {"r_precision_top1", "bleu4"}
    out = tmp_path / "scores.parquet"
    assert run_bench("results", "export", "--format", "parquet", "--out", str(out)).exit_code == 0
    frame = pd.read_parquet(out)
    assert len(frame) == 4 and frame.loc[frame.metric == "r_precision_top1", "value"].tolist() == [42.0, 60.0]
    no_out = run_bench("results", "export", "--format", "parquet")
    assert no_out.exit_code == 2 and "--out" in no_out.stderr


def test_results_show_lists_the_samples_that_fell_back(bench_home: Path) -> None:
    failures = {"pose2text": {f"test_{i:05d}_0": "timeout" for i in range(12)}, "text2pose": {"test_00003_1": "NaN"}}
    with ResultsStore(bench_home / "results.sqlite") as store:
        store.add_run(make_run("scored"))  # scored from files: no fallback line
        for summary in ({"failures": failures}, {"failures": {}}):
            run = make_run("ran")
            store.add_run(replace(run, settings={**run.settings, "bench_run": summary}))
    assert "fallback" not in run_bench("results", "show", "1").stdout
    shown = run_bench("results", "show", "2")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("fallback"))
    assert lines[start : start + 3] == [
        "fallback  13 samples got the fallback answer (the model failed on them; --json has why):",
        "          pose2text (12): " + ", ".join(f"test_{i:05d}_0" for i in range(10)) + ", ... and 2 more",
        "          text2pose (1): test_00003_1",
    ]
    assert "fallback  none (the model answered every sample)" in run_bench("results", "show", "3").stdout
