"""Release-shaped PoseScript/PoseFix retrieval checkpoints with random weights, and an independent
reference forward pass, for the import tests.

The checkpoints follow naver/posescript's layout (``trainer.py``: ``{"epoch", "model", "optimizer",
"scheduler", "args"}``; state-dict names of ``PoseText`` / ``PairText``: ``pose_encoder.encoder.<i>``
with the VPoser indices, ``text_encoder.pretrained_text_encoder.*`` for the frozen DistilBERT,
``text_encoder.projection.1``, ``text_encoder.positional_encoding.pe``,
``text_encoder.transformer_encoder.layers.<i>.*``, ``pose_mlp.<1|3|5>``, ``loss_weight``), written
here from those facts, not from PoseBench's network. The reference forward pass uses plain tensor
operations, so a wrong key mapping, mask, pooling or frame shows up as a different embedding.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HIDDEN, MINI, FEEDFORWARD, HEADS, LAYERS = 512, 32, 1024, 4, 4  # hard-coded in the peer's classes


def distilbert_state(folder: Path) -> dict[str, torch.Tensor]:
    """The state dict of the DistilBERT saved in ``folder`` (``model.safetensors``)."""
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _positions(max_len: int, width: int) -> torch.Tensor:
    pe = torch.zeros(max_len, 1, width)
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float64) * (-math.log(10000.0) / width))
    pe[:, 0, 0::2] = torch.sin(position * freq).float()
    pe[:, 0, 1::2] = torch.cos(position * freq).float()
    return pe


def release_state_dict(kind: str, distilbert: dict[str, torch.Tensor], latent: int, joints: int,
                       seed: int) -> dict[str, torch.Tensor]:  # fmt: skip
    """A random state dict in the release layout of ``PoseText`` (``pose-text``) or ``PairText`` (``pair-text``)."""
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 0.1) -> torch.Tensor:
        return torch.randn(shape, generator=generator) * scale

    def norm(prefix: str, width: int, batch: bool) -> dict[str, torch.Tensor]:
        out = {f"{prefix}.weight": 1 + rand(width), f"{prefix}.bias": rand(width)}
        if batch:
            out.update({f"{prefix}.running_mean": rand(width), f"{prefix}.running_var": 0.5 + rand(width).abs(),
                        f"{prefix}.num_batches_tracked": torch.tensor(1234)})  # fmt: skip
        return out

    def linear(prefix: str, n_in: int, n_out: int) -> dict[str, torch.Tensor]:
        return {f"{prefix}.weight": rand(n_out, n_in, scale=1 / math.sqrt(n_in)), f"{prefix}.bias": rand(n_out)}

    width = 3 * joints
    state = {**norm("pose_encoder.encoder.1", width, True), **linear("pose_encoder.encoder.2", width, HIDDEN),
             **norm("pose_encoder.encoder.4", HIDDEN, True), **linear("pose_encoder.encoder.6", HIDDEN, HIDDEN),
             **linear("pose_encoder.encoder.7", HIDDEN, HIDDEN), **linear("pose_encoder.encoder.8", HIDDEN, MINI),
             **linear("pose_encoder.encoder.10", MINI, latent)}  # fmt: skip
    state.update({f"text_encoder.pretrained_text_encoder.{k}": v.clone() for k, v in distilbert.items()})
    dim = distilbert["embeddings.word_embeddings.weight"].shape[1]
    state.update(linear("text_encoder.projection.1", dim, latent))
    state["text_encoder.positional_encoding.pe"] = _positions(5000, latent)
    for i in range(LAYERS):
        prefix = f"text_encoder.transformer_encoder.layers.{i}"
        state[f"{prefix}.self_attn.in_proj_weight"] = rand(3 * latent, latent, scale=1 / math.sqrt(latent))
        state[f"{prefix}.self_attn.in_proj_bias"] = rand(3 * latent)
        state.update(linear(f"{prefix}.self_attn.out_proj", latent, latent))
        state.update(linear(f"{prefix}.linear1", latent, FEEDFORWARD))
        state.update(linear(f"{prefix}.linear2", FEEDFORWARD, latent))
        state.update(norm(f"{prefix}.norm1", latent, False))
        state.update(norm(f"{prefix}.norm2", latent, False))
    if kind == "pair-text":
        state.update({**linear("pose_mlp.1", 2 * latent, 2 * latent), **linear("pose_mlp.3", 2 * latent, latent),
                      **linear("pose_mlp.5", latent, latent)})  # fmt: skip
    state["loss_weight"] = torch.tensor([10.0])
    return state


def write_release_checkpoint(path: Path, state: dict[str, torch.Tensor], latent: int, joints: int | None) -> None:
    """``torch.save`` the trainer's dict around ``state`` (``num_body_joints`` left out when None, as in
    checkpoints older than that option)."""
    args = argparse.Namespace(text_encoder_name="distilbertUncased", transformer_topping="avgp", latentD=latent,
                              model="PoseText", lr=2e-4, epochs=200, seed=1)  # fmt: skip
    if joints is not None:
        args.num_body_joints = joints
    trainable = [v for k, v in state.items() if v.is_floating_point() and "pretrained" not in k]
    optimizer = {"state": {i: {"step": torch.tensor(10.0), "exp_avg": torch.zeros_like(v)} for i, v in enumerate(trainable)},
                 "param_groups": [{"lr": 2e-4, "betas": (0.9, 0.999), "params": list(range(len(trainable)))}]}  # fmt: skip
    torch.save({"epoch": 199, "model": state, "optimizer": optimizer,
                "scheduler": {"step_size": 40, "gamma": 0.5, "last_epoch": 199}, "args": args}, path)  # fmt: skip


def to_zup_padded(poses: np.ndarray, joints: int, hands: np.ndarray | None = None) -> torch.Tensor:
    """(N, 22, 3) canonical poses -> (N, joints * 3) z-up, with ``hands`` (zeros when None) after
    joint 21, via scipy (independent of PoseBench)."""
    from scipy.spatial.transform import Rotation

    out = np.zeros((len(poses), joints, 3))
    out[:, :22] = poses
    if hands is not None:
        out[:, 22:] = np.asarray(hands).reshape(joints - 22, 3)
    out[:, 0] = (Rotation.from_euler("x", 90, degrees=True) * Rotation.from_rotvec(poses[:, 0])).as_rotvec()
    return torch.from_numpy(out.reshape(len(poses), -1)).float()


def _batch_norm(x: torch.Tensor, state: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    scale = state[f"{prefix}.weight"] / torch.sqrt(state[f"{prefix}.running_var"] + 1e-5)
    return (x - state[f"{prefix}.running_mean"]) * scale + state[f"{prefix}.bias"]


def _linear(x: torch.Tensor, state: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    return x @ state[f"{prefix}.weight"].T + state[f"{prefix}.bias"]


def reference_pose_embedding(state: dict[str, torch.Tensor], flat: torch.Tensor) -> torch.Tensor:
    """The released pose encoder, layer by layer, on (N, 3J) inputs -> (N, D) unit vectors."""
    p = "pose_encoder.encoder"
    x = _linear(_batch_norm(flat, state, f"{p}.1"), state, f"{p}.2")
    x = _batch_norm(F.leaky_relu(x, 0.01), state, f"{p}.4")
    x = _linear(_linear(x, state, f"{p}.6"), state, f"{p}.7")
    x = _linear(F.relu(_linear(x, state, f"{p}.8")), state, f"{p}.10")
    return x / x.norm(dim=-1, keepdim=True)


def reference_pair_embedding(state: dict[str, torch.Tensor], flat_a: torch.Tensor, flat_b: torch.Tensor) -> torch.Tensor:
    x = torch.cat([reference_pose_embedding(state, flat_a), reference_pose_embedding(state, flat_b)], dim=1)
    for i in (1, 3, 5):
        x = F.leaky_relu(_linear(x, state, f"pose_mlp.{i}"), 0.01)
    return x / x.norm(dim=-1, keepdim=True)


def _layer_norm(x: torch.Tensor, state: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], state[f"{prefix}.weight"], state[f"{prefix}.bias"], 1e-5)


def reference_text_embedding(state: dict[str, torch.Tensor], folder: Path, ids: list[int]) -> torch.Tensor:
    """One text's embedding: DistilBERT from ``folder`` with the checkpoint's weights, then the
    head written out (post-norm layers, masked mean) -> (D,) unit vector."""
    from transformers import DistilBertModel

    bert = DistilBertModel.from_pretrained(str(folder)).eval()
    prefix = "text_encoder.pretrained_text_encoder."
    bert.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    with torch.no_grad():
        hidden = bert(input_ids=torch.tensor([ids])).last_hidden_state[0]  # (L, W)
        x = _linear(F.relu(hidden), state, "text_encoder.projection.1")
        x = x + state["text_encoder.positional_encoding.pe"][: len(ids), 0]
        width = x.shape[1]
        for i in range(LAYERS):
            p = f"text_encoder.transformer_encoder.layers.{i}"
            q, k, v = (x @ state[f"{p}.self_attn.in_proj_weight"].T + state[f"{p}.self_attn.in_proj_bias"]).chunk(3, -1)
            split = [t.reshape(len(ids), HEADS, width // HEADS).transpose(0, 1) for t in (q, k, v)]
            attention = torch.softmax(split[0] @ split[1].transpose(1, 2) / math.sqrt(width // HEADS), dim=-1)
            heads = (attention @ split[2]).transpose(0, 1).reshape(len(ids), width)
            x = _layer_norm(x + _linear(heads, state, f"{p}.self_attn.out_proj"), state, f"{p}.norm1")
            x = _layer_norm(x + _linear(F.gelu(_linear(x, state, f"{p}.linear1")), state, f"{p}.linear2"), state,
                            f"{p}.norm2")  # fmt: skip
        pooled = x.mean(dim=0)
    return pooled / pooled.norm()
