"""Pure metric functions: arrays or texts in, numbers out; no I/O, no global RNG.

One metric per module. Every function validates its inputs (``bench.errors.ValidationError`` for
bad data, ``ConfigError`` for bad protocol options), computes in float64, and returns per-item
values beside the aggregate. Protocol choices (R-precision protocol and seed, MPJPE alignment and
root, ks) are explicit arguments.
"""

from bench.metrics.bootstrap import bootstrap_ci
from bench.metrics.fid import FID, feature_stats, fid, fid_from_stats
from bench.metrics.mpjpe import ALIGNMENTS, mpjpe, procrustes_align
from bench.metrics.r_precision import (
    PROTOCOLS,
    MatchingScore,
    RPrecision,
    matching_score,
    r_precision,
)
from bench.metrics.text_scores import TextScores, text_scores
from bench.metrics.topk_recall import TopKRecall, topk_recall

__all__ = [
    "ALIGNMENTS",
    "FID",
    "PROTOCOLS",
    "MatchingScore",
    "RPrecision",
    "TextScores",
    "TopKRecall",
    "bootstrap_ci",
    "feature_stats",
    "fid",
    "fid_from_stats",
    "matching_score",
    "mpjpe",
    "procrustes_align",
    "r_precision",
    "text_scores",
    "topk_recall",
]
