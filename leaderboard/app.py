"""The PoseBench leaderboard page (Streamlit). Start it with ``bench leaderboard serve``.

This script is an entry point, like the CLI: it builds the :class:`~bench.config.BenchConfig`
from the environment and reads the table named by ``BENCH_LEADERBOARD_TABLE`` (set by ``serve``),
else the config's ``leaderboard_table``. The table is loaded with ``st.cache_data`` keyed by the
file's SHA-256, so a rebuilt table is picked up on the next interaction. Sections are lazy tabs:
only the open one runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from bench.config import load_config
from bench.errors import BenchError
from leaderboard.build import Board, load_table, table_digest
from leaderboard.page_samples import render_samples
from leaderboard.page_table import render_about, render_table
from leaderboard.page_task import render_plots, render_task
from leaderboard.page_upload import render_upload
from leaderboard.serve import TABLE_ENV
from leaderboard.text import md_escape
from leaderboard.view import (
    FAMILY_ORDER,
    MainTable,
    ViewFilter,
    datasets,
    hidden_runs,
    main_table,
    task_order,
    visible_rows,
)

SECTIONS = ("Leaderboard", "Task details", "Plots", "Samples", "Submit", "About")


@st.cache_data(max_entries=4, show_spinner="Loading the leaderboard table…")
def cached_board(path: str, digest: str) -> Board:
    """The table at ``path``; ``digest`` (its content hash) is the cache key."""
    return load_table(path)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_main_table(_board: Board, digest: str, f: ViewFilter, normalised: bool) -> MainTable:
    """The main table of a view (``digest`` identifies ``_board``, which is not hashed)."""
    return main_table(_board, f, normalised)


def sidebar_filters(board: Board) -> tuple[ViewFilter, bool]:
    """The sidebar's filters, and whether task cells show normalised scores."""
    tasks = board.meta["tasks"]
    present = task_order(board, set(board.scores["task"]))
    with st.sidebar:
        st.header("Filters")
        names = datasets(board)
        dataset = st.selectbox("Dataset", names, key="dataset", help="Scores on different data are never compared.")
        families = [f for f in FAMILY_ORDER if any(tasks.get(t, {}).get("family") == f for t in present)]
        chosen_families = st.multiselect("Task family", families, key="families", placeholder="all families")
        modalities = sorted({str(tasks.get(t, {}).get("input_modality")) for t in present})
        chosen_modalities = st.multiselect("Input modality", modalities, key="modalities", placeholder="all modalities")
        chosen_tasks = st.multiselect("Tasks", present, key="tasks", placeholder="all tasks")
        protocol = st.radio("R-precision protocol", board.meta.get("rp_protocols", ["blocks32"]), key="rp_protocol",
                            horizontal=True, help="Headline of the text-output tasks: blocks32 (UniPose/T2M, "
                            "default) or posescript (needs runs scored with `--variant posescript`).")  # fmt: skip
        ineligible = st.toggle("Show ineligible runs", key="ineligible", help="Runs scored with --limit, on "
                               "unpinned data or with a substitute evaluator.")  # fmt: skip
        cells = st.radio("Task cells", ["raw scores", "normalised (0 = chance, 100 = gt)"], key="cells")
        st.caption(f"Table built {md_escape(board.meta.get('built', '?'))} from {board.meta.get('runs', 0)} runs.")
    f = ViewFilter(dataset=dataset, families=tuple(chosen_families), modalities=tuple(chosen_modalities),
                   tasks=tuple(chosen_tasks), rp_protocol=str(protocol), include_ineligible=bool(ineligible))  # fmt: skip
    return f, cells != "raw scores"


def main() -> None:
    """The page."""
    st.set_page_config(page_title="PoseBench leaderboard", layout="wide")
    try:
        config = load_config()
    except BenchError as exc:
        st.error(md_escape(exc))
        return
    table_path = Path(os.environ.get(TABLE_ENV) or config.leaderboard_table)
    st.title("PoseBench leaderboard")
    st.caption("3D human pose × language: nine tasks, one protocol per metric, scores normalised between the "
               "chance baseline (0) and the ground truth through the evaluator (100).")  # fmt: skip
    board, problem, digest = None, None, ""
    try:
        if table_path.is_file():
            digest = table_digest(table_path)
            board = cached_board(str(table_path), digest)
    except BenchError as exc:
        problem = str(exc)
    if board is None:
        st.error(md_escape(problem or f"No leaderboard table at {table_path}: run `bench leaderboard build`."))
        render_upload(config, table_path)
        return
    f, normalised = sidebar_filters(board)
    tabs = st.tabs(SECTIONS, key="section", on_change="rerun")
    view_tasks = task_order(board, set(visible_rows(board, f)["task"]))
    with tabs[0]:
        if tabs[0].open:
            render_table(board, cached_main_table(board, digest, f, normalised), f.rp_protocol, hidden_runs(board, f))
    with tabs[1]:
        if tabs[1].open:
            render_task(board, f, view_tasks)
    with tabs[2]:
        if tabs[2].open:
            render_plots(board, cached_main_table(board, digest, f, False), cached_main_table(board, digest, f, True),
                         hidden_runs(board, f))
    with tabs[3]:
        if tabs[3].open:
            render_samples(board, f, view_tasks, config.data_dir)
    with tabs[4]:
        if tabs[4].open:
            render_upload(config, table_path)
    with tabs[5]:
        if tabs[5].open:
            render_about()


main()
