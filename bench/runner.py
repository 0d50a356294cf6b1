"""``bench run``: requests → model answers (cached, resumable, shardable) → bundle → ``score_bundle`` → store.

For each model and task: the task builds its requests (``--limit``: the first N samples), the
shard keeps every N-th request in sorted sample-id order, cached answers are reused, the rest go to
the adapter in chunks of ``batch_size`` requests of one task, each chunk committed to the
:class:`~bench.prediction_cache.PredictionCache` as soon as it is answered. Tasks the model does not
support are recorded as not supported; samples it fails on get a neutral fallback answer
(:data:`FALLBACK_TEXT` or the rest pose) and are recorded with their reason.

The bundle is canonical (sample ids sorted, poses as JSONL with Python's shortest float repr of
each float32), so merging shard parts (:func:`merge_parts`) gives a bundle byte-identical to the
unsharded run. Unsharded and merged bundles are then scored by :func:`submissions.score_bundle`,
the same call ``bench score`` makes, and stored.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.config import BenchConfig
from bench.errors import UserError, ValidationError
from bench.models.adapter import ModelAdapter, ModelContext, Prediction, SampleFailure, request_seed
from bench.prediction_cache import CacheKey, PredictionCache
from bench.progress import progress_bar
from submissions import bundle_meta, score_bundle, write_bundle
from submissions.result import RunResult
from tasks import get_task
from tasks.base import dataset_key

logger = logging.getLogger(__name__)

FALLBACK_TEXT = "a person."
"""Answer written for a text sample the model failed on."""
SHARD_FILE = "shard.json"
"""Written next to ``meta.json`` in a shard part: ``{"index", "count", "limit", "data"}``."""


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` (0-based): requests at positions ``index, index + count, ...`` of
    the sorted sample ids of each task."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/N"`` with 0 <= i < N (ConfigError-like UserError otherwise)."""
        left, sep, right = text.partition("/")
        if not sep or not left.isdigit() or not right.isdigit() or not 0 <= int(left) < int(right):
            raise UserError(f"expected i/N with 0 <= i < N, got {text!r}", field="--shard")
        return cls(int(left), int(right))

    def keep(self, sample_ids: Sequence[str]) -> set[str]:
        """The ids of this part."""
        return set(sorted(sample_ids)[self.index :: self.count])


@dataclass
class TaskRun:
    """What one model did on one task."""

    predictions: dict[str, Prediction] = field(default_factory=dict)
    """Sample id → answer (fallbacks included), sorted by id."""
    failures: dict[str, str] = field(default_factory=dict)
    """Sample id → why the model could not answer it."""
    computed: int = 0
    """Samples answered by the model in this call (the rest came from the cache)."""
    seconds: float = 0.0
    """Wall time spent in the adapter."""


