"""Score a bundle: validate it, load evaluators and the body model once, score every task present.

This is the library entry point shared by ``bench score``, ``bench run`` and the leaderboard's
upload::

    result = score_bundle(bundle_path, config, data="synth-full", batch_size=64)   # writes nothing
    result, run_id = score_and_store(bundle_path, config, data="synth-full")        # and stores the run

:func:`score_bundle` writes nothing; storing is a separate, atomic step (one store transaction,
after scoring succeeded), so a failed validation or scoring leaves the store untouched.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import time
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import __version__ as BENCH_VERSION
from bench.config import BenchConfig
from bench.errors import ConfigError, InternalError
from bench.progress import progress
from submissions.limits import BundleLimits
from submissions.result import STATUSES, RunResult
from submissions.validate import Bundle, OpenData, validate_bundle
from tasks import ScoringContext, Task, get_task
from tasks.base import dataset_key
from tasks.context import Evaluator

if TYPE_CHECKING:
    from bench.data import Dataset

logger = logging.getLogger(__name__)

DEFAULT_DATA = "synth-full"
"""Dataset scored when neither ``--data`` nor ``meta.json``'s ``data`` names one."""
LEADERBOARD_BODY_MODEL = "skeleton"
"""Body model of leaderboard numbers (open, built in); other backends give ineligible runs."""
_PACKAGES = ("numpy", "scipy", "torch", "pycocoevalcap", "nltk")

EvaluatorSource = Evaluator | str | Path
"""A loaded evaluator, or a checkpoint path / name to load in place of a pinned id (unpinned)."""


def score_and_store(bundle_path: str | Path, config: BenchConfig, data: str | None = None, *, store: bool = True,
                    settings: Mapping[str, Any] | None = None,
                    **options: Any) -> tuple[RunResult, int | None]:  # fmt: skip
    """Score a bundle (:func:`score_bundle` with ``options``), then add the run to
    ``config.results_store`` in one transaction; a failure before storing leaves the store untouched.

    Args:
        settings: entries added to the run's recorded ``settings`` before it is stored.
        store: False scores only (the run id is then None).

    Returns:
        The result and the stored run's id.
    """
    from bench.store import ResultsStore

    result = score_bundle(bundle_path, config, data, **options)
    result.settings.update(settings or {})
    if not store:
        return result, None
    with ResultsStore(config.results_store) as results:
        return result, results.add_run(result)


def dataset_opener(config: BenchConfig) -> OpenData:
    """Loads ``name`` (or :data:`DEFAULT_DATA`) from ``config.data_dir``; a path works too."""

    def open_data(name: str | None) -> Dataset:
        from bench.data import load_dataset

        return load_dataset(name or DEFAULT_DATA, config.data_dir)

    return open_data


def score_bundle(
    bundle_path: str | Path,
    config: BenchConfig,
    data: str | None = None,
    batch_size: int = 64,
    *,
    limit: int | None = None,
    variants: Collection[str] = (),
    status: str = "verified",
    evaluators: Mapping[str, EvaluatorSource] | None = None,
    open_data: OpenData | None = None,
    limits: BundleLimits | None = None,
) -> RunResult:
    """Validate and score a bundle; nothing is written anywhere.

    Args:
        bundle_path: bundle directory or ``.zip``.
        config: paths (data, evaluators) and settings (body model, text model).
        data: dataset name or path; default ``meta.json``'s ``data``, else :data:`DEFAULT_DATA`.
        batch_size: evaluator batch size; the numbers do not depend on it.
        limit: expect only the first ``limit`` samples of each task (the run is then ineligible).
        variants: metric variants to add (e.g. ``posescript`` R-precision).
        status: ``verified`` (scored from submitted files) or ``reproduced`` (``bench run``).
        evaluators: substitutes for pinned evaluator ids (loaded objects, or checkpoint paths);
            any substitute other than the pinned checkpoint makes the run ineligible.
        open_data: dataset loader (default :func:`dataset_opener` of ``config``).
        limits: bundle size caps.

    Raises:
        ValidationError: the bundle is malformed (message names file, field, sample id).
        DataError / NotFoundError / CheckpointError / BodyModelError: data, evaluator or body
            model problems.
    """
    if status not in STATUSES:
        raise InternalError(f"unknown run status {status!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch size must be a positive integer, got {batch_size!r}", field="batch_size")
    start = time.perf_counter()
    bundle = validate_bundle(bundle_path, open_data or dataset_opener(config), data=data, limit=limit, limits=limits)
    timings: dict[str, Any] = {"validate": time.perf_counter() - start}
    tasks = [get_task(task_id) for task_id in bundle.predictions]
    unknown = set(variants) - {v for t in tasks for v in t.spec.variants}
    if unknown:
        known = sorted({v for t in tasks for v in t.spec.variants})
        raise ConfigError(f"unknown metric variant(s) {sorted(unknown)} for these tasks; known: {known or 'none'}",
                          field="variant")  # fmt: skip
    begin = time.perf_counter()
    for task in tasks:
        task.prepare()
    loaded = _load_evaluators(tasks, config, evaluators or {})
    body = _load_body(config)
    timings["load_evaluators_and_body"] = time.perf_counter() - begin
    ctx = ScoringContext(loaded, body, batch_size, frozenset(variants), cache_dir=config.cache_dir)
    results = {}
    for task in progress(tasks, desc="score tasks", total=len(tasks)):
        results[task.spec.id] = task.score(bundle.predictions[task.spec.id], bundle.dataset, ctx)
        logger.info("%s scored in %.1f s", task.spec.id, results[task.spec.id].timings_s["total"])
    timings["tasks"] = {task_id: r.timings_s for task_id, r in results.items()}
    timings["total"] = time.perf_counter() - start
    reasons = _ineligible_reasons(bundle, tasks, loaded, body.name)
    return RunResult(
        model_name=bundle.meta.model_name, model_version=bundle.meta.model_version, meta=bundle.meta.raw,
        status=status, eligible=not reasons, ineligible_reasons=tuple(reasons), bench_version=BENCH_VERSION,
        data_name=dataset_key(bundle.dataset), data_version=str(bundle.dataset.version),
        data_hash=bundle.dataset.split_hash(tasks[0].spec.split), bundle_sha256=bundle.sha256,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        settings={"batch_size": batch_size, "limit": limit, "variants": sorted(variants),
                  "body_model": {"name": body.name, "description": body.description},
                  "device": config.device, "files": bundle.files, "packages": _package_versions()},
        timings_s=timings, tasks=results,
    )  # fmt: skip


