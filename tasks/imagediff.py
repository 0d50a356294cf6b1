"""``imagediff``: write the instruction that turns the pose in image A into the pose in image B."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bench.errors import DataError
from tasks import TASKS
from tasks.pins import PAIRTEXT_EVALUATOR, R_PRECISION_SEED, SYNTH_TEST_HASHES, evaluator_sha256
from tasks.posediff import INSTRUCTION_CEILING, INSTRUCTION_CHANCE, instruction_pool
from tasks.spec import TaskSpec
from tasks.text_output import TextItems, TextOutputTask, make_text_items, reference_texts, text_task_metrics

if TYPE_CHECKING:
    from bench.data import Dataset


@TASKS.register("imagediff")
class ImageDiffTask(TextOutputTask):
    """Image A, image B → instruction; sample ids are render-pair ids, the key is the pose pair."""

    spec = TaskSpec(
        id="imagediff",
        version="2.0",
        description="Write the English instruction that changes the pose in image A into the pose in image B.",
        family="comprehension",
        input_modality="image pair",
        request_kind="imagepair_to_text",
        input_kinds=("image_a", "image_b"),
        output_kind="text",
        components=("render_pairs", "pairs", "instructions"),
        split="test",
        data_hashes=SYNTH_TEST_HASHES,
        evaluator_id=PAIRTEXT_EVALUATOR,
        evaluator_sha256=evaluator_sha256(PAIRTEXT_EVALUATOR),
        metrics=text_task_metrics(PAIRTEXT_EVALUATOR, R_PRECISION_SEED),
        main_metric="r_precision_top1",
        main_direction="higher",
        chance=INSTRUCTION_CHANCE,
        ceiling=INSTRUCTION_CEILING + " (the candidate is the images' ground-truth pose pair)",
        changelog=(("1.0", "first version"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> TextItems:
        split = self.spec.split
        pairs, instructions = dataset.pairs(split), dataset.instructions(split)
        rows = {pair_id: i for i, pair_id in enumerate(pairs.ids.tolist())}
        items = [r for r in dataset.render_pairs(split) if r.pair_id in instructions]
        unknown = [r for r in items if r.pair_id not in rows]
        if unknown:
            raise DataError(f"pair id {unknown[0].pair_id!r} is not in pairs/{split}", file=str(dataset.root),
                            field="pair_id", sample_id=unknown[0].id)  # fmt: skip
        index = np.array([rows[r.pair_id] for r in items], dtype=np.int64)
        return make_text_items([r.id for r in items], [reference_texts(instructions[r.pair_id]) for r in items],
                               (pairs.poses_a[index], pairs.poses_b[index]),
                               lambda j: {"image_a": dataset.listed_image(items[j].image_a),
                                          "image_b": dataset.listed_image(items[j].image_b)},
                               where=str(dataset.root))  # fmt: skip

    def _train_texts(self, dataset: Dataset) -> list[str]:
        return instruction_pool(dataset, "train")
