"""Parse one predictions file of a bundle: ``<task>.jsonl`` (text or pose) or ``<task>.npz`` (pose).

JSONL: one object per line, exactly ``{"id": str, "text": str}`` or ``{"id": str, "pose": [[x, y, z]
× 22]}``. NPZ: arrays ``ids`` (unicode ``<U``, (N,)) and ``poses`` (float, (N, 22, 3)), loaded with
``allow_pickle=False``. Poses are axis-angle in radians and come back as float32 (22, 3) arrays.
Every problem is added to a :class:`~submissions.report.ValidationReport` with the file, field
(or ``line N``) and sample id; parsing stops when the report is full (it is then ``truncated``).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import ValidationError
from submissions.limits import DEFAULT_LIMITS, BundleLimits
from submissions.report import (
    NonFiniteLiteral,
    ProblemLimitReached,
    ValidationReport,
    decode_text,
    first_non_finite,
    loads_lenient,
    non_finite_message,
)
from submissions.source import check_members
from tasks.spec import POSE_SHAPE

Prediction = str | np.ndarray
NUM_JOINTS = POSE_SHAPE[0]
"""Rows of a pose answer."""
MAX_ID_CHARS = 256
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class _FileProblems:
    """Adds problems of one file to the report and counts them (the report's cap bounds them all)."""

    def __init__(self, report: ValidationReport, where: str) -> None:
        self.report, self.where, self.count = report, where, 0

    def add(self, message: str, field: str | None = None, sample_id: str | None = None) -> None:
        self.count += 1
        self.report.add(message, file=self.where, field=field, sample_id=sample_id)


def parse_jsonl(data: bytes, where: str, output_kind: str, report: ValidationReport,
                limits: BundleLimits) -> dict[str, Prediction] | None:  # fmt: skip
    """Parse a JSONL predictions file; None when it has problems (they are in ``report``)."""
    try:
        return _parse_jsonl(data, where, output_kind, report, limits)
    except ProblemLimitReached:
        return None


def _parse_jsonl(data: bytes, where: str, output_kind: str, report: ValidationReport,
                 limits: BundleLimits) -> dict[str, Prediction] | None:  # fmt: skip
    problems = _FileProblems(report, where)
    if not data.strip():
        problems.add("empty file; expected one JSON object per line")
        return None
    try:
        text = decode_text(data, where)
    except ValidationError as exc:
        report.add_error(exc)
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline ending the last line
    key = "text" if output_kind == "text" else "pose"
    out: dict[str, Prediction] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        parsed = _parse_line(line.removesuffix("\r"), f"line {number}", key, problems, limits)
        if parsed is None:
            continue
        sample_id, prediction = parsed
        if sample_id in first_line:
            problems.add(f"duplicate id (first on line {first_line[sample_id]})", f"line {number}", sample_id)
            continue
        first_line[sample_id] = number
        out[sample_id] = prediction
    return None if problems.count else out


def _parse_line(line: str, where_line: str, key: str, problems: _FileProblems,
                limits: BundleLimits) -> tuple[str, Prediction] | None:  # fmt: skip
    if not line.strip():
        problems.add("empty line", where_line)
        return None
    if len(line.encode("utf-8")) > limits.max_line_bytes:
        problems.add(f"line longer than {limits.max_line_bytes} bytes", where_line)
        return None
    try:
        obj = loads_lenient(line)  # NaN/Infinity are read, to be refused below with the line's sample id
    except (ValueError, RecursionError) as exc:
        problems.add(f"not valid JSON ({exc})", where_line)
        return None
    if not isinstance(obj, dict):
        problems.add(f"expected a JSON object, got {_kind(obj)}", where_line)
        return None
    sample_id = obj.get("id")
    if not isinstance(sample_id, str) or not sample_id or len(sample_id) > MAX_ID_CHARS:
        got = _kind(sample_id) + ("" if isinstance(sample_id, NonFiniteLiteral) else f" {str(sample_id)[:40]!r}")
        problems.add(f"'id' must be a non-empty string of at most {MAX_ID_CHARS} characters, got {got}", where_line)
        return None
    if set(obj) != {"id", key}:
        extra, missing = sorted(set(obj) - {"id", key}), sorted({"id", key} - set(obj))
        message = f"expected keys 'id' and {key!r} only (missing {missing}, unexpected {extra})"
        problems.add(message, where_line, sample_id)
        return None
    literal = first_non_finite(obj[key])
    if literal is not None:
        value = obj[key]
        rows = value if key == "pose" and isinstance(value, list) else []
        row = next((f"row {i}: " for i, r in enumerate(rows) if first_non_finite(r) is not None), "")
        problems.add(row + non_finite_message(literal.token), f"{where_line}: {key}", sample_id)
        return None
    if key == "text":
        message = _text_problem(obj["text"], limits)
        if message:
            problems.add(message, f"{where_line}: text", sample_id)
            return None
        return sample_id, obj["text"]
    pose = _pose_from_json(obj["pose"])
    if isinstance(pose, str):
        problems.add(pose, f"{where_line}: pose", sample_id)
        return None
    return sample_id, pose


def _kind(value: Any) -> str:
    """How messages name the type of a JSON value (a NaN/Infinity literal by its token)."""
    return value.token if isinstance(value, NonFiniteLiteral) else type(value).__name__


def check_answer(value: Any, output_kind: str, limits: BundleLimits = DEFAULT_LIMITS) -> Prediction:
    """One answer checked by the bundle's rules, before it is written into a bundle (``bench run``).

    Args:
        value: a text (``output_kind="text"``), or a pose as a (22, 3) array or nested lists.
        output_kind: ``"text"`` or ``"pose"``.

    Returns:
        The answer as the bundle will hold it: the str, or a float32 (22, 3) array.

    Raises:
        ValidationError: what the validator would refuse, in the words ``bench validate`` prints.
    """
    if output_kind == "text":
        problem = _text_problem(value, limits)
        if problem:
            raise ValidationError(problem, field="text")
        return value
    if isinstance(value, list):
        pose = _pose_from_json(value)
    else:
        array = np.asarray(value)
        pose = (_finite_pose(array.astype(np.float64)) if array.dtype.kind in "iuf" and array.shape == (NUM_JOINTS, 3)
                else f"expected a ({NUM_JOINTS}, 3) array of numbers, got {array.dtype} with shape {array.shape}")  # fmt: skip
    if isinstance(pose, str):
        raise ValidationError(pose, field="pose")
    return pose


def _text_problem(value: Any, limits: BundleLimits) -> str | None:
    """Why ``value`` is not an acceptable caption, or None."""
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    if not value.strip():
        return "empty text"
    if len(value) > limits.max_text_chars:
        return f"text longer than {limits.max_text_chars} characters"
    bad = _CONTROL_RE.search(value)
    if bad:
        what = "newline" if bad.group() in "\n\r" else f"control character {bad.group()!r}"
        return f"{what} inside the text (a prediction is one line of text)"
    return None


def _pose_from_json(value: Any) -> np.ndarray | str:
    """A float32 (22, 3) array, or a message saying what is wrong."""
    if not isinstance(value, list) or len(value) != NUM_JOINTS:
        got = f"{len(value)} rows" if isinstance(value, list) else type(value).__name__
        return f"expected {NUM_JOINTS} rows of 3 numbers, got {got}"
    for row_index, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 3:
            got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
            return f"row {row_index}: expected 3 numbers, got {got}"
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in row):
            return f"row {row_index}: values must be numbers"
    return _finite_pose(np.asarray(value, dtype=np.float64))


