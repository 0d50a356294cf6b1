"""Validation problems, strict decoding helpers, and the report ``bench validate`` prints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bench.errors import ValidationError, format_location

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Problem:
    """One defect of a bundle, located as precisely as possible."""

    message: str
    """What is wrong, one line."""
    file: str
    """Bundle member (``bundle.zip:pose2text.jsonl``) or path."""
    field: str | None = None
    """Field (``pose``, ``ids``, ``task_versions.pose2text``) or ``line N``."""
    sample_id: str | None = None
    """Sample id, where one is known."""

    def __str__(self) -> str:
        return format_location(self.message, file=self.file, field=self.field, sample_id=self.sample_id)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "field": self.field, "sample_id": self.sample_id, "message": self.message}


class ProblemLimitReached(Exception):
    """Internal signal: enough problems were collected; stop validating."""


@dataclass
class ValidationReport:
    """Problems found in a bundle, in discovery order, at most ``max_problems`` of them."""

    max_problems: int
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False

    def add(self, message: str, *, file: str, field: str | None = None, sample_id: str | None = None) -> None:
        """Record a problem; raises :class:`ProblemLimitReached` once the cap is hit."""
        self.problems.append(Problem(" ".join(message.split()), file, field, sample_id))
        if len(self.problems) >= self.max_problems:
            self.truncated = True
            raise ProblemLimitReached

    def add_error(self, error: ValidationError) -> None:
        """Record a ValidationError raised by a lower layer."""
        sample = None if error.sample_id is None else str(error.sample_id)
        self.add(error.reason, file=error.file or "?", field=error.field, sample_id=sample)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_invalid(self) -> None:
        """ValidationError naming the first problem (and how many more there are)."""
        if self.ok:
            return
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = f" (and {more}{'+' if self.truncated else ''} more problem{'s' if more != 1 else ''})" if more else ""
        raise ValidationError(first.message + suffix, file=first.file, field=first.field, sample_id=first.sample_id)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.ok, "truncated": self.truncated, "problems": [p.to_dict() for p in self.problems]}


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 text without a byte-order mark; ValidationError naming the line of a bad byte."""
    if data.startswith(_BOM):
        raise ValidationError("starts with a UTF-8 byte-order mark; save as UTF-8 without BOM", file=where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        raise ValidationError(message, file=where, field=f"line {line}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (non-finite numbers are refused)")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_strict(text: str) -> Any:
    """``json.loads`` refusing NaN/Infinity literals and duplicate object keys (ValueError)."""
    return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
