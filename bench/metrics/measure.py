"""The measure registry: how a task's metric turns answers into numbers.

A *measure* is one scoring computation a task can report, registered by name with
:func:`register_measure` in the ``bench.metrics`` module that implements its pure function. A task
names its metrics in its spec (``MetricSpec(measure="mpjpe", ...)``); scoring groups a task's
metrics by measure and calls each measure once with all of its metrics, so adding a metric is one
module under ``bench/metrics/`` plus the task specs that name it (docs/adding_a_metric.md).

A measure sees a :class:`MeasureInput`: the scored samples' answers and ground truth in dataset
order, the scoring context (evaluators, body model, shared embedding cache) and the task's stage
timings. It returns a :class:`Measured` per metric it computed and a reason per metric it skipped
(too few samples, say).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.errors import InternalError
from bench.registry import Registry

if TYPE_CHECKING:
    from tasks.context import ScoringContext
    from tasks.spec import MetricSpec

SPEC_FIELDS = ("k", "query", "joint_set", "alignment", "evaluator")
"""Optional :class:`~tasks.spec.MetricSpec` fields a measure either requires or forbids. ``seed``
is allowed on every metric (it seeds the bootstrap CI) and required by measures that draw at random."""


@dataclass(frozen=True)
class Measured:
    """One metric as computed by a measure, before CIs and metadata are attached."""

    value: float
    """The aggregate, in the metric's unit."""
    per_sample: np.ndarray | None = None
    """float64 (n,) per-sample values whose mean is ``value`` (None for set-level statistics)."""
    sample_index: np.ndarray | None = None
    """int (n,) positions of ``per_sample`` among the scored samples; None means all, in order."""
    n: int | None = None
    """Samples the value uses; defaults to the number of scored samples."""
    ci_from_samples: bool = True
    """Whether ``value`` is the mean of ``per_sample`` (then a bootstrap CI is attached); False
    for corpus-level statistics whose per-sample values are only kept with the samples."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Run-time protocol facts (chance level, text signature, FID fallbacks, dropped tail...)."""


Measurements = tuple[dict[str, Measured], dict[str, str]]
"""What a measure returns: metric values by name, and skipped metrics with a reason."""


