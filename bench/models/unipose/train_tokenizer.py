"""Training the pose tokenizer (``bench models train unipose-tokenizer``); UniPose's recipe is in
``docs/peers.md#unipose-tokenizer-training``.

Recipe: AdamW; per step, the batch's roots get orientation noise (yaw about y ±45°, roll/pitch ±20°;
``pose_noise``), the encoder input gets body-part joint noise with a step-dependent scale, and the
loss is ``20·L_rot + 100·L_joints (+ 100·L_verts with a mesh body model) + 1·L_commit`` against the
(orientation-perturbed) clean pose. The LR follows MultiStepLR (×γ at the milestone epochs) and the
linear warm-up ``lr × min(1, (step+1)/warmup_ramp)`` for steps below ``warmup_steps``: with
UniPose's 200 / 500 the LR only reaches 40 % before jumping to 100 % at step 200, a quirk the paper
config keeps.

Selection: every ``eval_interval`` epochs (and after the last) the val MPJPE is computed, in mm, on
the ``body22`` joints of the configured body model, without alignment (the global orientation
counts), for ``decode(encode(pose))``; the best val epoch is the result. The test split is scored
once for the card and never used for selection. After every epoch a resumable snapshot
(``retrieval_models.train_state``: safetensors + JSON, generator states included) is written, so an
interrupted run resumed with the same arguments ends with the same weights.
"""

from __future__ import annotations

import logging
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.body import BodyModel, JOINT_SETS, axis_angle_to_matrix, load_body_model, matrix_to_rot6d, rot6d_to_matrix
from bench.config import BenchConfig
from bench.data.dataset import Dataset
from bench.errors import ConfigError, DataError
from bench.metrics.mpjpe import mpjpe
from bench.models.adapter import register_trainer
from bench.models.unipose.config_dicts import named_preset
from bench.models.unipose.pose_noise import add_body_part_noise, joint_noise_scale, perturb_root_orientation
from bench.models.unipose.resumable import resume_run, save_epoch
from bench.models.unipose.tokenizer import PoseTokenizer, TokenizerConfig
from bench.models.unipose.tokenizer_loss import LossWeights, ReconstructionLoss
from bench.progress import progress_bar

logger = logging.getLogger(__name__)

__all__ = [
    "TokenizerTrainConfig", "TokenizerTrainResult", "reconstruction_mpjpe_mm", "fit_tokenizer", "train_tokenizer",
    "train_tokenizer_model", "QUICK_CONFIG",
]  # fmt: skip


