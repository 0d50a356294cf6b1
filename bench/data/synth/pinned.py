"""Pinned test-split hashes of the published PoseBench-Synth builds.

A task version pins the data it was scored on; these are the test-split hashes
(``bench.data.manifest.split_hash``) that ``build_synth(root, size, seed)`` must reproduce on any
machine. A change to the generator, the caption/instruction pipelines, the renderer or the file
layout changes them: that is a new dataset version (bump ``build.VERSION``) and new pins here.

A split is drawn from its own generators, so the test split (and its hash) does not depend on the
train/val counts: ``build_synth(root, SynthSize(...))`` with the published test counts and tiny
train/val counts reproduces the pinned test hash in a fraction of the full build's time.

The published test splits' file lists (:data:`PINNED_FILES_DIR`) let ``bench data verify`` and
``bench info`` say which files and components of a build differ from the pinned one
(:func:`compare_with_pinned`), not only that its hash does.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.data.manifest import COMPONENTS, file_split, read_manifest, split_hash
from bench.errors import DataError, InternalError

PINNED_TEST_HASHES: dict[tuple[str, int], str] = {
    ("small", 0): "0f3c500519f0e04035d6d953c8f5c7697f6ed231e27a58e6aa3efd03bd450fa9",
    ("full", 0): "ab0dfbf9355bbbc375230a747aa53ac9712d9f2d0d4f75caf60bd75e05228389",
}
"""(size, seed) -> SHA-256 of the test split."""


def pinned_hash(size: str, seed: int = 0) -> str | None:
    """The pinned test-split hash of a build, or None when that (size, seed) is not published."""
    return PINNED_TEST_HASHES.get((size, seed))


PINNED_FILES_DIR = Path(__file__).with_name("pinned_files")
"""``<size>-seed<seed>-test.json``: the test split's files of each published build, relpath -> SHA-256
(written by ``python -m bench.data.synth.pinned DATASET_DIR`` from a build that reproduces the pin)."""


@dataclass(frozen=True)
class PinnedComparison:
    """How a synth build's test split compares with the published build of the same size and seed."""

    label: str
    """``synth-<size> <version>`` (seed 0) or ``synth-<size> <version>, seed <s>``."""
    n_pinned: int
    """Files of the published test split."""
    changed: tuple[str, ...]
    """Files present in both with different SHA-256, sorted."""
    missing: tuple[str, ...]
    """Files of the published split that this build lacks, sorted."""
    extra: tuple[str, ...]
    """Files of this build's test split that the published one lacks, sorted."""

    @property
    def matches(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def by_component(self) -> dict[str, int]:
        """Differing files per dataset component (``renders``, ``rpe``...), in component order."""
        counts = Counter(rel.split("/")[0] for rel in (*self.changed, *self.missing, *self.extra))
        return {c: counts[c] for c in COMPONENTS if counts[c]}

    def summary(self) -> str:
        """One line: what differs, e.g. ``38 of 330 test files differ from the pinned synth-small 1.1
        build: renders 19, render_pairs 10, rpe 9 (first: renders/test/000012.npz)``."""
        if self.matches:
            return f"test split identical to the pinned {self.label} build"
        different = (*self.changed, *self.missing, *self.extra)
        parts = ", ".join(f"{component} {n}" for component, n in self.by_component().items())
        first = min(different)
        return (f"{len(different)} of {self.n_pinned} test files differ from the pinned {self.label} build: {parts} "
                f"(first: {first}{', missing' if first in self.missing else ''})")  # fmt: skip


def pinned_test_files(size: str, seed: int = 0) -> dict[str, str] | None:
    """relpath -> SHA-256 of the published test split of ``(size, seed)``; None when none is shipped.

    Raises:
        InternalError: the shipped list does not hash to the pinned test-split hash.
    """
    path = PINNED_FILES_DIR / f"{size}-seed{seed}-test.json"
    pinned = pinned_hash(size, seed)
    if pinned is None or not path.is_file():
        return None
    files = json.loads(path.read_text(encoding="utf-8"))["files"]
    if split_hash(files, "test") != pinned:
        raise InternalError(f"{path} does not hash to the pinned test split {pinned[:12]}")
    return files


def compare_with_pinned(manifest: Mapping[str, Any]) -> PinnedComparison | None:
    """The comparison of a dataset (its manifest's file hashes; nothing is re-hashed) with the
    published synth build of its size and seed, or None when it is not such a build (another
    dataset, a custom size, an unpublished seed or another version)."""
    from bench.data.synth.build import VERSION

    config = manifest.get("config") or {}
    size, seed = config.get("size"), config.get("seed")
    if manifest.get("name") != "synth" or manifest.get("version") != VERSION or not isinstance(seed, int):
        return None
    pinned = pinned_test_files(str(size), seed)
    if pinned is None:
        return None
    ours = {rel: sha for rel, sha in manifest["files"].items() if file_split(rel) == "test"}
    label = f"synth-{size} {VERSION}" + (f", seed {seed}" if seed else "")
    return PinnedComparison(
        label=label, n_pinned=len(pinned),
        changed=tuple(sorted(r for r in ours.keys() & pinned.keys() if ours[r] != pinned[r])),
        missing=tuple(sorted(pinned.keys() - ours.keys())), extra=tuple(sorted(ours.keys() - pinned.keys())),
    )  # fmt: skip


def write_pinned_test_files(root: Path, size: str | None = None) -> Path:
    """Write the test-split file list of the synth build at ``root`` into :data:`PINNED_FILES_DIR`.

    ``size``: the published size it stands for, when ``root`` was built with that size's test counts
    and smaller train/val counts (``custom``; the test split does not depend on them).

    Raises:
        DataError: the build is not a published (size, seed) or does not reproduce its pinned hash
            (this machine's kernels give other bytes).
    """
    manifest = read_manifest(Path(root))
    config = manifest.get("config") or {}
    size, seed = str(size or config.get("size")), config.get("seed")
    pinned = pinned_hash(size, seed) if isinstance(seed, int) else None
    if pinned is None:
        raise DataError(f"{root} is not a published synth build (size {size!r}, seed {seed!r})", file=root)
    actual = manifest["splits"]["test"]["hash"]
    if actual != pinned:
        raise DataError(f"test split {actual[:12]} is not the pinned {pinned[:12]}: this build cannot be the "
                        "reference", file=root)  # fmt: skip
    files = {rel: sha for rel, sha in sorted(manifest["files"].items()) if file_split(rel) == "test"}
    path = PINNED_FILES_DIR / f"{size}-seed{seed}-test.json"
    PINNED_FILES_DIR.mkdir(exist_ok=True)
    body = {"dataset": f"synth-{size}", "version": manifest["version"], "seed": seed, "split": "test",
            "split_hash": pinned, "files": files}  # fmt: skip
    path.write_text(json.dumps(body, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the pinned test-split file list of a synth build.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size", help="the published size a custom (test counts only) build stands for")
    args = parser.parse_args()
    print(write_pinned_test_files(args.folder, args.size))
