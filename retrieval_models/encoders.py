"""The evaluators' networks: a pose encoder, a text encoder and a pose-pair encoder.

Dimension letters: B batch rows, L tokens, E word-embedding width, D latent width (512).

* :class:`PoseEncoder` (PoseScript's VPoser-style MLP with its 32-wide bottleneck,
  docs/peers.md#posescript-retrieval-models, resized for 22 joints).
  Input representation (``pose_features="rot6d+joints"``): each joint's axis-angle as the 6D
  rotation representation (first two rows of its rotation matrix), 22 x 6, plus the 22 joint
  positions of the built-in skeleton by forward kinematics, 22 x 3, metres, pelvis at the origin:
  198 values. 6D is continuous over all rotations, unlike axis-angle, which jumps near pi and wraps
  at 2*pi (Zhou et al. 2019); the joint positions are what posecode-style descriptions are computed
  from ("the hand is above the head"), so the MLP does not have to learn forward kinematics. On
  8k synth poses they learn faster than 6D alone. ``rot6d`` (132 values) is kept as an option.
* :class:`TextEncoder`: token ids -> frozen pretrained word embeddings (E) -> trainable
  Linear(E, P) + LayerNorm + LeakyReLU (the LayerNorm brings the small pretrained vectors, about
  0.05 per component, to a scale the GRU responds to) -> one forward and one backward GRU (hidden H
  each) -> read-out (``text_pooling``: max over the valid steps, or the final states) of both
  directions, concatenated -> Linear(., D). The backward GRU reads each row reversed *within its
  own length*, and the read-out only looks at a row's real tokens, so the padding after a row never
  reaches its result and no packed sequences are needed: every row's computation is independent
  of the other rows (the basis of the batch-size invariance of ``Evaluator``).
* :class:`PairEncoder` (PoseFix's, docs/peers.md#posescript-retrieval-models): the shared pose
  encoder on A and on B, the two unit vectors concatenated (2D) with, by default, the difference of
  the raw pose features of B and A (``pair_fusion="concat+delta"``: joint displacements are what
  instructions describe; on 8k synth pairs it lifts R-precision top-1 from 22 % to 73 % after 6
  epochs), fused by Linear(., 2D)-LReLU-Linear(2D, D)-LReLU-Linear(D, D)-LReLU.

Every encoder ends with L2 normalisation; outputs are float32 (B, D), unit length.

Networks are built on the meta device and initialised by :func:`init_parameters` from an explicit
``torch.Generator`` (PyTorch's default initialisation rules), so the global RNG is never used;
dropout draws from a generator too (:class:`GeneratorDropout`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bench.body import axis_angle_to_matrix, forward_kinematics, matrix_to_rot6d
from bench.errors import CheckpointError, ConfigError, InternalError

__all__ = [
    "ArchConfig",
    "GeneratorDropout",
    "PoseEncoder",
    "TextEncoder",
    "PairEncoder",
    "init_parameters",
    "NUM_JOINTS",
]

NUM_JOINTS = 22


@dataclass(frozen=True)
class ArchConfig:
    """Sizes of the networks (stored in the card; a checkpoint is rebuilt from it)."""

    latent_dim: int = 512
    """D: the width of every embedding."""
    pose_features: str = "rot6d+joints"
    """Pose input: ``rot6d`` or ``rot6d+joints`` (see :func:`poses_to_features`)."""
    pose_hidden: int = 512
    """Width of the pose MLP's hidden layers (PoseScript: 512)."""
    pose_bottleneck: int = 32
    """Width of the pose MLP's ReLU bottleneck (PoseScript: 32)."""
    pose_dropout: float = 0.1
    """Dropout after the pose MLP's second BatchNorm (PoseScript: 0.1)."""
    text_proj: int = 128
    """P: width of the trainable projection of the frozen word embeddings."""
    text_hidden: int = 128
    """H: hidden size of each GRU direction (the GRU is most of the training cost: ~3x for 256)."""
    max_tokens: int = 160
    """Token ids per text including [CLS] and [SEP]; longer texts are truncated (synth captions:
    85 on average, at most ~130)."""
    pair_fusion: str = "concat+delta"
    """Input of the pair MLP: ``concat`` ([A, B], PoseFix), ``concat+diff`` or ``concat+delta``
    (see :class:`PairEncoder`)."""
    text_pooling: str = "max"
    """GRU read-out: ``max`` (max over the valid steps of both directions; learns the bag of
    body-part phrases much faster than ``last``), ``last`` (final states, as PoseScript) or
    ``last+max``."""

    def __post_init__(self) -> None:
        if self.text_pooling not in ("last", "max", "last+max"):
            raise ConfigError(f"unknown text pooling {self.text_pooling!r}; known: last, max, last+max", field="text_pooling")
        if self.pose_features not in ("rot6d", "rot6d+joints"):
            raise ConfigError(f"unknown pose features {self.pose_features!r}; known: rot6d, rot6d+joints", field="pose_features")
        if self.pair_fusion not in ("concat", "concat+diff", "concat+delta"):
            raise ConfigError(f"unknown pair fusion {self.pair_fusion!r}; known: concat, concat+diff, concat+delta",
                              field="pair_fusion")  # fmt: skip
        if self.max_tokens < 3:
            raise ConfigError("must be >= 3 ([CLS], a token, [SEP])", field="max_tokens")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise CheckpointError(f"unknown architecture fields {sorted(unknown)}", field="architecture")
        return cls(**data)


