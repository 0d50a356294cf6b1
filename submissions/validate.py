"""Validate a whole bundle: container safety, ``meta.json``, file names, task versions, each
predictions file, and id coverage against the dataset (all present, none extra, none duplicated).

:func:`check_bundle` collects problems into a report (``bench validate`` prints them);
:func:`validate_bundle` raises a ValidationError naming the first one.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import InternalError, ValidationError
from submissions.limits import DEFAULT_LIMITS, BundleLimits
from submissions.meta import META_FILE, BundleMeta, parse_meta
from submissions.predictions import Prediction, parse_jsonl, parse_npz
from submissions.report import ProblemLimitReached, ValidationReport
from submissions.source import BundleSource, open_bundle
from tasks import TASKS, Task

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bench.data import Dataset

FORMATS = ("jsonl", "npz")
OpenData = Callable[[str | None], "Dataset"]
"""Loads the dataset a bundle is checked against, given ``--data`` or ``meta.json``'s ``data`` (or None)."""


@dataclass(frozen=True)
class Bundle:
    """A validated bundle: its metadata and, per task, predictions keyed by sample id."""

    path: Path
    """Where the bundle was read from."""
    meta: BundleMeta
    """The parsed ``meta.json``."""
    dataset: Dataset
    """The dataset the predictions were checked against."""
    limit: int | None
    """``--limit``: only the first ``limit`` samples of each task were expected (None: all)."""
    predictions: dict[str, dict[str, Prediction]]
    """Task id → {sample id → text, or float32 (22, 3) axis-angle pose}, in the task's sample
    order; task ids sorted."""
    files: dict[str, str]
    """Task id → predictions file name."""
    sha256: str
    """SHA-256 over the sorted ``name\\0sha256(content)`` lines of every file read."""


def validate_bundle(
    path: str | Path,
    open_data: OpenData,
    *,
    data: str | None = None,
    limit: int | None = None,
    limits: BundleLimits | None = None,
) -> Bundle:
    """The validated bundle, or ValidationError naming the first problem (and how many more)."""
    report, bundle = check_bundle(path, open_data, data=data, limit=limit, limits=limits)
    report.raise_if_invalid()
    if bundle is None:  # pragma: no cover - a report without problems always comes with a bundle
        raise InternalError("bundle validated without problems but was not built", file=str(path))
    return bundle


def check_bundle(
    path: str | Path,
    open_data: OpenData,
    *,
    data: str | None = None,
    limit: int | None = None,
    limits: BundleLimits | None = None,
) -> tuple[ValidationReport, Bundle | None]:
    """Collect every problem of the bundle (up to ``limits.max_problems``; the report is
    ``truncated`` when more were found and left out).

    Args:
        path: bundle directory or ``.zip``.
        open_data: loads the dataset named by ``data``, else by ``meta.json``'s ``data`` field
            (None if neither; the callee picks its default).
        data: dataset name or path overriding ``meta.json``'s ``data``.
        limit: only the first ``limit`` samples of each task are expected (``--limit`` runs).
        limits: size caps (default :data:`~submissions.limits.DEFAULT_LIMITS`, read at call time).

    Returns:
        The report and, when it holds no problem, the bundle.

    Raises:
        DataError / NotFoundError: the dataset cannot be loaded or lacks a task's components
            (a problem of the data, not of the bundle).
    """
    limits = limits or DEFAULT_LIMITS
    report = ValidationReport(limits.max_problems)
    bundle = None
    try:
        with open_bundle(path, limits) as source:
            bundle = _check(source, open_data, data, limit, report, limits)
    except ValidationError as exc:
        _add_quietly(report, exc)
    except ProblemLimitReached:
        pass
    return report, (bundle if report.ok else None)


def _add_quietly(report: ValidationReport, exc: ValidationError) -> None:
    try:
        report.add_error(exc)
    except ProblemLimitReached:
        pass


