"""The training material baselines draw from: the ``train`` split of the dataset under evaluation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bench.errors import DataError
from tasks import get_task

if TYPE_CHECKING:
    from bench.data import Dataset

TRAIN_SPLIT = "train"


def text_component(task_id: str) -> str:
    """``captions`` for tasks answered with a pose description, ``instructions`` for pose-pair ones."""
    return "captions" if "captions" in get_task(task_id).spec.components else "instructions"


def train_texts(dataset: Dataset, component: str) -> tuple[list[str], list[str]]:
    """Every training text of ``component`` (``captions`` or ``instructions``), human ones first,
    items in sorted id order; returns ``(item ids, texts)`` of equal length (one entry per text)."""
    if not dataset.has(component, TRAIN_SPLIT):
        raise DataError(f"dataset has no {component}/{TRAIN_SPLIT} to draw training texts from", file=str(dataset.root))
    source = dataset.captions(TRAIN_SPLIT) if component == "captions" else dataset.instructions(TRAIN_SPLIT)
    ids, texts = [], []
    for item_id in sorted(source):
        for text in (*source[item_id].human, *source[item_id].auto):
            if text.strip():
                ids.append(item_id)
                texts.append(text)
    if not texts:
        raise DataError(f"{component}/{TRAIN_SPLIT} holds no text", file=str(dataset.root))
    return ids, texts


def first_texts(dataset: Dataset, component: str) -> dict[str, str]:
    """Item id → its first training text (human if any, else automatic)."""
    ids, texts = train_texts(dataset, component)
    out: dict[str, str] = {}
    for item_id, text in zip(ids, texts, strict=True):
        out.setdefault(item_id, text)
    return out


def train_poses(dataset: Dataset) -> np.ndarray:
    """float32 (N, 22, 3) training poses: ``poses/train``, or, for a dataset of pose pairs only (a
    PoseFix import), the distinct poses of ``pairs/train`` (A and B, first occurrence of each pose id,
    in pose-id order)."""
    if dataset.has("poses", TRAIN_SPLIT):
        return np.asarray(dataset.poses(TRAIN_SPLIT).poses, dtype=np.float32)
    if dataset.has("pairs", TRAIN_SPLIT):
        pairs = dataset.pairs(TRAIN_SPLIT)
        pose_ids = np.concatenate([pairs.a_ids, pairs.b_ids])
        _, first = np.unique(pose_ids, return_index=True)
        return np.ascontiguousarray(np.concatenate([pairs.poses_a, pairs.poses_b])[first], dtype=np.float32)
    raise DataError(f"dataset has neither poses/{TRAIN_SPLIT} nor pairs/{TRAIN_SPLIT} to draw training poses from",
                    file=str(dataset.root))  # fmt: skip
