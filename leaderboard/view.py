"""What the page shows for a set of filters: headline scores, the main table, per-task metric rows.

Vocabulary:

- an **entry** is a (model name, model version); a **run** is one scored bundle. An entry may have
  several runs (one per task, or re-submissions): for each task the newest visible run counts.
- a **headline score** is a task's main metric, under the view's R-precision protocol for tasks
  whose main metric is an R-precision (``posescript`` picks ``r_precision_posescript_top1``).
- **comparable**: scored with the task's reference (task version, evaluator SHA-256, data hash):
  the key of the newest ``gt`` entry's score when there is one, else the most common key (ties: the
  newest). Other scores are shown flagged and kept out of every aggregate.
- **state** of a cell: ``ok``, ``missing`` (no score), ``failed`` (the run has the task but not the
  metric), ``mismatch`` (not comparable) or, with normalised cells, ``unanchored``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from leaderboard.build import Board
from leaderboard.normalise import ANCHORS, Anchor, normalised_column, normalised_mean, rank, task_anchors
from tasks.spec import DIRECTION_ARROWS

ARROWS = DIRECTION_ARROWS
"""How tables mark a metric's direction (the task specs' arrows)."""
STATUS_STRENGTH = {"self-reported": 0, "verified": 1, "reproduced": 2}
"""How much of a row this suite produced itself; an entry shows its weakest run's status."""
FAMILY_ORDER = ("comprehension", "generation", "editing", "reasoning", "unknown")
_KEY = ["task_version", "evaluator_sha256", "data_hash"]
HEADLINE_COLUMNS = [
    "run_id", "entry", "model_version", "status", "eligible", "ineligible_reasons", "parameter_count", "training_data",
    "date", "task", "task_version", "metric", "state", "value", "ci_low", "ci_high", "direction", "unit",
    "evaluator_sha256", "data_hash",
]  # fmt: skip
LEAD_COLUMNS = ["Rank", "Entry", "Version", "Norm. mean"]
"""Columns before the task columns."""
TRAIL_COLUMNS = ["Params", "Status", "Training data", "Date", "Flags"]
"""Columns after the task columns."""


@dataclass(frozen=True)
class ViewFilter:
    """The page's filters; empty tuples mean "all"."""

    dataset: str | None = None
    """Dataset key (``synth-full``) whose runs are shown; None shows every dataset."""
    families: tuple[str, ...] = ()
    """Task families to show."""
    modalities: tuple[str, ...] = ()
    """Input modalities to show (``pose``, ``image``, ``image + text``...)."""
    tasks: tuple[str, ...] = ()
    """Task ids to show (after the family and modality filters)."""
    rp_protocol: str = "blocks32"
    """R-precision protocol of the headline score of R-precision tasks."""
    include_ineligible: bool = False
    """Whether runs marked ineligible (``--limit``, unpinned data or evaluators) count."""


@dataclass(frozen=True)
class MainTable:
    """The main table of a view, ready to style and show."""

    frame: pd.DataFrame
    """:data:`LEAD_COLUMNS`, one column per task (``"pose2text ↑"``), :data:`TRAIL_COLUMNS`; sorted."""
    states: pd.DataFrame
    """Cell state per task column (same index and task columns as ``frame``)."""
    task_columns: dict[str, str]
    """Task column label → task id, in display order."""
    anchors: dict[str, Anchor]
    """Per-task normalisation anchors."""
    directions: dict[str, str]
    """Task column label → ``higher`` or ``lower`` (of the raw metric)."""
    normalised: bool
    """Whether task cells hold normalised scores (always higher-is-better) rather than raw ones."""
    notes: list[str] = field(default_factory=list)
    """Plain-text remarks for the reader: unanchored tasks, non-comparable scores."""


def datasets(board: Board) -> list[str]:
    """Dataset keys in the table, the one with the most eligible runs first."""
    runs = board.scores.drop_duplicates("run_id")
    counts = runs.groupby("data_name")["eligible"].agg(["sum", "count"]).sort_values(["sum", "count"], ascending=False)
    return [str(name) for name in counts.index]


def task_order(board: Board, task_ids: list[str] | set[str]) -> list[str]:
    """Tasks sorted by family (comprehension, generation, editing, reasoning), then id."""
    tasks = board.meta["tasks"]

    def key(task: str) -> tuple[int, str]:
        family = tasks.get(task, {}).get("family", "unknown")
        return (FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER), task)

    return sorted(task_ids, key=key)