@dataclass(frozen=True)
class TokenizerTrainConfig:
    """Optimisation and augmentation settings (recorded in the card)."""

    epochs: int = 240
    batch_size: int = 256
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 1e-5
    lr_milestones: tuple[int, ...] = (160, 220)
    """Epochs after which the LR is multiplied by ``lr_gamma``."""
    lr_gamma: float = 0.1
    warmup_steps: int = 200
    """Steps with the linear warm-up factor (see the module docstring)."""
    warmup_ramp: int = 500
    """Steps over which the warm-up factor would reach 1."""
    eval_interval: int = 10
    """Val MPJPE every this many epochs (and after the last)."""
    yaw_noise_deg: float = 45.0
    """Half-width of the uniform root yaw noise about the vertical y axis."""
    tilt_noise_deg: float = 20.0
    """Half-width of the uniform root roll and pitch noise."""
    joint_noise_interval: int = 5000
    """Steps per joint-noise scale level; 0 turns the body-part joint noise off."""
    joint_noise_scales: tuple[float, ...] = (0.01, 0.05, 0.1, 0.1, 0.5, 0.5)
    """Scale per level; the last one holds afterwards."""
    loss: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_interval", "warmup_ramp"):
            if getattr(self, name) < 1:
                raise ConfigError("must be >= 1", field=name)
        if self.batch_size < 2:
            raise ConfigError("must be >= 2", field="batch_size")
        if not self.lr > 0:
            raise ConfigError("must be > 0", field="lr")
        if self.joint_noise_interval < 0 or (self.joint_noise_interval and not self.joint_noise_scales):
            raise ConfigError("needs an interval >= 0 and at least one scale", field="joint_noise_interval")

    @classmethod
    def paper(cls) -> TokenizerTrainConfig:
        """UniPose's schedule: 240 epochs of batch 256, AdamW 2e-4, ×0.1 at epochs 160 and 220."""
        return cls()

    @classmethod
    def small(cls) -> TokenizerTrainConfig:
        """The CPU schedule of the shipped small tokenizer: 36 epochs of batch 128 (20k poses: 5,616 steps,
        about 15 CPU-minutes on one core), AdamW 2e-3, ×0.1 at epochs 24 and 33 (UniPose's 2/3 and
        11/12), a plain 100-step warm-up, val every epoch, and the joint-noise levels every 1,200
        steps (UniPose's 5,000 would never leave the first level in so short a run)."""
        return cls(epochs=36, batch_size=128, lr=2e-3, lr_milestones=(24, 33), warmup_steps=100, warmup_ramp=100,
                   eval_interval=1, joint_noise_interval=1200)  # fmt: skip

    @classmethod
    def named(cls, name: str) -> TokenizerTrainConfig:
        return named_preset({"paper": cls.paper, "small": cls.small}, name, "tokenizer")

    def lr_at(self, step: int, epoch: int) -> float:
        """The LR of global step ``step`` in epoch ``epoch`` (0-based)."""
        decay = self.lr_gamma ** sum(epoch >= m for m in self.lr_milestones)
        warm = min(1.0, (step + 1) / self.warmup_ramp) if step < self.warmup_steps else 1.0
        return self.lr * decay * warm

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenizerTrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known and k != "loss"}
        return cls(**values, loss=LossWeights(**dict(data.get("loss", {}))))


@dataclass(frozen=True)
class TokenizerTrainResult:
    """What a training run produced."""

    completed: bool
    """False when it stopped early (``stop_after_epochs``); run again to resume."""
    path: Path | None
    """The ``.safetensors`` checkpoint (None unless completed)."""
    card: dict[str, Any] | None
    tokenizer: PoseTokenizer | None
    """The selected tokenizer, in eval mode (None unless completed)."""


def reconstruction_mpjpe_mm(
    tokenizer: PoseTokenizer, poses: np.ndarray, body_model: BodyModel, *, align: str = "none", batch_size: int = 1000
) -> np.ndarray:
    """Per-pose MPJPE of ``decode(encode(poses))``: float ``(N, 22, 3)`` axis-angle → float64 ``(N,)`` mm.

    Joints: ``body22`` of ``body_model``; ``align``: ``"none"`` (the tokenizer metric) or ``"procrustes"``.
    """
    was_training = tokenizer.training
    tokenizer.eval()
    rows = list(JOINT_SETS["body22"])
    errors = []
    for start in range(0, len(poses), batch_size):
        gt = torch.as_tensor(poses[start : start + batch_size], dtype=torch.float32)
        pred = tokenizer.decode(tokenizer.encode(gt)).cpu()
        errors.append(mpjpe(body_model.joints(pred)[:, rows].numpy(), body_model.joints(gt)[:, rows].numpy(), align=align))
    tokenizer.train(was_training)
    return np.concatenate(errors) if errors else np.zeros(0)


