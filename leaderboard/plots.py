"""Altair charts of the leaderboard. Each takes a small long-format frame and returns a chart; none
reads files. Entry labels are user text: Vega draws them as text (no HTML), tooltips escape them."""

from __future__ import annotations

import altair as alt
import pandas as pd

from leaderboard.normalise import ANCHORS
from tasks.spec import DIRECTION_ARROWS

PALETTE = "tableau10"
_ANCHOR_GREY = "#9aa5b1"
_COMPARABLE = "#3b6ea8"
_FLAGGED = "#d9a441"


def ci_bars(rows: pd.DataFrame, metric: str, unit: str, direction: str) -> alt.LayerChart:
    """Horizontal bars of one metric per entry with 95 % CI error bars, best at the top.

    ``rows``: columns ``label`` (entry and version), ``entry``, ``value``, ``ci_low``, ``ci_high``
    (NaN for set-level statistics: no error bar) and ``comparable``.
    """
    data = rows.assign(
        kind=[("anchor" if e in ANCHORS else ("comparable" if c else "not comparable"))
              for e, c in zip(rows["entry"], rows["comparable"], strict=True)],
    )  # fmt: skip
    order = data.sort_values("value", ascending=direction == "lower")["label"].tolist()
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    colour = alt.Color("kind:N", title=None, scale=alt.Scale(domain=["comparable", "not comparable", "anchor"],
                                                              range=[_COMPARABLE, _FLAGGED, _ANCHOR_GREY]))  # fmt: skip
    tooltip = [alt.Tooltip("label:N", title="entry"), alt.Tooltip("value:Q", format=".3g"),
               alt.Tooltip("ci_low:Q", title="CI low", format=".3g"),
               alt.Tooltip("ci_high:Q", title="CI high", format=".3g")]  # fmt: skip
    x_title = f"{metric} ({unit}) {DIRECTION_ARROWS[direction]}"
    bars = alt.Chart().mark_bar().encode(x=alt.X("value:Q", title=x_title), y=y, color=colour, tooltip=tooltip)
    errors = (alt.Chart().transform_filter("isValid(datum.ci_low) && isValid(datum.ci_high)")
              .mark_errorbar(ticks=True, color="#1f2d3d")
              .encode(x=alt.X("ci_low:Q", title=x_title), x2="ci_high:Q", y=y))  # fmt: skip
    return alt.layer(bars, errors, data=data).properties(height=alt.Step(26))


def normalised_multiples(rows: pd.DataFrame, columns: int = 3) -> alt.FacetChart:
    """One small bar chart per entry of its normalised score on each task, with 0 (chance) and 100
    (gt) marked. ``rows``: columns ``label``, ``task``, ``normalised`` (NaN bars are left out)."""
    data = rows.dropna(subset=["normalised"])
    tasks = list(dict.fromkeys(rows["task"]))
    base = alt.Chart().mark_bar().encode(  # data comes from the facet, so each entry gets its own bars
        x=alt.X("task:N", sort=tasks, title=None, axis=alt.Axis(labelAngle=-45, labelOverlap=False)),
        y=alt.Y("normalised:Q", title="normalised (0 = chance, 100 = gt)"),
        color=alt.Color("task:N", sort=tasks, legend=None, scale=alt.Scale(scheme=PALETTE)),
        tooltip=[alt.Tooltip("label:N", title="entry"), "task:N", alt.Tooltip("normalised:Q", format=".1f")],
    )  # fmt: skip
    rules = alt.Chart(pd.DataFrame({"y": [0.0, 100.0]})).mark_rule(strokeDash=[4, 3], color=_ANCHOR_GREY).encode(y="y:Q")
    return alt.layer(base, rules, data=data).properties(width=240, height=170).facet(
        facet=alt.Facet("label:N", title=None, sort=list(dict.fromkeys(data["label"]))), columns=columns)  # fmt: skip


def size_plot(rows: pd.DataFrame, score: str, higher_is_better: bool = True) -> alt.LayerChart:
    """Score against parameter count (log x) with entry names as labels.

    ``rows``: columns ``label``, ``params`` (> 0), ``score``, ``status``.
    """
    arrow = DIRECTION_ARROWS["higher" if higher_is_better else "lower"]
    base = alt.Chart(rows).encode(
        x=alt.X("params:Q", scale=alt.Scale(type="log"), title="parameters (log scale)", axis=alt.Axis(format="~s")),
        y=alt.Y("score:Q", title=f"{score} {arrow}", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("label:N", title="entry"), alt.Tooltip("params:Q", format=",d"),
                 alt.Tooltip("score:Q", format=".3g"), "status:N"],
    )  # fmt: skip
    points = base.mark_circle(size=90, opacity=0.85).encode(color=alt.Color("status:N", scale=alt.Scale(scheme=PALETTE)))
    labels = base.mark_text(align="left", dx=7, dy=-6, fontSize=11, color="#34495e").encode(text="label:N")
    return (points + labels).properties(height=380)
