"""The "Samples" section: for a task and an entry, each sample's inputs, prediction and ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from bench.errors import BenchError
from leaderboard.build import Board
from leaderboard.page_task import entry_label
from leaderboard.samples import GroundTruth, load_samples, open_ground_truth, render
from leaderboard.text import md_escape
from leaderboard.view import ViewFilter, visible_rows

INPUT_NAMES = {"pose": "pose", "pose_a": "pose A", "pose_b": "pose B", "image": "image", "image_a": "image A",
               "image_b": "image B", "text": "text"}  # fmt: skip


@st.cache_data(max_entries=16, show_spinner="Loading per-sample outputs…")
def cached_samples(store_path: str, run_id: int, task: str, created: str) -> pd.DataFrame:
    """Per-sample outputs of a run (runs never change once stored; ``created`` guards id reuse)."""
    return load_samples(store_path, run_id, task)


@st.cache_resource(max_entries=4, show_spinner="Opening the dataset…")
def cached_ground_truth(data_dir: str, data_name: str, data_hash: str, task: str) -> GroundTruth | str:
    """The task's ground truth on the local dataset (kept in memory, not copied: it holds loaders)."""
    return open_ground_truth(Path(data_dir), data_name, data_hash, task)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_render(pose: bytes, role: str, camera_frame: bool) -> np.ndarray:
    """A pose render keyed by the pose's float32 bytes."""
    return render(np.frombuffer(pose, dtype=np.float32).reshape(22, 3), role, camera_frame)


def pose_image(pose: object, role: str, camera_frame: bool = False) -> None:
    """Draw a pose, or say why it cannot be drawn."""
    try:
        array = np.asarray(pose, dtype=np.float32)
        if array.shape != (22, 3):
            raise ValueError(f"shape {array.shape}")
        st.image(cached_render(array.tobytes(), role, camera_frame), width=224)
    except (BenchError, ValueError) as exc:
        st.warning("Cannot draw this pose: " + md_escape(exc))


def _preview(prediction: object) -> str:
    return prediction if isinstance(prediction, str) else "pose (22 × 3 axis-angle)"


def render_samples(board: Board, f: ViewFilter, tasks: list[str], data_dir: Path) -> None:
    """Task and entry pickers, the per-sample table, and one sample in detail."""
    if not tasks:
        st.info("No tasks in this view.")
        return
    task = st.selectbox("Task", tasks, key="sample_task")
    rows = visible_rows(board, f)
    runs = rows[rows["task"] == task].sort_values("run_id", ascending=False).drop_duplicates(["entry", "model_version"])
    runs = runs.sort_values(["entry", "model_version"], key=lambda c: c.str.casefold())
    if runs.empty:
        st.info("No entry in this view has this task.")
        return
    labels = {int(r.run_id): f"{entry_label(r.entry, r.model_version)} · run {r.run_id}" for r in runs.itertuples()}
    run_id = st.selectbox("Entry", list(labels), format_func=labels.get, key="sample_run")
    run = runs[runs["run_id"] == run_id].iloc[0]
    try:
        samples = cached_samples(board.meta["store"], run_id, task, str(run["created"]))
    except BenchError as exc:
        st.warning("Per-sample outputs are not available: " + md_escape(exc))
        return
    if samples.empty:
        st.info("This run stored no per-sample outputs for this task.")
        return
    overview = samples.assign(prediction=samples["prediction"].map(_preview))
    st.dataframe(overview, hide_index=True, height=min(38 + 35 * len(overview), 280), key="sample_table")
    sample_id = st.selectbox("Sample", samples["sample_id"].tolist(), key="sample_id")
    sample = samples[samples["sample_id"] == sample_id].iloc[0]
    truth = cached_ground_truth(str(data_dir), str(run["data_name"]), str(run["data_hash"]), task)
    if isinstance(truth, str):
        st.warning("Inputs and ground truth not shown: " + md_escape(truth) + ". Only the prediction is shown.")
        truth = None
    elif truth.warning:
        st.warning(md_escape(truth.warning))
    if truth is not None and sample_id not in truth.position:
        st.warning(f"Sample {md_escape(sample_id)} is not in the local dataset; only the prediction is shown.")
        truth = None
    left, middle, right = st.columns(3)
    with left:
        st.markdown("**Input**")
        if truth is None:
            st.caption("not available")
        else:
            _show_inputs(truth.inputs(sample_id))
    with middle:
        st.markdown("**Prediction**")
        _show_output(sample["prediction"], "prediction", truth.camera_frame if truth else False)
        metrics = sample.drop(["sample_id", "prediction"]).dropna()
        if len(metrics):
            st.caption(" · ".join(f"{md_escape(name)} = {float(value):.4g}" for name, value in metrics.items()))
    with right:
        st.markdown("**Ground truth**")
        if truth is None:
            st.caption("not available")
        else:
            _show_output(truth.target(sample_id), "truth", truth.camera_frame)


def _show_inputs(inputs: dict[str, np.ndarray | str]) -> None:
    for key, value in inputs.items():
        st.caption(INPUT_NAMES.get(key, key))
        if isinstance(value, str):
            st.text(value)
        elif key.startswith("image"):
            st.image(value, width=224)
        else:
            pose_image(value, "input")


def _show_output(value: object, role: str, camera_frame: bool) -> None:
    if isinstance(value, str):
        st.text(value)
    elif isinstance(value, tuple):  # reference texts
        for i, text in enumerate(value, 1):
            st.text(f"{i}. {text}")
    else:
        pose_image(value, role, camera_frame)
