"""What scoring one task returns: metric values with CIs and protocol metadata, and per-sample outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MetricValue:
    """One reported number with its uncertainty and the protocol that produced it."""

    name: str
    """Metric name from the task's :class:`~tasks.spec.MetricSpec`."""
    value: float
    """The score, in ``unit``."""
    ci_low: float | None
    """Lower end of the seeded bootstrap 95 % CI; None for set-level statistics without one."""
    ci_high: float | None
    """Upper end of the CI; None together with ``ci_low``."""
    direction: str
    """``higher`` or ``lower`` is better."""
    unit: str
    """``%``, ``mm``, ``x100`` or ``1``."""
    n: int
    """Number of samples the value is computed over (after any protocol-dropped tail)."""
    is_main: bool
    """Whether this is the task's headline metric."""
    protocol: dict[str, Any]
    """The metric spec's fields plus run-time facts (body model, evaluator hash, chance level,
    text-metric signature, FID numerical fallbacks, bootstrap settings)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "direction": self.direction, "unit": self.unit, "n": self.n, "is_main": self.is_main,
            "protocol": self.protocol,
        }  # fmt: skip


@dataclass(frozen=True)
class SampleOutput:
    """The prediction for one sample and its per-sample metric values."""

    sample_id: str
    """Sample id."""
    prediction: str | list[list[float]]
    """The text, or the pose as a (22, 3) nested list (axis-angle, radians)."""
    metrics: dict[str, float]
    """Per-sample values (e.g. ``mpjpe_mm``, ``meteor``, ``r_precision_top1`` as 0/100 hits);
    metrics without a per-sample value (FID, corpus BLEU) are absent."""


@dataclass(frozen=True)
class TaskResult:
    """Scores of one task in one run."""

    task: str
    """Task id."""
    task_version: str
    """Task version scored."""
    n: int
    """Number of samples scored."""
    data_hash: str
    """Split hash of the data scored."""
    evaluator_id: str | None
    """Id of the evaluator actually used (None for joint-only tasks)."""
    evaluator_sha256: str | None
    """SHA-256 of the evaluator checkpoint actually used."""
    metrics: tuple[MetricValue, ...]
    """Metric values, in spec order."""
    samples: tuple[SampleOutput, ...]
    """Per-sample outputs, in the task's sample order."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Metrics that could not be computed at this sample count, with the reason."""
    timings_s: dict[str, float] = field(default_factory=dict)
    """Wall-clock seconds per scoring stage (embeddings, each metric group, total)."""

    def metric(self, name: str) -> MetricValue:
        """The value called ``name`` (KeyError if absent)."""
        for value in self.metrics:
            if value.name == name:
                return value
        raise KeyError(name)

    @property
    def main(self) -> MetricValue | None:
        """The headline metric value (None when it could not be computed, see ``skipped``)."""
        return next((m for m in self.metrics if m.is_main), None)

    def to_dict(self, samples: bool = False) -> dict[str, Any]:
        """JSON-ready dict; per-sample outputs only with ``samples=True``."""
        out: dict[str, Any] = {
            "task": self.task, "task_version": self.task_version, "n": self.n, "data_hash": self.data_hash,
            "evaluator_id": self.evaluator_id, "evaluator_sha256": self.evaluator_sha256,
            "metrics": [m.to_dict() for m in self.metrics], "skipped": self.skipped, "timings_s": self.timings_s,
        }  # fmt: skip
        if samples:
            out["samples"] = [{"id": s.sample_id, "prediction": s.prediction, "metrics": s.metrics}
                              for s in self.samples]  # fmt: skip
        return out