class GeneratorDropout(nn.Module):
    """Inverted dropout whose mask comes from ``self.generator`` (set by the trainer), not the global RNG.

    In eval mode it is the identity. In training mode without a generator it raises, so that no
    run silently depends on global random state.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.generator is None:
            raise InternalError("GeneratorDropout in training mode needs a generator")
        keep = torch.rand(x.shape, generator=self.generator, dtype=x.dtype, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)


def poses_to_features(poses: torch.Tensor, kind: str) -> torch.Tensor:
    """float32 (B, 22, 3) axis-angle -> float32 (B, F) network input.

    ``rot6d``: per-joint 6D rotations (F = 132). ``rot6d+joints``: plus the 22 body joint
    positions of the built-in skeleton (``bench.body.forward_kinematics``), metres, pelvis at the
    origin, in the pose's (heading-normalised) frame (F = 198).
    """
    rot6d = matrix_to_rot6d(axis_angle_to_matrix(poses)).reshape(poses.shape[0], NUM_JOINTS * 6)
    if kind == "rot6d":
        return rot6d
    joints = forward_kinematics(poses)[:, :NUM_JOINTS].reshape(poses.shape[0], NUM_JOINTS * 3)
    return torch.cat([rot6d, joints], dim=-1)


def feature_width(kind: str) -> int:
    """F of :func:`poses_to_features`."""
    return NUM_JOINTS * (6 if kind == "rot6d" else 9)


class PoseEncoder(nn.Module):
    """(B, 22, 3) axis-angle (root first, SMPL order) -> (B, D) unit vectors.

    ``input_width`` overrides F (the width :func:`poses_to_features` gives for ``arch``): a network
    that feeds :meth:`encode_features` its own input, such as PoseScript's released pose encoder
    (52 joints x 3 axis-angle values, ``retrieval_models.posescript``), reuses the same MLP.
    """

    def __init__(self, arch: ArchConfig, input_width: int | None = None) -> None:
        super().__init__()
        self.features = arch.pose_features
        width, hidden = input_width or feature_width(arch.pose_features), arch.pose_hidden
        self.input_norm = nn.BatchNorm1d(width)
        self.fc1 = nn.Linear(width, hidden)
        self.hidden_norm = nn.BatchNorm1d(hidden)
        self.dropout = GeneratorDropout(arch.pose_dropout)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, hidden)  # no activation between fc2 and fc3 (VPoser heritage)
        self.fc4 = nn.Linear(hidden, arch.pose_bottleneck)
        self.fc5 = nn.Linear(arch.pose_bottleneck, arch.latent_dim)

    def forward(self, poses: torch.Tensor) -> torch.Tensor:
        return self.encode_features(poses_to_features(poses, self.features))

    def encode_features(self, features: torch.Tensor) -> torch.Tensor:
        """(B, F) output of :func:`poses_to_features` -> (B, D) unit vectors."""
        x = self.input_norm(features)
        x = self.dropout(self.hidden_norm(F.leaky_relu(self.fc1(x), 0.01)))
        x = F.relu(self.fc4(self.fc3(self.fc2(x))))
        return F.normalize(self.fc5(x), dim=-1)


class TextEncoder(nn.Module):
    """(B, L) token ids + (B,) lengths -> (B, D) unit vectors.

    Args:
        arch: sizes.
        table: float32 (V, E) frozen word embeddings; kept as a non-persistent buffer (never saved
            in checkpoints, never trained).
    """

    def __init__(self, arch: ArchConfig, table: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("word_table", table, persistent=False)
        self.proj = nn.Linear(table.shape[1], arch.text_proj)
        self.proj_norm = nn.LayerNorm(arch.text_proj)
        self.gru_forward = nn.GRU(arch.text_proj, arch.text_hidden, batch_first=True)
        self.gru_backward = nn.GRU(arch.text_proj, arch.text_hidden, batch_first=True)
        self.pooling = arch.text_pooling
        self.out = nn.Linear((4 if self.pooling == "last+max" else 2) * arch.text_hidden, arch.latent_dim)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids: int64 (B, L), padded after each row's ``lengths[b] >= 1`` real tokens."""
        positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
        last = (lengths - 1).unsqueeze(1)
        valid = positions <= last
        reverse = torch.where(valid, last - positions, positions)
        x = F.leaky_relu(self.proj_norm(self.proj(F.embedding(ids, self.word_table))), 0.2)
        x_reversed = x.gather(1, reverse.unsqueeze(-1).expand_as(x))
        rows = torch.arange(ids.shape[0], device=ids.device)
        features = []
        for gru, seq in ((self.gru_forward, x), (self.gru_backward, x_reversed)):
            outputs, _ = gru(seq)
            if self.pooling in ("last", "last+max"):
                features.append(outputs[rows, lengths - 1])
            if self.pooling in ("max", "last+max"):
                features.append(outputs.masked_fill(~valid.unsqueeze(-1), float("-inf")).amax(dim=1))
        return F.normalize(self.out(torch.cat(features, dim=-1)), dim=-1)