def _train_epoch(
    model: PoseTokenizer,
    loss_fn: ReconstructionLoss,
    optimizer: torch.optim.Optimizer,
    poses: np.ndarray,
    settings: TokenizerTrainConfig,
    record: dict[str, Any],
    rng: np.random.Generator,
    gen: torch.Generator,
) -> dict[str, float]:
    """One shuffled, drop-last pass over ``poses`` (float32 (N, 22, 3)); returns the mean loss terms."""
    model.train()
    order = rng.permutation(len(poses))
    steps = len(poses) // settings.batch_size
    sums: dict[str, float] = {}
    bar = progress_bar(f"tokenizer epoch {record['epoch'] + 1}", total=steps, unit="batch")
    for k in range(steps):
        step = record["global_step"]
        for group in optimizer.param_groups:
            group["lr"] = settings.lr_at(step, record["epoch"])
        batch = torch.from_numpy(poses[order[k * settings.batch_size : (k + 1) * settings.batch_size]])
        batch = perturb_root_orientation(batch, gen, yaw_deg=settings.yaw_noise_deg, tilt_deg=settings.tilt_noise_deg)
        gt_matrices = axis_angle_to_matrix(batch)
        inputs = matrix_to_rot6d(gt_matrices)
        if settings.joint_noise_interval:
            scale = joint_noise_scale(step, settings.joint_noise_interval, settings.joint_noise_scales)
            inputs = add_body_part_noise(inputs, scale, gen)
        out = model(inputs, gen)
        terms = loss_fn(rot6d_to_matrix(out.rot6d), gt_matrices, batch, out.quantizer.commit_loss)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        optimizer.step()
        record["global_step"] = step + 1
        values = dict(terms.as_floats(), perplexity=float(out.quantizer.perplexity))
        for name, value in values.items():
            sums[name] = sums.get(name, 0.0) + value
        bar.update(1)
    bar.close()
    return {name: total / max(steps, 1) for name, total in sums.items()}


def fit_tokenizer(
    model_config: TokenizerConfig,
    settings: TokenizerTrainConfig,
    train_poses: np.ndarray,
    val_poses: np.ndarray,
    body_model: BodyModel,
    work_dir: Path,
    *,
    seed: int = 0,
    identity: dict[str, Any] | None = None,
    stop_after_epochs: int | None = None,
) -> tuple[PoseTokenizer | None, dict[str, Any]]:
    """Train with selection on val, resuming from ``work_dir`` when it holds a snapshot of the same run.

    Args:
        train_poses, val_poses: float32 ``(N, 22, 3)`` axis-angle poses.
        work_dir: snapshot folder (``state.json``, tensors, ``best.safetensors``).
        identity: JSON-able description of the data; a snapshot made with another identity, config
            or seed raises CheckpointError.
        stop_after_epochs: stop after this many epochs in this call (for tests and time-boxed runs).

    Returns:
        (the best-val tokenizer in eval mode, or None when stopped early; the progress record).
    """
    from retrieval_models.train_state import load_weights, save_weights

    if len(train_poses) < settings.batch_size:
        raise DataError(f"{len(train_poses)} training poses are fewer than one batch of {settings.batch_size}", field="poses")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    model = PoseTokenizer(model_config, seed=seed)
    loss_fn = ReconstructionLoss(body_model, settings.loss)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, betas=settings.betas, weight_decay=settings.weight_decay)
    record: dict[str, Any] = {
        "model_config": model_config.to_dict(), "train_config": settings.to_dict(), "seed": seed,
        "identity": identity or {}, "body_model": body_model.description, "epoch": 0, "global_step": 0,
        "serial": 0, "best_epoch": None, "best_val_mpjpe_mm": None, "history": [], "train_seconds": 0.0,
        "train_cpu_seconds": 0.0,
    }  # fmt: skip
    record = resume_run(work_dir, record, ("model_config", "train_config", "seed", "identity", "body_model"), model,
                        optimizer, rng, gen)  # fmt: skip
    work_dir.mkdir(parents=True, exist_ok=True)
    val_rows = np.ascontiguousarray(val_poses, dtype=np.float32)
    train_rows = np.ascontiguousarray(train_poses, dtype=np.float32)
    run_epochs = 0
    while record["epoch"] < settings.epochs:
        if stop_after_epochs is not None and run_epochs >= stop_after_epochs:
            return None, record
        start, cpu_start = time.perf_counter(), time.process_time()
        losses = _train_epoch(model, loss_fn, optimizer, train_rows, settings, record, rng, gen)
        record["epoch"] += 1
        live = int((model.quantizer.code_count >= model_config.dead_code_threshold).sum())
        entry: dict[str, Any] = {"epoch": record["epoch"], **{k: round(v, 6) for k, v in losses.items()}, "live_codes": live}
        if record["epoch"] % settings.eval_interval == 0 or record["epoch"] == settings.epochs:
            val = float(reconstruction_mpjpe_mm(model, val_rows, body_model).mean())
            entry["val_mpjpe_mm"] = round(val, 3)
            if record["best_val_mpjpe_mm"] is None or val < record["best_val_mpjpe_mm"]:
                record["best_val_mpjpe_mm"], record["best_epoch"] = val, record["epoch"]
                save_weights(work_dir / "best.safetensors", model.state_dict())
        record["train_seconds"] += time.perf_counter() - start
        record["train_cpu_seconds"] += time.process_time() - cpu_start
        record["history"].append(entry)
        save_epoch(work_dir, record, model, optimizer, rng, gen)
        run_epochs += 1
        logger.info("tokenizer epoch %d/%d: %s", record["epoch"], settings.epochs,
                    ", ".join(f"{k} {v}" for k, v in entry.items() if k != "epoch"))  # fmt: skip
    model.load_state_dict(load_weights(work_dir / "best.safetensors"), strict=True)
    return model.eval(), record


