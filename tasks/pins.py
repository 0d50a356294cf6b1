"""Pins shared by the task specs: evaluator ids and checkpoint hashes, data hashes, protocol seeds.

Hashes are read from their owners (``retrieval_models.pinned``, ``bench.data.synth.pinned``) so
there is one source of truth; a task version records the values current when it was defined, and
changing a pin there changes comparability here (bump the task versions, with a changelog line).
"""

from __future__ import annotations

from bench.data.synth.pinned import PINNED_TEST_HASHES
from retrieval_models.pinned import EVALUATORS

POSETEXT_EVALUATOR = "posetext-synth-v1"
"""Pose-text evaluator of the caption, text-to-pose and pose-FID metrics."""
PAIRTEXT_EVALUATOR = "pairtext-synth-v1"
"""Pose-pair-text evaluator of the instruction metrics."""
R_PRECISION_SEED = 0
"""Seed of every R-precision draw (and of its bootstrap CI)."""
DIVERSITY_SEED = 0
"""Seed of the diversity metrics' pair draws."""
PUBLISHED_SEED = 0
"""Synth builds with this seed are the published ones."""


def evaluator_sha256(evaluator_id: str) -> str | None:
    """The pinned checkpoint SHA-256 of ``evaluator_id`` (None while pending)."""
    return EVALUATORS.get(evaluator_id).sha256


def synth_test_hashes() -> tuple[tuple[str, str], ...]:
    """``(("synth-<size>", sha256), ...)`` of the published synth builds, sorted."""
    return tuple(sorted((f"synth-{size}", digest) for (size, seed), digest in PINNED_TEST_HASHES.items()
                        if seed == PUBLISHED_SEED))  # fmt: skip


SYNTH_TEST_HASHES = synth_test_hashes()
"""Pinned test-split hashes by dataset key."""
