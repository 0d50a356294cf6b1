"""Tiny evaluators trained in seconds, for tests of other areas (tasks, scoring, baselines).

They use the real code path (training, files, SHA-256 checks, the embedding API) with small
networks and a few epochs; their scores mean nothing beyond "better than chance on easy data".

>>> evaluators = train_tiny_evaluators("/path/to/synth-small", tmp_dir)   # doctest: +SKIP
>>> evaluators["pose-text"].embed_texts(["The left knee is bent."]).shape  # doctest: +SKIP
(1, 512)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from retrieval_models.checkpoint import load_evaluator
from retrieval_models.encoders import ArchConfig
from retrieval_models.evaluator import Evaluator
from retrieval_models.model import KINDS
from retrieval_models.trainer import TrainConfig, train_evaluator
from retrieval_models.training_data import has_texts

__all__ = ["TINY_ARCH", "tiny_config", "train_tiny_evaluators"]

TINY_ARCH = ArchConfig(pose_hidden=64, pose_bottleneck=32, text_proj=32, text_hidden=32, text_pooling="max")
"""Small networks (about 0.3 M trainable parameters); outputs stay 512-d like the real ones."""


def tiny_config(kind: str, seed: int = 0, epochs: int = 4) -> TrainConfig:
    """A few quick epochs of pretraining, one of fine-tuning, with the tiny networks."""
    return TrainConfig(kind=kind, seed=seed, pretrain_epochs=epochs, finetune_epochs=1, batch_size=16,
                       finetune_batch_size=16, lr=2e-3, finetune_lr=1e-3, arch=TINY_ARCH)  # fmt: skip


def train_tiny_evaluators(
    dataset: Any, out_dir: Path, *, seed: int = 0, epochs: int = 4, text_model: Path | None = None
) -> dict[str, Evaluator]:
    """Train and load a tiny evaluator of each kind the dataset supports.

    Args:
        dataset: a ``bench.data.Dataset`` or a dataset folder path.
        out_dir: where ``tiny-posetext`` / ``tiny-pairtext`` ``.safetensors`` + ``.json`` go; files
            already there (same name) are reused, so a session fixture can share them.
        seed, epochs: training seed and pretraining epochs.
        text_model: a local DistilBERT-compatible folder; None = the packaged MiniLM table.

    Returns:
        ``{"pose-text": Evaluator, "pair-text": Evaluator}``, for the kinds with train and val texts.
    """
    if not hasattr(dataset, "captions"):
        from bench.data import load_dataset

        dataset = load_dataset(dataset, Path(dataset).parent)
    out_dir = Path(out_dir)
    trained: dict[str, Evaluator] = {}
    for kind in KINDS:
        usable = all(has_texts(dataset, kind, split, source) or has_texts(dataset, kind, split, "human")
                     for split, source in (("train", "auto"), ("val", "auto")))  # fmt: skip
        if not usable:
            continue
        name = f"tiny-{kind.replace('-', '')}"
        if not (out_dir / f"{name}.safetensors").is_file():
            train_evaluator(dataset, tiny_config(kind, seed, epochs), out_dir, name, text_model=text_model, restart=True)
        trained[kind] = load_evaluator(name, [out_dir], text_model=text_model)
    return trained
