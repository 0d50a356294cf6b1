"""Import a released PoseScript/PoseFix retrieval checkpoint; load the imported evaluator.

A release checkpoint (naver/posescript ``trainer.py``: ``torch.save({"epoch", "model", "optimizer",
"scheduler", "args"})``) is read with ``torch.load(weights_only=True)``; the only non-tensor type
allowed besides the defaults is ``argparse.Namespace`` (its ``args``). Anything else in the pickle
stops the import with the name of the type: the file is never fully unpickled.

The import writes ``<name>.safetensors`` (the network's tensors under PoseBench's names, see
:data:`_RENAMES`) and ``<name>.json`` (an evaluator card with ``"network": "posescript"``, the
sizes, the text-model folder's fingerprint and the release file's name, SHA-256, epoch and args).
An imported evaluator's ``sha256`` (recorded with every score) is the **release file's** SHA-256;
the converted file is checked against the card's own ``sha256`` on every load.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

from bench.data.manifest import write_json_atomic
from bench.errors import CheckpointError
from bench.hashing import sha256_file
from retrieval_models.evaluator import Evaluator
from retrieval_models.posescript import NETWORK
from retrieval_models.posescript.network import PoseScriptArch, PoseScriptModel
from retrieval_models.word_embeddings import TextModelSpec, WordEmbeddings, load_word_embeddings

logger = logging.getLogger(__name__)

__all__ = ["import_release", "load_imported", "read_release", "read_hand_pose", "NETWORK"]

SUPPORTED_TEXT_ENCODER = "distilbertUncased"
SUPPORTED_TOPPING = "avgp"

# release key prefix -> PoseBench key prefix (``items.`` is the pose encoder or the pair encoder)
_POSE_LAYERS = {"1": "input_norm", "2": "fc1", "4": "hidden_norm", "6": "fc2", "7": "fc3", "8": "fc4", "10": "fc5"}
_PAIR_LAYERS = {"1": "fuse1", "3": "fuse2", "5": "fuse3"}
_RENAMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^text_encoder\.pretrained_text_encoder\."), "text.distilbert."),
    (re.compile(r"^text_encoder\.projection\.1\."), "text.proj."),
    (re.compile(r"^text_encoder\.positional_encoding\.pe$"), "text.positions"),
    (re.compile(r"^text_encoder\.transformer_encoder\."), "text.transformer."),
    (re.compile(r"^loss_weight$"), "scale"),
)
_IGNORED = re.compile(r"^text_encoder\.pretrained_text_encoder\.embeddings\.position_ids$")  # a buffer of old transformers


def _rename(key: str, kind: str) -> str | None:
    """PoseBench's name of release tensor ``key`` (None: not a PoseBench tensor)."""
    if _IGNORED.match(key):
        return None
    pose_prefix = "items." if kind == "pose-text" else "items.pose."
    if match := re.match(r"^pose_encoder\.encoder\.(\d+)\.(.+)$", key):
        layer = _POSE_LAYERS.get(match[1])
        return None if layer is None else f"{pose_prefix}{layer}.{match[2]}"
    if match := re.match(r"^pose_mlp\.(\d+)\.(.+)$", key):
        layer = _PAIR_LAYERS.get(match[1])
        return None if layer is None else f"items.{layer}.{match[2]}"
    for pattern, replacement in _RENAMES:
        if pattern.match(key):
            return pattern.sub(replacement, key)
    return None


