"""The "Leaderboard" and "About" sections of the page: the styled main table, its legend, the FAQ."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from leaderboard.build import Board
from leaderboard.normalise import ANCHORS, CHANCE_ENTRY, GT_ENTRY
from leaderboard.text import md_escape
from leaderboard.view import MainTable, main_metric, sort_by_task

RANK_SORT = "Rank (normalised mean)"
CELL_TEXT = {"missing": "—", "failed": "failed", "mismatch": "⚠", "unanchored": "n/a"}
"""What a cell without a usable number shows (a non-comparable raw score shows its value and ⚠)."""
CELL_COLOUR = {"failed": "color: #c0392b", "mismatch": "color: #b9770e"}
ANCHOR_ROW = "color: #6c7a89; font-style: italic"
LEGEND = (
    "↑ higher is better · ↓ lower is better · **—** no score · **failed** the run has the task but this "
    "metric was not computed · **⚠** scored with another task version, evaluator or data than the "
    "task's reference: not compared · **Norm. mean**: mean over the tasks in view of "
    "100·(score − chance)/(gt − chance), only for entries with every task; the `gt` and `chance` "
    "anchors take no rank. See *About* for details."
)


def digits(unit: str) -> int:
    """Decimals shown for a unit (FID, unitless: 2; %, mm, ×100: 1)."""
    return 2 if unit == "1" else 1


def headline_unit(board: Board, task: str, rp_protocol: str) -> str:
    """Unit of a task's headline metric under ``rp_protocol`` (``""`` if unknown)."""
    metrics = board.meta["tasks"].get(task, {}).get("metrics", {})
    return str(metrics.get(main_metric(board, task, rp_protocol) or "", {}).get("unit", ""))


def cell_text(value: float, state: str, places: int) -> str:
    """The text of one task cell: the rounded score, ``"—"``, ``"failed"``, ``"n/a"`` or ``"<score> ⚠"``.

    >>> cell_text(56.449, "ok", 1), cell_text(float("nan"), "failed", 1), cell_text(83.11, "mismatch", 1)
    ('56.4', 'failed', '83.1 ⚠')
    """
    if state in ("ok", "mismatch") and not pd.isna(value) and math.isfinite(value):
        return f"{value:.{places}f}" + (" ⚠" if state == "mismatch" else "")
    return CELL_TEXT.get(state, "—")


def display_frame(table: MainTable, units: dict[str, str]) -> pd.DataFrame:
    """The main table with task cells as text (see :func:`cell_text`). ``units``: task column label
    → unit of its headline metric (normalised cells always get one decimal)."""
    frame = table.frame.copy()
    for label in table.task_columns:
        places = 1 if table.normalised else digits(units.get(label, ""))
        frame[label] = [cell_text(v, s, places) for v, s in zip(frame[label], table.states[label], strict=True)]
    return frame


def sortable_frame(table: MainTable) -> pd.DataFrame:
    """The main table for the grid: task cells stay numbers, so the grid's own column sort is
    numeric. A failed cell, and a flagged one without a number (normalised view), holds the worst
    value of its column's direction (-inf when higher is better, +inf when lower is), so it sorts
    last whenever best comes first and can show its text; missing cells are null."""
    frame = table.frame.copy()
    for label in table.task_columns:
        worst = -math.inf if table.normalised or table.directions[label] == "higher" else math.inf
        textual = (table.states[label] == "failed") | ((table.states[label] == "mismatch") & frame[label].isna())
        frame[label] = frame[label].where(~textual, worst)
    return frame


def style_table(table: MainTable, units: dict[str, str]) -> Styler:
    """The grid's table: cell texts from :func:`cell_text` over :func:`sortable_frame`'s numbers,
    coloured failed / flagged cells, and muted anchor rows. (Null cells show the grid's
    placeholder "—": Streamlit ignores display values of null cells.)"""
    styler = sortable_frame(table).style
    for label in table.task_columns:
        states = table.states[label]
        places = 1 if table.normalised else digits(units.get(label, ""))
        for state in ("ok", "mismatch", "failed"):
            rows = states.index[states == state]
            if len(rows):
                styler = styler.format(lambda v, s=state, p=places: cell_text(v, s, p), subset=(rows, [label]))
                if state in CELL_COLOUR:
                    styler = styler.map(lambda _v, css=CELL_COLOUR[state]: css, subset=(rows, [label]))
    anchors = table.frame.index[table.frame["Entry"].isin(ANCHORS)]
    if len(anchors):
        styler = styler.map(lambda _v: ANCHOR_ROW, subset=(anchors, ["Entry", "Version"]))
    return styler


