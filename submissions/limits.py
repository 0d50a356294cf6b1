"""Size and shape limits applied to untrusted submission bundles."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
MAX_PROBLEMS = 20
"""Most problems ``bench validate`` reports for one bundle (all files together); the report is marked
``truncated`` when it found more. docs/submission_format.md states this number."""


@dataclass(frozen=True)
class BundleLimits:
    """Caps that keep a hostile bundle from exhausting memory or disk."""

    max_members: int = 64
    """Most entries a bundle (zip members or directory files) may hold."""
    max_file_bytes: int = 512 * MiB
    """Largest uncompressed size of one file."""
    max_total_bytes: int = 2048 * MiB
    """Largest uncompressed size of all files together."""
    max_meta_bytes: int = 64 * 1024
    """Largest ``meta.json``."""
    max_compression_ratio: float = 200.0
    """Largest uncompressed/compressed ratio of a zip member (zip-bomb guard) ..."""
    ratio_min_bytes: int = 8 * MiB
    """... checked for members at least this large uncompressed: smaller files are harmless whatever
    their ratio, and legitimately repetitive ones (a mean-pose baseline) compress several hundredfold."""
    max_text_chars: int = 4000
    """Longest prediction text, in characters."""
    max_line_bytes: int = 1 * MiB
    """Longest JSONL line."""
    max_problems: int = MAX_PROBLEMS
    """Problems reported for the whole bundle; validation stops at the next one (``truncated``)."""


DEFAULT_LIMITS = BundleLimits()
"""The limits used when a caller passes none (read at call time, so tests may patch it)."""
