"""The "Task details" and "Plots" sections: every metric of a task with CI and protocol, and charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from leaderboard.build import Board
from leaderboard.text import md_escape, short_hash
from leaderboard.view import ARROWS, MainTable, ViewFilter, task_details

DETAIL_COLUMNS = [
    "Entry", "Version", "Metric", "Value", "95% CI", "Unit", "Dir", "n", "Protocol", "Joint set", "Alignment", "Seed",
    "Evaluator", "Evaluator SHA-256", "Task version", "Data hash", "Comparable", "State",
]  # fmt: skip


def entry_label(entry: str, version: str) -> str:
    """How charts and pickers name an entry."""
    return f"{entry} ({version})"


def detail_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The per-task metric table for display (one row per entry and metric)."""
    ci = [("—" if state == "failed" else "set-level: none") if pd.isna(lo) else f"[{lo:.4g}, {hi:.4g}]"
          for lo, hi, state in zip(rows["ci_low"], rows["ci_high"], rows["state"], strict=True)]  # fmt: skip
    return pd.DataFrame({
        "Entry": rows["entry"], "Version": rows["model_version"],
        "Metric": rows["metric"] + np.where(rows["is_main"], " ★", ""), "Value": rows["value"], "95% CI": ci,
        "Unit": rows["unit"], "Dir": rows["direction"].map(ARROWS), "n": rows["n"], "Protocol": rows["protocol"],
        "Joint set": rows["joint_set"], "Alignment": rows["alignment"], "Seed": rows["seed"],
        "Evaluator": rows["evaluator_id"], "Evaluator SHA-256": rows["evaluator_sha256"].map(short_hash),
        "Task version": rows["task_version"], "Data hash": rows["data_hash"].map(short_hash),
        "Comparable": np.where(rows["comparable"], "yes", "⚠ no"), "State": rows["state"],
    }, columns=DETAIL_COLUMNS)  # fmt: skip


def render_task(board: Board, f: ViewFilter, tasks: list[str]) -> None:
    """Pick a task; show its definition, every metric of every entry, and a CI bar chart."""
    if not tasks:
        st.info("No tasks in this view.")
        return
    task = st.selectbox("Task", tasks, key="detail_task")
    info = board.meta["tasks"].get(task, {})
    st.markdown(f"**{md_escape(task)}** · version {md_escape(info.get('version', '?'))} · "
                f"{md_escape(info.get('family', '?'))} · input: {md_escape(info.get('input_modality', '?'))}")  # fmt: skip
    st.caption(md_escape(info.get("description", "")))
    left, right = st.columns(2)
    left.caption("**Chance (0):** " + md_escape(info.get("chance", "?")))
    right.caption("**Ceiling (100):** " + md_escape(info.get("ceiling", "?")))
    rows = task_details(board, f, task)
    if rows.empty:
        st.info("No scores for this task in this view.")
        return
    st.dataframe(detail_frame(rows), hide_index=True, key="task_table", placeholder="—",
                 column_config={"Value": st.column_config.NumberColumn(format="%.4g")})  # fmt: skip
    usable = rows[rows["state"] == "ok"]
    metrics = list(dict.fromkeys(usable["metric"]))
    if not metrics:
        return
    from leaderboard.plots import ci_bars  # altair: imported when a chart is drawn, not at first paint

    metric = st.selectbox("Metric to plot", metrics, key="detail_metric")
    chosen = usable[usable["metric"] == metric]
    data = chosen.assign(label=[entry_label(e, v) for e, v in zip(chosen["entry"], chosen["model_version"], strict=True)])
    first = chosen.iloc[0]
    st.altair_chart(ci_bars(data, metric, str(first["unit"]), str(first["direction"])), width="stretch")


def render_plots(board: Board, raw: MainTable, normalised: MainTable, hidden: str | None = None) -> None:
    """Normalised small multiples of chosen entries, and score against parameter count; ``hidden``:
    why the view leaves runs out (:func:`leaderboard.view.hidden_runs`), said when it is empty."""
    from leaderboard.plots import normalised_multiples, size_plot
    if raw.frame.empty:
        st.info("No scores in this view." + (f" {md_escape(hidden)}" if hidden else ""))
        return
    frame = normalised.frame
    labels = [entry_label(e, v) for e, v in zip(frame["Entry"], frame["Version"], strict=True)]
    ranked = [label for label, r in zip(labels, frame["Rank"], strict=True) if not pd.isna(r)]
    st.subheader("Normalised scores per task")
    chosen = st.multiselect("Entries", labels, default=ranked[:6] or labels[:6], key="plot_entries")
    if chosen:
        keep = [label in chosen for label in labels]
        part = frame[keep].assign(label=[x for x, k in zip(labels, keep, strict=True) if k])
        long = part.melt(id_vars=["label"], value_vars=list(normalised.task_columns), var_name="column",
                         value_name="normalised")  # fmt: skip
        long["task"] = long["column"].map(normalised.task_columns)
        st.altair_chart(normalised_multiples(long), width="content")
        unanchored = [t for t, a in normalised.anchors.items() if not a.ok]
        if unanchored:
            st.caption("No bars for tasks without both anchors: " + md_escape(", ".join(unanchored)))
    st.subheader("Score against model size")
    options = ["Norm. mean", *raw.task_columns]
    score = st.selectbox("Score", options, key="size_score")
    source = normalised.frame if score == "Norm. mean" else raw.frame
    points = pd.DataFrame({"label": [entry_label(e, v) for e, v in zip(source["Entry"], source["Version"], strict=True)],
                           "params": source["Params"].astype("float64"), "score": source[score].astype("float64"),
                           "status": source["Status"]})  # fmt: skip
    if score != "Norm. mean":
        points = points[(raw.states[score] == "ok").to_numpy()]
    shown = points[(points["params"] > 0) & points["score"].notna()]
    if shown.empty:
        st.info("No entry in view has both a parameter count and this score.")
    else:
        higher = score == "Norm. mean" or raw.directions[score] == "higher"
        st.altair_chart(size_plot(shown, score, higher), width="stretch")
    left_out = len(points) - len(shown)
    if left_out:
        st.caption(f"{left_out} entr{'y' if left_out == 1 else 'ies'} not shown: no parameter count (or 0), "
                   "or no usable score.")  # fmt: skip
