"""``image2pose``: estimate the 3D pose of the person in an image (pose estimation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks import TASKS
from tasks.pins import SYNTH_TEST_HASHES
from tasks.pose_output import PoseItems, PoseOutputTask, make_pose_items, pose_error_metrics
from tasks.spec import TaskSpec

if TYPE_CHECKING:
    from bench.data import Dataset

ESTIMATION_JOINTS = "lsp14"
"""Joint set of the estimation errors: the 14 LSP-layout joints (limbs, neck, head), as in the
HMR2 / 4D-Humans / UniPose protocol, after subtracting the pelvis."""
ESTIMATION_CHANCE = ("training poses drawn uniformly without replacement (seeded), one per sample (canonical root "
                     "orientation)")  # fmt: skip


@TASKS.register("image2pose")
class Image2PoseTask(PoseOutputTask):
    """Image → pose with its root in the camera frame; sample ids are render ids."""

    spec = TaskSpec(
        id="image2pose",
        version="2.0",
        description="Estimate the 3D body pose (22 SMPL joint rotations, root orientation in the camera frame) "
        "of the person in a 224×224 RGB image.",
        family="comprehension",
        input_modality="image",
        request_kind="image_to_pose",
        input_kinds=("image",),
        output_kind="pose",
        components=("renders",),
        split="test",
        data_hashes=SYNTH_TEST_HASHES,
        evaluator_id=None,
        evaluator_sha256=None,
        metrics=pose_error_metrics(ESTIMATION_JOINTS, "root"),
        main_metric="pa_mpjpe_mm",
        main_direction="lower",
        chance=ESTIMATION_CHANCE,
        ceiling="the ground-truth camera-frame pose: both errors are 0",
        changelog=(("1.0", "first version"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> PoseItems:
        renders = dataset.renders(self.spec.split)
        return make_pose_items([str(i) for i in renders.ids.tolist()], renders.poses_camera, None,
                               lambda j: {"image": renders.image(j)})  # fmt: skip