def column_config(board: Board, table: MainTable, rp_protocol: str) -> dict[str, object]:
    """Column widths, formats and header tooltips (task description, metric, unit, direction)."""
    config: dict[str, object] = {
        "Rank": st.column_config.NumberColumn(format="%d", width="small", pinned=True,
                                              help="By normalised mean; anchors and incomplete entries: —"),
        "Entry": st.column_config.TextColumn(pinned=True, help="Model name from meta.json"),
        "Params": st.column_config.NumberColumn(format="compact", help="Parameter count (meta.json)"),
        "Status": st.column_config.TextColumn(help="reproduced: regenerated by this suite · verified: predictions "
                                              "scored by this suite · self-reported: numbers not computed here"),
        "Norm. mean": st.column_config.NumberColumn(format="%.1f", help="Mean normalised score over the tasks in "
                                                    "view (0 = chance, 100 = gt); only entries with every task"),
        "Version": st.column_config.TextColumn(width="small"),
        "Flags": st.column_config.TextColumn(width="large"),
    }  # fmt: skip
    for label, task in table.task_columns.items():
        info = board.meta["tasks"].get(task, {})
        metric = main_metric(board, task, rp_protocol) or "?"
        m = info.get("metrics", {}).get(metric, {})
        scale = "normalised 0–100; " if table.normalised else ""
        config[label] = st.column_config.Column(
            help=f"{info.get('description', task)} Headline: {metric} ({scale}{m.get('unit', '?')}, "
            f"{table.directions[label]} is better; protocol {m.get('protocol', '?')}).",
        )  # fmt: skip
    return config


def render_table(board: Board, table: MainTable, rp_protocol: str, hidden: str | None = None) -> None:
    """The main table (rank order, or best first on a chosen task), its notes, legend and a CSV download.

    ``hidden``: why the view leaves runs out (:func:`leaderboard.view.hidden_runs`), said when it is empty."""
    if table.frame.empty:
        advice = (f"{md_escape(hidden)} Tick **Show ineligible runs** to see them." if hidden
                  else "Loosen the filters or show ineligible runs.")  # fmt: skip
        st.info(f"No scores in this view. {advice}")
        return
    labels = list(table.task_columns)
    if st.session_state.get("sort_by") not in (RANK_SORT, *labels):
        st.session_state.pop("sort_by", None)  # the task left the view
    by = st.columns([1, 2])[0].selectbox("Sort by", [RANK_SORT, *labels], key="sort_by",
                      help="A task sorts best first in its metric's direction, with flagged, failed and missing "
                      "scores last. The grid's column menus sort too (failed and missing still go last when "
                      "best comes first).")  # fmt: skip
    if by != RANK_SORT:
        table = sort_by_task(table, by)
    for note in table.notes:
        st.warning(md_escape(note))
    units = {label: headline_unit(board, task, rp_protocol) for label, task in table.task_columns.items()}
    st.dataframe(style_table(table, units), hide_index=True, column_config=column_config(board, table, rp_protocol),
                 height=min(38 + 35 * len(table.frame), 720), placeholder="—", key="main_table")  # fmt: skip
    st.caption(LEGEND)
    text = display_frame(table, units)
    st.download_button("Download this table (CSV)", text.to_csv(index=False).encode("utf-8"),
                       file_name="posebench-leaderboard.csv", mime="text/csv")  # fmt: skip


ABOUT = f"""
#### How the table is built
`bench leaderboard build` reads every run of the results store into one parquet table; this page
reads that table only (cached by the file's content hash). An **entry** is a model name and
version; when an entry has several runs, each task uses its newest run in view.

#### Normalised scores and the mean
Per task, with `c` the `{CHANCE_ENTRY}` entry's headline score and `g` the `{GT_ENTRY}` entry's:
**normalised = 100 · (score − c) / (g − c)**. The same formula serves lower-is-better metrics
(MPJPE, FID), where `g < c`. Values are not clamped: below 0 is worse than chance, above 100 beats
the ceiling. The **normalised mean** averages these over the tasks in view, only for entries with a
comparable score on every one of them; raw columns are never averaged. If `{GT_ENTRY}` or
`{CHANCE_ENTRY}` is missing, failed or not comparable on a task, or `g` is not better than `c`,
that task cannot be normalised and no entry gets a mean until the view leaves it out; the page says
which task. The anchors appear in the table but take no rank.

#### Comparability
Scores are compared only when they share the task version, the evaluator checkpoint (SHA-256) and
the data (split hash). Each task's reference is the `{GT_ENTRY}` entry's, else the most common.
Other scores show **⚠**, are listed above the table and are kept out of the mean and rank.

#### Missing, failed, ineligible
**—**: the entry has no score for the task. **failed**: its run has the task but not this metric
(e.g. skipped at scoring time). Both sort last and count in no average. Runs scored with `--limit`,
on unpinned data or with a substitute evaluator are **ineligible**: hidden unless *Show ineligible
runs* is on, and then flagged in *Flags*.

#### Status
**reproduced**: predictions regenerated by this suite from the model (`bench run`); **verified**:
submitted predictions scored by this suite (`bench score`, or *Submit*); **self-reported**:
numbers this suite did not compute. An entry shows the weakest status among its runs in view.

#### Reproducing a row
Every score carries its protocol (see *Task details*): task version, evaluator id and SHA-256,
data hash, seed, joint set, alignment and sample count. `bench results show RUN` prints a run.
"""


def render_about() -> None:
    """The FAQ (fixed text, no user data)."""
    st.markdown(ABOUT)