def _load_evaluators(tasks: list[Task], config: BenchConfig,
                     overrides: Mapping[str, EvaluatorSource]) -> dict[str, Evaluator]:  # fmt: skip
    """Pinned id → evaluator, each loaded once (on ``config.device``); pinned ids are verified
    against their SHA-256."""
    from retrieval_models import load_evaluator

    search_dirs = [config.shipped_evaluators_dir, config.user_evaluators_dir]
    needed = {t.spec.evaluator_id: t.spec.evaluator_sha256 for t in tasks if t.spec.evaluator_id}
    loaded: dict[str, Evaluator] = {}
    for evaluator_id, sha256 in sorted(needed.items()):
        source = overrides.get(evaluator_id)
        if source is None:
            loaded[evaluator_id] = load_evaluator(evaluator_id, search_dirs, sha256, text_model=config.text_model)
        elif isinstance(source, str | Path):
            loaded[evaluator_id] = load_evaluator(str(source), search_dirs, None, text_model=config.text_model)
        else:  # a loaded evaluator runs where its owner put it
            loaded[evaluator_id] = source
            continue
        loaded[evaluator_id].to(config.device)
    return loaded


def _load_body(config: BenchConfig) -> Any:
    from bench.body import load_body_model

    return load_body_model(config.body_model, config.body_models)


def _ineligible_reasons(bundle: Bundle, tasks: list[Task], evaluators: Mapping[str, Evaluator],
                        body_model: str) -> list[str]:  # fmt: skip
    """Why the run may not appear on the leaderboard (empty when it may)."""
    reasons = []
    if bundle.limit is not None:
        reasons.append(f"--limit {bundle.limit}: only part of each split was scored")
    if body_model != LEADERBOARD_BODY_MODEL:
        reasons.append(f"body model {body_model!r}; leaderboard numbers use {LEADERBOARD_BODY_MODEL!r}")
    key = dataset_key(bundle.dataset)
    for task in tasks:
        spec = task.spec
        pinned = spec.pinned_hash(key)
        actual = bundle.dataset.split_hash(spec.split)
        if pinned is None:
            reasons.append(f"{spec.id}: dataset {key!r} is not pinned by task version {spec.version}")
        elif pinned != actual:
            reasons.append(f"{spec.id}: {key}/{spec.split} hash {actual[:12]} differs from the pinned {pinned[:12]}")
        if spec.evaluator_id is not None:
            ev = evaluators[spec.evaluator_id]
            if spec.evaluator_sha256 is None:
                reasons.append(f"{spec.id}: evaluator {spec.evaluator_id} has no pinned checkpoint yet")
            elif (ev.id, ev.sha256) != (spec.evaluator_id, spec.evaluator_sha256):
                reasons.append(f"{spec.id}: evaluator {ev.id} ({ev.sha256[:12]}) is not the pinned {spec.evaluator_id}")
    return reasons


def _package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
