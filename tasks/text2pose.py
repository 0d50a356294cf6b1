"""``text2pose``: generate the 3D body pose a description describes (PoseScript-style)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks import TASKS
from tasks.pins import POSETEXT_EVALUATOR, SYNTH_TEST_HASHES, evaluator_sha256
from tasks.pose_output import (
    PoseItems, PoseOutputTask, diversity_metrics, fid_metric, make_pose_items, near_duplicate_metrics,
    pose_error_metrics, retrieval_metrics,
)  # fmt: skip
from tasks.spec import TaskSpec
from tasks.text_output import reference_texts

if TYPE_CHECKING:
    from bench.data import Dataset

GENERATION_JOINTS = "body22"
"""Joint set of the generation and editing pose errors: the 22 joints a pose rotates."""
POSE_CHANCE = "training poses drawn uniformly without replacement (seeded), one per sample"
POSE_CEILING = ("the ground-truth pose: MPJPE, PA-MPJPE and FID are 0, retrieval recall is the evaluator's own "
                "text-to-pose recall")  # fmt: skip


@TASKS.register("text2pose")
class Text2PoseTask(PoseOutputTask):
    """Description → pose; sample ids are the pose ids with captions, the input is the first reference."""

    spec = TaskSpec(
        id="text2pose",
        version="2.0",
        description="Generate the 3D body pose (22 SMPL joint rotations, heading-normalised) an English "
        "description describes.",
        family="generation",
        input_modality="text",
        request_kind="text_to_pose",
        input_kinds=("text",),
        output_kind="pose",
        components=("poses", "captions"),
        split="test",
        data_hashes=SYNTH_TEST_HASHES,
        evaluator_id=POSETEXT_EVALUATOR,
        evaluator_sha256=evaluator_sha256(POSETEXT_EVALUATOR),
        metrics=retrieval_metrics(POSETEXT_EVALUATOR) + pose_error_metrics(GENERATION_JOINTS, "none")
        + (fid_metric(POSETEXT_EVALUATOR),) + diversity_metrics(POSETEXT_EVALUATOR)
        + near_duplicate_metrics(POSETEXT_EVALUATOR),
        main_metric="recall_t2p_top5",
        main_direction="higher",
        chance=POSE_CHANCE,
        ceiling=POSE_CEILING,
        changelog=(("1.0", "first version"), ("1.1", "added diversity and diversity_gap (T2M's protocol, "
                                                   "bench.metrics.diversity); earlier metrics unchanged"),
                   ("1.2", "added the 'tmr' variant: near-duplicate-aware recall (TMR's threshold protocol, "
                           "bench.metrics.near_duplicates)"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> PoseItems:
        poses, captions = dataset.poses(self.spec.split), dataset.captions(self.spec.split)
        keep = [i for i, pose_id in enumerate(poses.ids.tolist()) if pose_id in captions]
        ids = [str(poses.ids[i]) for i in keep]
        texts = [reference_texts(captions[i])[0] for i in ids]
        return make_pose_items(ids, poses.poses[keep], texts, lambda j: {"text": texts[j]})