class PairEncoder(nn.Module):
    """(B, 22, 3) pose A + (B, 22, 3) pose B -> (B, D) unit vectors, with a shared pose encoder.

    ``pair_fusion`` sets the MLP's input: ``concat`` = [e(A), e(B)] (PoseFix); ``concat+diff`` adds
    e(B) - e(A); ``concat+delta`` adds the batch-normalised difference of the raw pose features
    f(B) - f(A) (6D rotations and, with ``rot6d+joints``, joint displacements in metres), which is
    what pair instructions describe ("move the right hand a bit to the left").
    """

    def __init__(self, arch: ArchConfig, input_width: int | None = None) -> None:
        super().__init__()
        d = arch.latent_dim
        self.fusion = arch.pair_fusion
        self.pose = PoseEncoder(arch, input_width)
        extra = {"concat": 0, "concat+diff": d, "concat+delta": feature_width(arch.pose_features)}[self.fusion]
        if self.fusion == "concat+delta":
            self.delta_norm = nn.BatchNorm1d(extra)
        self.fuse1 = nn.Linear(2 * d + extra, 2 * d)
        self.fuse2 = nn.Linear(2 * d, d)
        self.fuse3 = nn.Linear(d, d)

    def forward(self, poses_a: torch.Tensor, poses_b: torch.Tensor) -> torch.Tensor:
        features = poses_to_features(torch.cat([poses_a, poses_b], dim=0), self.pose.features)
        emb_a, emb_b = self.pose.encode_features(features).split(poses_a.shape[0])
        parts = [emb_a, emb_b]
        if self.fusion == "concat+diff":
            parts.append(emb_b - emb_a)
        elif self.fusion == "concat+delta":
            feat_a, feat_b = features.split(poses_a.shape[0])
            parts.append(self.delta_norm(feat_b - feat_a))
        return self.fuse(parts)

    def fuse(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """The pair MLP: ``parts`` (each (B, .), concatenated in order) -> (B, D) unit vectors.
        The last LeakyReLU comes before the normalisation, as in PoseFix."""
        x = torch.cat(parts, dim=-1)
        for layer in (self.fuse1, self.fuse2, self.fuse3):
            x = F.leaky_relu(layer(x), 0.01)
        return F.normalize(x, dim=-1)


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """(Re)initialise every parameter and buffer of ``module`` in place from ``generator``.

    PyTorch's own default rules, drawn in a fixed order (``named_modules`` order): Linear weight and
    bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); GRU weights and biases U(-1/sqrt(H), 1/sqrt(H));
    BatchNorm and LayerNorm weight 1, bias 0; running mean 0, variance 1. Works on modules materialised with
    ``to_empty`` from the meta device.
    """
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.Linear):
                bound = 1.0 / math.sqrt(sub.in_features)
                sub.weight.uniform_(-bound, bound, generator=generator)
                if sub.bias is not None:
                    sub.bias.uniform_(-bound, bound, generator=generator)
            elif isinstance(sub, nn.GRU):
                bound = 1.0 / math.sqrt(sub.hidden_size)
                for param in sub.parameters():
                    param.uniform_(-bound, bound, generator=generator)
            elif isinstance(sub, nn.LayerNorm):
                sub.weight.fill_(1.0)
                sub.bias.zero_()
            elif isinstance(sub, nn.BatchNorm1d):
                sub.weight.fill_(1.0)
                sub.bias.zero_()
                sub.running_mean.zero_()
                sub.running_var.fill_(1.0)
                sub.num_batches_tracked.zero_()
