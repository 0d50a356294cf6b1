"""Validation problems, strict decoding helpers, and the report ``bench validate`` prints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Self

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
    """True exactly when a problem beyond ``max_problems`` was found and left out."""

    def add(self, message: str, *, file: str, field: str | None = None, sample_id: str | None = None) -> None:
        """Record a problem; one beyond the cap is left out, marks the report ``truncated`` and raises
        :class:`ProblemLimitReached` (validation stops there)."""
        if len(self.problems) >= self.max_problems:
            self.truncated = True
            raise ProblemLimitReached
        self.problems.append(Problem(" ".join(message.split()), file, field, sample_id))

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
        return {"valid": self.ok, "truncated": self.truncated, "max_problems": self.max_problems,
                "problems": [p.to_dict() for p in self.problems]}  # fmt: skip

    def truncation_note(self) -> str | None:
        """The line ``bench validate`` prints after the problems when some were left out, else None."""
        if not self.truncated:
            return None
        return (f"stopped after {self.max_problems} problems; more were left out "
                "(fix these and validate again)")  # fmt: skip


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


def non_finite_message(token: str) -> str:
    """Why a ``NaN``/``Infinity``/``-Infinity`` literal is refused (Python's ``json.dumps`` writes them)."""
    return f"{token} is not valid JSON (non-finite numbers are invalid)"


def _reject_constant(name: str) -> Any:
    raise ValueError(non_finite_message(name))


class NonFiniteLiteral(float):
    """A ``NaN``/``Infinity``/``-Infinity`` token read by :func:`loads_lenient`: a float that
    remembers how it was written, so the caller can refuse it with the line's sample id."""

    token: str

    def __new__(cls, token: str) -> Self:
        value = super().__new__(cls, token)
        value.token = token
        return value

    def __repr__(self) -> str:
        return self.token


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


def loads_lenient(text: str) -> Any:
    """``json.loads`` that reads NaN/Infinity literals as :class:`NonFiniteLiteral` values (for the
    caller to refuse once it knows the sample id) and refuses duplicate object keys (ValueError)."""
    return json.loads(text, parse_constant=NonFiniteLiteral, object_pairs_hook=_no_duplicate_keys)


def first_non_finite(value: Any) -> NonFiniteLiteral | None:
    """The first :class:`NonFiniteLiteral` in ``value`` (itself, or inside lists and objects), in
    document order; iterative, so a deeply nested line cannot exhaust the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, NonFiniteLiteral):
            return item
        if isinstance(item, dict | list):
            stack.extend(reversed(list(item.values() if isinstance(item, dict) else item)))
    return None
