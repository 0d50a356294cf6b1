"""Checkpoint files of the UniPose components: ``<name>.safetensors`` (tensors) + ``<name>.json`` (card).

The card is JSON: a ``format`` string naming the component and its version, whatever the component
records (config, training record, metrics), and the SHA-256 of the weights file, which
:func:`read_checkpoint` checks (and, when given, against a pinned hash). Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from bench.data.manifest import write_json_atomic
from bench.hashing import sha256_file
from bench.errors import CheckpointError

__all__ = ["write_checkpoint", "read_checkpoint", "read_card"]


def write_checkpoint(
    path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], card: dict[str, Any], fmt: str
) -> dict[str, Any]:
    """Write the tensors (through a temporary name) and the card; returns the full card.

    ``card`` must not hold ``format`` or ``sha256``: they are set here.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    cpu = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    save_file(cpu, str(tmp), metadata={"format": fmt})
    os.replace(tmp, path)
    full = {"format": fmt, **{k: v for k, v in card.items() if k not in ("format", "sha256")}, "sha256": sha256_file(path)}
    write_json_atomic(path.with_suffix(".json"), full)
    return full


def read_card(path: str | os.PathLike[str], fmt: str) -> dict[str, Any]:
    """The card next to ``path`` (the ``.safetensors`` or the ``.json``); CheckpointError unless its format is ``fmt``."""
    card_path = Path(path).with_suffix(".json")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError("missing checkpoint card (the .json next to the weights)", file=card_path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"unreadable checkpoint card ({exc})", file=card_path) from None
    if not isinstance(card, dict) or card.get("format") != fmt:
        raise CheckpointError(f"not a {fmt} card", file=card_path, field="format")
    return card


def read_checkpoint(
    path: str | os.PathLike[str], fmt: str, expected_sha256: str | None = None
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, card) of a checkpoint, after checking the file's SHA-256 against the card and ``expected_sha256``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError("checkpoint not found", file=path)
    card = read_card(path, fmt)
    sha = sha256_file(path)
    if card.get("sha256") != sha:
        raise CheckpointError(f"card records SHA-256 {card.get('sha256')!r} but the file has {sha}", file=path, field="sha256")
    if expected_sha256 is not None and sha != expected_sha256:
        raise CheckpointError(f"SHA-256 mismatch: expected {expected_sha256}, file has {sha}", file=path, field="sha256")
    try:
        return load_file(str(path)), card
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"corrupt safetensors file ({exc})", file=path) from None
