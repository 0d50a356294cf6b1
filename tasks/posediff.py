"""``posediff``: write the instruction that turns pose A into pose B (PoseFix-style)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks import TASKS
from tasks.pins import PAIRTEXT_EVALUATOR, R_PRECISION_SEED, SYNTH_TEST_HASHES, evaluator_sha256
from tasks.spec import TaskSpec
from tasks.text_output import TextItems, TextOutputTask, make_text_items, reference_texts, text_task_metrics

if TYPE_CHECKING:
    from bench.data import Dataset

INSTRUCTION_CHANCE = ("an instruction drawn uniformly without replacement (seeded) from the training split's "
                      "references; R-precision chance is k/32")  # fmt: skip
INSTRUCTION_CEILING = ("each pair's first reference instruction through the pair evaluator (R-precision ceiling); "
                       "its text scores are trivially maximal")  # fmt: skip


def instruction_pool(dataset: Dataset, split: str) -> list[str]:
    """Every reference instruction of ``split`` (the chance baseline's pool), in dataset order."""
    return [text for texts in dataset.instructions(split).values() for text in reference_texts(texts)]


def pair_items(dataset: Dataset, split: str) -> tuple[list[int], list[str]]:
    """Positions and ids of the pairs of ``split`` that have instructions, in dataset order."""
    pairs, instructions = dataset.pairs(split), dataset.instructions(split)
    keep = [i for i, pair_id in enumerate(pairs.ids.tolist()) if pair_id in instructions]
    return keep, [str(pairs.ids[i]) for i in keep]


@TASKS.register("posediff")
class PoseDiffTask(TextOutputTask):
    """Pose A, pose B → instruction; sample ids are the pair ids that have instructions."""

    spec = TaskSpec(
        id="posediff",
        version="2.0",
        description="Write the English instruction that changes pose A into pose B.",
        family="comprehension",
        input_modality="pose pair",
        request_kind="posepair_to_text",
        input_kinds=("pose_a", "pose_b"),
        output_kind="text",
        components=("pairs", "instructions"),
        split="test",
        data_hashes=SYNTH_TEST_HASHES,
        evaluator_id=PAIRTEXT_EVALUATOR,
        evaluator_sha256=evaluator_sha256(PAIRTEXT_EVALUATOR),
        metrics=text_task_metrics(PAIRTEXT_EVALUATOR, R_PRECISION_SEED),
        main_metric="r_precision_top1",
        main_direction="higher",
        chance=INSTRUCTION_CHANCE,
        ceiling=INSTRUCTION_CEILING,
        changelog=(("1.0", "first version"),
                   ("2.0", "PoseBench-Synth 1.1 test data, the same on every CPU (new pinned hashes); its "
                           "renders differ from 1.0 in 0.1% of pixels, its poses and texts not at all")),
    )

    def _items(self, dataset: Dataset) -> TextItems:
        pairs, instructions = dataset.pairs(self.spec.split), dataset.instructions(self.spec.split)
        keep, ids = pair_items(dataset, self.spec.split)
        a, b = pairs.poses_a[keep], pairs.poses_b[keep]
        return make_text_items(ids, [reference_texts(instructions[i]) for i in ids], (a, b),
                               lambda j: {"pose_a": a[j], "pose_b": b[j]}, where=str(dataset.root))  # fmt: skip

    def _train_texts(self, dataset: Dataset) -> list[str]:
        return instruction_pool(dataset, "train")
