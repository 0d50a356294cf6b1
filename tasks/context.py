"""What every task's scoring shares within one scoring call: evaluators, the body model, batch size,
requested metric variants, and a cache of evaluator embeddings and joint positions keyed by content.

Ground-truth embeddings (and joints) are computed once per call and reused by every metric and
every task that needs them (``text2pose`` and ``spg`` share poses; R-precision and FID share
embeddings).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.errors import InternalError

logger = logging.getLogger(__name__)


class Evaluator(Protocol):
    """The part of a ``retrieval_models`` evaluator that scoring uses (docs/architecture.md §5)."""

    id: str
    sha256: str
    kind: str

    def embed_texts(self, texts: list[str], batch_size: int = ...) -> np.ndarray: ...


class JointModel(Protocol):
    """The part of a ``bench.body`` body model that scoring uses (docs/architecture.md §2)."""

    name: str
    description: str

    def joints(self, poses: Any) -> Any: ...


@dataclass
class ScoringContext:
    """Shared state of one scoring call. Build one per call; it is not thread-safe."""

    evaluators: Mapping[str, Evaluator]
    """Pinned evaluator id (as named in task specs) → the evaluator used for it."""
    body_model: JointModel
    """Body model mapping (B, 22, 3) axis-angle to (B, J, 3) joints in metres."""
    batch_size: int = 64
    """Evaluator batch size; results do not depend on it (evaluators embed in fixed-shape chunks)."""
    variants: frozenset[str] = frozenset()
    """Metric variants requested on top of each task's defaults (e.g. ``posescript``)."""
    cache_dir: Path | None = None
    """Where measures may keep, across calls, results that depend only on pinned inputs (the
    sentence embeddings of a split's texts); None keeps nothing."""
    _cache: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False)

    def evaluator(self, evaluator_id: str) -> Evaluator:
        """The evaluator standing for ``evaluator_id`` (InternalError if the caller did not load it)."""
        if evaluator_id not in self.evaluators:
            raise InternalError(f"evaluator {evaluator_id!r} was not loaded for this scoring call")
        return self.evaluators[evaluator_id]

    def embed_texts(self, evaluator_id: str, texts: Sequence[str]) -> np.ndarray:
        """float32 (N, D) L2-normalised text embeddings."""
        ev = self.evaluator(evaluator_id)
        digest = digest_texts(texts)
        key = ("texts", ev.id, ev.sha256, digest)
        return self.cached(key, lambda: ev.embed_texts(list(texts), batch_size=self.batch_size))

    def embed_poses(self, evaluator_id: str, poses: np.ndarray) -> np.ndarray:
        """float32 (N, D) embeddings of float32 (N, 22, 3) axis-angle poses (pose-text evaluator)."""
        ev = self.evaluator(evaluator_id)
        key = ("poses", ev.id, ev.sha256, digest_array(poses))
        embed = ev.embed_poses  # type: ignore[attr-defined]
        return self.cached(key, lambda: embed(poses, batch_size=self.batch_size))

    def embed_pairs(self, evaluator_id: str, poses_a: np.ndarray, poses_b: np.ndarray) -> np.ndarray:
        """float32 (N, D) embeddings of pose pairs, each float32 (N, 22, 3) (pair-text evaluator)."""
        ev = self.evaluator(evaluator_id)
        key = ("pairs", ev.id, ev.sha256, digest_array(poses_a), digest_array(poses_b))
        embed = ev.embed_pairs  # type: ignore[attr-defined]
        return self.cached(key, lambda: embed(poses_a, poses_b, batch_size=self.batch_size))

    def joints_m(self, poses: np.ndarray) -> np.ndarray:
        """float64 (N, J, 3) joint positions in metres of float32 (N, 22, 3) poses, through the body model."""
        key = ("joints", self.body_model.name, digest_array(poses))
        poses32 = np.ascontiguousarray(poses, dtype=np.float32)
        return self.cached(key, lambda: np.asarray(self.body_model.joints(poses32), dtype=np.float64))

    def cached(self, key: tuple[str, ...], compute: Callable[[], Any]) -> np.ndarray:
        """``compute()`` as a read-only array, computed once per call for each ``key``: a measure
        caches what other measures or tasks may need again (name the content in the key, e.g.
        with :func:`digest_texts` / :func:`digest_array`)."""
        if key in self._cache:
            return self._cache[key]
        value = np.asarray(compute())
        value.flags.writeable = False
        self._cache[key] = value
        return value


def digest_array(array: np.ndarray) -> str:
    """A key naming ``array``'s float32 content and shape."""
    contiguous = np.ascontiguousarray(array, dtype=np.float32)
    return f"{contiguous.shape}:" + hashlib.sha256(contiguous.tobytes()).hexdigest()


def digest_texts(texts: Sequence[str]) -> str:
    """A key naming the texts, in order."""
    hasher = hashlib.sha256()
    for text in texts:
        hasher.update(text.encode("utf-8"))
        hasher.update(b"\0")
    return f"{len(texts)}:" + hasher.hexdigest()
