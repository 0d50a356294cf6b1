"""``poseedit``: apply an instruction to pose A and return pose B (PoseFix-style editing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tasks import TASKS
from tasks.pins import POSETEXT_EVALUATOR, SYNTH_TEST_HASHES, evaluator_sha256
from tasks.pose_output import (
    PoseItems, PoseOutputTask, diversity_metrics, fid_metric, make_pose_items, pose_error_metrics,
)  # fmt: skip
from tasks.posediff import pair_items
from tasks.spec import TaskSpec
from tasks.text2pose import GENERATION_JOINTS
from tasks.text_output import reference_texts

if TYPE_CHECKING:
    from bench.data import Dataset


@TASKS.register("poseedit")
class PoseEditTask(PoseOutputTask):
    """Pose A + instruction → pose B; sample ids are the pair ids with instructions, the input text
    is the first reference instruction."""

    spec = TaskSpec(
        id="poseedit",
        version="2.0",
        description="Apply an English instruction to pose A and return the edited pose B (22 SMPL joint "
        "rotations, in pose A's frame).",
        family="editing",
        input_modality="pose + text",
        request_kind="pose_text_to_pose",
        input_kinds=("pose_a", "text"),
        output_kind="pose",
        components=("pairs", "instructions"),
        split="test",
        data_hashes=SYNTH_TEST_HASHES,
        evaluator_id=POSETEXT_EVALUATOR,
        evaluator_sha256=evaluator_sha256(POSETEXT_EVALUATOR),
        metrics=pose_error_metrics(GENERATION_JOINTS, "none") + (fid_metric(POSETEXT_EVALUATOR),)
        + diversity_metrics(POSETEXT_EVALUATOR),
        main_metric="mpjpe_mm",
        main_direction="lower",
        chance="pose A returned unchanged (the no-edit baseline)",
        ceiling="the ground-truth pose B: MPJPE, PA-MPJPE and FID are 0",
        changelog=(("1.0", "first version"), ("1.1", "added diversity and diversity_gap (T2M's protocol, "
                                                   "bench.metrics.diversity); earlier metrics unchanged"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> PoseItems:
        pairs, instructions = dataset.pairs(self.spec.split), dataset.instructions(self.spec.split)
        keep, ids = pair_items(dataset, self.spec.split)
        poses_a = pairs.poses_a[keep]
        texts = [reference_texts(instructions[i])[0] for i in ids]
        return make_pose_items(ids, pairs.poses_b[keep], None, lambda j: {"pose_a": poses_a[j], "text": texts[j]})

    def _chance_poses(self, dataset: Dataset, items: PoseItems, rng: np.random.Generator) -> np.ndarray:
        """Chance: copy pose A (deterministic; ``rng`` is unused)."""
        poses_a = [items.request_inputs(i)["pose_a"] for i in range(len(items.ids))]
        return np.stack([np.asarray(p, dtype=np.float32) for p in poses_a])
