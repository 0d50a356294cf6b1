"""Normalisation, anchors, comparability and entry aggregation, on hand-made headline rows."""

from __future__ import annotations

import doctest
import math
import re

import numpy as np
import pandas as pd
import pytest

import leaderboard.normalise
import leaderboard.page_table
import leaderboard.text
import leaderboard.upload
from leaderboard.build import SCHEMA, Board
from leaderboard.normalise import normalise, normalised_mean, rank, task_anchors
from leaderboard.text import md_escape
from leaderboard.view import ViewFilter, headline, hidden_runs, main_table

TASKS = {
    "up": {"family": "comprehension", "input_modality": "pose", "main_metric": "acc", "main_by_protocol": {},
           "metrics": {"acc": {"unit": "%", "direction": "higher"}}},
    "down": {"family": "generation", "input_modality": "text", "main_metric": "err", "main_by_protocol": {},
             "metrics": {"err": {"unit": "mm", "direction": "lower"}}},
}  # fmt: skip


def board(rows: list[tuple]) -> Board:
    """A board from (run_id, entry, task, value, evaluator_sha256[, status, eligible]) tuples."""
    records = []
    for run_id, entry, task, value, sha, *rest in rows:
        status = rest[0] if rest else "verified"
        eligible = rest[1] if len(rest) > 1 else True
        metric = TASKS[task]["main_metric"]
        record = {name: None for name in SCHEMA.names}
        record.update(run_id=run_id, entry=entry, model_version="1", status=status, eligible=eligible,
                      ineligible_reasons="" if eligible else "--limit 2", task=task, task_version="1.0", metric=metric,
                      is_main=True, state="failed" if value is None else "ok", value=np.nan if value is None else value,
                      direction=TASKS[task]["metrics"][metric]["direction"], unit=TASKS[task]["metrics"][metric]["unit"],
                      evaluator_sha256=sha, data_hash="d", data_name="synth-small", date="2026-01-01")  # fmt: skip
        records.append(record)
    return Board(pd.DataFrame(records, columns=SCHEMA.names), {"tasks": TASKS, "rp_protocols": ["blocks32"]})


def test_normalise_both_directions() -> None:
    assert normalise(25.0, 10.0, 40.0) == 50.0
    assert normalise(100.0, 300.0, 0.0) == pytest.approx(200.0 / 3.0)  # lower is better
    assert normalise(400.0, 300.0, 0.0) == pytest.approx(-100.0 / 3.0)  # worse than chance: not clamped
    assert math.isnan(normalise(5.0, np.nan, 40.0))
    np.testing.assert_allclose(normalise([10.0, 40.0], [10.0, 300.0], [40.0, 0.0]), [0.0, 260.0 / 3.0])


def test_anchor_problems() -> None:
    rows = board([(1, "gt", "up", 90.0, "e"), (2, "chance", "up", 95.0, "e"), (3, "gt", "down", None, None),
                  (4, "chance", "down", 50.0, None)])  # fmt: skip
    anchors = task_anchors(headline(rows, ViewFilter()), ["up", "down"])
    assert "is not better than" in anchors["up"].problem
    assert anchors["down"].problem == "the 'gt' score failed"


def test_reference_is_the_gt_key_and_mismatches_leave_the_mean() -> None:
    rows = board([(1, "gt", "up", 90.0, "a"), (2, "chance", "up", 10.0, "a"), (3, "m1", "up", 50.0, "b"),
                  (4, "m2", "up", 60.0, "b"), (5, "m3", "up", 30.0, "a")])  # fmt: skip
    lines = headline(rows, ViewFilter())
    assert dict(zip(lines["entry"], lines["comparable"], strict=True)) == {
        "gt": True, "chance": True, "m1": False, "m2": False, "m3": True}  # fmt: skip
    table = main_table(rows, ViewFilter())
    frame = table.frame.set_index("Entry")
    assert frame.loc["m3", "Norm. mean"] == pytest.approx(25.0) and frame.loc["m3", "Rank"] == 1
    assert pd.isna(frame.loc["m1", "Norm. mean"]) and "⚠ 1 score(s) not comparable" in frame.loc["m1", "Flags"]


