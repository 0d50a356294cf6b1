"""``spg``: speculative pose generation — the pose an implicit description calls for (ChatPose)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.errors import DataError
from tasks import TASKS
from tasks.image2text import pose_rows
from tasks.pins import POSETEXT_EVALUATOR, SYNTH_TEST_HASHES, evaluator_sha256
from tasks.pose_output import (
    PoseItems, PoseOutputTask, diversity_metrics, fid_metric, make_pose_items, near_duplicate_metrics,
    pose_error_metrics, retrieval_metrics,
)  # fmt: skip
from tasks.spec import TaskSpec
from tasks.text2pose import GENERATION_JOINTS, POSE_CEILING, POSE_CHANCE
from tasks.text_output import reference_texts

if TYPE_CHECKING:
    from bench.data import Dataset


@TASKS.register("spg")
class SpgTask(PoseOutputTask):
    """Implicit description → pose. Retrieval recall matches the predicted pose with the target
    pose's explicit caption: the evaluator is trained on explicit descriptions, and an implicit one
    ("someone who just scored a goal") is outside what it can embed faithfully."""

    spec = TaskSpec(
        id="spg",
        version="2.0",
        description="Generate the 3D body pose that an implicit description of a situation calls for "
        "(\"someone who just scored a goal\").",
        family="reasoning",
        input_modality="text",
        request_kind="text_to_pose",
        input_kinds=("text",),
        output_kind="pose",
        components=("spg", "poses", "captions"),
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
        ceiling=POSE_CEILING + " (queried with the target pose's explicit caption)",
        changelog=(("1.0", "first version"), ("1.1", "added diversity and diversity_gap (T2M's protocol, "
                                                   "bench.metrics.diversity); earlier metrics unchanged"),
                   ("1.2", "added the 'tmr' variant: near-duplicate-aware recall (TMR's threshold protocol, "
                           "bench.metrics.near_duplicates)"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> PoseItems:
        split = self.spec.split
        items, captions = dataset.spg(split), dataset.captions(split)
        rows = pose_rows(dataset, split, [i.pose_id for i in items], str(dataset.root / "spg"))
        targets = dataset.poses(split).poses[rows]
        texts = [reference_texts(captions[i.pose_id])[0] if i.pose_id in captions else "" for i in items]
        missing = next((i for i, t in zip(items, texts, strict=True) if not t), None)
        if missing is not None:
            raise DataError("the target pose has no caption", file=str(dataset.root / "spg"), sample_id=missing.id)
        return make_pose_items([i.id for i in items], targets, texts, lambda j: {"text": items[j].description})