def read_release(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], int | None]:
    """(state dict, args as a dict, epoch) of a release checkpoint, read without a full unpickle.

    Raises:
        CheckpointError: missing or unreadable file, a pickle that needs a type outside the
            allow-list, or a file that is not a PoseScript training checkpoint.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError("no such checkpoint file", file=path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ... for bad files
        # torch's own first line suggests weights_only=False: never repeat that advice
        lines = [line for line in str(exc).splitlines()
                 if line.strip() and not line.startswith(("Weights only load failed", "Check the documentation",
                                                          "Please file an issue"))]  # fmt: skip
        first = f"not a torch checkpoint ({lines[0].strip() if lines else type(exc).__name__})"
        unsupported = re.search(r"unsupported global:? (?:GLOBAL )?([\w.]+)", str(exc), flags=re.IGNORECASE)
        if unsupported:
            first = (f"it needs {unsupported[1]}, which is not on PoseBench's allow-list (argparse.Namespace); "
                     "the file is not unpickled")  # fmt: skip
        raise CheckpointError(f"cannot read the checkpoint with torch.load(weights_only=True): {first}",
                              file=path) from None  # fmt: skip
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict) or "args" not in ckpt:
        raise CheckpointError("not a PoseScript training checkpoint (expected a dict with 'model' and 'args')",
                              file=path)  # fmt: skip
    args = ckpt["args"]
    args = vars(args) if isinstance(args, argparse.Namespace) else args
    if not isinstance(args, dict):
        raise CheckpointError(f"'args' is a {type(args).__name__}, expected an argparse.Namespace", file=path,
                              field="args")  # fmt: skip
    state = ckpt["model"]
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"'model' entry {bad[0]!r} is not a named tensor", file=path, field="model")
    epoch = ckpt.get("epoch")
    return state, args, epoch if isinstance(epoch, int) else None


def _arch_from_args(args: dict[str, Any], distilbert: dict[str, Any], path: Path) -> PoseScriptArch:
    encoder = args.get("text_encoder_name")
    if encoder != SUPPORTED_TEXT_ENCODER:
        raise CheckpointError(f"text encoder {encoder!r} is not supported; PoseBench imports the released "
                              f"{SUPPORTED_TEXT_ENCODER!r} models", file=path, field="args.text_encoder_name")  # fmt: skip
    topping = args.get("transformer_topping")
    if topping != SUPPORTED_TOPPING:
        raise CheckpointError(f"transformer topping {topping!r} is not supported (only {SUPPORTED_TOPPING!r})",
                              file=path, field="args.transformer_topping")  # fmt: skip
    latent = args.get("latentD")
    joints = args.get("num_body_joints", 52)  # the peer's default when the option is absent
    for name, value in (("latentD", latent), ("num_body_joints", joints)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CheckpointError(f"expected a positive integer, got {value!r}", file=path, field=f"args.{name}")
    return PoseScriptArch(latent_dim=latent, num_body_joints=joints, distilbert=distilbert)


def _distilbert_config(folder: Path) -> dict[str, Any]:
    from transformers import DistilBertConfig

    if not (folder / "config.json").is_file():
        raise CheckpointError("missing config.json (the DistilBERT configuration)", file=folder / "config.json")
    try:
        config = DistilBertConfig.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"unreadable DistilBERT configuration ({exc})", file=folder / "config.json") from None
    keys = ("vocab_size", "max_position_embeddings", "sinusoidal_pos_embds", "n_layers", "n_heads", "dim",
            "hidden_dim", "dropout", "attention_dropout", "activation", "pad_token_id")  # fmt: skip
    return {k: getattr(config, k) for k in keys}


def _build(kind: str, arch: PoseScriptArch, tensors: dict[str, torch.Tensor], file: Path) -> PoseScriptModel:
    """The network with ``tensors`` (PoseBench names) loaded strictly; ``file`` names errors.

    Built on the CPU, not the meta device: DistilBERT keeps non-persistent buffers that loading
    would leave unset."""
    model = PoseScriptModel(kind, arch)
    expected = model.state_dict()
    for key, value in tensors.items():
        if key in expected and (value.dtype != expected[key].dtype or value.shape != expected[key].shape):
            raise CheckpointError(f"tensor {key!r} is {value.dtype} {tuple(value.shape)}, expected "
                                  f"{expected[key].dtype} {tuple(expected[key].shape)}", file=file)  # fmt: skip
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise CheckpointError(f"the tensors do not fit the {kind} network ({detail})", file=file)
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def _check_word_table(state: dict[str, torch.Tensor], words: WordEmbeddings, path: Path) -> None:
    key = "text_encoder.pretrained_text_encoder.embeddings.word_embeddings.weight"
    if key not in state:
        raise CheckpointError(f"no {key!r} in the checkpoint", file=path, field="model")
    if state[key].shape != words.table.shape or not torch.equal(state[key].float(), words.table):
        raise CheckpointError("the checkpoint's DistilBERT word embeddings differ from the text-model folder's: "
                              "pass the distilbert-base-uncased folder it was trained with", file=path,
                              field="text_model")  # fmt: skip


def read_hand_pose(path: Path) -> list[float]:
    """The values of a hand-pose file (``.npy``, or a tensor saved by ``torch.save``, read with
    ``weights_only=True``), flattened, as floats."""
    import numpy as np

    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError("no such hand-pose file", file=path, field="hand_pose")
    try:
        if path.suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        else:
            values = torch.load(path, map_location="cpu", weights_only=True)
            values = values.detach().numpy() if isinstance(values, torch.Tensor) else None
    except Exception as exc:  # numpy and torch raise assorted types for bad files
        raise CheckpointError(f"unreadable hand pose ({type(exc).__name__})", file=path, field="hand_pose") from None
    if values is None or not np.issubdtype(np.asarray(values).dtype, np.floating):
        raise CheckpointError("a hand pose must be one float array or tensor", file=path, field="hand_pose")
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(flat).all():
        raise CheckpointError("non-finite values in the hand pose", file=path, field="hand_pose")
    return [float(v) for v in flat]


def import_release(checkpoint: Path, text_model: Path, out_dir: Path, name: str | None = None, *,
                   hand_pose: Path | None = None) -> Evaluator:  # fmt: skip
    """Convert a released retrieval checkpoint into a PoseBench evaluator under ``out_dir``.

    Args:
        checkpoint: the release's ``checkpoint_best.pth`` (``ret_distilbert_*`` or ``modret_distilbert_*``).
        text_model: the local distilbert-base-uncased folder (``vocab.txt``, ``config.json`` and weights).
        out_dir: where ``<name>.safetensors`` and ``<name>.json`` are written (BENCH_HOME/evaluators).
        name: the evaluator's name; default ``posescript-<posetext|pairtext>-<first 12 hex of the SHA-256>``.
        hand_pose: a file with the axis-angle values of the joints after the 22 body joints (90 for
            52 joints; UniPose's ``default_hand_pose.pt``); default zeros (PoseScript's ``T_POSE``).

    Returns:
        The loaded evaluator. Nothing is written when any check fails.
    """
    from safetensors.torch import save_file

    checkpoint = Path(checkpoint).expanduser()
    state, args, epoch = read_release(checkpoint)
    release_sha = sha256_file(checkpoint)
    kind = "pair-text" if any(k.startswith("pose_mlp.") for k in state) else "pose-text"
    folder = Path(text_model).expanduser()
    words = load_word_embeddings(folder)
    arch = _arch_from_args(args, _distilbert_config(folder), checkpoint)
    if hand_pose is not None:
        arch = dataclasses.replace(arch, hand_pose=read_hand_pose(hand_pose))
    _check_word_table(state, words, checkpoint)
    renamed = {new: value.detach().contiguous().clone() for key, value in state.items()
               if (new := _rename(key, kind)) is not None}  # fmt: skip
    dropped = sorted(key for key in state if _rename(key, kind) is None and not _IGNORED.match(key))
    if dropped:
        raise CheckpointError(f"unknown tensor {dropped[0]!r} for a PoseScript {kind} model", file=checkpoint)
    model = _build(kind, arch, renamed, checkpoint)
    name = name or f"posescript-{kind.replace('-', '')}-{release_sha[:12]}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise CheckpointError(f"evaluator name {name!r} must be letters, digits, '.', '_' or '-'", field="name")
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.safetensors"
    tmp = path.with_name(path.name + ".tmp")
    save_file(renamed, str(tmp), metadata={"posebench": f"{NETWORK} {kind}"})
    sha = sha256_file(tmp)
    card = {
        "format": "posebench-evaluator/1", "name": name, "kind": kind, "network": NETWORK,
        "architecture": arch.to_dict(),
        "text_model": {**words.spec.to_dict(), "folder": str(folder.resolve())},
        "release": {"file": checkpoint.name, "sha256": release_sha, "epoch": epoch,
                    "args": {k: v for k, v in args.items() if isinstance(v, str | int | float | bool | type(None))}},
        "pose_input": {"frame": "canonical y-up root -> AMASS z-up root, Rx(+90 deg) . root",
                       "hands": ({"file": Path(hand_pose).name, "sha256": sha256_file(Path(hand_pose).expanduser())}
                                 if hand_pose is not None else "zeros (PoseScript data.py::T_POSE)")},
        "sha256": sha,
    }  # fmt: skip
    os.replace(tmp, path)
    write_json_atomic(path.with_suffix(".json"), card)
    logger.info("imported %s (%s) from %s as %s", kind, release_sha[:12], checkpoint, path)
    return Evaluator(model, words, id=name, sha256=release_sha, card=card)


def load_imported(path: Path, card: dict[str, Any], text_model: Path | None) -> Evaluator:
    """The evaluator of an imported checkpoint ``path`` (its SHA-256 already checked against ``card``).

    ``text_model``: the configured text-model folder; defaults to the one recorded at import. Its
    vocabulary and word table must be the ones recorded in the card.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    card_path = path.with_suffix(".json")
    spec = TextModelSpec.from_dict(card.get("text_model") or {}, file=card_path)
    folder = text_model or Path((card.get("text_model") or {}).get("folder") or "")
    if not str(folder) or not Path(folder).is_dir():
        raise CheckpointError(f"this evaluator needs its DistilBERT folder ({spec.source}); configure it as "
                              "text_model (BENCH_TEXT_MODEL)", file=card_path, field="text_model")  # fmt: skip
    words = load_word_embeddings(Path(folder))
    if (words.spec.vocab_sha256, words.spec.table_sha256) != (spec.vocab_sha256, spec.table_sha256):
        raise CheckpointError(f"the text model {words.spec.source} differs from the one imported with "
                              f"({spec.source})", file=card_path, field="text_model")  # fmt: skip
    release = card.get("release") or {}
    if not isinstance(release.get("sha256"), str):
        raise CheckpointError("card has no release.sha256", file=card_path, field="release")
    arch = PoseScriptArch.from_dict(dict(card.get("architecture") or {}))
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"corrupt safetensors file ({exc})", file=path) from None
    model = _build(card["kind"], arch, tensors, path)
    return Evaluator(model, words, id=path.stem, sha256=release["sha256"], card=card)
