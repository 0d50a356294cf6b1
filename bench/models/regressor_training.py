"""Training the ``regressor`` baseline (``bench models train regressor``).

Data: the dataset's train renders (images resized once to the backbone's input side, kept as uint8)
with their camera-frame poses; selection on val renders. Loss: mean squared error of the 22
rotation matrices, plus ``JOINT_WEIGHT`` × mean squared error of the pelvis-relative FK joints
(metres, the built-in skeleton), plus ``ARTICULATION_WEIGHT`` × the same error with both root
rotations set to the identity (the body's shape in its own frame: what PA-MPJPE measures, and which
the orientation-dominated camera-frame joint error left unlearnt). AdamW, cosine decay, batches
drawn by a seeded ``np.random.Generator``; weights initialised from a seeded ``torch.Generator``
state. The epoch with the lowest val PA-MPJPE (the ``image2pose`` main metric: LSP-14 joints,
similarity Procrustes, mm) is kept and written as ``regressor.safetensors`` with its JSON card
(data hashes, seed, val errors per epoch, SHA-256, settings).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from bench.body import axis_angle_to_matrix, joint_indices, load_body_model, matrix_to_axis_angle
from bench.config import BenchConfig
from bench.errors import ConfigError, DataError
from bench.hashing import sha256_file
from bench.metrics import mpjpe
from bench.models.adapter import register_trainer
from bench.models.image_encoders import BackboneConfig, resize_images
from bench.models.regressor import CHECKPOINT, PoseRegressor
from bench.models.seeded_init import seeded_init
from bench.progress import progress

logger = logging.getLogger(__name__)

JOINT_WEIGHT = 10.0
"""Weight of the joint term (metres², a few cm² per joint) against the rotation term."""
ARTICULATION_WEIGHT = 10.0
"""Weight of the root-free joint term (metres²)."""
SELECTION_JOINTS = "lsp14"
"""Joint set of the val PA-MPJPE that selects the epoch (the ``image2pose`` task's)."""


@dataclass(frozen=True)
class RegressorTrainConfig:
    """Settings of one training run (written to the card)."""

    epochs: int = 16
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    input_size: int = 64
    channels: tuple[int, ...] = (32, 64, 96, 128)
    hidden: int = 256
    head: str = "flatten"

    @classmethod
    def quick(cls, seed: int = 0) -> RegressorTrainConfig:
        """Tiny settings for tests (seconds on CPU)."""
        return cls(epochs=40, batch_size=16, lr=3e-3, seed=seed, input_size=32, channels=(16, 16, 32, 32), hidden=64)


def _images(dataset: Any, split: str, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    if not dataset.has("renders", split):
        raise DataError(f"the regressor needs renders/{split}", file=str(dataset.root))
    renders = dataset.renders(split)
    images = torch.cat([resize_images(renders.image(i)[None], size) for i in progress(range(len(renders.ids)),
                        desc=f"read {split} renders", total=len(renders.ids))])  # fmt: skip
    return images, torch.as_tensor(np.asarray(renders.poses_camera, dtype=np.float32))


def train_regressor(dataset: Any, out_dir: Path, config: RegressorTrainConfig = RegressorTrainConfig()) -> Path:
    """Train on ``dataset``'s train renders, select on val, write ``out_dir/regressor.safetensors`` + card."""
    started = time.perf_counter()
    train_x, train_y = _images(dataset, "train", config.input_size)
    val_x, val_y = _images(dataset, "val", config.input_size)
    body = load_body_model("skeleton")
    gen = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = PoseRegressor(BackboneConfig(config.input_size, config.channels), config.hidden, config.head)
    seeded_init(model, gen)
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        torch.nn.init.ones_(norm.weight)
        torch.nn.init.zeros_(norm.bias)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    train_r, train_j, train_a = axis_angle_to_matrix(train_y), _rel_joints(body, train_y), _rel_joints(body, _rootless(train_y))
    val_j = _rel_joints(body, val_y).numpy()
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    history = []
    batch = min(config.batch_size, len(train_x))
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = rng.permutation(len(train_x))
        losses = []
        for start in range(0, len(order) - batch + 1, batch):
            index = torch.as_tensor(order[start : start + batch])
            rotations = model(train_x[index])
            poses = matrix_to_axis_angle(rotations)
            joints, shape = _rel_joints(body, poses), _rel_joints(body, _rootless(poses))
            loss = (((rotations - train_r[index]) ** 2).mean() + JOINT_WEIGHT * ((joints - train_j[index]) ** 2).mean()
                    + ARTICULATION_WEIGHT * ((shape - train_a[index]) ** 2).mean())  # fmt: skip
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        scheduler.step()
        val_mpjpe, val_pa_mpjpe = _val_errors(model, body, val_x, val_j)
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_mpjpe_mm": val_mpjpe,
                        "val_pa_mpjpe_mm": val_pa_mpjpe})  # fmt: skip
        logger.info("regressor epoch %d/%d: loss %.4f, val MPJPE %.1f mm, PA-MPJPE %.1f mm", epoch, config.epochs,
                    history[-1]["loss"], val_mpjpe, val_pa_mpjpe)  # fmt: skip
        if best is None or val_pa_mpjpe < best[0]:
            best = (val_pa_mpjpe, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
    if best is None:
        raise ConfigError("nothing trained: epochs must be >= 1", field="epochs")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{CHECKPOINT}.safetensors"
    save_file({k: v.contiguous() for k, v in best[2].items()}, str(path))
    card = {
        "model": "regressor", "architecture": {"input_size": config.input_size, "channels": list(config.channels),
                                               "hidden": config.hidden, "head": config.head},
        "data": {"name": dataset.name, "version": dataset.version, "folder": dataset.root.name,
                 "split_hashes": {s: dataset.split_hash(s) for s in ("train", "val")}},
        "seed": config.seed, "training": {"config": asdict(config), "history": history, "best_epoch": best[1],
                                          "selection": f"lowest val PA-MPJPE ({SELECTION_JOINTS}, similarity Procrustes)"},
        "val_pa_mpjpe_mm": best[0], "val_mpjpe_mm": history[best[1] - 1]["val_mpjpe_mm"], "training_time_s": round(time.perf_counter() - started, 1),
        "sha256": sha256_file(path),
    }  # fmt: skip
    path.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path


@register_trainer("regressor")
def train(dataset: Any, out_dir: Path, *, quick: bool = False, config: BenchConfig | None = None) -> list[Path]:
    """``bench models train regressor``: :func:`train_regressor` with the default (or quick) settings."""
    return [train_regressor(dataset, out_dir, RegressorTrainConfig.quick() if quick else RegressorTrainConfig())]


def _rootless(poses: torch.Tensor) -> torch.Tensor:
    """Axis-angle ``(B, 22, 3)`` with the root rotation set to zero (the body in its own frame)."""
    return torch.cat([torch.zeros_like(poses[:, :1]), poses[:, 1:]], dim=1)


def _rel_joints(body: Any, poses: torch.Tensor) -> torch.Tensor:
    """Pelvis-relative skeleton joints (B, 24, 3) metres of axis-angle poses (B, 22, 3)."""
    joints = body.joints(poses)
    return joints - joints[:, :1]


def _val_errors(model: PoseRegressor, body: Any, images: torch.Tensor, gt_j: np.ndarray) -> tuple[float, float]:
    """Val MPJPE (pelvis-aligned, 24 skeleton joints) and PA-MPJPE (``SELECTION_JOINTS``), mm, of
    the predictions against the pelvis-relative ground-truth joints ``gt_j`` (N, 24, 3) metres."""
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([matrix_to_axis_angle(model(images[s : s + 128])) for s in range(0, len(images), 128)])
    pred_j = _rel_joints(body, predicted).numpy()
    subset = joint_indices(SELECTION_JOINTS)
    return (float(mpjpe(pred_j, gt_j, align="none").mean()),
            float(mpjpe(pred_j[:, subset], gt_j[:, subset], align="procrustes").mean()))  # fmt: skip
