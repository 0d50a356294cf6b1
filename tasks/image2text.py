"""``image2text``: describe the pose of the person in an image (ImageScript-style)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bench.errors import DataError
from tasks import TASKS
from tasks.pins import POSETEXT_EVALUATOR, R_PRECISION_SEED, SYNTH_TEST_HASHES, evaluator_sha256
from tasks.pose2text import CAPTION_CEILING, CAPTION_CHANCE, caption_pool
from tasks.spec import TaskSpec
from tasks.text_output import TextItems, TextOutputTask, make_text_items, reference_texts, text_task_metrics

if TYPE_CHECKING:
    from bench.data import Dataset


def pose_rows(dataset: Dataset, split: str, pose_ids: list[str], where: str) -> np.ndarray:
    """Positions of ``pose_ids`` in ``dataset.poses(split)`` (DataError naming an unknown id)."""
    index = {pose_id: i for i, pose_id in enumerate(dataset.poses(split).ids.tolist())}
    missing = [p for p in pose_ids if p not in index]
    if missing:
        raise DataError(f"pose id {missing[0]!r} is not in poses/{split}", file=where, field="pose_ids")
    return np.array([index[p] for p in pose_ids], dtype=np.int64)


@TASKS.register("image2text")
class Image2TextTask(TextOutputTask):
    """Image → description; sample ids are render ids, the retrieval key is the rendered pose."""

    spec = TaskSpec(
        id="image2text",
        version="2.0",
        description="Describe, in English, the body pose of the person in a 224×224 RGB image.",
        family="comprehension",
        input_modality="image",
        request_kind="image_to_text",
        input_kinds=("image",),
        output_kind="text",
        components=("renders", "poses", "captions"),
        split="test",
        data_hashes=SYNTH_TEST_HASHES,
        evaluator_id=POSETEXT_EVALUATOR,
        evaluator_sha256=evaluator_sha256(POSETEXT_EVALUATOR),
        metrics=text_task_metrics(POSETEXT_EVALUATOR, R_PRECISION_SEED),
        main_metric="r_precision_top1",
        main_direction="higher",
        chance=CAPTION_CHANCE,
        ceiling=CAPTION_CEILING + " (the candidate is the image's ground-truth canonical pose)",
        changelog=(("1.0", "first version"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> TextItems:
        split = self.spec.split
        renders, captions = dataset.renders(split), dataset.captions(split)
        keep = [i for i, pose_id in enumerate(renders.pose_ids.tolist()) if pose_id in captions]
        pose_ids = [str(renders.pose_ids[i]) for i in keep]
        poses = dataset.poses(split).poses[pose_rows(dataset, split, pose_ids, str(dataset.root / "renders"))]
        ids = [str(renders.ids[i]) for i in keep]
        return make_text_items(ids, [reference_texts(captions[p]) for p in pose_ids], (poses,),
                               lambda j: {"image": renders.image(keep[j])}, where=str(dataset.root))  # fmt: skip

    def _train_texts(self, dataset: Dataset) -> list[str]:
        return caption_pool(dataset, "train")
