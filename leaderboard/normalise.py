"""Normalised scores: per task, 0 = the ``chance`` entry, 100 = the ``gt`` entry.

For a task whose headline score (in the current view's protocol) is ``x`` for an entry, ``c`` for
the entry named :data:`CHANCE_ENTRY` and ``g`` for the entry named :data:`GT_ENTRY`, the three
scored on the same task version, evaluator checkpoint and data::

    normalised(x) = 100 * (x - c) / (g - c)

One formula serves both directions: for a lower-is-better metric (MPJPE, FID) ``g < c``, the
denominator is negative, and a lower ``x`` still maps to a larger normalised score. Raw columns of
different directions are never averaged; only these normalised numbers are. Values are not
clamped: below 0 is worse than chance; above 100 beats the ceiling, which retrieval metrics allow
(the ground truth through the evaluator is not a hard maximum).

The **normalised mean** of an entry is the plain mean of its normalised scores over the tasks of
the view, defined only when the entry has a comparable score on every one of them. A task cannot be
normalised when either anchor is missing from the view, failed, scored under another task version /
evaluator / data hash, or when ``g`` is not strictly better than ``c`` in the metric's direction.
Then no entry has a normalised mean in that view; the page names the task, and narrowing the view
(filters) to tasks that have both anchors brings the mean back. The anchors themselves appear in
the table (at 0 and 100) but take no rank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

CHANCE_ENTRY = "chance"
"""Model name of the chance-level baseline entry (0 on the normalised scale)."""
GT_ENTRY = "gt"
"""Model name of the ground-truth ceiling entry (100 on the normalised scale)."""
ANCHORS = (GT_ENTRY, CHANCE_ENTRY)


@dataclass(frozen=True)
class Anchor:
    """The two reference scores of one task, or why there are none."""

    chance: float | None
    """The chance entry's headline score, in the metric's unit."""
    ceiling: float | None
    """The gt entry's headline score."""
    problem: str | None = None
    """Why the task cannot be normalised (None when it can)."""

    @property
    def ok(self) -> bool:
        return self.problem is None


def normalise(values: ArrayLike, chance: ArrayLike, ceiling: ArrayLike) -> np.ndarray:
    """``100 * (x - chance) / (ceiling - chance)``, elementwise (float64; NaN where an anchor is NaN).

    >>> float(normalise(25.0, 10.0, 40.0))
    50.0
    >>> float(normalise(100.0, 300.0, 0.0))  # mm, lower is better
    66.66666666666667
    """
    x, c, g = (np.asarray(a, dtype="float64") for a in (values, chance, ceiling))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (x - c) / (g - c) + 0.0  # + 0.0: no "-0.0"


def task_anchors(headline: pd.DataFrame, tasks: list[str]) -> dict[str, Anchor]:
    """The anchor of each task from headline rows (one per entry and task; see ``view.headline``).

    ``headline`` needs columns ``entry``, ``task``, ``state``, ``value``, ``direction``,
    ``comparable`` and ``run_id``. When an anchor entry has several versions, the newest run
    with a comparable score counts.
    """
    columns = ["entry", "task", "state", "value", "comparable", "run_id"]
    records = headline.loc[headline["entry"].isin(ANCHORS), columns].to_dict("records")
    directions = dict(zip(headline["task"], headline["direction"], strict=True))
    out = {}
    for task in tasks:
        picked: dict[str, float] = {}
        problems = []
        for name in ANCHORS:
            mine = sorted((r for r in records if r["task"] == task and r["entry"] == name), key=lambda r: -r["run_id"])
            usable = [r for r in mine if r["state"] == "ok" and r["comparable"]]
            if usable:
                picked[name] = float(usable[0]["value"])
            elif not mine:
                problems.append(f"no '{name}' entry")
            elif all(r["state"] == "failed" for r in mine):
                problems.append(f"the '{name}' score failed")
            else:
                problems.append(f"the '{name}' score is not comparable (other task version, evaluator or data)")
        if problems:
            out[task] = Anchor(picked.get(CHANCE_ENTRY), picked.get(GT_ENTRY), "; ".join(problems))
            continue
        chance, ceiling = picked[CHANCE_ENTRY], picked[GT_ENTRY]
        sign = 1.0 if directions[task] == "higher" else -1.0
        if not sign * (ceiling - chance) > 1e-12:
            problem = f"'{GT_ENTRY}' ({ceiling:.4g}) is not better than '{CHANCE_ENTRY}' ({chance:.4g})"
            out[task] = Anchor(chance, ceiling, problem)
        else:
            out[task] = Anchor(chance, ceiling)
    return out


def normalised_column(headline: pd.DataFrame, anchors: dict[str, Anchor]) -> pd.Series:
    """Normalised score of each headline row (NaN when failed, not comparable or unanchored)."""
    usable = ((headline["state"] == "ok") & headline["comparable"]).to_numpy()
    tasks = headline["task"].to_numpy()
    chance = np.array([_anchor_value(anchors, t, "chance") for t in tasks], dtype="float64")
    ceiling = np.array([_anchor_value(anchors, t, "ceiling") for t in tasks], dtype="float64")
    values = headline["value"].to_numpy(dtype="float64", na_value=np.nan)
    out = np.where(usable, normalise(values, chance, ceiling), np.nan)
    return pd.Series(out, index=headline.index, dtype="float64")


def _anchor_value(anchors: dict[str, Anchor], task: str, which: str) -> float:
    anchor = anchors.get(task)
    value = None if anchor is None or not anchor.ok else getattr(anchor, which)
    return math.nan if value is None else float(value)


def normalised_mean(per_task: pd.DataFrame) -> pd.Series:
    """Row mean of a (entries × tasks) frame of normalised scores; NaN unless every task has one."""
    if per_task.shape[1] == 0:
        return pd.Series(np.nan, index=per_task.index, dtype="float64")
    complete = per_task.notna().all(axis=1)
    return per_task.mean(axis=1).where(complete)


def rank(means: pd.Series, entries: pd.Series) -> pd.Series:
    """1 = best normalised mean; ties share the better rank; anchors and entries without a mean get none."""
    rankable = means.notna() & ~entries.isin(ANCHORS)
    out = pd.Series(pd.NA, index=means.index, dtype="Int64")
    out[rankable] = means[rankable].rank(ascending=False, method="min").astype("int64")
    return out
