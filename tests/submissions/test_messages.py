"""Validation messages say what is true (issue #21 item 7): the problem cap and ``truncated``, NaN
written by ``json.dumps`` located by line, field and sample id, and ids past ``--limit``."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.errors import ValidationError
from bench.store import ResultsStore
from submissions import check_bundle, validate_bundle
from submissions.limits import MAX_PROBLEMS
from submissions.report import NonFiniteLiteral, ValidationReport, first_non_finite
from tests.cli_helpers import run_bench
from tests.store.runs import make_run
from tests.submissions.bundles import write_bundle

DOCS = Path(__file__).resolve().parents[2] / "docs" / "submission_format.md"
Base = dict[str, dict[str, Any]]


def opener(dataset: Any) -> Any:
    return lambda name: dataset


def with_garbage_lines(tmp_path: Path, base: Base, count: int) -> Path:
    """A bundle whose pose2text.jsonl has ``count`` lines that are not JSON (one problem each)."""
    root = write_bundle(tmp_path / "b", base)
    path = root / "pose2text.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(["not json"] * count + lines[count:]) + "\n")
    return root


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


# ----- 1. the problem cap ---------------------------------------------------------------------------


@pytest.mark.parametrize("count", [6, MAX_PROBLEMS])
def test_every_problem_up_to_the_cap_is_listed_and_not_truncated(
    count: int, tmp_path: Path, base_predictions: Base, synth_dataset: Any, synth_small: Path
) -> None:
    root = with_garbage_lines(tmp_path, base_predictions, count)
    report, bundle = check_bundle(root, opener(synth_dataset))
    assert bundle is None and [p.field for p in report.problems] == [f"line {n}" for n in range(1, count + 1)]
    assert report.truncated is False and report.truncation_note() is None

    as_json = run_bench("-q", "validate", str(root), "--data", str(synth_small), "--json")
    out = json.loads(as_json.stdout)
    assert as_json.exit_code == 2 and out["truncated"] is False and len(out["problems"]) == count
    shown = run_bench("-q", "validate", str(root), "--data", str(synth_small))
    assert shown.stdout.count("problem: ") == count and "note:" not in shown.stdout


def test_truncated_exactly_when_problems_are_left_out(tmp_path: Path, base_predictions: Base, synth_dataset: Any,
                                                      synth_small: Path) -> None:  # fmt: skip
    root = with_garbage_lines(tmp_path, base_predictions, MAX_PROBLEMS + 1)
    report, _ = check_bundle(root, opener(synth_dataset))
    assert len(report.problems) == MAX_PROBLEMS and report.truncated is True

    as_json = run_bench("-q", "validate", str(root), "--data", str(synth_small), "--json")
    out = json.loads(as_json.stdout)
    assert out["truncated"] is True and len(out["problems"]) == MAX_PROBLEMS and out["max_problems"] == MAX_PROBLEMS
    shown = run_bench("-q", "validate", str(root), "--data", str(synth_small))
    assert shown.exit_code == 2 and shown.stdout.count("problem: ") == MAX_PROBLEMS
    note = f"note: stopped after {MAX_PROBLEMS} problems; more were left out (fix these and validate again)"
    assert shown.stdout.splitlines()[-1] == note
    first = (f"error: {root / 'pose2text.jsonl'}: field 'line 1': not valid JSON (Expecting value: line 1 column 1 "
             f"(char 0)) (and {MAX_PROBLEMS - 1}+ more problems)")  # fmt: skip
    assert error_lines(shown.stderr) == [first]


def test_docs_state_the_cap_and_the_note_the_code_prints() -> None:
    docs = " ".join(DOCS.read_text(encoding="utf-8").split())
    report = ValidationReport(MAX_PROBLEMS, truncated=True)
    assert f"prints up to {MAX_PROBLEMS} problems for the whole bundle" in docs
    assert f"`note: {report.truncation_note()}`" in docs
    assert '`"truncated": true`' in docs


# ----- 2. NaN written by json.dumps -----------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["NaN", "Infinity", "-Infinity"])
def test_json_dumps_nan_names_file_line_field_and_sample(value: float, tmp_path: Path, base_predictions: Base,
                                                         synth_dataset: Any, synth_small: Path,
                                                         bench_home: Path) -> None:  # fmt: skip
    token = json.dumps(value)  # what Python writes: NaN, Infinity, -Infinity
    root = write_bundle(tmp_path / "b", base_predictions)
    path = root / "text2pose.jsonl"
    lines = path.read_text().splitlines()
    sample_id = json.loads(lines[3])["id"]
    pose = np.zeros((22, 3))
    pose[5, 2] = value
    lines[3] = json.dumps({"id": sample_id, "pose": pose.tolist()})
    assert token in lines[3]
    path.write_text("\n".join(lines) + "\n")
    expected = (f"{path}: sample '{sample_id}': field 'line 4: pose': row 5: {token} is not valid JSON "
                "(non-finite numbers are invalid)")  # fmt: skip

    with pytest.raises(ValidationError) as caught:  # still refused
        validate_bundle(root, opener(synth_dataset))
    assert str(caught.value) == expected and caught.value.sample_id == sample_id

    with ResultsStore(bench_home / "results.sqlite") as store:
        store.add_run(make_run("already-there"))
    before = (bench_home / "results.sqlite").read_bytes()
    scored = run_bench("-q", "score", str(root), "--data", str(synth_small))
    assert scored.exit_code == 2 and scored.stdout == "" and error_lines(scored.stderr) == [f"error: {expected}"]
    assert (bench_home / "results.sqlite").read_bytes() == before
    checked = run_bench("-q", "validate", str(root), "--data", str(synth_small))
    assert checked.exit_code == 2 and checked.stdout.splitlines() == [f"problem: {expected}"]


def test_nan_text_and_nan_id(tmp_path: Path, base_predictions: Base, synth_dataset: Any) -> None:
    root = write_bundle(tmp_path / "b", base_predictions)
    path = root / "pose2text.jsonl"
    lines = path.read_text().splitlines()
    sample_id = json.loads(lines[1])["id"]
    lines[1] = json.dumps({"id": sample_id, "text": math.nan})
    lines[2] = json.dumps({"id": math.inf, "text": "a pose"})
    path.write_text("\n".join(lines) + "\n")
    report, _ = check_bundle(root, opener(synth_dataset))
    assert [str(p) for p in report.problems] == [
        f"{path}: sample '{sample_id}': field 'line 2: text': NaN is not valid JSON (non-finite numbers are invalid)",
        f"{path}: field 'line 3': 'id' must be a non-empty string of at most 256 characters, got Infinity",
    ]


def test_finding_the_literal_needs_no_recursion() -> None:
    nested: Any = [NonFiniteLiteral("NaN")]
    for _ in range(3 * sys.getrecursionlimit()):  # deeper than any recursive walk could go
        nested = [nested]
    found = first_non_finite([[1.0, 2.0], nested, NonFiniteLiteral("Infinity")])
    assert found is not None and found.token == "NaN"


# ----- 3. ids past --limit ----------------------------------------------------------------------------


def test_ids_past_limit_are_not_called_foreign(tmp_path: Path, base_predictions: Base, synth_dataset: Any,
                                               synth_small: Path) -> None:  # fmt: skip
    ids = list(base_predictions["pose2text"])
    root = write_bundle(tmp_path / "b", {"pose2text": base_predictions["pose2text"]})
    path = root / "pose2text.jsonl"
    report, _ = check_bundle(root, opener(synth_dataset), limit=10)
    past = (f"{len(ids) - 10} ids are in the split but past --limit 10 (a --limit run expects exactly the split's "
            "first 10 ids; drop the others or leave out --limit)")  # fmt: skip
    assert [(str(p.message), p.field, p.sample_id) for p in report.problems] == [(past, "id", ids[10])]
    assert "not in the task's split" not in str(report.problems)

    scored = run_bench("-q", "score", str(root), "--data", str(synth_small), "--limit", "10", "--no-store")
    assert scored.exit_code == 2
    assert error_lines(scored.stderr) == [f"error: {path}: sample '{ids[10]}': field 'id': {past}"]

    with path.open("a") as handle:  # an id that truly is not in the split keeps its own message
        handle.write(json.dumps({"id": "not-a-sample", "text": "x"}) + "\n")
    report, _ = check_bundle(root, opener(synth_dataset), limit=10)
    assert [(p.message, p.sample_id) for p in report.problems] == [(past, ids[10]),
                                                                    ("1 ids not in the task's split", "not-a-sample")]
    report, _ = check_bundle(root, opener(synth_dataset))
    assert [(p.message, p.sample_id) for p in report.problems] == [("1 ids not in the task's split", "not-a-sample")]


def test_one_id_past_limit(tmp_path: Path, base_predictions: Base, synth_dataset: Any) -> None:
    first = dict(list(base_predictions["pose2text"].items())[:11])
    root = write_bundle(tmp_path / "b", {"pose2text": first})
    report, _ = check_bundle(root, opener(synth_dataset), limit=10)
    assert [p.message.split(" (")[0] for p in report.problems] == ["1 id is in the split but past --limit 10"]
