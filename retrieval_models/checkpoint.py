"""Evaluator files: ``<name>.safetensors`` (weights only) + ``<name>.json`` (the card).

The card holds everything needed to rebuild the network (kind, architecture, text model), the
training record (data name/version/split hashes, settings, seed, time), the val and test metrics,
and the SHA-256 of the weights file. The frozen word-embedding table is not stored: it is read from
the text model named in the card and checked against the card's ``table_sha256``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from bench.data.manifest import write_json_atomic
from bench.errors import CheckpointError
from bench.hashing import sha256_file
from retrieval_models.encoders import ArchConfig
from retrieval_models.evaluator import Evaluator
from retrieval_models.model import KINDS, RetrievalModel
from retrieval_models.pinned import EVALUATORS, SHA256_PATTERN
from retrieval_models.posescript import NETWORK as POSESCRIPT_NETWORK
from retrieval_models.word_embeddings import TextModelSpec, WordEmbeddings, load_word_embeddings

logger = logging.getLogger(__name__)

__all__ = ["save_evaluator", "load_evaluator", "find_checkpoint", "read_card", "CARD_FORMAT"]

CARD_FORMAT = "posebench-evaluator/1"
_FILLED = ("format", "name", "kind", "architecture", "text_model", "skeleton_rest_sha256", "sha256")


def skeleton_fingerprint(arch: ArchConfig) -> str | None:
    """SHA-256 of the built-in skeleton's rest joints when the pose input uses its joints, else None."""
    if arch.pose_features != "rot6d+joints":
        return None
    from bench.body.anthropometry import rest_joints_sha256, skeleton_rest_joints

    return rest_joints_sha256(skeleton_rest_joints())