def main_metric(board: Board, task: str, rp_protocol: str) -> str | None:
    """The headline metric of ``task`` under ``rp_protocol``."""
    info = board.meta["tasks"].get(task, {})
    return info.get("main_by_protocol", {}).get(rp_protocol, info.get("main_metric"))


def visible_rows(board: Board, f: ViewFilter) -> pd.DataFrame:
    """Score rows of the view's dataset, eligibility and tasks."""
    rows = board.scores
    mask = pd.Series(True, index=rows.index)
    if f.dataset is not None:
        mask &= rows["data_name"] == f.dataset
    if not f.include_ineligible:
        mask &= rows["eligible"]
    tasks = board.meta["tasks"]
    wanted = [t for t in rows["task"].unique()
              if (not f.families or tasks.get(t, {}).get("family") in f.families)
              and (not f.modalities or tasks.get(t, {}).get("input_modality") in f.modalities)
              and (not f.tasks or t in f.tasks)]  # fmt: skip
    return rows[mask & rows["task"].isin(wanted)]


_HIDDEN_CAUSES: tuple[tuple[str, str], ...] = (
    ("differs from the pinned", "their {data} test data differs from the pinned build"),
    ("is not pinned by task version", "dataset {data} is not pinned by the task versions"),
    ("is not the pinned", "they were scored with an evaluator other than the pinned one"),
    ("--limit", "only part of each split was scored (--limit)"),
    ("body model", "another body model was used"),
)
"""(text found in a stored ineligibility reason, the short cause shown for it); reasons are the ones
``submissions.scoring`` writes."""


def hidden_runs(board: Board, f: ViewFilter) -> str | None:
    """Why the view leaves runs out, or None when it leaves none out (or shows ineligible runs).

    For example ``"2 runs hidden: their synth-full test data differs from the pinned build (2)."``:
    each cause with the number of runs it hides (a run can have several)."""
    if f.include_ineligible:
        return None
    rows = visible_rows(board, replace(f, include_ineligible=True))
    hidden = rows[~rows["eligible"].astype(bool)]
    if hidden.empty:
        return None
    runs_by_cause: dict[str, set[object]] = {}
    for run_id, data, reasons in zip(hidden["run_id"], hidden["data_name"], hidden["ineligible_reasons"].fillna(""),
                                     strict=True):  # fmt: skip
        for reason in reasons.split("; "):
            template = next((text for key, text in _HIDDEN_CAUSES if key in reason), reason or "no reason stored")
            runs_by_cause.setdefault(template.format(data=data), set()).add(run_id)
    count = hidden["run_id"].nunique()
    causes = sorted(runs_by_cause.items(), key=lambda item: (-len(item[1]), item[0]))
    return f"{count} run{'' if count == 1 else 's'} hidden: " + "; ".join(f"{c} ({len(r)})" for c, r in causes) + "."


def headline(board: Board, f: ViewFilter) -> pd.DataFrame:
    """One row per (entry, model version, task in view): the newest visible run's headline score,
    plus a boolean ``comparable`` column."""
    rows = visible_rows(board, f)
    main = rows["task"].map({t: main_metric(board, t, f.rp_protocol) for t in rows["task"].unique()})
    rows = rows.loc[rows["metric"] == main, HEADLINE_COLUMNS]
    rows = rows.sort_values("run_id", ascending=False).drop_duplicates(["entry", "model_version", "task"])
    return rows.assign(comparable=_comparable(rows))


def _comparable(rows: pd.DataFrame) -> pd.Series:
    """Whether each row has its task's reference (task version, evaluator hash, data hash)."""
    keys = (rows["task_version"].astype(str) + "|" + rows["evaluator_sha256"].fillna("").astype(str) + "|"
            + rows["data_hash"].astype(str))  # fmt: skip
    frame = pd.DataFrame({"task": rows["task"], "key": keys, "run_id": rows["run_id"], "gt": rows["entry"] == ANCHORS[0]})
    stats = frame.groupby(["task", "key"], as_index=False).agg(size=("key", "size"), newest=("run_id", "max"))
    gt_newest = frame[frame["gt"]].groupby(["task", "key"])["run_id"].max()
    stats["gt_newest"] = [gt_newest.get((t, k), -1) for t, k in zip(stats["task"], stats["key"], strict=True)]
    best = stats.sort_values(["gt_newest", "size", "newest"], ascending=False).drop_duplicates("task")
    reference = dict(zip(best["task"], best["key"], strict=True))
    return keys == frame["task"].map(reference)


