"""``bench run``: requests → model answers (cached, resumable, shardable) → bundle → ``score_bundle`` → store.

For each model and task: the task's samples (``--limit``: the first N) are cut into **canonical
chunks**: ``batch_size`` samples each, in sorted sample-id order. A shard (or a torch.distributed
rank) keeps every N-th chunk, and reads the requests (images decoded) of its own chunks only. A chunk whose answers are all cached is reused;
any other goes to the adapter whole, and its answers are committed to the
:class:`~bench.prediction_cache.PredictionCache` in one transaction. So the adapter sees exactly the
same chunks however the run is split over shards, processes or interruptions, and a model whose
answers depend on their batch companions (padding, batched kernels) still gives the same answers;
only ``--batch-size`` changes the chunks. Tasks the model does not support are recorded as not
supported; samples it fails on get a neutral fallback answer (:data:`FALLBACK_TEXT` or the rest
pose) and are recorded with their reason. Every answer is checked by the bundle validator's own
rules (``submissions.predictions.check_answer``): one it would refuse (a caption with a newline, a
NaN in a pose) is such a failure, with the validator's message, and is never cached.

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
from submissions import bundle_meta, write_bundle
from submissions.result import RunResult
from submissions.scoring import score_and_store as score_and_store_bundle
from tasks import get_task
from tasks.base import Items, Task, dataset_key
from tasks.spec import POSE_SHAPE

logger = logging.getLogger(__name__)

FALLBACK_TEXT = "a person."
"""Answer written for a text sample the model failed on."""
SHARD_FILE = "shard.json"
"""Written next to ``meta.json`` in a shard part: ``{"index", "count", "batch_size", "limit", "data", "run"}``."""


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` (0-based): the canonical chunks ``index, index + count, ...`` of
    each task (:func:`canonical_chunks`)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/N"`` with 0 <= i < N (ConfigError-like UserError otherwise)."""
        left, sep, right = text.partition("/")
        if not sep or not left.isdigit() or not right.isdigit() or not 0 <= int(left) < int(right):
            raise UserError(f"expected i/N with 0 <= i < N, got {text!r}", field="--shard")
        return cls(int(left), int(right))

    def keep(self, chunks: Sequence[list[Any]]) -> list[list[Any]]:
        """The chunks of this part."""
        return list(chunks[self.index :: self.count])


def canonical_chunks(sample_ids: Sequence[str], batch_size: int) -> list[list[int]]:
    """Positions into ``sample_ids``, sorted by id and cut into runs of ``batch_size``: the unit the
    adapter answers and the cache commits, the same in every layout of a run."""
    ordered = sorted(range(len(sample_ids)), key=lambda i: sample_ids[i])
    return [ordered[start : start + batch_size] for start in range(0, len(ordered), batch_size)]


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
        batch_size: requests per adapter call and per canonical chunk (never part of the cache
            key; a model whose answers depend on their batch companions answers alike only at one
            batch size).
        shard: answer only this part of each task's chunks.
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
            items = task.items(dataset, limit)
        except UserError as exc:
            run.skipped[task_id] = str(exc)
            logger.warning("%s: %s skipped: %s", model_name, task_id, exc)
            continue
        chunks = canonical_chunks(items.ids, batch_size)
        if shard is not None:
            chunks = shard.keep(chunks)
        key = CacheKey(model_name, adapter.info.version, task_id, task.spec.version,
                       dataset.split_hash(task.spec.split), settings)  # fmt: skip
        run.tasks[task_id] = _answer_task(adapter, task, items, chunks, key, cache, seed)
    return run


