"""``regressor``: a task-specific image→pose network trained on synth renders, chained with the captioner.

Network: :class:`~bench.models.image_encoders.PoseBackbone` (64 × 64 input for CPU speed), its
``(C, S/16, S/16)`` feature grid pooled by the ``head``: ``"flatten"`` (the default: every grid
cell keeps its place, so the head sees *where* the limbs are) or ``"gap"`` (global average pooling,
the first shipped version, which learnt the camera-frame orientation but not the articulation);
then a 2-layer MLP to 22 6D rotations (first two rows of R) added to the identity's (so an untrained
head starts at the rest pose instead of Gram–Schmidt of near-zero vectors), Gram–Schmidt back to
matrices and axis-angle. The root rotation is in the camera frame, like the
``image2pose`` target.

Tasks:

- ``image2pose``: the network on the image;
- ``rpe``: **oracle localisation** — the target person's ground-truth box (from the dataset's rpe
  annotations, which no competing model sees) is cropped from the scene as a square of side
  ``max(w, h) / BOX_FILL`` around its centre (zero padding outside the image), then the network
  runs on the crop. It measures pose estimation given perfect referring, not reasoning;
- ``image2text``: the estimated pose, heading-normalised, through the automatic captioner;
- ``imagediff``: both estimates brought to A's heading frame, through the comparative pipeline.

Training (:mod:`bench.models.regressor_training`): train renders, selection on val MPJPE.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from bench.body import matrix_to_axis_angle, normalize_heading, rot6d_to_matrix
from bench.errors import CheckpointError
from bench.hashing import sha256_file
from bench.models.adapter import ModelAdapter, ModelContext, ModelInfo, Prediction, SampleFailure, parameter_count, register_model
from bench.models.captioner import describe_difference, describe_pose, heading_frame
from bench.models.image_encoders import BackboneConfig, PoseBackbone, resize_images
from tasks.spec import Request

CHECKPOINT = "regressor"
"""File stem of the shipped checkpoint (``regressor.safetensors`` + ``regressor.json``)."""
BOX_FILL = 0.75
"""Share of the crop side the box's longer side fills (rpe)."""
NUM_JOINTS = 22
HEADS = ("flatten", "gap")
"""How the backbone's feature grid reaches the MLP (module docstring)."""


class PoseRegressor(nn.Module):
    """uint8-derived float (B, 3, H, W) in [0, 1] → float32 (B, 22, 3, 3) rotation matrices."""

    def __init__(self, backbone: BackboneConfig = BackboneConfig(), hidden: int = 256, head: str = "flatten") -> None:
        super().__init__()
        if head not in HEADS:
            raise CheckpointError(f"unknown regressor head {head!r}; known: {', '.join(HEADS)}", field="head")
        self.backbone = PoseBackbone(backbone)
        features = self.backbone.out_channels * (backbone.grid_side**2 if head == "flatten" else 1)
        self.head = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, NUM_JOINTS * 6))
        self.hidden = hidden
        self.pooling = head
        self.register_buffer("identity_6d", torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]).repeat(NUM_JOINTS), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        grid = self.backbone(images)
        features = grid.flatten(1) if self.pooling == "flatten" else grid.mean(dim=(2, 3))
        return rot6d_to_matrix((self.head(features) + self.identity_6d).view(-1, NUM_JOINTS, 6))

    def predict_poses(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """uint8 (B, H, W, 3) → float32 (B, 22, 3) axis-angle (root in the camera frame)."""
        out = []
        self.eval()
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                x = resize_images(images[start : start + batch_size], self.backbone.config.input_size)
                out.append(matrix_to_axis_angle(self(x.to(self.identity_6d.device)).cpu()).numpy().astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, NUM_JOINTS, 3), np.float32)