def train_tokenizer(
    config: BenchConfig,
    *,
    model_config: str | TokenizerConfig = "small",
    train_config: TokenizerTrainConfig | None = None,
    dataset: Dataset | str = "synth-full",
    epochs: int | None = None,
    seed: int = 0,
    out: Path | None = None,
    restart: bool = False,
    stop_after_epochs: int | None = None,
    threads: int = 1,
) -> TokenizerTrainResult:
    """Train a tokenizer on a dataset's pose splits and write its checkpoint and card.

    Args:
        config: paths and the body model (``config.body_model``, ``config.body_models``).
        model_config: ``"small"``, ``"paper"`` or a :class:`TokenizerConfig`; its name also picks
            the default schedule (``TokenizerTrainConfig.named``) unless ``train_config`` is given.
        dataset: a loaded dataset, or a name under ``config.data_dir`` (or a folder), with
            ``poses`` train/val/test.
        epochs: overrides the schedule's epoch count.
        out: the ``.safetensors`` to write (default ``<user_models_dir>/unipose/tokenizer-<name>.safetensors``);
            the resumable state lives next to it in ``<stem>.train/``.
        restart: discard an interrupted run's state instead of resuming it.
        stop_after_epochs: stop after this many epochs in this call (resume later).
        threads: torch intra-op threads while training (1 is fastest on a busy 2-core machine).

    Raises:
        DataError / NotFoundError: missing dataset or pose splits.
        CheckpointError: an interrupted run with other settings in the state folder.
    """
    from bench.data.dataset import load_dataset
    from bench.data.synth.poses.generator import torch_threads

    cfg = TokenizerConfig.named(model_config) if isinstance(model_config, str) else model_config
    settings = train_config or TokenizerTrainConfig.named(cfg.name if cfg.name in ("paper", "small") else "small")
    if epochs is not None:
        settings = replace(settings, epochs=epochs)
    ds = load_dataset(dataset, config.data_dir) if isinstance(dataset, (str, Path)) else dataset
    for split in ("train", "val", "test"):
        if not ds.has("poses", split):
            raise DataError(f"dataset {ds.root.name!r} has no poses/{split}.npz", file=ds.root, field="poses")
    identity = {"name": ds.name, "folder": ds.root.name, "version": ds.version, "variant": ds.manifest.get("variant"),
                "split_hashes": {s: ds.split_hash(s) for s in ("train", "val", "test")}}  # fmt: skip
    body_model = load_body_model(config.body_model, config.body_models)
    out = Path(out) if out is not None else config.user_models_dir / "unipose" / f"tokenizer-{cfg.name}.safetensors"
    work_dir = out.with_name(out.stem + ".train")
    if restart and work_dir.exists():
        shutil.rmtree(work_dir)
    logger.info("training the %s tokenizer on %s (%d train poses, body model %s)", cfg.name, ds.root.name,
                len(ds.poses("train").poses), body_model.name)  # fmt: skip
    with torch_threads(threads):
        model, record = fit_tokenizer(cfg, settings, ds.poses("train").poses, ds.poses("val").poses, body_model, work_dir,
                                      seed=seed, identity=identity, stop_after_epochs=stop_after_epochs)  # fmt: skip
        if model is None:
            return TokenizerTrainResult(completed=False, path=None, card=None, tokenizer=None)
        test = ds.poses("test").poses
        test_mpjpe = float(reconstruction_mpjpe_mm(model, test, body_model).mean())
        test_pa_mpjpe = float(reconstruction_mpjpe_mm(model, test, body_model, align="procrustes").mean())
        codes_used = int(torch.unique(model.encode(test)).numel())
    card = {
        "name": out.stem, "model": "unipose-tokenizer", "data": identity, "seed": seed, "train_config": settings.to_dict(),
        "body_model": body_model.description,
        "metric": "reconstruction MPJPE, mm, body22 joints of the body model, no alignment (PA: similarity Procrustes)",
        "best_epoch": record["best_epoch"], "epochs": record["epoch"], "val_mpjpe_mm": round(record["best_val_mpjpe_mm"], 3),
        "test_mpjpe_mm": round(test_mpjpe, 3), "test_pa_mpjpe_mm": round(test_pa_mpjpe, 3), "test_codes_used": codes_used,
        "vertex_loss": "area-weighted" if body_model.has_mesh else "absent (body model has no mesh)",
        "joint_noise": "intended body-part noise (upstream's is a no-op)" if settings.joint_noise_interval else "off",
        "orientation_noise": "yaw about the vertical y axis, roll and pitch (y-up adaptation of the z-up original)",
        "train_seconds": round(record["train_seconds"], 1), "train_cpu_seconds": round(record["train_cpu_seconds"], 1),
        "threads": threads, "history": record["history"],
        "torch": torch.__version__, "platform": platform.platform(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }  # fmt: skip
    model.save(out, card)
    logger.info("tokenizer written to %s: val %.1f mm, test %.1f mm", out, card["val_mpjpe_mm"], card["test_mpjpe_mm"])
    return TokenizerTrainResult(completed=True, path=out, card=model.card, tokenizer=model)


QUICK_CONFIG = TokenizerConfig(name="tiny", hidden=16, code_dim=8, num_codes=32, resize_length=8, upsample_steps=0)
"""A seconds-long architecture for smoke tests (``bench models train unipose-tokenizer --quick`` writes
``tokenizer-tiny``, the pose tokenizer of the ``tiny`` UniPose preset)."""


@register_trainer("unipose-tokenizer")
def train_tokenizer_model(
    dataset: Dataset,
    out_dir: Path,
    *,
    quick: bool = False,
    config: BenchConfig,
    preset: str | None = None,
    epochs: int | None = None,
    seed: int | None = None,
) -> list[Path]:
    """``bench models train unipose-tokenizer [--config small|paper] [--epochs N] [--seed S]``: writes
    ``<out>/unipose/tokenizer-<config>.safetensors`` (resuming an interrupted run); ``--quick`` trains
    :data:`QUICK_CONFIG` for 2 epochs."""
    model_config: str | TokenizerConfig = QUICK_CONFIG if quick else (preset or "small")
    train_config = replace(TokenizerTrainConfig.small(), epochs=2, batch_size=64) if quick else None
    name = QUICK_CONFIG.name if quick else (preset or "small")
    out = Path(out_dir) / "unipose" / f"tokenizer-{name}.safetensors"
    result = train_tokenizer(config, model_config=model_config, train_config=train_config, dataset=dataset,
                             epochs=epochs, seed=seed or 0, out=out)  # fmt: skip
    return [result.path] if result.path is not None else []
