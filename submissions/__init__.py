"""Submission bundles: reading, validation and the scoring entry point (docs/submission_format.md).

Library API shared by ``bench validate``, ``bench score`` and ``bench run``:

- :func:`check_bundle` / :func:`validate_bundle`: every problem of a bundle, or the first as a
  ValidationError;
- :func:`score_bundle`: validate and score, returning a :class:`RunResult` (writes nothing);
- :func:`score_and_store`: the same, then the run stored in one transaction (``bench score``,
  ``bench run``, the leaderboard's upload);
- :func:`bundle_meta` / :func:`write_bundle`: write a bundle (``bench run``, baselines).
"""

from __future__ import annotations

from submissions.limits import DEFAULT_LIMITS, BundleLimits
from submissions.meta import BundleMeta
from submissions.report import Problem, ValidationReport
from submissions.result import STATUSES, RunResult
from submissions.scoring import DEFAULT_DATA, dataset_opener, score_and_store, score_bundle
from submissions.validate import Bundle, check_bundle, validate_bundle
from submissions.writer import bundle_meta, write_bundle

__all__ = [
    "DEFAULT_DATA", "DEFAULT_LIMITS", "STATUSES", "Bundle", "BundleLimits", "BundleMeta", "Problem", "RunResult",
    "ValidationReport", "bundle_meta", "check_bundle", "dataset_opener", "score_and_store", "score_bundle",
    "validate_bundle",
    "write_bundle",
]  # fmt: skip
