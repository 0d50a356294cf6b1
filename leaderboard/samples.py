"""Data behind the sample browser: a run's per-sample outputs from the store, the task's inputs and
ground truth from the local copy of the dataset the run was scored on, and pose renders.

Poses are drawn with the synth renderer (:func:`bench.data.synth.images.render.render_pose`, a mannequin
on the built-in skeleton body model) from one fixed three-quarter camera, so a prediction and its
ground truth are seen the same way. Targets of image tasks (``image2pose``, ``rpe``) are
camera-frame poses (x right, y down, z forward); they are turned into the y-up body frame by a
half turn about x before drawing, which shows them as the camera saw them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.store import ResultsStore

logger = logging.getLogger(__name__)

VIEW = {"azimuth_deg": 25.0, "elevation_deg": 12.0, "roll_deg": 0.0, "fov_deg": 40.0, "fill": 0.85}
"""The unframed camera of every pose render (framed on each figure by the renderer)."""
STYLE_SEEDS = {"input": 3, "prediction": 11, "truth": 7}
"""Seed of the outfit, light and backdrop of each role, so roles look different but stable."""
_CAMERA_TO_BODY = np.diag([1.0, -1.0, -1.0])


def load_samples(store_path: str | Path, run_id: int, task: str) -> pd.DataFrame:
    """Per-sample outputs of one run and task: ``sample_id``, ``prediction`` (str, or a (22, 3)
    nested list of axis-angle radians) and one float column per per-sample metric.

    Raises:
        NotFoundError: no store at ``store_path``.
    """
    with ResultsStore(store_path, create=False) as store:
        rows = store.samples(run_id, task)
    frame = pd.DataFrame({"sample_id": [r["sample_id"] for r in rows],
                          "prediction": pd.Series([r["prediction"] for r in rows], dtype="object")})  # fmt: skip
    metrics = pd.DataFrame([r["metrics"] for r in rows], index=frame.index, dtype="float64")
    return pd.concat([frame, metrics], axis=1)


@dataclass(frozen=True)
class GroundTruth:
    """A task's inputs and targets on a local dataset, looked up by sample id."""

    task: str
    """Task id."""
    output_kind: str
    """``text`` or ``pose``."""
    camera_frame: bool
    """Whether targets are camera-frame poses (image → pose tasks)."""
    items: Any
    """The task's items (``tasks.text_output.TextItems`` or ``tasks.pose_output.PoseItems``)."""
    position: dict[str, int]
    """Sample id → index in ``items``."""
    warning: str | None
    """Set when the local data differs from the data the run was scored on."""

    def inputs(self, sample_id: str) -> dict[str, np.ndarray | str]:
        """The request inputs of a sample (``pose``, ``pose_a``/``pose_b``, ``image``..., ``text``)."""
        return self.items.request_inputs(self.position[sample_id])

    def target(self, sample_id: str) -> tuple[str, ...] | np.ndarray:
        """Reference texts (text tasks) or the float32 (22, 3) target pose (pose tasks)."""
        i = self.position[sample_id]
        return tuple(self.items.references[i]) if self.output_kind == "text" else self.items.targets[i]


def open_ground_truth(data_dir: Path, data_name: str, data_hash: str, task_id: str) -> GroundTruth | str:
    """The ground truth of ``task_id`` on the local dataset ``data_name`` (under ``data_dir``), or a
    one-line reason why it is not available. ``data_hash``: the split hash the run was scored on."""
    from bench.data import load_dataset
    from tasks import get_task

    try:
        dataset = load_dataset(data_name, data_dir)
        task = get_task(task_id)
        items = task.items(dataset)
        local_hash = dataset.split_hash(task.spec.split)
    except BenchError as exc:
        return f"the dataset this run was scored on ({data_name}) is not available here: {exc}"
    spec = task.spec
    warning = None
    if local_hash != data_hash:
        warning = (f"the local {data_name} ({local_hash[:12]}) differs from the data this run was scored on "
                   f"({str(data_hash)[:12]}): inputs and ground truth may not match the predictions")  # fmt: skip
    camera_frame = spec.output_kind == "pose" and any(k.startswith("image") for k in spec.input_kinds)
    position = {sample_id: i for i, sample_id in enumerate(items.ids)}
    return GroundTruth(task_id, spec.output_kind, camera_frame, items, position, warning)


def body_frame(pose: np.ndarray) -> np.ndarray:
    """A camera-frame pose (x right, y down, z forward) as a y-up body-frame pose: float32 (22, 3),
    root orientation turned half a turn about x; body joints unchanged."""
    import torch

    from bench.body import axis_angle_to_matrix, matrix_to_axis_angle

    out = np.array(pose, dtype=np.float32, copy=True)
    root = axis_angle_to_matrix(torch.from_numpy(out[0]).double())
    out[0] = matrix_to_axis_angle(torch.from_numpy(_CAMERA_TO_BODY) @ root).float().numpy()
    return out


def render(pose: np.ndarray | list[list[float]], role: str, camera_frame: bool = False) -> np.ndarray:
    """A uint8 (224, 224, 3) drawing of a float32 (22, 3) axis-angle pose.

    ``role`` (``input``, ``prediction``, ``truth``) picks the outfit; ``camera_frame`` converts a
    camera-frame pose with :func:`body_frame` first.
    """
    from bench.data.synth.images.appearance import sample_style
    from bench.data.synth.images.camera import Camera
    from bench.data.synth.images.render import render_pose

    array = np.asarray(pose, dtype=np.float32)
    if camera_frame:
        array = body_frame(array)
    style = sample_style(np.random.default_rng(STYLE_SEEDS[role]))
    return render_pose(array, Camera(**VIEW), style)