def load_regressor(path: Path) -> tuple[PoseRegressor, dict[str, Any]]:
    """A trained regressor and its card from ``<stem>.safetensors`` + ``<stem>.json`` (SHA-256 checked)."""
    card_path = path.with_suffix(".json")
    if not card_path.is_file():
        raise CheckpointError("card missing next to the checkpoint", file=card_path)
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if sha256_file(path) != card.get("sha256"):
        raise CheckpointError("SHA-256 differs from the card's", file=path, field="sha256")
    arch = card["architecture"]
    model = PoseRegressor(BackboneConfig(arch["input_size"], tuple(arch["channels"])), arch["hidden"],
                          arch.get("head", "gap"))  # cards without a head field predate the flatten head
    model.load_state_dict(load_file(str(path)), strict=True)
    model.eval()
    return model, card


def crop_box(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """uint8 (H, W, 3) → uint8 (s, s, 3): a square around ``box`` ([x0, y0, x1, y1] pixels) of side
    ``max(w, h) / BOX_FILL``, zero-padded where it leaves the image."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(int(round(max(x1 - x0, y1 - y0) / BOX_FILL)), 1)
    left, top = int(round((x0 + x1 - side) / 2)), int(round((y0 + y1 - side) / 2))
    out = np.zeros((side, side, 3), np.uint8)
    h, w = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(left, 0), max(top, 0), min(left + side, w), min(top + side, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = image[sy0:sy1, sx0:sx1]
    return out


@dataclass
class _Boxes:
    """rpe sample id → the target person's box (oracle localisation)."""

    by_id: dict[str, list[float]]


@register_model("regressor")
class Regressor(ModelAdapter):
    """Image→pose network (module docstring); ``image2text`` / ``imagediff`` via the captioner."""

    info = ModelInfo(name="regressor", version="1.1",
                     description="image→pose CNN trained on synth renders (rpe: oracle box), + captioner for image→text",
                     training_data=("<dataset>/train renders",))  # fmt: skip
    tasks = ("image2pose", "rpe", "image2text", "imagediff")
    dtypes = ("float32",)

    def __init__(self, model: PoseRegressor, card: dict[str, Any], dataset: Any) -> None:
        self.model = model
        self.card = card
        self.dataset = dataset
        self._boxes: _Boxes | None = None
        self.info = replace(type(self).info, parameter_count=parameter_count(model))

    def weights_sha256(self) -> tuple[str, ...]:
        return (str(self.card["sha256"]),)

    @classmethod
    def load(cls, ctx: ModelContext) -> Regressor:
        model, card = load_regressor(ctx.find_checkpoint(f"{CHECKPOINT}.safetensors", "regressor"))
        return cls(model.to(ctx.device), card, ctx.dataset)

    def _box(self, sample_id: str) -> list[float] | None:
        if self._boxes is None:
            self._boxes = _Boxes({item.id: item.boxes[item.target] for item in self.dataset.rpe("test")})
        return self._boxes.by_id.get(sample_id)

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        if not requests:
            return []
        task = requests[0].task
        if task == "imagediff":
            a = self.model.predict_poses(np.stack([r.inputs["image_a"] for r in requests]))
            b = self.model.predict_poses(np.stack([r.inputs["image_b"] for r in requests]))
            return [describe_difference(*heading_frame(pa, pb), seed) for pa, pb, seed in zip(a, b, seeds, strict=True)]
        if task == "rpe":
            return self._rpe(requests)
        poses = self.model.predict_poses(np.stack([r.inputs["image"] for r in requests]))
        if task == "image2pose":
            return list(poses)
        canonical = normalize_heading(torch.as_tensor(poses)).numpy()
        return [describe_pose(p, seed) for p, seed in zip(canonical, seeds, strict=True)]

    def _rpe(self, requests: Sequence[Request]) -> list[Prediction | SampleFailure]:
        out: list[Prediction | SampleFailure] = [SampleFailure("no target box for this sample")] * len(requests)
        crops, where = [], []
        for k, request in enumerate(requests):
            box = self._box(request.id)
            if box is not None:
                crops.append(resize_images(crop_box(request.inputs["image"], box)[None], self.model.backbone.config.input_size))
                where.append(k)
        if crops:
            self.model.eval()
            with torch.no_grad():
                rotations = self.model(torch.cat(crops).to(self.model.identity_6d.device)).cpu()
                poses = matrix_to_axis_angle(rotations).numpy().astype(np.float32)
            for k, pose in zip(where, poses, strict=True):
                out[k] = pose
        return out
