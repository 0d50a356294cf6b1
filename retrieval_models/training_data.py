"""Items and texts of a dataset split for retrieval, and the seeded training batches built from them.

Dimension letters: N items of a split, B batch rows, L tokens. Items are poses, float32
(N, 22, 3), for ``pose-text`` (texts: ``captions``), or pose pairs, float32 (N, 2, 22, 3) (A then
B), for ``pair-text`` (texts: ``instructions``). Text sources are ``"auto"`` (automatic texts)
and ``"human"``; only items with at least one text of the source are kept.

Caption choice follows PoseScript (docs/peers.md#posescript-data-and-frames): training draws a
random text of the item at each access; model selection on val uses text ``row % n_texts``
("deterministic mix"); reported metrics average over caption indices ``0 .. min_n_texts - 1`` (one
index for human texts: only the first human text counts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bench.body import mirror_pose
from bench.errors import DataError
from retrieval_models.text_flip import flip_text
from retrieval_models.word_embeddings import WordEmbeddings

__all__ = ["RetrievalSet", "Batch", "load_retrieval_set", "has_texts", "default_source", "flip_sample", "batches"]

TEXT_SOURCES = ("auto", "human")


@dataclass(frozen=True)
class RetrievalSet:
    """One split's items with their texts (items without a text of ``source`` are left out)."""

    kind: str
    """``"pose-text"`` or ``"pair-text"``."""
    split: str
    source: str
    """``"auto"`` or ``"human"``."""
    ids: np.ndarray
    """str (N,): pose ids (pose-text) or pair ids (pair-text), in dataset order."""
    items: np.ndarray
    """float32 (N, 22, 3) poses or (N, 2, 22, 3) pairs."""
    texts: list[list[str]]
    """The item's texts of ``source``, each list non-empty."""

    def __len__(self) -> int:
        return len(self.ids)

    def texts_mixed(self) -> list[str]:
        """One text per item: text ``row % n_texts`` (PoseScript's deterministic mix, for validation)."""
        return [t[row % len(t)] for row, t in enumerate(self.texts)]

    def caption_indices(self) -> int:
        """How many caption indices reported metrics average over (1 for human texts)."""
        return 1 if self.source == "human" else min(len(t) for t in self.texts)

    def texts_at(self, index: int) -> list[str]:
        """Text ``index`` of every item (``index < caption_indices()``)."""
        return [t[index] for t in self.texts]


def _components(kind: str) -> tuple[str, str]:
    return ("poses", "captions") if kind == "pose-text" else ("pairs", "instructions")


def _text_lists(dataset: Any, kind: str, split: str) -> dict[str, Any]:
    items, texts = _components(kind)
    for component in (items, texts):
        if not dataset.has(component, split):
            raise DataError(f"dataset {dataset.name!r} has no {component} for split {split!r}", field=component)
    return dataset.captions(split) if kind == "pose-text" else dataset.instructions(split)


def has_texts(dataset: Any, kind: str, split: str, source: str) -> bool:
    """Whether any item of the split has a text of ``source``."""
    items, texts = _components(kind)
    if not (dataset.has(items, split) and dataset.has(texts, split)):
        return False
    return any(getattr(t, source) for t in _text_lists(dataset, kind, split).values())


def default_source(dataset: Any, kind: str, split: str) -> str:
    """``"human"`` when the split has human texts (PoseScript-H style evaluation), else ``"auto"``."""
    return "human" if has_texts(dataset, kind, split, "human") else "auto"