def _answer_task(adapter: ModelAdapter, task: Task, items: Items, chunks: list[list[int]], key: CacheKey,
                 cache: PredictionCache, seed: int) -> TaskRun:  # fmt: skip
    """Answer the chunks (positions into ``items``) not fully cached; requests, and so images, are
    read chunk by chunk, only for the chunks this process answers."""
    task_id = task.spec.id
    result = TaskRun()
    total = sum(len(c) for c in chunks)
    answers = cache.get(key, [items.ids[i] for c in chunks for i in c])
    todo = [c for c in chunks if any(items.ids[i] not in answers for i in c)]
    with progress_bar(f"{key.model} {task_id}", total=total, unit="sample") as bar:
        bar.update(total - sum(len(c) for c in todo))
        for positions in todo:
            chunk = [task.request(items, i) for i in positions]
            began = time.perf_counter()
            out = adapter.predict(chunk, [request_seed(seed, task_id, r.id) for r in chunk])
            result.seconds += time.perf_counter() - began
            if len(out) != len(chunk):
                raise ValidationError(f"model {key.model} answered {len(out)} of {len(chunk)} requests", field=task_id)
            fresh = {r.id: _checked(a, task_id) for r, a in zip(chunk, out, strict=True)}
            # answers the validator refuses are recorded as failures but never cached: a rerun asks again
            cache.put(key, {r.id: fresh[r.id] for r, a in zip(chunk, out, strict=True)
                            if isinstance(a, SampleFailure) or not isinstance(fresh[r.id], SampleFailure)})  # fmt: skip
            answers.update(fresh)
            result.computed += len(chunk)
            bar.update(len(chunk))
    is_pose = task.spec.output_kind == "pose"
    for sample_id in sorted(answers):
        answer = answers[sample_id]
        if isinstance(answer, SampleFailure):
            result.failures[sample_id] = answer.reason
            answer = np.zeros(POSE_SHAPE, np.float32) if is_pose else FALLBACK_TEXT
        result.predictions[sample_id] = answer
    if result.failures:
        logger.warning("%s: %s: %d sample(s) failed and got the fallback answer", key.model, task_id, len(result.failures))
    return result


