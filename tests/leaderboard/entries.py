"""A results store with a known leaderboard, written through the store API.

Every task's headline score of an entry is ``chance + quality * (gt - chance)`` with the per-task
anchors of :data:`ANCHOR_VALUES`, so an entry's normalised score is ``100 * quality`` on every
task it has. The entries exercise every case of the page (see :data:`ENTRIES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.store import ResultsStore
from submissions.result import RunResult
from tasks import get_task, task_ids
from tasks.result import MetricValue, SampleOutput, TaskResult

XSS_NAME = "<img src=x onerror=alert(1)>"
ANCHOR_VALUES = {  # main metric -> (chance, gt)
    "r_precision_top1": (3.125, 92.0),
    "r_precision_posescript_top1": (3.215, 88.0),
    "recall_t2p_top5": (2.0, 60.0),
    "pa_mpjpe_mm": (120.0, 0.0),
    "mpjpe_mm": (90.0, 0.0),
}
POSESCRIPT_MAIN = "r_precision_posescript_top1"
DATA_HASH = "d" * 64
EVALUATOR_SHA = "e" * 64


@dataclass(frozen=True)
class Entry:
    """One stored run of the test leaderboard."""

    name: str
    quality: float
    tasks: tuple[str, ...] = ()
    """Tasks scored (empty = all nine)."""
    version: str = "1.0"
    params: int | None = None
    status: str = "reproduced"
    eligible: bool = True
    failed: tuple[str, ...] = ()
    """Tasks whose main metric was not computed."""
    foreign_evaluator: tuple[str, ...] = ()
    """Tasks scored with another evaluator checkpoint (not comparable)."""
    release_date: str | None = None
    posescript: bool = False
    """Also store the ``posescript`` R-precision variant."""
    meta: dict[str, object] = field(default_factory=dict)


ENTRIES = (
    Entry("gt", 1.0, params=0, posescript=True),
    Entry("chance", 0.0, params=0, posescript=True),
    Entry("UniPose-small", 0.6, params=250_000_000, release_date="2025-03-01", posescript=True),
    Entry(XSS_NAME, 0.3, params=1_200_000, status="verified"),
    Entry("partial-model", 0.8, tasks=("pose2text", "posediff"), params=40_000_000, status="self-reported"),
    Entry("broken-model", 0.5, failed=("text2pose",), params=9_000_000, status="verified"),
    Entry("smoke-test", 0.95, eligible=False, params=5_000_000),
    Entry("old-evaluator", 0.9, foreign_evaluator=("pose2text",), params=60_000_000, status="verified"),
)
"""gt and chance anchors; a complete entry with a release date; the XSS probe name; an entry with
missing tasks; one with a failed main metric; an ineligible ``--limit`` run; one whose pose2text
score used another evaluator."""


def _metric(name: str, value: float, task: str, n: int, *, ci: bool = True) -> MetricValue:
    spec = get_task(task).spec
    m = spec.metric(name)
    half = 0.05 * abs(value) + 0.5
    protocol = {**m.to_dict(), "task": task, "task_version": spec.version, "data_hash": DATA_HASH, "n": n}
    return MetricValue(name, value, value - half if ci else None, value + half if ci else None, m.direction, m.unit, n,
                       name == spec.main_metric, protocol)  # fmt: skip


def _value(name: str, unit: str, task: str, quality: float) -> float:
    """Headline metrics follow :data:`ANCHOR_VALUES`; others a plausible monotone value."""
    if name in (get_task(task).spec.main_metric, POSESCRIPT_MAIN):
        chance, gt = ANCHOR_VALUES[name]
        return chance + quality * (gt - chance)
    if unit == "%":
        return 5.0 + 80.0 * quality
    if unit == "mm":
        return 150.0 * (1.0 - quality)
    if unit == "1":
        return 25.0 * (1.0 - quality)
    return 10.0 + 20.0 * quality


def task_result(entry: Entry, task: str, sample_ids: list[str], data_hash: str = DATA_HASH) -> TaskResult:
    """The scores of ``entry`` on ``task``, with per-sample outputs for ``sample_ids``."""
    spec = get_task(task).spec
    n = len(sample_ids)
    metrics = []
    for m in spec.metrics:
        wanted = m.variant is None or (entry.posescript and m.name == POSESCRIPT_MAIN)
        if not wanted or (task in entry.failed and m.name == spec.main_metric):
            continue
        set_level = m.measure in ("bleu4", "fid")  # corpus statistics: no bootstrap CI
        metrics.append(_metric(m.name, _value(m.name, m.unit, task, entry.quality), task, n, ci=not set_level))
    rng = np.random.default_rng(len(entry.name) + len(task))
    samples = []
    for i, sample_id in enumerate(sample_ids):
        if spec.output_kind == "text":
            prediction: str | list[list[float]] = f"{entry.name} says: the person raises the left arm ({i})"
            values = {"meteor": float(rng.uniform(0, 40))}
        else:
            prediction = (rng.normal(0.0, 0.3, (22, 3)) * (1.0 - entry.quality)).astype(np.float32).tolist()
            values = {"pa_mpjpe_mm": float(rng.uniform(0, 100) * (1.0 - entry.quality))}
        samples.append(SampleOutput(sample_id, prediction, values))
    sha = "f" * 64 if task in entry.foreign_evaluator else (EVALUATOR_SHA if spec.evaluator_id else None)
    return TaskResult(task, spec.version, n, data_hash, spec.evaluator_id, sha, tuple(metrics), tuple(samples))


def run_result(entry: Entry, data_name: str = "synth-small", sample_ids: dict[str, list[str]] | None = None,
               data_hash: str = DATA_HASH) -> RunResult:  # fmt: skip
    """The stored form of ``entry`` (samples ``s0..s3`` unless ``sample_ids`` names them per task)."""
    tasks = entry.tasks or tuple(task_ids())
    meta = {"model_name": entry.name, "model_version": entry.version, "parameter_count": entry.params,
            "training_data": ["synth-train"], "code_link": None, "licence": "CC-BY-4.0",
            "release_date": entry.release_date, **entry.meta}  # fmt: skip
    ids = sample_ids or {}
    results = {t: task_result(entry, t, ids.get(t, [f"s{i}" for i in range(4)]), data_hash) for t in sorted(tasks)}
    return RunResult(
        model_name=entry.name, model_version=entry.version, meta=meta, status=entry.status, eligible=entry.eligible,
        ineligible_reasons=() if entry.eligible else ("--limit 8: only part of each split was scored",),
        bench_version="0.1.0", data_name=data_name, data_version="1.0", data_hash=data_hash, bundle_sha256="b" * 64,
        created="2026-01-15T12:00:00+00:00", settings={"batch_size": 8}, timings_s={"total": 1.0}, tasks=results,
    )  # fmt: skip


def fill_store(path: Path, entries: tuple[Entry, ...] = ENTRIES, **kwargs: object) -> dict[str, int]:
    """Store ``entries`` (in order) at ``path``; returns entry name → run id."""
    with ResultsStore(path) as store:
        return {e.name: store.add_run(run_result(e, **kwargs)) for e in entries}  # type: ignore[arg-type]


def expected_value(name: str, task: str) -> float:
    """The headline score ``fill_store`` gives entry ``name`` on ``task`` (default protocol)."""
    entry = next(e for e in ENTRIES if e.name == name)
    chance, gt = ANCHOR_VALUES[get_task(task).spec.main_metric]
    return chance + entry.quality * (gt - chance)


def many_entries(n: int, seed: int = 0) -> tuple[Entry, ...]:
    """``gt``, ``chance`` and ``n - 2`` random entries (random quality, size, status, and about one
    in five missing a task): a leaderboard of ``n`` rows for benchmarks."""
    rng = np.random.default_rng(seed)
    names = task_ids()
    out = [Entry("gt", 1.0, params=0), Entry("chance", 0.0, params=0)]
    for i in range(n - 2):
        skip = {names[int(rng.integers(len(names)))]} if rng.random() < 0.2 else set()
        out.append(Entry(
            f"model-{i:03d}", float(rng.uniform(0.05, 0.95)), tasks=tuple(t for t in names if t not in skip),
            params=int(10 ** rng.uniform(6, 10)), status=str(rng.choice(["reproduced", "verified", "self-reported"])),
        ))  # fmt: skip
    return tuple(out)
