"""Resumable training state: safetensors for tensors, JSON for the rest, never pickle.

A state folder holds ``state.json`` and the tensor file it names, ``state-<n>.safetensors``
(model weights ``model.*``, optimiser tensors ``optim.<param>.<name>``, the torch generator's
state ``rng.torch``). The tensors are written first under a new name, then ``state.json`` is
replaced atomically, then older tensor files are removed, so an interruption at any point leaves
a complete, consistent state behind. ``state.json`` carries the trainer's progress record, the
optimiser's param groups, the LR scheduler's state and the numpy generator's state.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.errors import CheckpointError
from retrieval_models.checkpoint import write_json_atomic

logger = logging.getLogger(__name__)

__all__ = ["TrainingSnapshot", "save_snapshot", "load_snapshot", "save_weights", "load_weights"]

STATE_FORMAT = "posebench-evaluator-training/1"


@dataclass
class TrainingSnapshot:
    """Everything a resumed run needs, as loaded from disk."""

    progress: dict[str, Any]
    """The trainer's record (phase, epoch, best scores, history, elapsed time, config)."""
    model: dict[str, torch.Tensor]
    """Model state dict (without the frozen word table)."""
    optimizer: dict[str, Any] | None
    """Optimiser state dict, or None at a phase boundary (the next phase starts a fresh one)."""
    scheduler: dict[str, Any] | None
    """LR scheduler state dict, or None with ``optimizer``."""
    numpy_rng: dict[str, Any]
    """``np.random.Generator.bit_generator.state``."""
    torch_rng: torch.Tensor
    """``torch.Generator.get_state()``: uint8 (S,)."""


def save_weights(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """A plain safetensors file of ``tensors``, written through a temporary name."""
    from safetensors.torch import save_file

    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file; CheckpointError when missing or corrupt."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"missing or corrupt training checkpoint ({exc})", file=path) from None


def save_snapshot(
    folder: Path,
    *,
    progress: dict[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    numpy_rng: np.random.Generator,
    torch_rng: torch.Generator,
) -> None:
    """Write one consistent snapshot into ``folder`` (see the module docstring).

    ``progress`` must be JSON-serialisable and hold an int ``"serial"`` that the caller increases
    with every snapshot (it names the tensor file ``state-<serial>.safetensors``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    optim_json = None
    if optimizer is not None:
        state = optimizer.state_dict()
        extras: dict[str, dict[str, Any]] = {}
        for index, values in state["state"].items():
            for name, value in values.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optim.{index}.{name}"] = value
                else:
                    extras.setdefault(str(index), {})[name] = value
        optim_json = {"param_groups": state["param_groups"], "extras": extras}
    tensors["rng.torch"] = torch_rng.get_state()
    serial = int(progress["serial"])
    tensor_name = f"state-{serial}.safetensors"
    save_weights(folder / tensor_name, tensors)
    write_json_atomic(
        folder / "state.json",
        {
            "format": STATE_FORMAT,
            "tensors": tensor_name,
            "progress": progress,
            "optimizer": optim_json,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "numpy_rng": numpy_rng.bit_generator.state,
        },
    )
    for old in folder.glob("state-*.safetensors"):
        if old.name != tensor_name:
            old.unlink()


def load_snapshot(folder: Path) -> TrainingSnapshot | None:
    """The snapshot in ``folder``, or None when there is none; CheckpointError when it is damaged."""
    state_path = folder / "state.json"
    if not state_path.is_file():
        return None
    try:
        data = json.loads(state_path.read_text(encoding="utf-8"))
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"format is {data.get('format')!r}")
        tensor_name = str(data["tensors"])
        progress = dict(data["progress"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"unreadable training state ({exc})", file=state_path) from None
    if Path(tensor_name).name != tensor_name:
        raise CheckpointError("tensor file name must not contain a path", file=state_path, field="tensors")
    tensors = load_weights(folder / tensor_name)
    model = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    optimizer = None
    if data.get("optimizer") is not None:
        per_param: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                per_param.setdefault(int(index), {})[name] = value
        for index, values in data["optimizer"].get("extras", {}).items():
            per_param.setdefault(int(index), {}).update(values)
        groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else dict(g) for g in data["optimizer"]["param_groups"]]
        optimizer = {"state": per_param, "param_groups": groups}
    if "rng.torch" not in tensors:
        raise CheckpointError("training state lacks the torch generator state", file=folder / tensor_name)
    return TrainingSnapshot(
        progress=progress,
        model=model,
        optimizer=optimizer,
        scheduler=data.get("scheduler"),
        numpy_rng=data["numpy_rng"],
        torch_rng=tensors["rng.torch"],
    )
