"""PoseScript's and PoseFix's released retrieval networks, rebuilt for PoseBench's evaluator API.

Facts from naver/posescript (``retrieval/model_retrieval.py::PoseText``,
``retrieval_modifier/model_retrieval_modifier.py::PairText``, ``encoders/text_encoders.py::
TransformerTextEncoder``, ``encoders/pose_encoder_decoder.py::PoseEncoder``; docs/peers.md
"PoseScript retrieval models"). Dimension letters: B rows, L tokens, J = 52 input joints, D latent
width (512), W DistilBERT width (768).

* **Pose encoder**: PoseBench's :class:`~retrieval_models.encoders.PoseEncoder` MLP (the same
  VPoser-derived stack: BatchNorm, Linear, LeakyReLU, BatchNorm, Dropout, Linear, Linear, Linear to the
  32-wide bottleneck, ReLU, Linear, L2 normalisation) on the flattened J x 3 axis-angle vector, root
  first, in AMASS's z-up frame.
* **Text encoder** (``distilbertUncased`` + ``avgp`` topping): the frozen DistilBERT's
  ``last_hidden_state`` -> ReLU -> Linear(W, D) -> + sinusoidal positions (a buffer stored in the
  checkpoint) -> a 4-layer post-norm ``TransformerEncoder`` (4 heads, feed-forward 1024, GELU,
  sequence-first, padding masked) -> mean over the valid tokens, [CLS] and [SEP] included -> L2
  normalisation.
* **Pair encoder** (PoseFix): the shared pose encoder on A and on B, the two unit vectors
  concatenated, then PoseBench's :meth:`~retrieval_models.encoders.PairEncoder.fuse` MLP (three
  Linear + LeakyReLU, the last before the normalisation).

Pose input: PoseBench poses are (B, 22, 3) axis-angle in the canonical y-up frame. They are moved
to AMASS's z-up frame (``root <- Rx(+90°) root``, :func:`bench.data.importers.frames.canonical_to_amass`)
and the 30 hand joints are filled with zeros, the flat hands of PoseScript's own empty pose
(``data.py::T_POSE``: zeros, root Rx(+90°)), or with a hand pose given at import (UniPose's variant:
its ``default_hand_pose.pt``). PoseBench datasets carry no hand poses; the released models saw
AMASS's hands, so a 22-joint pose's hands are always the same fixed pose here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import CheckpointError
from retrieval_models.encoders import ArchConfig, PairEncoder, PoseEncoder
from retrieval_models.model import INITIAL_SCALE, KINDS

__all__ = ["PoseScriptArch", "PoseScriptModel", "TransformerTextEncoder", "POSE_JOINTS_IN", "to_posescript_input"]

POSE_JOINTS_IN = 22
"""Joints of a PoseBench pose (global orientation + 21 body joints)."""


@dataclass(frozen=True)
class PoseScriptArch:
    """The sizes of a released model (read from its checkpoint's ``args``; stored in the card)."""

    latent_dim: int = 512
    """D (``args.latentD``)."""
    num_body_joints: int = 52
    """J, the joints the pose encoder reads (``args.num_body_joints``; 52 = body + both hands)."""
    pose_hidden: int = 512
    """Width of the pose MLP (``num_neurons``)."""
    pose_bottleneck: int = 32
    """Width of the pose MLP's bottleneck (``num_neurons_mini``)."""
    text_layers: int = 4
    text_heads: int = 4
    text_feedforward: int = 1024
    max_tokens: int = 512
    """DistilBERT's ``model_max_length``: longer texts are truncated, as the peer's tokenizer does."""
    distilbert: dict[str, Any] = field(default_factory=dict)
    """The DistilBERT ``config.json`` fields (``DistilBertConfig(**distilbert)`` rebuilds it)."""
    hand_pose: list[float] = field(default_factory=list)
    """Axis-angle values for joints 22.. of the pose input ((num_body_joints - 22) x 3, radians);
    empty = zeros, PoseScript's flat ``T_POSE`` hands. UniPose appends its ``default_hand_pose.pt``."""

    def __post_init__(self) -> None:
        if self.num_body_joints < POSE_JOINTS_IN:
            raise CheckpointError(f"the pose encoder reads {self.num_body_joints} joints; PoseBench poses have "
                                  f"{POSE_JOINTS_IN}", field="num_body_joints")  # fmt: skip
        extra = 3 * (self.num_body_joints - POSE_JOINTS_IN)
        if self.hand_pose and len(self.hand_pose) != extra:
            raise CheckpointError(f"hand pose has {len(self.hand_pose)} values; the pose encoder's joints "
                                  f"{POSE_JOINTS_IN}-{self.num_body_joints - 1} need {extra}", field="hand_pose")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoseScriptArch:
        try:
            return cls(**data)
        except TypeError as exc:
            raise CheckpointError(f"bad PoseScript architecture entry ({exc})", field="architecture") from None

    def pose_arch(self) -> ArchConfig:
        """The pose MLP's sizes as a PoseBench :class:`ArchConfig` (its text fields are unused)."""
        return ArchConfig(latent_dim=self.latent_dim, pose_hidden=self.pose_hidden,
                          pose_bottleneck=self.pose_bottleneck, pose_dropout=0.1, pair_fusion="concat")  # fmt: skip


def sinusoidal_positions(max_len: int, width: int) -> torch.Tensor:
    """float32 (max_len, 1, width): PoseScript's ``PositionalEncoding.pe`` (sin on even, cos on odd
    columns, wavelengths up to 10000)."""
    position = torch.arange(max_len).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, width, 2) * (-np.log(10000.0) / width))
    pe = torch.zeros(max_len, 1, width)
    pe[:, 0, 0::2] = torch.sin(position * div_term)
    pe[:, 0, 1::2] = torch.cos(position * div_term)
    return pe