@dataclass(frozen=True)
class MeasureInput:
    """The scored samples of one task, in dataset order, and what scoring them may use.

    Text-output tasks fill ``texts``, ``references`` and ``retrieval_key``; pose-output tasks fill
    ``poses``, ``targets`` and (when they have retrieval metrics) ``retrieval_texts``.
    """

    task: str
    """Task id."""
    evaluator_id: str | None
    """The task's pinned evaluator id (None for tasks scored on joints only)."""
    ids: tuple[str, ...]
    """Sample ids of the scored samples."""
    ctx: ScoringContext
    """Evaluators, body model and the call's embedding/joint cache."""
    timings: dict[str, float]
    """Stage → seconds of this task's scoring; add to it with :meth:`timed`."""
    texts: tuple[str, ...] | None = None
    """Text answers, one per sample."""
    references: tuple[tuple[str, ...], ...] | None = None
    """Reference texts of each sample (text tasks)."""
    retrieval_key: tuple[np.ndarray, ...] | None = None
    """Text tasks: what a text is retrieved against, ``(poses,)`` float32 (N, 22, 3) for pose-text
    evaluators or ``(poses_a, poses_b)`` for pair-text evaluators."""
    poses: np.ndarray | None = None
    """float32 (N, 22, 3) axis-angle pose answers (pose tasks)."""
    targets: np.ndarray | None = None
    """float32 (N, 22, 3) ground-truth poses in the frame answers must use (pose tasks)."""
    retrieval_texts: tuple[str, ...] | None = None
    """Pose tasks: the text matched with each target for text↔pose retrieval."""

    def __len__(self) -> int:
        return len(self.ids)

    def evaluator(self) -> str:
        """The evaluator id (InternalError for a task without one: the spec should have refused it)."""
        if self.evaluator_id is None:
            raise InternalError(f"task {self.task} has an evaluator metric but no evaluator")
        return self.evaluator_id

    def need(self, name: str) -> Any:
        """The field ``name``, which the measure needs (InternalError if the task did not fill it)."""
        value = getattr(self, name)
        if value is None:
            raise InternalError(f"task {self.task}: a measure needs {name!r}, which the task does not provide")
        return value

    def embedded_poses(self) -> np.ndarray:
        """float32 (N, D) evaluator embeddings of the pose answers (cached for the scoring call;
        timed as ``embed_predictions``)."""
        with self.timed("embed_predictions"):
            return self.ctx.embed_poses(self.evaluator(), self.need("poses"))

    def embedded_targets(self) -> np.ndarray:
        """float32 (N, D) evaluator embeddings of the ground-truth poses (``embed_ground_truth``)."""
        with self.timed("embed_ground_truth"):
            return self.ctx.embed_poses(self.evaluator(), self.need("targets"))

    def embedded_retrieval_texts(self) -> np.ndarray:
        """float32 (N, D) evaluator embeddings of the retrieval texts (``embed_ground_truth``)."""
        with self.timed("embed_ground_truth"):
            return self.ctx.embed_texts(self.evaluator(), self.need("retrieval_texts"))

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the wall-clock seconds of the ``with`` body to ``timings[stage]``."""
        with timed(self.timings, stage):
            yield


MeasureFunction = Callable[[MeasureInput, Sequence["MetricSpec"]], Measurements]
"""Computes the given metrics (all of one measure, or of one group) from a :class:`MeasureInput`."""


@dataclass(frozen=True)
class Measure:
    """A registered scoring computation and the rules its metric specs must follow."""

    name: str
    """Registry name, the value of ``MetricSpec.measure``."""
    compute: MeasureFunction
    """The computation."""
    output_kinds: tuple[str, ...]
    """Task output kinds it scores (``text``, ``pose``)."""
    protocols: tuple[str, ...]
    """Protocol names a metric of this measure may declare."""
    requires: frozenset[str]
    """Which of :data:`SPEC_FIELDS` (and ``seed``) a metric of this measure must set; the others of
    :data:`SPEC_FIELDS` must stay None."""
    group: str
    """Measures of one group are computed by one call (BLEU-4, ROUGE-L and METEOR share one pass)."""
    prepare: Callable[[], None] | None = None
    """Starts a slow external resource the computation needs (the METEOR JVM) without waiting for
    it, so its start-up overlaps other work; None when there is none."""

    def check(self, spec: MetricSpec) -> str | None:
        """Why ``spec`` does not fit this measure, or None."""
        if spec.protocol not in self.protocols:
            return f"protocol {spec.protocol!r} is not one of {self.name}'s: {', '.join(self.protocols)}"
        for name in SPEC_FIELDS:
            present = getattr(spec, name) is not None
            if present != (name in self.requires):
                return f"{self.name} metrics {'need' if name in self.requires else 'take no'} {name!r}"
        if "seed" in self.requires and spec.seed is None:
            return f"{self.name} metrics need a 'seed' for their random draws"
        return None


MEASURES: Registry[Measure] = Registry("measure", packages=("bench.metrics",))
"""Measure name → :class:`Measure`; the modules of ``bench.metrics`` are imported on first lookup."""


def register_measure(name: str, *, output_kinds: Sequence[str], protocols: Sequence[str], requires: Sequence[str] = (),
                     group: str | None = None, prepare: Callable[[], None] | None = None,
                     ) -> Callable[[MeasureFunction], MeasureFunction]:  # fmt: skip
    """Decorator registering a :data:`MeasureFunction` as the measure ``name``.

    Args:
        name: the ``MetricSpec.measure`` value that selects it.
        output_kinds: task output kinds it can score (``text``, ``pose``).
        protocols: protocol names its metrics may declare.
        requires: spec fields its metrics must set (from :data:`SPEC_FIELDS`, and ``seed``).
        group: a shared name for measures computed by one call of the same function.
        prepare: starts a slow resource ahead of scoring (:attr:`Measure.prepare`).
    """
    unknown = set(requires) - {*SPEC_FIELDS, "seed"}
    if unknown:
        raise InternalError(f"measure {name!r}: unknown spec fields {sorted(unknown)}")

    def decorator(compute: MeasureFunction) -> MeasureFunction:
        MEASURES.add(name, Measure(name, compute, tuple(output_kinds), tuple(protocols), frozenset(requires),
                                   group or name, prepare))  # fmt: skip
        return compute

    return decorator


def measure_named(name: str) -> Measure:
    """The measure ``name`` (NotFoundError listing the known ones)."""
    return MEASURES.get(name)


def measure(metric_specs: Sequence[MetricSpec], inputs: MeasureInput) -> Measurements:
    """Compute ``metric_specs`` (one task's metrics) from ``inputs``: each measure group is called
    once, in the order its first metric appears."""
    groups: dict[str, list[MetricSpec]] = {}
    functions: dict[str, MeasureFunction] = {}
    for spec in metric_specs:
        registered = measure_named(spec.measure)
        groups.setdefault(registered.group, []).append(spec)
        functions[registered.group] = registered.compute
    measured: dict[str, Measured] = {}
    skipped: dict[str, str] = {}
    for group, specs in groups.items():
        values, reasons = functions[group](inputs, specs)
        measured.update(values)
        skipped.update(reasons)
    missing = [s.name for s in metric_specs if s.name not in measured and s.name not in skipped]
    if missing:
        raise InternalError(f"task {inputs.task}: no value and no reason for {', '.join(missing)}")
    return measured, skipped


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Add the wall-clock seconds of the ``with`` body to ``timings[stage]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start