def main_table(board: Board, f: ViewFilter, normalised_cells: bool = False) -> MainTable:
    """The main table: one row per entry, one headline column per task, normalised mean and rank.

    ``normalised_cells`` shows each task's normalised score instead of the raw one. Rows are sorted
    by normalised mean (best first), then by the number of usable cells, then by name.
    """
    lines = headline(board, f)
    tasks = task_order(board, set(lines["task"]))
    anchors = task_anchors(lines, tasks)
    lines = lines.assign(
        normalised=normalised_column(lines, anchors),
        cell=np.where(lines["state"] == "failed", "failed", np.where(lines["comparable"], "ok", "mismatch")),
    )  # fmt: skip
    if normalised_cells:
        unanchored = (lines["cell"] == "ok") & ~lines["task"].map(lambda t: anchors[t].ok)
        lines["cell"] = lines["cell"].where(~unanchored, "unanchored")
    entries = _entries(lines)
    labels, directions = {}, {}
    for task in tasks:
        direction = str(lines.loc[lines["task"] == task, "direction"].iloc[0])
        label = f"{task} {ARROWS.get(direction, '')}".strip()
        labels[label], directions[label] = task, direction
    key = ["entry", "model_version"]

    def spread(column: str) -> pd.DataFrame:
        wide = lines.pivot(index=key, columns="task", values=column).reindex(index=entries.index, columns=tasks)
        return wide.set_axis(list(labels), axis=1)

    normal = spread("normalised").astype("float64")
    values = normal if normalised_cells else spread("value").astype("float64")
    states = spread("cell").fillna("missing").astype("object")
    entries["Norm. mean"] = normalised_mean(normal)
    entries["Rank"] = rank(entries["Norm. mean"], entries["Entry"])
    frame = pd.concat([entries[LEAD_COLUMNS], values, entries[TRAIL_COLUMNS]], axis=1)
    done = states.isin(["ok", "unanchored"]).sum(axis=1)
    order = frame.assign(_done=done, _name=frame["Entry"].str.casefold()).sort_values(
        ["Norm. mean", "_done", "_name"], ascending=[False, False, True], na_position="last").index  # fmt: skip
    return MainTable(frame.loc[order].reset_index(drop=True), states.loc[order].reset_index(drop=True), labels,
                     anchors, directions, normalised_cells, _notes(lines, tasks, anchors))  # fmt: skip


CELL_ORDER = {"ok": 0, "unanchored": 1, "mismatch": 2, "failed": 3, "missing": 4}
"""Sort order of cell states: usable scores first, missing ones last."""


def sort_by_task(table: MainTable, label: str) -> MainTable:
    """``table`` sorted on one task column: best first in the metric's direction (normalised cells:
    higher first), then flagged, failed and missing cells last."""
    higher = table.normalised or table.directions[label] == "higher"
    values = table.frame[label]
    order = pd.DataFrame({"state": table.states[label].map(CELL_ORDER), "signed": -values if higher else values})
    index = order.sort_values(["state", "signed"], na_position="last", kind="stable").index
    return replace(table, frame=table.frame.loc[index].reset_index(drop=True),
                   states=table.states.loc[index].reset_index(drop=True))


