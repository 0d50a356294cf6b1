"""Assembling a UniPose model from its parts, and its checkpoint files.

A checkpoint is ``<name>.safetensors`` (the weights UniPose owns: the whole backbone when trained
from scratch, else the LoRA adapters, embeddings and lm_head; the visual projector) and
``<name>.json``, its card: format, training configuration, vocabulary layout, the text vocabulary
(scratch backbones), the pose tokenizer's file name and SHA-256, the training record and the
weights' SHA-256 (checked on load). The pose tokenizer and the visual encoders are separate,
pinned files looked up in the model folders.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.data import Dataset
from bench.data.manifest import write_json_atomic
from bench.errors import CheckpointError, ConfigError, NotFoundError
from bench.hashing import sha256_file
from bench.models.unipose.checkpoint_files import read_card as read_checkpoint_card
from bench.models.unipose.llm import (
    UniPoseLM, VocabLayout, build_scratch_backbone, extend_tokenizer, load_pretrained_backbone, resize_embeddings,
)  # fmt: skip
from bench.models.unipose.lora import apply_lora
from bench.models.unipose.serialization import SequenceCodec
from bench.models.unipose.text_vocab import wordpiece_from_vocab
from bench.models.unipose.tokenizer import PoseTokenizer
from bench.models.unipose.train_config import UniPoseTrainConfig

logger = logging.getLogger(__name__)

__all__ = ["CARD_FORMAT", "UniPoseBundle", "assemble", "save_checkpoint", "load_unipose", "find_model_file",
           "load_pose_tokenizer", "dataset_record"]  # fmt: skip

CARD_FORMAT = "posebench-unipose-llm/1"


@dataclass
class UniPoseBundle:
    """A UniPose model with everything needed to feed it."""

    config: UniPoseTrainConfig
    model: UniPoseLM
    text_tokenizer: Any
    """The extended text tokenizer."""
    pose_tokenizer: PoseTokenizer
    text_vocab: list[str] | None
    """The counted WordPiece vocabulary of a scratch backbone (None for a pretrained one)."""
    image_tokens: int
    """N, visual tokens per image."""
    card: dict[str, Any] = field(default_factory=dict)
    """The checkpoint card it was loaded from (empty when freshly assembled)."""

    def codec(self) -> SequenceCodec:
        return SequenceCodec(self.text_tokenizer, self.model.layout, self.image_tokens, self.config.mixed,
                             self.config.max_caption_tokens)  # fmt: skip


def find_model_file(name: str, model_dirs: list[Path]) -> Path:
    """``name`` itself when it is an existing path, else the first ``<dir>/unipose/<name>`` or ``<dir>/<name>``."""
    direct = Path(name).expanduser()
    if direct.is_file():
        return direct
    for folder in model_dirs:
        for candidate in (Path(folder) / "unipose" / name, Path(folder) / name):
            if candidate.is_file():
                return candidate
    searched = ", ".join(str(Path(d) / "unipose") for d in model_dirs) or "nowhere"
    raise NotFoundError(f"model file {name!r} not found (searched {searched})")


def load_pose_tokenizer(path: Path, expected_sha256: str | None = None) -> PoseTokenizer:
    """The frozen pose tokenizer (eval mode, no gradients)."""
    tokenizer = PoseTokenizer.from_checkpoint(path, expected_sha256=expected_sha256)
    for param in tokenizer.parameters():
        param.requires_grad_(False)
    return tokenizer


def _build_visual(config: UniPoseTrainConfig, hidden_size: int, model_dirs: list[Path]) -> torch.nn.Module:
    from bench.models.unipose.vision import VisualProcessor

    return VisualProcessor.build(config.visual, hidden_size, generic_only=config.generic_only, model_dirs=model_dirs,
                                 seed=config.seed)  # fmt: skip


def assemble(config: UniPoseTrainConfig, pose_tokenizer: PoseTokenizer, text_vocab: list[str] | None,
             model_dirs: list[Path]) -> UniPoseBundle:  # fmt: skip
    """A freshly initialised UniPose (weights drawn from a generator seeded with ``config.seed``).

    Scratch backbones use the WordPiece tokenizer of ``text_vocab``; pretrained ones their own.
    """
    generator = torch.Generator().manual_seed(config.seed)
    if config.backbone.pretrained is None:
        if text_vocab is None:
            raise ConfigError("a scratch backbone needs a text vocabulary", field="text_vocab")
        text_tokenizer = wordpiece_from_vocab(text_vocab)
        lm = build_scratch_backbone(config.backbone, len(text_tokenizer), generator)
    else:
        lm, text_tokenizer = load_pretrained_backbone(config.backbone.pretrained)
    layout = extend_tokenizer(text_tokenizer, pose_tokenizer.num_codes, pose_tokenizer.tokens_per_pose)
    resize_embeddings(lm, layout, generator)
    if config.lora is not None:
        apply_lora(lm.get_decoder(), config.lora, generator)
    hidden_size = lm.get_input_embeddings().weight.shape[1]
    visual = _build_visual(config, hidden_size, model_dirs)
    model = UniPoseLM(lm, layout, visual, mixed=config.mixed, code_slots=config.code_slots, generator=generator)
    return UniPoseBundle(config, model, text_tokenizer, pose_tokenizer, text_vocab, int(visual.num_tokens))


def _owned_keys(bundle: UniPoseBundle) -> list[str]:
    """State-dict keys the checkpoint stores (see the module docstring)."""
    model = bundle.model
    keys = []
    for name in model.state_dict():
        if name.startswith("lm."):
            if bundle.config.backbone.pretrained is None or ".lora_" in name:
                keys.append(name)
        elif name.startswith(("visual.projector.", "code_slots.")):
            keys.append(name)
    if bundle.config.backbone.pretrained is not None:
        keys += [f"lm.{n}" for n, p in model.lm.named_parameters() if p is model.lm.get_input_embeddings().weight
                 or p is model.lm.get_output_embeddings().weight]  # fmt: skip
    return sorted(set(keys))


def _visual_record(bundle: UniPoseBundle) -> dict[str, Any]:
    """Which visual encoders the projector was trained on (their checkpoint hashes)."""
    visual = bundle.model.visual
    return {"encoders": visual.config.encoders,
            "generic_sha256": getattr(visual.generic, "card", {}).get("sha256"),
            "pose_sha256": getattr(visual.pose, "card", {}).get("sha256") if visual.pose is not None else None}  # fmt: skip


def save_checkpoint(bundle: UniPoseBundle, path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write the weights and the card; returns the card (with the weights' SHA-256)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = bundle.model.state_dict()
    tensors = {k: state[k].detach().cpu().contiguous().clone() for k in _owned_keys(bundle)}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": CARD_FORMAT})
    os.replace(tmp, path)
    tokenizer_card = bundle.pose_tokenizer.card
    card = {
        "format": CARD_FORMAT, "config": bundle.config.to_dict(), "vocab": bundle.model.layout.to_dict(),
        "text_vocab": bundle.text_vocab, "image_tokens": bundle.image_tokens, "visual": _visual_record(bundle),
        "pose_tokenizer": {"file": Path(bundle.config.pose_tokenizer).name, "sha256": tokenizer_card.get("sha256"),
                           "tokens_per_pose": bundle.pose_tokenizer.tokens_per_pose},
        **record, "sha256": sha256_file(path),
    }  # fmt: skip
    write_json_atomic(path.with_suffix(".json"), card)
    return card


def read_card(path: Path) -> dict[str, Any]:
    """The UniPose LLM card next to ``path``; CheckpointError when missing, unreadable or of another format."""
    return read_checkpoint_card(path, CARD_FORMAT)


def load_unipose(path: Path, model_dirs: list[Path], device: str = "cpu") -> UniPoseBundle:
    """A trained UniPose in eval mode, checked against its card.

    Raises:
        CheckpointError: missing or corrupt files, a SHA-256 that differs from the card's, a pose
            tokenizer that differs from the one trained with, or weights that do not fit.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError("UniPose checkpoint not found", file=path)
    card = read_card(path)
    if card.get("sha256") != sha256_file(path):
        raise CheckpointError("the weights' SHA-256 differs from the card's", file=path, field="sha256")
    try:
        config = UniPoseTrainConfig.from_dict(card["config"])
        tokenizer_entry = card["pose_tokenizer"]
    except (KeyError, ConfigError) as exc:
        raise CheckpointError(f"bad card ({exc})", file=path.with_suffix(".json"), field="config") from None
    pose_tokenizer = load_pose_tokenizer(find_model_file(tokenizer_entry["file"], model_dirs), tokenizer_entry["sha256"])
    bundle = assemble(config, pose_tokenizer, card.get("text_vocab"), model_dirs)
    if bundle.model.layout != VocabLayout.from_dict(card["vocab"]):
        raise CheckpointError("the rebuilt vocabulary layout differs from the card's", file=path, field="vocab")
    if card.get("visual") != _visual_record(bundle):
        raise CheckpointError("the visual encoders found differ from those the model was trained with",
                              file=path.with_suffix(".json"), field="visual")  # fmt: skip
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"corrupt safetensors file ({exc})", file=path) from None
    expected = set(_owned_keys(bundle))
    if set(tensors) != expected:
        raise CheckpointError(f"weights hold {len(tensors)} tensors, the config needs {len(expected)}", file=path)
    try:
        bundle.model.load_state_dict(tensors, strict=False)
    except RuntimeError as exc:
        raise CheckpointError(f"weights do not fit the card's config ({' '.join(str(exc).split())[:200]})", file=path) from None
    bundle.model.to(device).eval()
    bundle.card = card
    logger.info("loaded UniPose %s (%s)", path.name, "mixed" if config.mixed else "causal")
    return bundle


def dataset_record(dataset: Dataset, split: str, bundle: UniPoseBundle) -> dict[str, Any]:
    """The training-data and size part of a card."""
    visual = bundle.model.visual
    return {"data": {"name": dataset.name, "version": dataset.version, "variant": dataset.manifest.get("variant"),
                     "split": split, "split_hash": dataset.split_hash(split)},
            "parameters": {"llm": sum(p.numel() for p in bundle.model.lm.parameters()),
                           "visual": sum(p.numel() for p in visual.parameters()) if visual is not None else 0}}  # fmt: skip
