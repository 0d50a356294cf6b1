"""``nn-retrieval``: nearest training neighbour through retrieval models trained apart from the evaluators.

Two retrieval models (``retrieval_models``' architecture and training code) are trained with seed
:data:`SEED` (the pinned evaluators use 0) on :class:`TrainHalf`, the odd positions of the sorted
training ids (half 1; the evaluators see all of train), selected on val: ``nn-retrieval-posetext``
and ``nn-retrieval-pairtext``. They use the evaluators' architecture and settings except for
:data:`PRETRAIN_EPOCHS` (12 instead of 30: on half the data this keeps retraining both models
under 20 minutes on 2 CPU cores). The gallery is the whole training split.

Rules, per task:

- ``text2pose``, ``spg``: the training pose whose embedding is closest to the text's;
- ``pose2text``: the training caption (first human, else first automatic text of each training
  pose) closest to the pose's embedding;
- ``posediff``: the training instruction (first of each training pair) closest to the pair's embedding;
- ``poseedit``: the training pair whose embedding is closest to the instruction's; its edit, the
  per-joint rotation ``R_B · R_Aᵀ`` (root included, so heading changes carry over), is applied to
  the request's pose A: ``R_j ← R_B,j · R_A,jᵀ · R_j``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.body import axis_angle_to_matrix, matrix_to_axis_angle
from bench.data.dataset import PairSet, PoseSet, Texts
from bench.hashing import sha256_bytes
from bench.config import BenchConfig
from bench.models.adapter import (
    ModelAdapter, ModelContext, ModelInfo, Prediction, SampleFailure, register_model, register_trainer,
)
from bench.models.train_pool import TRAIN_SPLIT, first_texts
from tasks.spec import Request

SEED = 1
"""Training seed (the evaluators use 0)."""
HALF = 1
"""Training half used: ids at odd positions of the sorted training ids."""
PRETRAIN_EPOCHS = 12
"""Pretraining epochs of both retrieval models (the evaluators' ``TrainConfig`` default is 30)."""
CHECKPOINTS = {"pose-text": "nn-retrieval-posetext", "pair-text": "nn-retrieval-pairtext"}


class TrainHalf:
    """A dataset view whose ``train`` split keeps only ids at positions ``HALF::2`` of the sorted ids
    (poses, captions, pairs, instructions); other splits and attributes are the dataset's own."""

    def __init__(self, dataset: Any, half: int = HALF) -> None:
        self._dataset = dataset
        self._half = half

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dataset, name)

    def _keep(self, ids: np.ndarray) -> np.ndarray:
        order = np.argsort(ids, kind="stable")
        return np.sort(order[self._half :: 2])

    def split_hash(self, split: str) -> str:
        base = self._dataset.split_hash(split)
        return sha256_bytes(f"{base}:half{self._half}".encode()) if split == TRAIN_SPLIT else base

    def poses(self, split: str) -> PoseSet:
        full = self._dataset.poses(split)
        if split != TRAIN_SPLIT:
            return full
        k = self._keep(full.ids)
        pick = lambda a: None if a is None else a[k]  # noqa: E731
        return PoseSet(ids=full.ids[k], poses=full.poses[k], archetype=pick(full.archetype), sequence=pick(full.sequence))

    def pairs(self, split: str) -> PairSet:
        full = self._dataset.pairs(split)
        if split != TRAIN_SPLIT:
            return full
        k = self._keep(full.ids)
        return PairSet(ids=full.ids[k], a_ids=full.a_ids[k], b_ids=full.b_ids[k], poses_a=full.poses_a[k],
                       poses_b=full.poses_b[k], in_sequence=full.in_sequence[k])

    def captions(self, split: str) -> dict[str, Texts]:
        return self._texts(self._dataset.captions(split), split, self.poses)

    def instructions(self, split: str) -> dict[str, Texts]:
        return self._texts(self._dataset.instructions(split), split, self.pairs)

    def _texts(self, texts: dict[str, Texts], split: str, items: Any) -> dict[str, Texts]:
        if split != TRAIN_SPLIT:
            return texts
        kept = set(items(split).ids.tolist())
        return {k: v for k, v in texts.items() if k in kept}


@register_trainer("nn-retrieval")
def train(dataset: Any, out_dir: Path, *, quick: bool = False, config: BenchConfig | None = None) -> list[Path]:
    """Train both retrieval models on :class:`TrainHalf` of ``dataset`` into ``out_dir``.

    ``quick`` uses the tiny test networks (seconds). Each ``.safetensors`` gets a JSON card
    (data fingerprint with the half's hash, seed, val/test retrieval metrics).
    """
    from retrieval_models import TrainConfig, train_evaluator
    from retrieval_models.quick import tiny_config

    text_model = config.text_model if config is not None else None
    out = []
    for kind, name in CHECKPOINTS.items():
        settings = tiny_config(kind, seed=SEED) if quick else TrainConfig(kind=kind, seed=SEED, pretrain_epochs=PRETRAIN_EPOCHS)
        result = train_evaluator(TrainHalf(dataset), settings, Path(out_dir), name, text_model=text_model, restart=True)
        out.append(result.path)
    return out


