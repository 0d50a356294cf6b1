"""The text-output family: ``pose2text``, ``posediff``, ``image2text``, ``imagediff``.

Metrics (docs/protocols.md): R-precision top-1/2/3 with the generated text as query and the
ground-truth pose (or pose pair) through the task's evaluator as candidate; BLEU-4, ROUGE-L and
METEOR against all references of the item (pycocoevalcap, via ``bench.metrics.text_scores``).
References are an item's human texts, or its automatic texts when it has no human one.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.errors import DataError
from tasks.base import Measured, Measurements, Prediction, Task, timed
from tasks.context import ScoringContext
from tasks.spec import MetricSpec

if TYPE_CHECKING:
    from bench.data import Dataset

R_PRECISION_KS = (1, 2, 3)
POOL_SIZE = 32
DEFAULT_PROTOCOL = "blocks32"
"""Default R-precision protocol (docs/protocols.md: UniPose's own, chance exactly k/32, per-query
hits for bootstrap CIs); ``posescript`` is offered as the ``posescript`` variant."""
_TEXT_MEASURES = ("bleu4", "rouge_l", "meteor")


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

    def prepare(self) -> None:
        """Start the METEOR JVM (7–11 s) if a text metric is declared."""
        if any(m.measure in _TEXT_MEASURES for m in self.spec.metrics):
            from bench.metrics.meteor_process import start_meteor

            start_meteor()

    def _key_embeddings(self, items: TextItems, ctx: ScoringContext) -> np.ndarray:
        evaluator_id = str(self.spec.evaluator_id)
        if len(items.key) == 1:
            return ctx.embed_poses(evaluator_id, items.key[0])
        return ctx.embed_pairs(evaluator_id, items.key[0], items.key[1])

    def _measure(self, items: TextItems, predictions: list[Prediction], ctx: ScoringContext,
                 metrics: tuple[MetricSpec, ...], timings: dict[str, float]) -> Measurements:  # fmt: skip
        texts = [str(p) for p in predictions]
        measured: dict[str, Measured] = {}
        skipped: dict[str, str] = {}
        rp_specs = [m for m in metrics if m.measure == "r_precision"]
        if rp_specs:
            measured.update(self._r_precision(items, texts, ctx, rp_specs, skipped, timings))
        text_specs = [m for m in metrics if m.measure in _TEXT_MEASURES]
        if text_specs:
            with timed(timings, "text_scores"):
                measured.update(_text_scores(items, texts, text_specs))
        return measured, skipped

    def _r_precision(self, items: TextItems, texts: list[str], ctx: ScoringContext, specs: list[MetricSpec],
                     skipped: dict[str, str], timings: dict[str, float]) -> dict[str, Measured]:  # fmt: skip
        from bench.metrics import r_precision

        if len(texts) < POOL_SIZE:
            skipped.update({m.name: f"needs at least {POOL_SIZE} samples, got {len(texts)}" for m in specs})
            return {}
        evaluator_id = str(self.spec.evaluator_id)
        with timed(timings, "embed_predictions"):
            queries = ctx.embed_texts(evaluator_id, texts)
        with timed(timings, "embed_ground_truth"):
            candidates = self._key_embeddings(items, ctx)
        out: dict[str, Measured] = {}
        by_protocol: dict[tuple[str, int], list[MetricSpec]] = {}
        for spec in specs:
            by_protocol.setdefault((spec.protocol, int(spec.seed or 0)), []).append(spec)
        for (protocol, seed), group in by_protocol.items():
            with timed(timings, f"r_precision_{protocol}"):
                result = r_precision(queries, candidates, ks=tuple(int(m.k or 0) for m in group), protocol=protocol,
                                     seed=seed, pool_size=POOL_SIZE)  # fmt: skip
            for column, spec in enumerate(group):
                facts = {"chance": result.chance[int(spec.k or 0)], "pool_size": result.pool_size,
                         "repetitions": result.repetitions, "n_total": result.n_total,
                         "dropped_tail": result.n_total - result.n}  # fmt: skip
                out[spec.name] = Measured(
                    value=result.values[int(spec.k or 0)],
                    per_sample=result.per_query[:, column].astype(np.float64) * 100.0,
                    sample_index=result.query_index, n=result.n, facts=facts,
                )  # fmt: skip
        return out


def _text_scores(items: TextItems, texts: list[str], specs: list[MetricSpec]) -> dict[str, Measured]:
    """BLEU-4, ROUGE-L and METEOR (×100) against all references, with sentence-level values per item.

    ROUGE-L's corpus value is the mean of its per-item values, so it gets a bootstrap CI; corpus
    BLEU-4 and METEOR aggregate n-gram / alignment statistics instead, so they get none (their
    per-item values are kept with the samples).
    """
    from bench.metrics import text_scores

    scores = text_scores(dict(zip(items.ids, texts, strict=True)),
                         {i: list(refs) for i, refs in zip(items.ids, items.references, strict=True)})  # fmt: skip
    position = {sample_id: k for k, sample_id in enumerate(scores.ids)}
    order = np.array([position[i] for i in items.ids], dtype=np.int64)
    facts = {"signature": scores.signature, "scale": 100}
    out: dict[str, Measured] = {}
    for spec in specs:
        per_item = np.asarray(scores.per_item[spec.measure], dtype=np.float64)[order] * 100.0
        out[spec.name] = Measured(value=100.0 * float(getattr(scores, spec.measure)), per_sample=per_item,
                                  ci_from_samples=spec.measure == "rouge_l", facts=facts)  # fmt: skip
    return out
