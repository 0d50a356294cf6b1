"""The embedding API of a trained retrieval model (docs/architecture.md §5).

An :class:`Evaluator` turns texts, poses or pose pairs into float32 (N, 512) L2-normalised
embeddings. Each row's embedding is a pure function of that row's input, so results are bitwise
identical for any ``batch_size``, any order and any companions in the call:

* the network always runs on fixed-shape chunks: ``TEXT_CHUNK_ROWS`` texts padded to a fixed token
  length, or ``ITEM_CHUNK_ROWS`` poses/pairs; the last chunk is filled with padding rows;
* a text's padded length is the smallest of ``TOKEN_BUCKETS`` (capped at ``max_tokens``) that holds
  it, decided by that text alone, never by the longest text of a batch;
* inside a chunk no row can affect another (eval-mode BatchNorm, no dropout, the text encoder's
  per-row gathering instead of packed sequences; see ``encoders.py``), and with a fixed shape the
  BLAS kernels reduce every row in the same order.

``batch_size`` (part of the §5 interface) is therefore validated but has no effect on the
computation: neither results nor speed depend on it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from bench.errors import UserError, ValidationError
from bench.progress import progress
from retrieval_models.model import RetrievalModel
from retrieval_models.word_embeddings import WordEmbeddings

logger = logging.getLogger(__name__)

__all__ = ["Evaluator", "TEXT_CHUNK_ROWS", "ITEM_CHUNK_ROWS", "TOKEN_BUCKETS"]

TEXT_CHUNK_ROWS = 64
ITEM_CHUNK_ROWS = 256
TOKEN_BUCKETS = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512)


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise UserError(f"batch_size must be a positive integer, got {batch_size!r}", field="batch_size")
    return int(batch_size)


def _check_poses(poses: Any, field: str) -> np.ndarray:
    if isinstance(poses, torch.Tensor):
        poses = poses.detach().cpu().numpy()
    try:
        array = np.asarray(poses, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"not a numeric array ({exc})", field=field) from None
    if array.ndim != 3 or array.shape[1:] != (22, 3):
        raise ValidationError(f"expected shape (N, 22, 3) axis-angle, got {tuple(array.shape)}", field=field)
    bad = np.flatnonzero(~np.isfinite(array).all(axis=(1, 2)))
    if bad.size:
        raise ValidationError(f"non-finite values in row {int(bad[0])}", field=field, sample_id=int(bad[0]))
    return array


class Evaluator:
    """A retrieval model ready to embed.

    Attributes:
        id: the evaluator's name (a pinned id such as ``posetext-synth-v1`` or a file stem).
        sha256: SHA-256 of its ``.safetensors`` file ("" for a model that was never saved).
        card: its JSON card (architecture, training data and settings, metrics).
        kind: ``"pose-text"`` or ``"pair-text"``.
    """

    def __init__(self, model: RetrievalModel, words: WordEmbeddings, *, id: str, sha256: str, card: dict) -> None:
        self.model = model
        self.words = words
        self.id = id
        self.sha256 = sha256
        self.card = card
        self.kind = model.kind
        self.dim = model.arch.latent_dim
        self.device = torch.device("cpu")
        self._buckets = tuple(b for b in TOKEN_BUCKETS if b < model.arch.max_tokens) + (model.arch.max_tokens,)

    def __repr__(self) -> str:
        return f"Evaluator(id={self.id!r}, kind={self.kind!r}, sha256={self.sha256[:12]!r})"

    def to(self, device: str | torch.device) -> Evaluator:
        """Run the network on ``device`` (``bench score --device``); embeddings still come back as
        float32 numpy arrays. Returns ``self``."""
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    def embed_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """float32 (N, 512) unit vectors, one per text (texts longer than ``max_tokens`` ids are truncated).

        ``batch_size`` is validated but changes nothing: texts are grouped by padded length and run
        in fixed chunks of ``TEXT_CHUNK_ROWS`` whatever it is (see the module docstring).
        """
        _check_batch_size(batch_size)
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ValidationError("texts must be a list of strings", field="texts")
        ids = self.words.encode(list(texts), self.model.arch.max_tokens)
        by_bucket: dict[int, list[int]] = {}
        for row, row_ids in enumerate(ids):
            by_bucket.setdefault(next(b for b in self._buckets if len(row_ids) <= b), []).append(row)
        chunks = [(bucket, rows[i : i + TEXT_CHUNK_ROWS]) for bucket, rows in sorted(by_bucket.items())
                  for i in range(0, len(rows), TEXT_CHUNK_ROWS)]  # fmt: skip
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        with _eval_mode(self.model):
            for bucket, rows in progress(chunks, desc="embed texts", total=len(chunks), unit="chunk"):
                out[rows] = self._text_chunk([ids[r] for r in rows], bucket)
        return out

    def _text_chunk(self, rows: list[list[int]], length: int) -> np.ndarray:
        ids = torch.full((TEXT_CHUNK_ROWS, length), self.words.pad_id, dtype=torch.int64)
        lengths = torch.ones(TEXT_CHUNK_ROWS, dtype=torch.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
            lengths[i] = len(row)
        out = self.model.encode_texts(ids.to(self.device), lengths.to(self.device))
        return out[: len(rows)].cpu().numpy()

    def embed_poses(self, poses: Any, batch_size: int = 1024) -> np.ndarray:
        """float32 (N, 22, 3) axis-angle poses -> float32 (N, 512) unit vectors (pose-text only)."""
        if self.kind != "pose-text":
            raise UserError(f"evaluator {self.id!r} is {self.kind}; use embed_pairs", field="poses")
        array = _check_poses(poses, "poses")
        return self._embed_items(array, batch_size)

    def embed_pairs(self, poses_a: Any, poses_b: Any, batch_size: int = 1024) -> np.ndarray:
        """Pose A and pose B, float32 (N, 22, 3) each -> float32 (N, 512) unit vectors (pair-text only)."""
        if self.kind != "pair-text":
            raise UserError(f"evaluator {self.id!r} is {self.kind}; use embed_poses", field="poses_a")
        a, b = _check_poses(poses_a, "poses_a"), _check_poses(poses_b, "poses_b")
        if len(a) != len(b):
            raise ValidationError(f"poses_a has {len(a)} rows but poses_b has {len(b)}", field="poses_b")
        return self._embed_items(np.stack([a, b], axis=1), batch_size)

    def _embed_items(self, items: np.ndarray, batch_size: int) -> np.ndarray:
        _check_batch_size(batch_size)  # validated only: items always run in chunks of ITEM_CHUNK_ROWS
        out = np.empty((len(items), self.dim), dtype=np.float32)
        starts = range(0, len(items), ITEM_CHUNK_ROWS)
        with _eval_mode(self.model):
            for start in progress(starts, desc=f"embed {self.kind.split('-')[0]}s", total=len(starts), unit="chunk"):
                chunk = items[start : start + ITEM_CHUNK_ROWS]
                padded = np.zeros((ITEM_CHUNK_ROWS,) + items.shape[1:], dtype=np.float32)
                padded[: len(chunk)] = chunk
                embedded = self.model.encode_items(torch.from_numpy(padded).to(self.device))
                out[start : start + len(chunk)] = embedded[: len(chunk)].cpu().numpy()
        return out