def _checked(answer: Any, task_id: str) -> Prediction | SampleFailure:
    """The answer as the bundle will hold it, or a SampleFailure with the bundle validator's message
    (``submissions.predictions.check_answer``): an answer ``bench run`` writes is one ``bench
    validate`` accepts."""
    from submissions.predictions import check_answer

    if isinstance(answer, SampleFailure):
        return answer
    try:
        return check_answer(answer, get_task(task_id).spec.output_kind)
    except ValidationError as exc:
        return SampleFailure(f"invalid answer: {exc.reason}")


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
                     limit: int | None, batch_size: int) -> Path:  # fmt: skip
    """A shard part: the canonical bundle of this part plus :data:`SHARD_FILE`."""
    write_run_bundle(run, adapter, dataset, folder)
    record = {"index": shard.index, "count": shard.count, "batch_size": batch_size, "limit": limit,
              "data": dataset_key(dataset), "run": run.summary()}  # fmt: skip
    (folder / SHARD_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return folder


def combine_runs(parts: Sequence[ModelRun]) -> ModelRun:
    """One :class:`ModelRun` from the disjoint parts of a sharded or distributed run.

    Predictions and failures are united (sorted by id), computed counts add up, and the adapter
    time of a task is the longest part's (the parts ran side by side).

    Raises:
        ValidationError: two parts answered the same sample, or the parts are of different models.
    """
    if not parts or any(p.model != parts[0].model for p in parts):
        raise ValidationError("parts come from different models (or there are none)", field="model")
    whole = ModelRun(parts[0].model, not_supported=list(parts[0].not_supported), skipped=dict(parts[0].skipped))
    for part in parts:
        for task_id, task in part.tasks.items():
            merged = whole.tasks.setdefault(task_id, TaskRun())
            overlap = merged.predictions.keys() & task.predictions.keys()
            if overlap:
                raise ValidationError("sample answered by two parts", field=task_id, sample_id=min(overlap))
            merged.predictions.update(task.predictions)
            merged.failures.update(task.failures)
            merged.computed += task.computed
            merged.seconds = max(merged.seconds, task.seconds)
    for task in whole.tasks.values():
        task.predictions = dict(sorted(task.predictions.items()))
        task.failures = dict(sorted(task.failures.items()))
    return whole


def merge_parts(parts: Sequence[Path], folder: Path) -> tuple[Path, int | None, str]:
    """Combine shard parts (written by :func:`write_shard_part`) into one canonical bundle at ``folder``.

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
    records, metas, runs = [], [], []
    for part in parts:
        part = Path(part)
        for name in (SHARD_FILE, META_FILE):
            if not (part / name).is_file():
                raise ValidationError(f"not a shard part: {name} missing", file=part / name)
        records.append(json.loads((part / SHARD_FILE).read_text(encoding="utf-8")))
        metas.append((part / META_FILE).read_bytes())
        run = ModelRun(json.loads(metas[-1])["model_name"])
        for task_id in json.loads(metas[-1])["task_versions"]:
            path = part / f"{task_id}.jsonl"
            content = path.read_bytes()
            if not content:  # a part with fewer chunks than there are parts
                run.tasks[task_id] = TaskRun()
                continue
            report = ValidationReport(DEFAULT_LIMITS.max_problems)
            parsed = parse_jsonl(content, str(path), get_task(task_id).spec.output_kind, report, DEFAULT_LIMITS)
            report.raise_if_invalid()
            run.tasks[task_id] = TaskRun(predictions=dict(parsed or {}))
        runs.append(run)
    count = records[0]["count"]
    settings = [(r["count"], r.get("batch_size"), r["limit"], r["data"]) for r in records]
    if any(m != metas[0] for m in metas) or any(s != settings[0] for s in settings):
        raise ValidationError("parts come from different runs (meta.json or shard settings differ)", file=parts[0])
    whole = combine_runs(runs)  # refuses a sample answered by two parts
    if sorted(r["index"] for r in records) != list(range(count)):
        raise ValidationError(f"parts cover shards {sorted(r['index'] for r in records)}, need 0..{count - 1}", file=parts[0])
    write_bundle(folder, json.loads(metas[0]), {t: r.predictions for t, r in sorted(whole.tasks.items())},
                 pose_format="jsonl", overwrite=True)  # fmt: skip
    return folder, records[0]["limit"], records[0]["data"]


def score_and_store(bundle: Path, config: BenchConfig, data: str | Path, *, limit: int | None,
                    summary: Mapping[str, Any] | None = None, evaluators: Mapping[str, Any] | None = None,
                    store: bool = True) -> tuple[RunResult, int | None]:  # fmt: skip
    """Score ``bundle`` with exactly ``bench score``'s library call and store it (status ``reproduced``),
    with the run's summary in its settings (``bench_run``)."""
    settings = None if summary is None else {"bench_run": dict(summary)}
    return score_and_store_bundle(bundle, config, str(data), store=store, settings=settings, limit=limit,
                                  status="reproduced", evaluators=evaluators)  # fmt: skip


def load_adapter(name: str, config: BenchConfig, dataset: Any, model_dirs: Sequence[Path] = (), *,
                 device: str = "cpu", dtype: str = "float32",
                 model_args: Mapping[str, Any] | None = None) -> tuple[ModelAdapter, dict[str, Any]]:  # fmt: skip
    """Look up ``name`` in the model registry and load it for ``dataset``.

    Args:
        device: a concrete torch device (``bench.devices.resolve_device``).
        dtype: one of ``bench.devices.DTYPES``; ConfigError if the model cannot run in it.
        model_args: the model's own arguments (``--model-args``).

    Returns:
        ``(adapter, settings)``: the loaded model and the settings that key its cached answers
        (pass them to :func:`generate` as ``options``).
    """
    from bench.models import answer_settings, get_model

    adapter = get_model(name)
    ctx = ModelContext(config, dataset, tuple(Path(d) for d in model_dirs), dict(model_args or {}), device, dtype)
    settings = answer_settings(adapter, ctx)  # checks the dtype before anything loads
    return adapter.load(ctx), settings
