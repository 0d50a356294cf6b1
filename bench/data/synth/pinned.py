"""Pinned test-split hashes of the published PoseBench-Synth builds.

A task version pins the data it was scored on; these are the test-split hashes
(``bench.data.manifest.split_hash``) that ``build_synth(root, size, seed)`` must reproduce on any
machine. A change to the generator, the caption/instruction pipelines, the renderer or the file
layout changes them: that is a new dataset version (bump ``build.VERSION``) and new pins here.

A split is drawn from its own generators, so the test split (and its hash) does not depend on the
train/val counts: ``build_synth(root, SynthSize(...))`` with the published test counts and tiny
train/val counts reproduces the pinned test hash in a fraction of the full build's time.
"""

from __future__ import annotations

PINNED_TEST_HASHES: dict[tuple[str, int], str] = {
    ("small", 0): "666f7a71787b126c90439ed264918cf4be4f31e320952de2c1f0086be3107cdf",
    ("full", 0): "fd331f77e158a8adbe0019abbd7e305c3d8c5d574bff4edcf0988595100f68ca",
}
"""(size, seed) -> SHA-256 of the test split."""


def pinned_hash(size: str, seed: int = 0) -> str | None:
    """The pinned test-split hash of a build, or None when that (size, seed) is not published."""
    return PINNED_TEST_HASHES.get((size, seed))
