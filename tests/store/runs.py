"""A hand-made :class:`RunResult` for store tests and for filling a store before failure tests."""

from __future__ import annotations

from submissions.result import RunResult
from tasks.result import MetricValue, SampleOutput, TaskResult


def make_run(model: str = "m", n_samples: int = 3, value: float = 42.0) -> RunResult:
    """A small hand-made run: one text task with two metrics and per-sample outputs."""
    metrics = (
        MetricValue("r_precision_top1", value, value - 5, value + 5, "higher", "%", n_samples, True,
                    {"protocol": "blocks32", "seed": 0}),
        MetricValue("bleu4", 12.5, None, None, "higher", "x100", n_samples, False, {"signature": "coco"}),
    )  # fmt: skip
    samples = tuple(SampleOutput(f"s{i}", f"text {i}", {"r_precision_top1": 100.0 * (i % 2)}) for i in range(n_samples))
    task = TaskResult("pose2text", "1.0", n_samples, "d" * 64, "posetext-synth-v1", "e" * 64, metrics, samples)
    return RunResult(
        model_name=model, model_version="1", meta={"model_name": model}, status="verified", eligible=False,
        ineligible_reasons=("test",), bench_version="0.1.0", data_name="synth-small", data_version="1.0",
        data_hash="d" * 64, bundle_sha256="b" * 64, created="2026-01-01T00:00:00+00:00",
        settings={"batch_size": 8}, timings_s={"total": 1.0}, tasks={"pose2text": task},
    )  # fmt: skip