def load_retrieval_set(dataset: Any, kind: str, split: str, source: str) -> RetrievalSet:
    """The items of ``split`` that have ``source`` texts.

    Args:
        dataset: a ``bench.data.Dataset``.
        kind: ``"pose-text"`` or ``"pair-text"``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        source: ``"auto"`` or ``"human"``.

    Raises:
        DataError: the split lacks the components, or no item has a text of ``source``.
    """
    if source not in TEXT_SOURCES:
        raise DataError(f"unknown text source {source!r}; known: auto, human", field="source")
    text_lists = _text_lists(dataset, kind, split)
    if kind == "pose-text":
        pose_set = dataset.poses(split)
        ids = np.asarray(pose_set.ids)
        items = np.asarray(pose_set.poses, dtype=np.float32)
    else:
        pair_set = dataset.pairs(split)
        ids = np.asarray(pair_set.ids)
        items = np.stack([pair_set.poses_a, pair_set.poses_b], axis=1).astype(np.float32)
    keep, texts = [], []
    for row, item_id in enumerate(ids.tolist()):
        entry = text_lists.get(item_id)
        found = [t for t in getattr(entry, source, []) if isinstance(t, str) and t.strip()] if entry else []
        if found:
            keep.append(row)
            texts.append(found)
    if not keep:
        raise DataError(f"no {kind} item of split {split!r} of {dataset.name!r} has {source} texts", field=source)
    keep_index = np.asarray(keep, dtype=np.int64)
    return RetrievalSet(kind, split, source, ids[keep_index], np.ascontiguousarray(items[keep_index]), texts)


def mirror_items(items: np.ndarray) -> np.ndarray:
    """Left/right mirror of float32 (n, 22, 3) poses or (n, 2, 22, 3) pairs (both poses mirrored)."""
    flat = np.ascontiguousarray(items, dtype=np.float32).reshape(-1, 22, 3)
    return np.asarray(mirror_pose(flat), dtype=np.float32).reshape(items.shape)


def flip_sample(item: np.ndarray, text: str, rng: np.random.Generator, flip_prob: float) -> tuple[np.ndarray, str]:
    """With probability ``flip_prob``, the mirrored item and its flipped text; else both unchanged.

    A text that cannot be flipped (it names a clock or the x-axis) keeps its item unmirrored too.
    Draws one ``rng.random()`` always, plus what :func:`flip_text` draws when flipping.
    """
    if rng.random() >= flip_prob:
        return item, text
    flipped = flip_text(text, rng)
    if flipped is None:
        return item, text
    return mirror_items(item[None])[0], flipped


@dataclass(frozen=True)
class Batch:
    """One training batch."""

    ids: torch.Tensor
    """int64 (B, L) token ids, padded with [PAD] to the longest row."""
    lengths: torch.Tensor
    """int64 (B,) real tokens per row (>= 2: [CLS] and [SEP])."""
    items: torch.Tensor
    """float32 (B, 22, 3) or (B, 2, 22, 3)."""


def collate(items: np.ndarray, texts: list[str], words: WordEmbeddings, max_tokens: int) -> Batch:
    """Tokenise ``texts`` and pad them into a :class:`Batch` with ``items``."""
    encoded = words.encode(texts, max_tokens)
    lengths = torch.tensor([len(row) for row in encoded], dtype=torch.int64)
    ids = torch.full((len(encoded), int(lengths.max())), words.pad_id, dtype=torch.int64)
    for i, row in enumerate(encoded):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.int64)
    return Batch(ids, lengths, torch.from_numpy(np.ascontiguousarray(items, dtype=np.float32)))


def batches(
    data: RetrievalSet,
    batch_size: int,
    rng: np.random.Generator,
    words: WordEmbeddings,
    max_tokens: int,
    flip_prob: float,
) -> Iterator[Batch]:
    """One epoch of shuffled batches (the last incomplete batch is dropped, as in PoseScript).

    Each access draws a random text of the item, then the flip augmentation. All randomness comes
    from ``rng``, in a fixed order, so the same generator state gives the same epoch.
    """
    order = rng.permutation(len(data))
    for first in range(0, len(order) - batch_size + 1, batch_size):
        rows = order[first : first + batch_size]
        items, texts = [], []
        for row in rows.tolist():
            options = data.texts[row]
            text = options[int(rng.integers(len(options)))]
            item, text = flip_sample(data.items[row], text, rng, flip_prob)
            items.append(item)
            texts.append(text)
        yield collate(np.stack(items), texts, words, max_tokens)
