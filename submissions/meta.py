"""``meta.json``: who made the predictions, with what, for which bench and task versions."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from bench import __version__ as BENCH_VERSION
from submissions.report import ValidationReport, decode_text, loads_strict

META_FILE = "meta.json"
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_TASK_VERSION_RE = re.compile(r"^\d+\.\d+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class BundleMeta:
    """The parsed, validated ``meta.json``."""

    model_name: str
    """Model name as shown on the leaderboard."""
    model_version: str
    """Model version or checkpoint tag."""
    parameter_count: int | None
    """Number of parameters, None if undisclosed."""
    training_data: tuple[str, ...]
    """Datasets the model was trained on (for contamination flags)."""
    code_link: str | None
    """URL of the code, None if closed."""
    licence: str
    """Licence of the model or predictions."""
    bench_version: str
    """Version of bench that wrote the bundle (``X.Y.Z``), not newer than the one scoring it."""
    task_versions: dict[str, str]
    """Task id → task version the predictions were made for; exactly the tasks in the bundle."""
    data: str | None
    """Dataset the predictions are for (``synth-full``); the default of ``bench score --data``."""
    raw: dict[str, Any]
    """The whole JSON object, stored with the run."""


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _is_opt_str(v: Any) -> bool:
    return v is None or _is_str(v)


def _is_count(v: Any) -> bool:
    return v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_str(x) for x in v)


def _is_str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


def _is_opt_date(v: Any) -> bool:
    return v is None or (isinstance(v, str) and bool(_DATE_RE.match(v)))


# field -> (required, check, expected type in words)
_FIELDS: dict[str, tuple[bool, Any, str]] = {
    "model_name": (True, _is_str, "a non-empty string"),
    "model_version": (True, _is_str, "a non-empty string"),
    "parameter_count": (True, _is_count, "a non-negative integer or null"),
    "training_data": (True, _is_str_list, "a list of non-empty strings"),
    "code_link": (True, _is_opt_str, "a string or null"),
    "licence": (True, _is_str, "a non-empty string"),
    "bench_version": (True, _is_str, "a version string 'X.Y.Z'"),
    "task_versions": (True, _is_str_map, "an object mapping task ids to version strings"),
    "data": (False, _is_opt_str, "a dataset name or null"),
    "paper_link": (False, _is_opt_str, "a string or null"),
    "release_date": (False, _is_opt_date, "a date 'YYYY-MM-DD' or null"),
    "notes": (False, _is_opt_str, "a string or null"),
}


def _version_tuple(text: str) -> tuple[int, int, int] | None:
    match = _VERSION_RE.match(text)
    return None if match is None else (int(match[1]), int(match[2]), int(match[3]))


def parse_meta(data: bytes, where: str, report: ValidationReport) -> BundleMeta | None:
    """Parse ``meta.json`` bytes, adding every problem to ``report``; None when invalid."""
    if not data.strip():
        report.add("empty file; meta.json must be a JSON object", file=where)
        return None
    try:
        obj = loads_strict(decode_text(data, where))
    except (ValueError, RecursionError) as exc:
        report.add(f"not valid JSON ({exc})", file=where)
        return None
    if not isinstance(obj, dict):
        report.add(f"must be a JSON object, got {type(obj).__name__}", file=where)
        return None
    before = len(report.problems)
    for key in obj:
        if key not in _FIELDS:
            close = difflib.get_close_matches(key, _FIELDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            report.add(f"unknown field{hint} (known: {', '.join(_FIELDS)})", file=where, field=key)
    for key, (required, check, expected) in _FIELDS.items():
        if key not in obj:
            if required:
                report.add(f"missing required field (expected {expected})", file=where, field=key)
        elif not check(obj[key]):
            got = f"{type(obj[key]).__name__} {str(obj[key])[:40]!r}"
            report.add(f"expected {expected}, got {got}", file=where, field=key)
    if len(report.problems) > before:
        return None
    bundle_version, running = _version_tuple(obj["bench_version"]), _version_tuple(BENCH_VERSION)
    if bundle_version is None:
        report.add("expected a version string 'X.Y.Z'", file=where, field="bench_version")
    elif running is not None and bundle_version > running:
        report.add(f"bundle written by bench {obj['bench_version']}, newer than this bench {BENCH_VERSION}",
                   file=where, field="bench_version")  # fmt: skip
    for task, version in obj["task_versions"].items():
        if not _TASK_VERSION_RE.match(version):
            report.add(f"expected a task version 'X.Y', got {version!r}", file=where, field=f"task_versions.{task}")
    if len(report.problems) > before:
        return None
    return BundleMeta(
        model_name=obj["model_name"].strip(),
        model_version=obj["model_version"].strip(),
        parameter_count=obj["parameter_count"],
        training_data=tuple(obj["training_data"]),
        code_link=obj["code_link"],
        licence=obj["licence"],
        bench_version=obj["bench_version"],
        task_versions=dict(obj["task_versions"]),
        data=obj.get("data"),
        raw=obj,
    )
