"""The text-output family: ``pose2text``, ``posediff``, ``image2text``, ``imagediff``.

Metrics (docs/protocols.md), each computed by its measure in ``bench.metrics``: R-precision
top-1/2/3 with the generated text as query and the ground-truth pose (or pose pair) through the
task's evaluator as candidate (``bench.metrics.r_precision``); BLEU-4, ROUGE-L and METEOR against
all references of the item (pycocoevalcap, via ``bench.metrics.text_scores``).
References are an item's human texts, or its automatic texts when it has no human one.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.errors import DataError
from bench.metrics.measure import MeasureInput
from bench.metrics.r_precision import DEFAULT_PROTOCOL, POOL_SIZE
from tasks.base import Prediction, Task
from tasks.context import ScoringContext
from tasks.spec import MetricSpec

if TYPE_CHECKING:
    from bench.data import Dataset

R_PRECISION_KS = (1, 2, 3)


def reference_texts(texts: Any) -> tuple[str, ...]:
    """An item's references: its human texts, or its automatic texts when it has none.

    ``texts`` is a ``bench.data`` ``Texts`` (``.human``, ``.auto`` lists of str).
    """
    return tuple(texts.human) if texts.human else tuple(texts.auto)


def text_task_metrics(evaluator_id: str, seed: int) -> tuple[MetricSpec, ...]:
    """R-precision (default protocol, then the ``posescript`` variant) and the three text scores."""
    rp = []
    for protocol, variant in ((DEFAULT_PROTOCOL, None), ("posescript", "posescript")):
        suffix = "" if variant is None else f"_{variant}"
        for k in R_PRECISION_KS:
            rp.append(MetricSpec(
                name=f"r_precision{suffix}_top{k}", measure="r_precision", direction="higher", unit="%",
                protocol=protocol, k=k, query="text", seed=seed, evaluator=evaluator_id, variant=variant,
                description=f"share of generated texts whose ground truth ranks in the top {k} of {POOL_SIZE} "
                f"candidates ({protocol} protocol)",
            ))  # fmt: skip
    text = [
        MetricSpec("bleu4", "bleu4", "higher", "x100", "coco-caption",
                   "corpus BLEU-4 (PTB tokenizer, closest-reference length) against all references"),
        MetricSpec("rouge_l", "rouge_l", "higher", "x100", "coco-caption",
                   "mean ROUGE-L F (beta 1.2) against all references"),
        MetricSpec("meteor", "meteor", "higher", "x100", "coco-caption", "METEOR 1.5 against all references"),
    ]  # fmt: skip
    return tuple(rp) + tuple(text)


@dataclass(frozen=True)
class TextItems:
    """Ground truth of a text-output task, one entry per sample, in dataset order."""

    ids: tuple[str, ...]
    """Sample ids."""
    references: tuple[tuple[str, ...], ...]
    """Reference texts of each sample (at least one)."""
    key: tuple[np.ndarray, ...]
    """The retrieval key: ``(poses,)`` float32 (N, 22, 3) for pose-text evaluators, or
    ``(poses_a, poses_b)`` for pair-text evaluators (axis-angle, heading-normalised)."""
    source_index: np.ndarray
    """int64 (N,) positions in the full split (for :meth:`request_inputs`)."""
    inputs: Callable[[int], dict[str, np.ndarray | str]]
    """Request inputs of the sample at a full-split position (decodes images on demand)."""

    def take(self, index: np.ndarray) -> TextItems:
        """The samples at ``index`` (positions in this object), in that order."""
        index = np.asarray(index, dtype=np.int64)
        return TextItems(
            ids=tuple(self.ids[i] for i in index), references=tuple(self.references[i] for i in index),
            key=tuple(k[index] for k in self.key), source_index=self.source_index[index], inputs=self.inputs,
        )  # fmt: skip

    def request_inputs(self, i: int) -> dict[str, np.ndarray | str]:
        return self.inputs(int(self.source_index[i]))


def make_text_items(ids: list[str], references: list[tuple[str, ...]], key: tuple[np.ndarray, ...],
                    inputs: Callable[[int], dict[str, np.ndarray | str]], where: str) -> TextItems:  # fmt: skip
    """Build :class:`TextItems`, refusing samples without any reference (DataError)."""
    for sample_id, refs in zip(ids, references, strict=True):
        if not refs:
            raise DataError("sample has no reference text", file=where, sample_id=sample_id)
    key = tuple(np.ascontiguousarray(k, dtype=np.float32) for k in key)
    return TextItems(tuple(ids), tuple(references), key, np.arange(len(ids), dtype=np.int64), inputs)


class TextOutputTask(Task):
    """Shared scoring of the text-output tasks; a task supplies ``spec``, ``_items`` and ``_train_texts``."""

    @abstractmethod
    def _train_texts(self, dataset: Dataset) -> list[str]:
        """Reference texts of the training split, the pool the chance baseline draws from."""

    def _reference(self, dataset: Dataset, items: TextItems, which: str, rng: np.random.Generator) -> list[Prediction]:
        if which == "ceiling":
            return [refs[0] for refs in items.references]
        pool = self._train_texts(dataset)
        if not pool:
            raise DataError(f"no training texts to draw the chance baseline of {self.spec.id} from",
                            file=str(dataset.root))  # fmt: skip
        picks = rng.choice(len(pool), size=len(items.ids), replace=len(pool) < len(items.ids))
        return [pool[int(i)] for i in picks]

    def _prediction_record(self, prediction: Prediction) -> str:
        return str(prediction)

    def _measure_input(self, items: TextItems, predictions: list[Prediction], ctx: ScoringContext,
                       timings: dict[str, float]) -> MeasureInput:  # fmt: skip
        return MeasureInput(task=self.spec.id, evaluator_id=self.spec.evaluator_id, ids=items.ids, ctx=ctx,
                            timings=timings, texts=tuple(str(p) for p in predictions), references=items.references,
                            retrieval_key=items.key)  # fmt: skip