def _check(source: BundleSource, open_data: OpenData, data: str | None, limit: int | None,
           report: ValidationReport, limits: BundleLimits) -> Bundle | None:  # fmt: skip
    digests: dict[str, str] = {}

    def read(name: str) -> bytes:
        content = source.read(name)
        digests[name] = hashlib.sha256(content).hexdigest()
        return content

    task_files = _classify(source, report)
    meta = None
    if META_FILE in source.entries:
        if source.entries[META_FILE].size > limits.max_meta_bytes:
            report.add(f"larger than {limits.max_meta_bytes} bytes", file=source.location(META_FILE))
        else:
            meta = parse_meta(read(META_FILE), source.location(META_FILE), report)
    else:
        report.add("missing meta.json (model name, version, licence, bench and task versions)", file=str(source.path))
    if not task_files:
        report.add("no predictions file (<task>.jsonl or <task>.npz)", file=str(source.path))
    if meta is not None:
        _check_task_versions(meta, task_files, source, report)
    if meta is None or not report.ok:
        return None
    dataset = open_data(data if data is not None else meta.data)
    expected: dict[str, list[str]] = {}
    predictions: dict[str, dict[str, Prediction]] = {}
    for task_id, name in sorted(task_files.items()):
        task = TASKS.get(task_id)()
        where = source.location(name)
        try:
            content = read(name)
        except ValidationError as exc:
            report.add_error(exc)
            continue
        expected[task_id] = task.sample_ids(dataset, limit)
        parsed = _parse_file(task, name, content, where, report, limits)
        if report.truncated:  # the cap was hit inside the file: stop here
            return None
        if parsed is not None and _check_coverage(parsed, expected[task_id], where, report, limit,
                                                  lambda task=task: task.sample_ids(dataset)):  # fmt: skip
            predictions[task_id] = {i: parsed[i] for i in expected[task_id]}
    if not report.ok:
        return None
    lines = "".join(f"{name}\0{digest}\n" for name, digest in sorted(digests.items()))
    return Bundle(source.path, meta, dataset, limit, predictions, {t: task_files[t] for t in sorted(task_files)},
                  hashlib.sha256(lines.encode()).hexdigest())  # fmt: skip


def _classify(source: BundleSource, report: ValidationReport) -> dict[str, str]:
    """Task id → predictions file name, reporting unknown tasks, unexpected files and doubles."""
    task_files: dict[str, str] = {}
    known = TASKS.names()
    for name in sorted(source.entries):
        if name == META_FILE:
            continue
        stem, dot, ext = name.rpartition(".")
        where = source.location(name)
        if not dot or ext not in FORMATS:
            report.add(f"unexpected file; a bundle holds {META_FILE} and <task>.jsonl or <task>.npz files", file=where)
        elif stem not in known:
            close = difflib.get_close_matches(stem, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            report.add(f"unknown task {stem!r}{hint} (known: {', '.join(known)})", file=where)
        elif stem in task_files:
            report.add(f"both {task_files[stem]} and {name}; give one predictions file per task", file=where)
        else:
            task_files[stem] = name
    return task_files


def _check_task_versions(meta: BundleMeta, task_files: dict[str, str], source: BundleSource,
                         report: ValidationReport) -> None:  # fmt: skip
    where = source.location(META_FILE)
    for task_id, name in sorted(task_files.items()):
        current = TASKS.get(task_id).spec.version
        claimed = meta.task_versions.get(task_id)
        if claimed is None:
            report.add(f"no version given for the task of {name}", file=where, field=f"task_versions.{task_id}")
        elif claimed != current:
            report.add(f"predictions made for version {claimed}, but this bench scores version {current}",
                       file=where, field=f"task_versions.{task_id}")  # fmt: skip
    for task_id in sorted(set(meta.task_versions) - set(task_files)):
        report.add("listed in task_versions but the bundle has no predictions file for it",
                   file=where, field=f"task_versions.{task_id}")  # fmt: skip


def _parse_file(task: Task, name: str, content: bytes, where: str, report: ValidationReport,
                limits: BundleLimits) -> dict[str, Prediction] | None:  # fmt: skip
    if name.endswith(".npz"):
        if task.spec.output_kind != "pose":
            report.add(f"task {task.spec.id} predicts text; give {task.spec.id}.jsonl with 'text'", file=where)
            return None
        return parse_npz(content, where, report, limits)
    return parse_jsonl(content, where, task.spec.output_kind, report, limits)


def _check_coverage(predictions: dict[str, Prediction], expected: list[str], where: str, report: ValidationReport,
                    limit: int | None, split_ids: Callable[[], list[str]]) -> bool:  # fmt: skip
    """All expected ids present and no others; problems name the first offending id.

    With ``limit``, an id of the split past the first ``limit`` is reported as such, apart from ids
    that are not in the split at all (``split_ids`` lists the whole split; called only then).
    """
    expected_set = set(expected)
    missing = [i for i in expected if i not in predictions]
    extra = [i for i in predictions if i not in expected_set]
    past_limit: list[str] = []
    if extra and limit is not None:
        split = set(split_ids())
        past_limit = [i for i in extra if i in split]
        extra = [i for i in extra if i not in split]
    if missing:
        report.add(f"{len(missing)} of {len(expected)} expected ids missing", file=where, field="id",
                   sample_id=missing[0])  # fmt: skip
    if past_limit:
        are = "id is" if len(past_limit) == 1 else "ids are"
        report.add(f"{len(past_limit)} {are} in the split but past --limit {limit} (a --limit run expects exactly "
                   f"the split's first {limit} ids; drop the others or leave out --limit)",
                   file=where, field="id", sample_id=past_limit[0])  # fmt: skip
    if extra:
        report.add(f"{len(extra)} ids not in the task's split", file=where, field="id", sample_id=extra[0])
    return not missing and not past_limit and not extra
