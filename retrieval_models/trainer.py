"""Training an evaluator: pretraining on automatic texts, fine-tuning on human texts, selection on val.

Schedule (PoseScript's recipe, docs/peers.md#posescript-retrieval-training, sized for CPU): phase
``pretrain`` on the train split's automatic texts (a random one per access), then phase
``finetune`` on its human texts, initialised from the best pretrain epoch, when the split has any. Each phase: Adam (no weight
decay; the logit scale in its own group), cosine LR decay over the phase, symBBC loss, left/right
flip augmentation with probability ``flip_prob``, drop-last shuffled batches. After every epoch:
val mRecall (deterministic-mix texts of the phase's source), best-epoch weights kept, and a
resumable snapshot written (``train_state``). The final model is the best val epoch of the last
phase; the test split is only scored for the card, never used for selection.

All randomness comes from one ``np.random.Generator`` (shuffling, text choice, flips) and one
``torch.Generator`` (initialisation, dropout), both seeded from ``seed`` and saved in snapshots,
so an interrupted and resumed run ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import logging
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.errors import CheckpointError, ConfigError, DataError
from bench.progress import progress_bar
from retrieval_models.checkpoint import read_card, save_evaluator
from retrieval_models.encoders import ArchConfig
from retrieval_models.evaluator import Evaluator
from retrieval_models.model import KINDS, RetrievalModel, build_model, sym_bbc_loss
from retrieval_models.scoring import retrieval_metrics, selection_score
from retrieval_models.train_state import load_snapshot, load_weights, save_snapshot, save_weights
from retrieval_models.training_data import RetrievalSet, batches, default_source, has_texts, load_retrieval_set
from retrieval_models.word_embeddings import WordEmbeddings, load_word_embeddings

logger = logging.getLogger(__name__)

__all__ = ["TrainConfig", "Phase", "TrainResult", "plan_phases", "train_evaluator", "train_epoch", "make_optimizer"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (all recorded in the card).

    The defaults are sized for synth-full on 2 CPU cores: 20000 train items x 30 epochs at batch
    256 is about 2340 Adam steps; estimated 25-35 min for pose-text (85-token captions) and 15-25
    min for pair-text (33-token instructions), see ``benchmarks/evaluators.py``.
    """

    kind: str
    """``"pose-text"`` or ``"pair-text"``."""
    seed: int = 0
    pretrain_epochs: int = 30
    """Epochs on automatic texts (one random text per item per epoch)."""
    finetune_epochs: int = 12
    """Epochs on human texts, where the train split has any (synth has none)."""
    batch_size: int = 256
    """Pretraining batch: in-batch negatives for symBBC (PoseScript: 512), and efficient on CPU."""
    finetune_batch_size: int = 64
    lr: float = 1e-3
    finetune_lr: float = 2e-4
    lr_floor: float = 0.02
    """The cosine schedule decays each phase's LR to ``lr_floor`` times its start."""
    flip_prob: float = 0.5
    """Probability of the joint left/right flip of an item and its text, in both phases."""
    arch: ArchConfig = field(default_factory=ArchConfig)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown evaluator kind {self.kind!r}; known: {', '.join(KINDS)}", field="kind")
        for name in ("pretrain_epochs", "finetune_epochs"):
            if getattr(self, name) < 0:
                raise ConfigError("must be >= 0", field=name)
        if self.pretrain_epochs + self.finetune_epochs == 0:
            raise ConfigError("nothing to train: both epoch counts are 0", field="pretrain_epochs")
        for name in ("batch_size", "finetune_batch_size"):
            if getattr(self, name) < 2:
                raise ConfigError("the batch-based loss needs batches of >= 2", field=name)
        for name in ("lr", "finetune_lr"):
            if not getattr(self, name) > 0:
                raise ConfigError("must be > 0", field=name)
        if not 0.0 <= self.lr_floor <= 1.0:
            raise ConfigError("must be in [0, 1]", field="lr_floor")
        if not 0.0 <= self.flip_prob <= 1.0:
            raise ConfigError("must be in [0, 1]", field="flip_prob")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "arch"}
        return cls(**values, arch=ArchConfig.from_dict(dict(data.get("arch", {}))))