def _entries(lines: pd.DataFrame) -> pd.DataFrame:
    """Entry metadata from the newest of its runs in view; status is the weakest of them; indexed
    by (entry, model_version) in order of first appearance."""
    key = ["entry", "model_version"]
    newest = lines.sort_values("run_id", ascending=False).drop_duplicates(key).set_index(key)
    grouped = lines.assign(
        strength=lines["status"].map(STATUS_STRENGTH).fillna(-1),
        ineligible=~lines["eligible"].astype(bool),
        reason=lines["ineligible_reasons"].where(~lines["eligible"].astype(bool), ""),
        mismatch=~lines["comparable"],
    ).groupby(key, sort=False)  # fmt: skip
    agg = grouped.agg(strength=("strength", "min"), ineligible=("ineligible", "any"), mismatch=("mismatch", "sum"),
                      date=("date", "max"), reasons=("reason", _join_unique))  # fmt: skip
    names = {v: k for k, v in STATUS_STRENGTH.items()}
    frame = pd.DataFrame(index=agg.index)
    frame["Rank"] = pd.array([pd.NA] * len(agg), dtype="Int64")
    frame["Entry"] = agg.index.get_level_values(0)
    frame["Version"] = agg.index.get_level_values(1)
    frame["Params"] = newest["parameter_count"].reindex(agg.index).astype("Int64")
    frame["Training data"] = newest["training_data"].reindex(agg.index)
    frame["Status"] = agg["strength"].map(lambda v: names.get(int(v), "unknown"))
    frame["Date"] = agg["date"]
    frame["Norm. mean"] = np.nan
    ineligible = np.where(agg["ineligible"], "ineligible" + np.where(agg["reasons"] != "", ": " + agg["reasons"], ""), "")
    mismatch = np.where(agg["mismatch"] > 0, "⚠ " + agg["mismatch"].astype(str) + " score(s) not comparable", "")
    frame["Flags"] = [" · ".join(x for x in pair if x) for pair in zip(ineligible, mismatch, strict=True)]
    return frame


def _join_unique(texts: pd.Series) -> str:
    return "; ".join(sorted({t for t in texts if t}))


def _notes(lines: pd.DataFrame, tasks: list[str], anchors: dict[str, Anchor]) -> list[str]:
    notes = []
    missing = [f"{t} ({anchors[t].problem})" for t in tasks if not anchors[t].ok]
    if missing:
        notes.append("No normalised mean in this view: cannot normalise " + "; ".join(missing)
                     + ". Narrow the view to tasks with both anchors to get one.")  # fmt: skip
    bad = lines[~lines["comparable"]]
    flagged = set(bad["task"])
    for task in [t for t in tasks if t in flagged]:
        mine = bad[bad["task"] == task]
        ref = lines[(lines["task"] == task) & lines["comparable"]].iloc[0]
        names = ", ".join(sorted(f"{e} {v}" for e, v in zip(mine["entry"], mine["model_version"], strict=True)))
        reference = (f"v{ref['task_version']}, evaluator {str(ref['evaluator_sha256'] or 'none')[:12]}, "
                     f"data {str(ref['data_hash'])[:12]}")  # fmt: skip
        notes.append(f"{task}: {len(mine)} score(s) use another task version, evaluator or data than the reference "
                     f"({reference}); shown with ⚠ and left out of the mean and rank: {names}")  # fmt: skip
    return notes


def task_details(board: Board, f: ViewFilter, task: str) -> pd.DataFrame:
    """Every metric of ``task`` for each entry's newest visible run of it, with CI and protocol.

    Columns: ``entry``, ``model_version``, ``run_id``, ``metric``, ``is_main``, ``state``, ``value``,
    ``ci_low``, ``ci_high``, ``unit``, ``direction``, ``n``, ``protocol``, ``joint_set``,
    ``alignment``, ``seed``, ``evaluator_id``, ``evaluator_sha256``, ``task_version``, ``data_hash``,
    ``comparable``. Rows follow the task's metric order, best value first within a metric.
    """
    rows = visible_rows(board, ViewFilter(f.dataset, tasks=(task,), include_ineligible=f.include_ineligible))
    newest = rows.groupby(["entry", "model_version"])["run_id"].transform("max")
    rows = rows[rows["run_id"] == newest]
    reference = headline(board, ViewFilter(f.dataset, tasks=(task,), rp_protocol=f.rp_protocol,
                                           include_ineligible=f.include_ineligible))  # fmt: skip
    ok_runs = set(reference.loc[reference["comparable"], "run_id"])
    rows = rows.assign(comparable=rows["run_id"].isin(ok_runs))
    order = list(board.meta["tasks"].get(task, {}).get("metrics", {}))
    position = rows["metric"].map(lambda m: order.index(m) if m in order else len(order))
    signed = rows["value"].where(rows["direction"] == "lower", -rows["value"])
    rows = rows.assign(_pos=position, _signed=signed).sort_values(["_pos", "_signed"], na_position="last")
    columns = ["entry", "model_version", "run_id", "metric", "is_main", "state", "value", "ci_low", "ci_high", "unit",
               "direction", "n", "protocol", "joint_set", "alignment", "seed", "evaluator_id", "evaluator_sha256",
               "task_version", "data_hash", "comparable"]  # fmt: skip
    return rows[columns].reset_index(drop=True)
