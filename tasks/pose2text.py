"""``pose2text``: describe a 3D body pose (PoseScript-style captioning)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks import TASKS
from tasks.pins import POSETEXT_EVALUATOR, R_PRECISION_SEED, SYNTH_TEST_HASHES, evaluator_sha256
from tasks.spec import TaskSpec
from tasks.text_output import TextItems, TextOutputTask, make_text_items, reference_texts, text_task_metrics

if TYPE_CHECKING:
    from bench.data import Dataset

CAPTION_CHANCE = ("a caption drawn uniformly without replacement (seeded) from the training split's references; "
                  "R-precision chance is k/32")  # fmt: skip
CAPTION_CEILING = ("each item's first reference through the evaluator (R-precision ceiling); its text scores are "
                   "trivially maximal because it is one of the references")  # fmt: skip


def caption_pool(dataset: Dataset, split: str) -> list[str]:
    """Every reference caption of ``split`` (the chance baseline's pool), in dataset order."""
    return [text for texts in dataset.captions(split).values() for text in reference_texts(texts)]


@TASKS.register("pose2text")
class Pose2TextTask(TextOutputTask):
    """Pose → description; sample ids are the pose ids that have captions."""

    spec = TaskSpec(
        id="pose2text",
        version="2.0",
        description="Describe a 3D body pose (22 SMPL joint rotations) in English.",
        family="comprehension",
        input_modality="pose",
        request_kind="pose_to_text",
        input_kinds=("pose",),
        output_kind="text",
        components=("poses", "captions"),
        split="test",
        data_hashes=SYNTH_TEST_HASHES,
        evaluator_id=POSETEXT_EVALUATOR,
        evaluator_sha256=evaluator_sha256(POSETEXT_EVALUATOR),
        metrics=text_task_metrics(POSETEXT_EVALUATOR, R_PRECISION_SEED),
        main_metric="r_precision_top1",
        main_direction="higher",
        chance=CAPTION_CHANCE,
        ceiling=CAPTION_CEILING,
        changelog=(("1.0", "first version"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> TextItems:
        poses, captions = dataset.poses(self.spec.split), dataset.captions(self.spec.split)
        keep = [i for i, pose_id in enumerate(poses.ids.tolist()) if pose_id in captions]
        ids = [str(poses.ids[i]) for i in keep]
        arrays = poses.poses[keep]
        return make_text_items(ids, [reference_texts(captions[i]) for i in ids], (arrays,),
                               lambda j: {"pose": arrays[j]}, where=str(dataset.root))  # fmt: skip

    def _train_texts(self, dataset: Dataset) -> list[str]:
        return caption_pool(dataset, "train")