class TransformerTextEncoder(nn.Module):
    """(B, L) DistilBERT token ids + (B,) lengths -> (B, D) unit vectors (PoseScript's ``avgp`` encoder)."""

    def __init__(self, arch: PoseScriptArch) -> None:
        super().__init__()
        from transformers import DistilBertConfig, DistilBertModel

        config = DistilBertConfig(**arch.distilbert)
        self.distilbert = DistilBertModel(config).eval()
        self.distilbert.requires_grad_(False)
        self.proj = nn.Linear(config.dim, arch.latent_dim)
        self.register_buffer("positions", sinusoidal_positions(5000, arch.latent_dim))
        layer = nn.TransformerEncoderLayer(arch.latent_dim, arch.text_heads, arch.text_feedforward, dropout=0.1,
                                           activation="gelu")  # fmt: skip
        # no nested tensors: every row is computed on the padded chunk, whatever its companions
        self.transformer = nn.TransformerEncoder(layer, arch.text_layers, enable_nested_tensor=False)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids: int64 (B, L), padded after each row's ``lengths[b] >= 1`` tokens ([CLS] ... [SEP])."""
        mask = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, L)
        tokens = self.distilbert(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        x = self.proj(F.relu(tokens)).transpose(0, 1)  # (L, B, D), sequence first as in the peer
        x = self.transformer(x + self.positions[: x.shape[0]], src_key_padding_mask=~mask).transpose(0, 1)
        weights = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return pooled / pooled.norm(dim=-1, keepdim=True)


def to_posescript_input(poses: torch.Tensor, arch: PoseScriptArch) -> torch.Tensor:
    """float32 (B, 22, 3) canonical y-up axis-angle -> float32 (B, num_body_joints * 3): root moved to
    AMASS's z-up frame, joints 22.. (the hands) set to ``arch.hand_pose`` (zeros when empty),
    flattened joint-major."""
    from bench.data.importers.frames import canonical_to_amass

    zup = torch.from_numpy(canonical_to_amass(poses.detach().cpu().numpy())).to(torch.float32)
    padded = torch.zeros(poses.shape[0], arch.num_body_joints, 3, dtype=torch.float32)
    padded[:, :POSE_JOINTS_IN] = zup
    if arch.hand_pose:
        padded[:, POSE_JOINTS_IN:] = torch.tensor(arch.hand_pose, dtype=torch.float32).reshape(-1, 3)
    return padded.reshape(poses.shape[0], arch.num_body_joints * 3).to(poses.device)


class PoseScriptModel(nn.Module):
    """A released PoseScript (``pose-text``) or PoseFix (``pair-text``) retrieval model with the
    interface :class:`~retrieval_models.evaluator.Evaluator` drives (``kind``, ``arch``,
    ``encode_texts``, ``encode_items``)."""

    def __init__(self, kind: str, arch: PoseScriptArch) -> None:
        super().__init__()
        if kind not in KINDS:
            raise CheckpointError(f"unknown evaluator kind {kind!r}", field="kind")
        self.kind = kind
        self.arch = arch
        self.text = TransformerTextEncoder(arch)
        width = 3 * arch.num_body_joints
        pose_arch = arch.pose_arch()
        self.items: nn.Module = PoseEncoder(pose_arch, width) if kind == "pose-text" else PairEncoder(pose_arch, width)
        self.scale = nn.Parameter(torch.full((1,), INITIAL_SCALE))

    def encode_texts(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """int64 (B, L) ids, int64 (B,) lengths -> float32 (B, D) unit vectors."""
        return self.text(ids, lengths)

    def encode_items(self, items: torch.Tensor) -> torch.Tensor:
        """float32 (B, 22, 3) poses or (B, 2, 22, 3) pairs (canonical frame) -> float32 (B, D) unit vectors."""
        if self.kind == "pose-text":
            return self.items.encode_features(to_posescript_input(items, self.arch))
        pose = self.items.pose
        emb_a = pose.encode_features(to_posescript_input(items[:, 0], self.arch))
        emb_b = pose.encode_features(to_posescript_input(items[:, 1], self.arch))
        return self.items.fuse([emb_a, emb_b])