@dataclass(frozen=True)
class Phase:
    """One training phase."""

    name: str
    source: str
    """Text source trained on: ``"auto"`` or ``"human"``."""
    val_source: str
    """Text source of the val split used for selection."""
    epochs: int
    batch_size: int
    lr: float


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_evaluator` produced."""

    completed: bool
    """False when the run stopped early (``stop_after_epochs``); rerun to resume."""
    path: Path | None
    """The ``.safetensors`` file (None unless completed)."""
    sha256: str | None
    card: dict[str, Any] | None
    epochs_run: int
    """Epochs trained by this call."""


def plan_phases(dataset: Any, config: TrainConfig) -> list[Phase]:
    """The phases this dataset supports (pretrain needs auto texts, finetune human texts)."""
    phases = []
    plan = (("pretrain", "auto", config.pretrain_epochs, config.batch_size, config.lr),
            ("finetune", "human", config.finetune_epochs, config.finetune_batch_size, config.finetune_lr))  # fmt: skip
    for name, source, epochs, batch_size, lr in plan:
        if epochs > 0 and has_texts(dataset, config.kind, "train", source):
            val_source = source if has_texts(dataset, config.kind, "val", source) else default_source(dataset, config.kind, "val")
            phases.append(Phase(name, source, val_source, epochs, batch_size, lr))
    if not phases:
        raise DataError(f"dataset {dataset.name!r} has no train texts for {config.kind} in the enabled phases")
    return phases


def make_optimizer(
    model: RetrievalModel, phase: Phase, config: TrainConfig
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.CosineAnnealingLR]:
    """Adam over two groups (encoders, logit scale) at the phase's LR, and its cosine schedule."""
    encoders, scale = model.trainable_groups()
    optimizer = torch.optim.Adam([{"params": encoders}, {"params": scale}], lr=phase.lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=phase.epochs, eta_min=phase.lr * config.lr_floor)
    return optimizer, scheduler


def train_epoch(model: RetrievalModel, optimizer: torch.optim.Optimizer, data: RetrievalSet, batch_size: int,
                rng: np.random.Generator, words: WordEmbeddings, config: TrainConfig, desc: str) -> float:
    """One pass over ``data`` in shuffled drop-last batches; returns the mean symBBC loss."""
    model.train()
    total, steps = 0.0, 0
    with progress_bar(desc, total=len(data) // batch_size, unit="batch") as bar:
        for batch in batches(data, batch_size, rng, words, config.arch.max_tokens, config.flip_prob):
            optimizer.zero_grad(set_to_none=True)
            loss = sym_bbc_loss(model.encode_texts(batch.ids, batch.lengths), model.encode_items(batch.items), model.scale)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            steps += 1
            bar.update(1)
            bar.set_postfix(loss=f"{total / steps:.3f}")
    return total / max(steps, 1)


def _fingerprint(dataset: Any) -> dict[str, Any]:
    splits = {s: dataset.split_hash(s) for s in ("train", "val", "test") if s in dataset.splits}
    return {"name": dataset.name, "version": dataset.version, "folder": dataset.root.name, "split_hashes": splits}


def _final_metrics(evaluator: Evaluator, dataset: Any, kind: str) -> dict[str, Any]:
    metrics = {}
    for split in ("val", "test"):
        if split in dataset.splits and has_texts(dataset, kind, split, default_source(dataset, kind, split)):
            data = load_retrieval_set(dataset, kind, split, default_source(dataset, kind, split))
            metrics[split] = retrieval_metrics(evaluator, data, seed=0)
    return metrics


def train_evaluator(
    dataset: Any,
    config: TrainConfig,
    out_dir: Path,
    name: str,
    *,
    text_model: Path | None = None,
    restart: bool = False,
    stop_after_epochs: int | None = None,
) -> TrainResult:
    """Train (or resume training) an evaluator and write ``out_dir/<name>.safetensors`` + ``.json``.

    Args:
        dataset: a ``bench.data.Dataset`` with train and val splits (test is scored if present).
        config: the run's settings.
        out_dir: where the checkpoint, its card and the ``<name>.train/`` state folder go.
        name: the checkpoint's file stem.
        text_model: a local DistilBERT-compatible folder; None = the packaged MiniLM table.
        restart: discard an existing interrupted run of ``name`` instead of resuming it.
        stop_after_epochs: stop after this many epochs of this call, leaving a resumable state
            (time-sliced training; tests use it to simulate an interruption).

    Raises:
        CheckpointError: an interrupted run with other settings or data exists (use ``restart``).
        DataError: the dataset lacks the splits or texts needed.
    """
    out_dir = Path(out_dir)
    work = out_dir / f"{name}.train"
    if restart and work.exists():
        shutil.rmtree(work)
    words = load_word_embeddings(text_model)
    phases = plan_phases(dataset, config)
    train_sets = {p.name: load_retrieval_set(dataset, config.kind, "train", p.source) for p in phases}
    val_sets = {p.name: load_retrieval_set(dataset, config.kind, "val", p.val_source) for p in phases}
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = build_model(config.kind, config.arch, words.table, gen)
    model.set_dropout_generator(gen)
    record: dict[str, Any] = {
        "config": config.to_dict(), "data": _fingerprint(dataset), "text_model": words.spec.to_dict(),
        "phase": 0, "epoch": 0, "serial": 0, "best": {}, "history": [], "train_seconds": 0.0,
    }  # fmt: skip
    optimizer = scheduler = None
    snapshot = load_snapshot(work)
    if snapshot is not None:
        for key in ("config", "data", "text_model"):
            if snapshot.progress.get(key) != record[key]:
                raise CheckpointError(f"an interrupted run with a different {key} is in this folder; "
                                      "restart it (--restart) or choose another name", file=work, field=key)  # fmt: skip
        model.load_state_dict(snapshot.model, strict=True)
        rng.bit_generator.state = snapshot.numpy_rng
        gen.set_state(snapshot.torch_rng)
        record = snapshot.progress
        if snapshot.optimizer is not None:
            optimizer, scheduler = make_optimizer(model, phases[record["phase"]], config)
            optimizer.load_state_dict(snapshot.optimizer)
            scheduler.load_state_dict(snapshot.scheduler)
        logger.info("resuming %s at phase %d epoch %d", name, record["phase"], record["epoch"])

    work.mkdir(parents=True, exist_ok=True)
    epochs_run = 0
    for index in range(record["phase"], len(phases)):
        phase = phases[index]
        data = train_sets[phase.name]
        batch_size = min(phase.batch_size, len(data))
        if batch_size < 2:
            raise DataError(f"{phase.name}: only {len(data)} training item(s)", field=phase.source)
        if optimizer is None:
            if index > 0:
                model.load_state_dict(load_weights(work / f"best-{phases[index - 1].name}.safetensors"))
            optimizer, scheduler = make_optimizer(model, phase, config)
        while record["phase"] == index:
            if stop_after_epochs is not None and epochs_run >= stop_after_epochs:
                logger.info("stopping after %d epoch(s); rerun the same command to resume", epochs_run)
                return TrainResult(False, None, None, None, epochs_run)
            started = time.perf_counter()
            desc = f"{phase.name} {record['epoch'] + 1}/{phase.epochs}"
            loss = train_epoch(model, optimizer, data, batch_size, rng, words, config, desc)
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            score = selection_score(Evaluator(model, words, id=name, sha256="", card={}), val_sets[phase.name])
            record["epoch"] += 1
            best = record["best"].get(phase.name)
            if best is None or score > best["val_mRecall"]:
                save_weights(work / f"best-{phase.name}.safetensors", model.state_dict())
                record["best"][phase.name] = {"epoch": record["epoch"], "val_mRecall": score}
            seconds = time.perf_counter() - started
            record["train_seconds"] += seconds
            record["history"].append({"phase": phase.name, "epoch": record["epoch"], "loss": loss, "lr": lr,
                                      "val_mRecall": score, "seconds": round(seconds, 3)})  # fmt: skip
            logger.info("%s epoch %d/%d: loss %.4f, val mRecall %.2f (%.1f s)", phase.name, record["epoch"],
                        phase.epochs, loss, score, seconds)  # fmt: skip
            if record["epoch"] == phase.epochs:
                record["phase"], record["epoch"] = index + 1, 0
                optimizer = scheduler = None
            record["serial"] += 1
            save_snapshot(work, progress=record, model=model, optimizer=optimizer, scheduler=scheduler,
                          numpy_rng=rng, torch_rng=gen)  # fmt: skip
            epochs_run += 1
    return _finish(model, words, dataset, config, phases, record, out_dir, name, work, epochs_run)


def _finish(model: RetrievalModel, words: WordEmbeddings, dataset: Any, config: TrainConfig, phases: list[Phase],
            record: dict[str, Any], out_dir: Path, name: str, work: Path, epochs_run: int) -> TrainResult:
    model.load_state_dict(load_weights(work / f"best-{phases[-1].name}.safetensors"))
    started = time.perf_counter()
    metrics = _final_metrics(Evaluator(model, words, id=name, sha256="", card={}), dataset, config.kind)
    card = {
        "data": record["data"],
        "seed": config.seed,
        "training": {
            "config": config.to_dict(),
            "phases": [dict(asdict(p), **record["best"][p.name]) for p in phases],
            "history": record["history"],
            "loss": "symBBC",
            "optimizer": "Adam, no weight decay, cosine LR decay per phase",
            "selection": "best val mRecall of the last phase",
        },
        "metrics": metrics,
        "training_time_s": round(record["train_seconds"], 1),
        "final_eval_time_s": round(time.perf_counter() - started, 1),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": {"torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version()},
    }
    path = out_dir / f"{name}.safetensors"
    sha = save_evaluator(model, words, path, card)
    shutil.rmtree(work, ignore_errors=True)
    logger.info("wrote %s (sha256 %s)", path, sha)
    return TrainResult(True, path, sha, read_card(path), epochs_run)