@dataclass
class _Gallery:
    embeddings: np.ndarray
    """float32 (G, D) L2-normalised."""
    values: list[Any]
    """What each gallery entry answers (a pose, a text, or a pair of poses)."""


@register_model("nn-retrieval")
class NearestNeighbour(ModelAdapter):
    """Nearest training neighbour in a separately trained retrieval space (module docstring)."""

    info = ModelInfo(name="nn-retrieval", version="1.0",
                     description="nearest training neighbour via retrieval models trained apart from the evaluators",
                     training_data=("<dataset>/train",), parameter_count=None)  # fmt: skip
    tasks = ("text2pose", "spg", "pose2text", "posediff", "poseedit")
    dtypes = ("float32",)

    def __init__(self, pose_text: Any, pair_text: Any, dataset: Any) -> None:
        self.models = {"pose-text": pose_text, "pair-text": pair_text}
        self.dataset = dataset
        self._galleries: dict[str, _Gallery] = {}

    def weights_sha256(self) -> tuple[str, ...]:
        return tuple(model.sha256 for model in self.models.values())

    @classmethod
    def load(cls, ctx: ModelContext) -> NearestNeighbour:
        from retrieval_models import load_evaluator

        dirs = list(ctx.checkpoint_dirs)
        models = {}
        for kind, name in CHECKPOINTS.items():
            ctx.find_checkpoint(f"{name}.safetensors", "nn-retrieval")
            models[kind] = load_evaluator(name, dirs, None, text_model=ctx.config.text_model).to(ctx.device)
        return cls(models["pose-text"], models["pair-text"], ctx.dataset)

    def _gallery(self, which: str) -> _Gallery:
        if which in self._galleries:
            return self._galleries[which]
        pose_text, pair_text = self.models["pose-text"], self.models["pair-text"]
        if which == "poses":
            poses = self.dataset.poses(TRAIN_SPLIT)
            gallery = _Gallery(pose_text.embed_poses(poses.poses), list(poses.poses))
        elif which == "captions":
            texts = first_texts(self.dataset, "captions")
            gallery = _Gallery(pose_text.embed_texts(list(texts.values())), list(texts.values()))
        elif which == "instructions":
            texts = first_texts(self.dataset, "instructions")
            gallery = _Gallery(pair_text.embed_texts(list(texts.values())), list(texts.values()))
        else:
            pairs = self.dataset.pairs(TRAIN_SPLIT)
            gallery = _Gallery(pair_text.embed_pairs(pairs.poses_a, pairs.poses_b), list(zip(pairs.poses_a, pairs.poses_b)))
        self._galleries[which] = gallery
        return gallery

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        if not requests:
            return []
        task = requests[0].task
        x = [r.inputs for r in requests]
        if task in ("text2pose", "spg"):
            found = self._nearest("poses", self.models["pose-text"].embed_texts([i["text"] for i in x]))
            return [np.array(p, dtype=np.float32) for p in found]
        if task == "pose2text":
            return self._nearest("captions", self.models["pose-text"].embed_poses(np.stack([i["pose"] for i in x])))
        if task == "posediff":
            query = self.models["pair-text"].embed_pairs(np.stack([i["pose_a"] for i in x]), np.stack([i["pose_b"] for i in x]))
            return self._nearest("instructions", query)
        found = self._nearest("pairs", self.models["pair-text"].embed_texts([i["text"] for i in x]))
        return [apply_edit(i["pose_a"], a, b) for i, (a, b) in zip(x, found, strict=True)]

    def _nearest(self, which: str, queries: np.ndarray) -> list[Any]:
        gallery = self._gallery(which)
        best = np.argmax(queries @ gallery.embeddings.T, axis=1)
        return [gallery.values[int(i)] for i in best]


def apply_edit(pose: np.ndarray, pose_a: np.ndarray, pose_b: np.ndarray) -> np.ndarray:
    """``pose`` with the per-joint edit taking ``pose_a`` to ``pose_b`` applied: ``R_B R_Aᵀ R``.

    All float32 (22, 3) axis-angle; returns float32 (22, 3).
    """
    r, ra, rb = (axis_angle_to_matrix(torch.as_tensor(np.asarray(p, dtype=np.float64))) for p in (pose, pose_a, pose_b))
    return matrix_to_axis_angle(rb @ ra.transpose(-1, -2) @ r).numpy().astype(np.float32)