def test_newest_run_per_entry_and_weakest_status() -> None:
    rows = board([(1, "gt", "up", 90.0, "a"), (2, "chance", "up", 10.0, "a"), (3, "gt", "down", 0.0, "a"),
                  (4, "chance", "down", 100.0, "a"), (5, "m", "up", 20.0, "a", "reproduced"),
                  (6, "m", "up", 50.0, "a", "reproduced"), (7, "m", "down", 25.0, "a", "self-reported")])  # fmt: skip
    frame = main_table(rows, ViewFilter()).frame.set_index("Entry")
    assert frame.loc["m", "up ↑"] == 50.0 and frame.loc["m", "down ↓"] == 25.0
    assert frame.loc["m", "Norm. mean"] == pytest.approx((50.0 + 75.0) / 2) and frame.loc["m", "Status"] == "self-reported"


def test_mean_needs_every_task_and_rank_skips_anchors() -> None:
    per_task = pd.DataFrame({"a": [100.0, 50.0, 20.0, 0.0], "b": [100.0, 70.0, np.nan, 0.0]})
    means = normalised_mean(per_task)
    assert means.tolist()[:2] == [100.0, 60.0] and math.isnan(means[2])
    ranks = rank(means, pd.Series(["gt", "m", "x", "chance"]))
    assert ranks.tolist()[1] == 1 and ranks.isna().tolist() == [True, False, True, True]


def test_ineligible_runs_only_when_asked() -> None:
    rows = board([(1, "gt", "up", 90.0, "a"), (2, "chance", "up", 10.0, "a"), (3, "m", "up", 70.0, "a", "verified", False)])
    assert "m" not in set(main_table(rows, ViewFilter()).frame["Entry"])
    frame = main_table(rows, ViewFilter(include_ineligible=True)).frame.set_index("Entry")
    assert frame.loc["m", "Rank"] == 1 and frame.loc["m", "Flags"] == "ineligible: --limit 2"


def test_hidden_runs_say_why() -> None:
    rows = board([(1, "gt", "up", 90.0, "a"), (2, "m", "up", 70.0, "a", "verified", False),
                  (2, "m", "down", 7.0, "a", "verified", False), (3, "n", "down", 5.0, "a", "verified", False)])  # fmt: skip
    reasons = {2: "up: synth-small/test hash 0123456789ab differs from the pinned fedcba987654; --limit 8: only part",
               3: "down: evaluator mine (abc) is not the pinned posetext-synth-v1"}  # fmt: skip
    rows.scores["ineligible_reasons"] = [reasons.get(r, "") for r in rows.scores["run_id"]]
    assert hidden_runs(rows, ViewFilter()) == (
        "2 runs hidden: only part of each split was scored (--limit) (1); their synth-small test data differs from "
        "the pinned build (1); they were scored with an evaluator other than the pinned one (1).")
    assert hidden_runs(rows, ViewFilter(tasks=("up",))) == ("1 run hidden: only part of each split was scored "
                                                            "(--limit) (1); their synth-small test data differs "
                                                            "from the pinned build (1).")  # fmt: skip
    assert hidden_runs(rows, ViewFilter(include_ineligible=True)) is None
    assert hidden_runs(board([(1, "gt", "up", 90.0, "a")]), ViewFilter()) is None


def test_markdown_escape_leaves_no_live_markup() -> None:
    escaped = md_escape("<img src=x onerror=alert(1)> ![i](http://e/x.png) [l](http://e) *b* `c` $x$ :red[r]\nnext")
    assert re.findall(r"(?<!\\)[^\w\s\\]", escaped) == []  # every punctuation character is escaped
    assert "\n" not in escaped
    assert escaped.replace("\\", "") == "<img src=x onerror=alert(1)> ![i](http://e/x.png) [l](http://e) *b* `c` $x$ :red[r] next"


@pytest.mark.parametrize("module", [leaderboard.normalise, leaderboard.text, leaderboard.upload, leaderboard.page_table])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
