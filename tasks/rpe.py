"""``rpe``: reasoning-based pose estimation — the pose of the person a question refers to (ChatPose)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tasks import TASKS
from tasks.image2pose import ESTIMATION_CHANCE, ESTIMATION_JOINTS
from tasks.pins import SYNTH_TEST_HASHES
from tasks.pose_output import PoseItems, PoseOutputTask, make_pose_items, pose_error_metrics
from tasks.spec import POSE_SHAPE, TaskSpec

if TYPE_CHECKING:
    from bench.data import Dataset


@TASKS.register("rpe")
class RpeTask(PoseOutputTask):
    """Multi-person image + question → the pose of the person meant (root in the camera frame)."""

    spec = TaskSpec(
        id="rpe",
        version="2.0",
        description="Given a multi-person 224×224 RGB image and a question that refers to one person by "
        "reasoning, estimate that person's 3D body pose (root orientation in the camera frame).",
        family="reasoning",
        input_modality="image + text",
        request_kind="image_text_to_pose",
        input_kinds=("image", "text"),
        output_kind="pose",
        components=("rpe",),
        split="test",
        data_hashes=SYNTH_TEST_HASHES,
        evaluator_id=None,
        evaluator_sha256=None,
        metrics=pose_error_metrics(ESTIMATION_JOINTS, "root"),
        main_metric="pa_mpjpe_mm",
        main_direction="lower",
        chance=ESTIMATION_CHANCE,
        ceiling="the referred person's ground-truth camera-frame pose: both errors are 0",
        changelog=(("1.0", "first version"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> PoseItems:
        items = dataset.rpe(self.spec.split)
        targets = np.stack([i.poses_camera for i in items]) if items else np.zeros((0, *POSE_SHAPE), np.float32)

        def inputs(j: int) -> dict[str, np.ndarray | str]:
            return {"image": dataset.listed_image(items[j].image), "text": items[j].question}

        return make_pose_items([i.id for i in items], targets, None, inputs)