@dataclass
class ModelRun:
    """One model's answers on the requested tasks."""

    model: str
    tasks: dict[str, TaskRun] = field(default_factory=dict)
    not_supported: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Task → reason (e.g. missing data components)."""

    def summary(self) -> dict[str, Any]:
        """JSON-ready record (stored with the run and written next to the bundle)."""
        return {
            "not_supported": self.not_supported, "skipped": self.skipped,
            "failures": {t: r.failures for t, r in self.tasks.items() if r.failures},
            "computed": {t: r.computed for t, r in self.tasks.items()},
            "samples_per_s": {t: (len(r.predictions) / r.seconds if r.seconds > 0 and r.computed == len(r.predictions)
                                  else None) for t, r in self.tasks.items()},
        }  # fmt: skip


def generate(adapter: ModelAdapter, model_name: str, dataset: Any, task_ids: Sequence[str], cache: PredictionCache,
             *, limit: int | None = None, batch_size: int = 32, shard: Shard | None = None, seed: int = 0,
             options: Mapping[str, Any] | None = None) -> ModelRun:  # fmt: skip
    """Answer every supported task's requests, reusing and filling ``cache``.

    Args:
        adapter: the loaded model; ``model_name`` is its registry name (cache key, bundle).
        dataset: the ``bench.data.Dataset`` the tasks read.
        task_ids: tasks to run; unsupported ones are recorded, not run.
        limit: only the first ``limit`` samples of each task (dataset order).
        batch_size: requests per adapter call (never part of the cache key).
        shard: answer only this part of each task's samples.
        seed: run seed; each request's sampling seed derives from it and the sample id.
        options: generation settings that change answers (part of the cache key).
    """
    run = ModelRun(model_name)
    key_settings: dict[str, Any] = {"seed": seed, **(options or {})}
    weights = adapter.weights_sha256()
    if weights:
        key_settings["weights_sha256"] = ",".join(weights)
    settings = tuple(sorted(key_settings.items()))
    for task_id in task_ids:
        if not adapter.supports(task_id):
            run.not_supported.append(task_id)
            logger.info("%s: %s not supported", model_name, task_id)
            continue
        task = get_task(task_id)
        try:
            requests = task.build_requests(dataset, limit)
        except UserError as exc:
            run.skipped[task_id] = str(exc)
            logger.warning("%s: %s skipped: %s", model_name, task_id, exc)
            continue
        if shard is not None:
            kept = shard.keep([r.id for r in requests])
            requests = [r for r in requests if r.id in kept]
        key = CacheKey(model_name, adapter.info.version, task_id, task.spec.version,
                       dataset.split_hash(task.spec.split), settings)  # fmt: skip
        run.tasks[task_id] = _answer_task(adapter, task_id, requests, key, cache, batch_size, seed)
    return run


def _answer_task(adapter: ModelAdapter, task_id: str, requests: list[Any], key: CacheKey, cache: PredictionCache,
                 batch_size: int, seed: int) -> TaskRun:  # fmt: skip
    result = TaskRun()
    answers = cache.get(key, [r.id for r in requests])
    todo = [r for r in requests if r.id not in answers]
    with progress_bar(f"{key.model} {task_id}", total=len(requests), unit="sample") as bar:
        bar.update(len(requests) - len(todo))
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            began = time.perf_counter()
            out = adapter.predict(chunk, [request_seed(seed, task_id, r.id) for r in chunk])
            result.seconds += time.perf_counter() - began
            if len(out) != len(chunk):
                raise ValidationError(f"model {key.model} answered {len(out)} of {len(chunk)} requests", field=task_id)
            fresh = {r.id: _checked(a, task_id, r.id) for r, a in zip(chunk, out, strict=True)}
            cache.put(key, fresh)
            answers.update(fresh)
            result.computed += len(chunk)
            bar.update(len(chunk))
    is_pose = get_task(task_id).spec.output_kind == "pose"
    for sample_id in sorted(answers):
        answer = answers[sample_id]
        if isinstance(answer, SampleFailure):
            result.failures[sample_id] = answer.reason
            answer = np.zeros((22, 3), np.float32) if is_pose else FALLBACK_TEXT
        result.predictions[sample_id] = answer
    if result.failures:
        logger.warning("%s: %s: %d sample(s) failed and got the fallback answer", key.model, task_id, len(result.failures))
    return result


def _checked(answer: Any, task_id: str, sample_id: str) -> Prediction | SampleFailure:
    """The answer itself, or a SampleFailure when it has the wrong type or shape."""
    if isinstance(answer, SampleFailure):
        return answer
    if get_task(task_id).spec.output_kind == "text":
        return answer if isinstance(answer, str) and answer.strip() else SampleFailure(f"not a non-empty text: {answer!r:.60}")
    pose = np.asarray(answer)
    if pose.shape != (22, 3) or not np.isfinite(pose).all():
        return SampleFailure(f"not a finite (22, 3) pose (shape {pose.shape})")
    return pose.astype(np.float32)


def write_run_bundle(run: ModelRun, adapter: ModelAdapter, dataset: Any, folder: Path) -> Path:
    """Write the canonical bundle of ``run`` (sorted ids, poses as JSONL) at ``folder``."""
    info = adapter.info
    data = dataset_key(dataset)
    meta = bundle_meta(info.name, info.version, run.tasks, licence=info.licence, parameter_count=info.parameter_count,
                       training_data=[t.replace("<dataset>", data) for t in info.training_data],
                       code_link=info.code_link, data=data)  # fmt: skip
    predictions = {t: dict(sorted(r.predictions.items())) for t, r in sorted(run.tasks.items())}
    return write_bundle(folder, meta, predictions, pose_format="jsonl", overwrite=True)


def write_shard_part(run: ModelRun, adapter: ModelAdapter, dataset: Any, folder: Path, shard: Shard,
                     limit: int | None) -> Path:  # fmt: skip
    """A shard part: the canonical bundle of this part plus :data:`SHARD_FILE`."""
    write_run_bundle(run, adapter, dataset, folder)
    record = {"index": shard.index, "count": shard.count, "limit": limit, "data": dataset_key(dataset),
              "run": run.summary()}  # fmt: skip
    (folder / SHARD_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return folder


def merge_parts(parts: Sequence[Path], folder: Path) -> tuple[Path, int | None, str]:
    """Combine shard parts into one canonical bundle at ``folder``.

    Returns:
        ``(folder, limit, data)`` of the parts. ValidationError when parts disagree, overlap, or
        do not cover every index ``0..N-1`` exactly once.
    """
    from submissions.limits import DEFAULT_LIMITS
    from submissions.meta import META_FILE
    from submissions.predictions import parse_jsonl
    from submissions.report import ValidationReport

    if not parts:
        raise UserError("no shard parts to merge", field="--merge")
    records, metas = [], []
    predictions: dict[str, dict[str, Prediction]] = {}
    for part in parts:
        part = Path(part)
        for name in (SHARD_FILE, META_FILE):
            if not (part / name).is_file():
                raise ValidationError(f"not a shard part: {name} missing", file=part / name)
        records.append(json.loads((part / SHARD_FILE).read_text(encoding="utf-8")))
        metas.append((part / META_FILE).read_bytes())
        for task_id in json.loads(metas[-1])["task_versions"]:
            path = part / f"{task_id}.jsonl"
            report = ValidationReport(DEFAULT_LIMITS.max_problems)
            parsed = parse_jsonl(path.read_bytes(), str(path), get_task(task_id).spec.output_kind, report, DEFAULT_LIMITS)
            report.raise_if_invalid()
            merged = predictions.setdefault(task_id, {})
            overlap = merged.keys() & (parsed or {}).keys()
            if overlap:
                raise ValidationError("sample answered by two parts", file=path, sample_id=min(overlap))
            merged.update(parsed or {})
    count = records[0]["count"]
    if any(m != metas[0] for m in metas) or any((r["count"], r["limit"], r["data"]) != (count, records[0]["limit"],
                                                records[0]["data"]) for r in records):  # fmt: skip
        raise ValidationError("parts come from different runs (meta.json or shard settings differ)", file=parts[0])
    if sorted(r["index"] for r in records) != list(range(count)):
        raise ValidationError(f"parts cover shards {sorted(r['index'] for r in records)}, need 0..{count - 1}", file=parts[0])
    meta = json.loads(metas[0])
    write_bundle(folder, meta, {t: dict(sorted(p.items())) for t, p in sorted(predictions.items())},
                 pose_format="jsonl", overwrite=True)  # fmt: skip
    return folder, records[0]["limit"], records[0]["data"]


def score_and_store(bundle: Path, config: BenchConfig, data: str | Path, *, limit: int | None,
                    summary: Mapping[str, Any] | None = None, evaluators: Mapping[str, Any] | None = None,
                    store: bool = True) -> tuple[RunResult, int | None]:  # fmt: skip
    """Score ``bundle`` with exactly ``bench score``'s library call and store it (status ``reproduced``)."""
    from bench.store import ResultsStore

    result = score_bundle(bundle, config, str(data), limit=limit, status="reproduced", evaluators=evaluators)
    if summary is not None:
        result.settings["bench_run"] = dict(summary)
    run_id = None
    if store:
        with ResultsStore(config.results_store) as results:
            run_id = results.add_run(result)
    return result, run_id


def load_adapter(name: str, config: BenchConfig, dataset: Any, model_dirs: Sequence[Path] = ()) -> ModelAdapter:
    """Look up ``name`` in the model registry and load it for ``dataset``."""
    from bench.models import get_model

    return get_model(name).load(ModelContext(config, dataset, tuple(Path(d) for d in model_dirs)))