def _finite_pose(pose64: np.ndarray) -> np.ndarray | str:
    """float64 (22, 3) → float32, or a message naming the first non-finite row."""
    with np.errstate(over="ignore"):
        pose = pose64.astype(np.float32)
    if not np.isfinite(pose).all():
        row_index = int(np.argwhere(~np.isfinite(pose))[0, 0])
        return f"row {row_index}: non-finite value (NaN, inf, or beyond float32 range)"
    return pose


def parse_npz(data: bytes, where: str, report: ValidationReport, limits: BundleLimits) -> dict[str, Prediction] | None:
    """Parse an NPZ predictions file (``ids``, ``poses``); None when it has problems."""
    try:
        return _parse_npz(data, where, report, limits)
    except ProblemLimitReached:
        return None


def _parse_npz(data: bytes, where: str, report: ValidationReport, limits: BundleLimits) -> dict[str, Prediction] | None:
    problems = _FileProblems(report, where)
    if not data.startswith(b"PK"):
        problems.add("not an .npz (zip) archive; pickles and raw .npy files are refused")
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = check_members(Path(where), archive.infolist(), limits)
    except zipfile.BadZipFile as exc:
        problems.add(f"corrupt .npz archive ({exc})")
        return None
    except ValidationError as exc:
        report.add_error(exc)
        return None
    names = {name.removesuffix(".npy") for name in members}
    for required in ("ids", "poses"):
        if required not in names:
            problems.add(f"missing array {required!r} (expected arrays 'ids' and 'poses')", required)
    for extra in sorted(names - {"ids", "poses"}):
        problems.add("unexpected array (expected arrays 'ids' and 'poses' only)", extra)
    if problems.count:
        return None
    arrays = _load_arrays(data, problems)
    if arrays is None:
        return None
    ids, poses = arrays
    return _npz_predictions(ids, poses, problems)


def _load_arrays(data: bytes, problems: _FileProblems) -> tuple[np.ndarray, np.ndarray] | None:
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            for name in ("ids", "poses"):
                try:
                    arrays[name] = npz[name]
                except ValueError as exc:
                    reason = "object dtype (pickled objects are refused)" if "allow_pickle" in str(exc) else str(exc)
                    problems.add(f"cannot load array: {reason}", name)
    except (ValueError, OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        problems.add(f"cannot read .npz ({exc})")
    return None if problems.count else (arrays["ids"], arrays["poses"])


def _npz_predictions(ids: np.ndarray, poses: np.ndarray, problems: _FileProblems) -> dict[str, Prediction] | None:
    if ids.dtype.kind != "U" or ids.ndim != 1:
        problems.add(f"expected a 1-D unicode string array (<U), got {ids.dtype} with shape {ids.shape}", "ids")
    if poses.dtype.kind != "f" or poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3):
        problems.add(f"expected a float array of shape (N, {NUM_JOINTS}, 3), got {poses.dtype} {poses.shape}", "poses")
    if problems.count:
        return None
    if len(ids) != len(poses):
        problems.add(f"ids has {len(ids)} entries but poses has {len(poses)}", "poses")
        return None
    with np.errstate(over="ignore"):
        poses32 = poses.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(poses32).all(axis=(1, 2)))
    for index in bad:
        problems.add("non-finite value (NaN, inf, or beyond float32 range)", "poses", str(ids[index]))
    out: dict[str, Prediction] = {}
    for index, sample_id in enumerate(ids.tolist()):
        if not sample_id or len(sample_id) > MAX_ID_CHARS:
            problems.add(f"ids must be non-empty strings of at most {MAX_ID_CHARS} characters", f"ids[{index}]")
        elif sample_id in out:
            problems.add("duplicate id", "ids", sample_id)
        else:
            out[sample_id] = poses32[index]
    return None if problems.count else out