def save_evaluator(model: RetrievalModel, words: WordEmbeddings, path: Path, card: dict[str, Any]) -> str:
    """Write the weights and the card; returns the weights' SHA-256 (also stored in the card).

    Args:
        model: the trained model (its frozen word table is not written).
        words: the text front end it was trained with (recorded in the card).
        path: the ``.safetensors`` file to write; the card goes next to it as ``.json``.
        card: training record and metrics; format, kind, architecture, text model and sha256 are
            filled in here.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: value.detach().contiguous().clone() for name, value in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    # one metadata key only: safetensors writes a metadata map in hash order, which would make the
    # bytes (and so the SHA-256) of identical weights differ between saves
    save_file(tensors, str(tmp), metadata={"posebench": f"{CARD_FORMAT} {model.kind}"})
    os.replace(tmp, path)
    sha = sha256_file(path)
    full = {
        "format": CARD_FORMAT,
        "name": path.stem,
        "kind": model.kind,
        "architecture": model.arch.to_dict(),
        "text_model": words.spec.to_dict(),
        "skeleton_rest_sha256": skeleton_fingerprint(model.arch),
        **{k: v for k, v in card.items() if k not in _FILLED},
        "sha256": sha,
    }
    write_json_atomic(path.with_suffix(".json"), full)
    return sha


def read_card(path: Path) -> dict[str, Any]:
    """The card of a checkpoint (``path`` is the ``.safetensors`` or the ``.json`` file)."""
    card_path = Path(path).with_suffix(".json")
    if not card_path.is_file():
        raise CheckpointError("missing evaluator card (the .json next to the weights)", file=card_path)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"unreadable evaluator card ({exc})", file=card_path) from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise CheckpointError(f"not a {CARD_FORMAT} card", file=card_path, field="format")
    if card.get("kind") not in KINDS:
        raise CheckpointError(f"unknown kind {card.get('kind')!r}", file=card_path, field="kind")
    return card


def find_checkpoint(name: str, search_dirs: Sequence[Path]) -> tuple[Path | None, str]:
    """(the first ``<file>`` found in ``search_dirs`` or None, the file name looked for).

    ``name`` is a pinned id, a checkpoint stem, or a path to a ``.safetensors`` file.
    """
    if name.endswith(".safetensors") and Path(name).expanduser().is_file():
        return Path(name).expanduser(), Path(name).name
    filename = EVALUATORS.get(name).filename if name in EVALUATORS else f"{name}.safetensors"
    for folder in search_dirs:
        candidate = Path(folder).expanduser() / filename
        if candidate.is_file():
            return candidate, filename
    return None, filename


def _words_for(spec: TextModelSpec, text_model: Path | None, card_path: Path) -> WordEmbeddings:
    if spec.is_default:
        words = load_word_embeddings(None)
    elif text_model is None:
        raise CheckpointError(
            f"this evaluator was trained with word embeddings from a local folder ({spec.source}, {spec.dim}-d); "
            "configure it as text_model (BENCH_TEXT_MODEL)",
            file=card_path,
            field="text_model",
        )
    else:
        words = load_word_embeddings(text_model)
    if (words.spec.table_sha256, words.spec.vocab_sha256) != (spec.table_sha256, spec.vocab_sha256):
        raise CheckpointError(
            f"the word embeddings of {words.spec.source} differ from the ones it was trained with ({spec.source})",
            file=card_path,
            field="text_model",
        )
    return words


def load_evaluator(
    name: str,
    search_dirs: Sequence[Path],
    expected_sha256: str | None = None,
    *,
    text_model: Path | None = None,
) -> Evaluator:
    """Load an evaluator, verifying its SHA-256.

    Args:
        name: a pinned id (``posetext-synth-v1``; its file and pinned hash come from
            ``retrieval_models.pinned``), the stem of a checkpoint in ``search_dirs``, or a path to
            a ``.safetensors`` file.
        search_dirs: folders searched in order (e.g. ``[config.shipped_evaluators_dir,
            config.user_evaluators_dir]``).
        expected_sha256: the hash the weights file must have; defaults to the pinned hash for a
            pinned id. The card's own ``sha256`` must always match the file.
        text_model: the local DistilBERT-compatible folder, needed only for evaluators trained
            with one (``BenchConfig.text_model``).

    Raises:
        CheckpointError: missing, corrupt or mismatching files, or a pinned id without a pinned hash.
    """
    pinned = EVALUATORS.get(name) if name in EVALUATORS else None
    path, filename = find_checkpoint(name, search_dirs)
    if path is None:
        where = ", ".join(str(d) for d in search_dirs) or "no folders"
        hint = f"; train it with `bench evaluators train {pinned.kind} --data {pinned.data}`" if pinned else ""
        raise CheckpointError(f"evaluator {name!r} is missing: no {filename} in {where}{hint}", file=filename)
    expected = expected_sha256 or (pinned.sha256 if pinned else None)
    if pinned is not None and expected is None:
        raise CheckpointError(
            f"pinned evaluator {name!r} has no pinned SHA-256 yet; pass expected_sha256 or pin it in "
            "retrieval_models/pinned.py",
            file=path,
        )
    if expected is not None and not SHA256_PATTERN.fullmatch(expected):
        raise CheckpointError(f"expected_sha256 {expected!r} is not 64 lower-case hex digits", field="sha256")
    sha = sha256_file(path)
    if expected is not None and sha != expected:
        raise CheckpointError(f"SHA-256 mismatch: expected {expected}, file has {sha}", file=path, field="sha256")
    card = read_card(path)
    card_path = path.with_suffix(".json")
    if card.get("sha256") != sha:
        raise CheckpointError(f"card records SHA-256 {card.get('sha256')!r} but the file has {sha}", file=card_path)
    if card.get("network") == POSESCRIPT_NETWORK:
        from retrieval_models.posescript.release import load_imported

        evaluator = load_imported(path, card, text_model)
        logger.info("loaded imported evaluator %s (%s, release sha256 %s)", evaluator.id, card["kind"],
                    evaluator.sha256[:12])  # fmt: skip
        return evaluator
    try:
        arch = ArchConfig.from_dict(dict(card["architecture"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"bad architecture entry ({exc})", file=card_path, field="architecture") from None
    if card.get("skeleton_rest_sha256") != skeleton_fingerprint(arch):
        raise CheckpointError("the built-in skeleton's rest joints differ from the ones this evaluator was trained "
                              "with (its pose input uses skeleton joint positions)", file=card_path,
                              field="skeleton_rest_sha256")  # fmt: skip
    words = _words_for(TextModelSpec.from_dict(card.get("text_model") or {}, file=card_path), text_model, card_path)
    model = _read_weights(path, card["kind"], arch, words)
    evaluator_id = pinned.id if pinned else path.stem
    logger.info("loaded evaluator %s (%s, sha256 %s)", evaluator_id, card["kind"], sha[:12])
    return Evaluator(model, words, id=evaluator_id, sha256=sha, card=card)


def _read_weights(path: Path, kind: str, arch: ArchConfig, words: WordEmbeddings) -> RetrievalModel:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"corrupt safetensors file ({exc})", file=path) from None
    with torch.device("meta"):
        model = RetrievalModel(kind, arch, torch.empty(words.table.shape, dtype=torch.float32))
    for key, expected in model.state_dict().items():
        if key in tensors and tensors[key].dtype != expected.dtype:
            raise CheckpointError(f"tensor {key!r} is {tensors[key].dtype}, expected {expected.dtype}", file=path)
    try:
        model.load_state_dict(tensors, strict=True, assign=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(f"weights do not fit the card's architecture ({' '.join(first[:3])})", file=path) from None
    model.text.word_table = words.table
    return model.eval()
