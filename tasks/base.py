"""The :class:`Task` base class: requests, sample ids, baselines, and the scoring template shared by
the text-output and pose-output families.

A family implements :meth:`Task._items` (the ground truth of a split, per task) and
:meth:`Task._measure_input` (what the measures of ``bench.metrics.measure`` read). Scoring computes
the spec's metrics through their registered measures; this class turns the measurements into
:class:`~tasks.result.MetricValue` records with seeded bootstrap CIs and protocol metadata, and
collects per-sample outputs.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from bench.errors import DataError, InternalError
from bench.metrics.measure import Measured, MeasureInput, measure, measure_named
from tasks.context import ScoringContext
from tasks.result import MetricValue, SampleOutput, TaskResult
from tasks.spec import MetricSpec, Request, TaskSpec

if TYPE_CHECKING:
    from bench.data import Dataset

logger = logging.getLogger(__name__)

Prediction = str | np.ndarray
"""A text (text tasks) or a float32 (22, 3) axis-angle pose (pose tasks)."""
BOOTSTRAP_RESAMPLES = 1000
"""Bootstrap resamples for every CI (seeded with the metric's seed)."""
DEFAULT_CI_SEED = 0
"""Bootstrap seed of metrics whose spec has no seed of their own."""


class Items(Protocol):
    """Ground truth of one task split, one entry per sample, in dataset order."""

    ids: tuple[str, ...]

    def take(self, index: np.ndarray) -> Items: ...

    def request_inputs(self, i: int) -> dict[str, np.ndarray | str]: ...


class Task(ABC):
    """A registered task. Subclasses set ``spec`` and implement the family hooks."""

    spec: ClassVar[TaskSpec]

    # ----- family hooks -------------------------------------------------------------------------
    @abstractmethod
    def _items(self, dataset: Dataset) -> Items:
        """The ground truth of ``spec.split`` in dataset order."""

    @abstractmethod
    def _measure_input(self, items: Items, predictions: list[Prediction], ctx: ScoringContext,
                       timings: dict[str, float]) -> MeasureInput:  # fmt: skip
        """What the measures read: the scored ``items`` and their ``predictions`` (same order)."""

    @abstractmethod
    def _reference(self, dataset: Dataset, items: Items, which: str, rng: np.random.Generator) -> list[Prediction]:
        """Ceiling (``"ceiling"``) or chance (``"chance"``) predictions, one per item."""

    @abstractmethod
    def _prediction_record(self, prediction: Prediction) -> str | list[list[float]]:
        """The prediction as stored with the per-sample outputs (JSON-ready)."""

    # ----- public API ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Start slow external resources this task's measures will need (the METEOR JVM), without
        waiting for them, so that their start-up overlaps other work. Called once before a bundle
        is scored."""
        for name in dict.fromkeys(m.measure for m in self.spec.metrics):
            start = measure_named(name).prepare
            if start is not None:
                start()

    def items(self, dataset: Dataset, limit: int | None = None) -> Items:
        """The ground truth (first ``limit`` samples when given); DataError if components are missing."""
        for component in self.spec.components:
            if not dataset.has(component, self.spec.split):
                raise DataError(
                    f"dataset {dataset_key(dataset)!r} has no {component}/{self.spec.split}; "
                    f"task {self.spec.id} needs {', '.join(self.spec.components)}",
                    file=str(dataset.root),
                )
        items = self._items(dataset)
        if limit is not None:
            items = items.take(np.arange(min(limit, len(items.ids))))
        return items

    def sample_ids(self, dataset: Dataset, limit: int | None = None) -> list[str]:
        """Sample ids a submission must cover, in dataset order."""
        return list(self.items(dataset, limit).ids)

    def build_requests(self, dataset: Dataset, limit: int | None = None) -> list[Request]:
        """One :class:`Request` per sample (images are decoded here; pass ``limit`` for smoke runs)."""
        items = self.items(dataset, limit)
        return [self.request(items, i) for i in range(len(items.ids))]

    def request(self, items: Items, i: int) -> Request:
        """The :class:`Request` of sample ``i`` of ``items``; its inputs (images decoded) are read now,
        so a caller that needs a few samples reads only those."""
        return Request(self.spec.id, items.ids[i], self.spec.request_kind, items.request_inputs(i))

    def reference_predictions(self, dataset: Dataset, which: str, *, seed: int = 0,
                              limit: int | None = None) -> dict[str, Prediction]:  # fmt: skip
        """Baseline predictions by sample id: ``"ceiling"`` (ground truth, see ``spec.ceiling``) or
        ``"chance"`` (see ``spec.chance``; seeded)."""
        if which not in ("ceiling", "chance"):
            raise InternalError(f"unknown reference {which!r}; use 'ceiling' or 'chance'")
        items = self.items(dataset, limit)
        predictions = self._reference(dataset, items, which, np.random.default_rng(seed))
        return dict(zip(items.ids, predictions, strict=True))

    def score(self, predictions: Mapping[str, Prediction], dataset: Dataset, ctx: ScoringContext) -> TaskResult:
        """Score predictions keyed by sample id (a subset of the split's ids, e.g. a ``--limit`` run).

        Samples are scored in dataset order whatever the order of ``predictions``, so results do not
        depend on it; they also do not depend on ``ctx.batch_size``.
        """
        start = time.perf_counter()
        timings: dict[str, float] = {}
        items = self.items(dataset)
        position = {sample_id: i for i, sample_id in enumerate(items.ids)}
        unknown = [i for i in predictions if i not in position]
        if unknown or not predictions:
            raise InternalError(f"task {self.spec.id}: predictions must be a non-empty subset of the split's ids")
        items = items.take(np.sort(np.fromiter((position[i] for i in predictions), dtype=np.int64)))
        ordered = [predictions[i] for i in items.ids]
        metrics = self.spec.metrics_for(ctx.variants)
        measured, skipped = measure(metrics, self._measure_input(items, ordered, ctx, timings))
        for name, reason in skipped.items():
            logger.warning("%s: %s not computed: %s", self.spec.id, name, reason)
        evaluator = ctx.evaluator(self.spec.evaluator_id) if self.spec.evaluator_id else None
        common = {
            "task": self.spec.id, "task_version": self.spec.version, "dataset": dataset_key(dataset),
            "data_hash": dataset.split_hash(self.spec.split), "split": self.spec.split,
            "body_model": ctx.body_model.name, "body_model_description": ctx.body_model.description,
            "evaluator_id": evaluator.id if evaluator else None,
            "evaluator_sha256": evaluator.sha256 if evaluator else None,
        }  # fmt: skip
        values = tuple(self._metric_value(spec, measured[spec.name], len(ordered), common)
                       for spec in metrics if spec.name in measured)  # fmt: skip
        samples = self._samples(items.ids, ordered, measured)
        timings["total"] = time.perf_counter() - start
        return TaskResult(
            task=self.spec.id, task_version=self.spec.version, n=len(ordered), data_hash=common["data_hash"],
            evaluator_id=common["evaluator_id"], evaluator_sha256=common["evaluator_sha256"],
            metrics=values, samples=samples, skipped=dict(skipped), timings_s=timings,
        )  # fmt: skip

    # ----- helpers ------------------------------------------------------------------------------
    def _metric_value(self, spec: MetricSpec, m: Measured, n_scored: int, common: dict[str, Any]) -> MetricValue:
        from bench.metrics import bootstrap_ci

        seed = spec.seed if spec.seed is not None else DEFAULT_CI_SEED
        low = high = None
        if m.ci_from_samples and m.per_sample is not None and len(m.per_sample) > 1:
            low, high = (float(v) for v in bootstrap_ci(m.per_sample, seed=seed, n_resamples=BOOTSTRAP_RESAMPLES))
        ci = {"method": "percentile bootstrap over samples", "level": 0.95, "resamples": BOOTSTRAP_RESAMPLES,
              "seed": seed}  # fmt: skip
        protocol = {**spec.to_dict(), **common, **m.facts, "ci": ci if low is not None else "none: set-level statistic"}
        n = m.n if m.n is not None else (len(m.per_sample) if m.per_sample is not None else n_scored)
        protocol["n"] = n
        return MetricValue(spec.name, float(m.value), low, high, spec.direction, spec.unit, n,
                           spec.name == self.spec.main_metric, protocol)  # fmt: skip

    def _samples(self, ids: Sequence[str], predictions: list[Prediction],
                 measured: dict[str, Measured]) -> tuple[SampleOutput, ...]:  # fmt: skip
        per: list[dict[str, float]] = [{} for _ in ids]
        for name, m in measured.items():
            if m.per_sample is None:
                continue
            index = m.sample_index if m.sample_index is not None else np.arange(len(ids))
            for i, value in zip(index.tolist(), m.per_sample.tolist(), strict=True):
                per[i][name] = value
        return tuple(SampleOutput(sample_id, self._prediction_record(p), values)
                     for sample_id, p, values in zip(ids, predictions, per, strict=True))  # fmt: skip


def dataset_key(dataset: Dataset) -> str:
    """``<name>-<variant>`` (``synth-small``), or the name alone for datasets without variants."""
    variant = dataset.manifest.get("variant")
    return f"{dataset.name}-{variant}" if variant else str(dataset.name)
