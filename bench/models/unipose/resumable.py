"""Resuming the tokenizer and generic-encoder trainings from their per-epoch snapshots.

A snapshot (``retrieval_models.train_state``: safetensors + JSON, never pickle) holds the model, the
optimiser, both generators and the trainer's JSON progress record. A record names what defines the
run (``keys``: configs, seed, data identity); resuming a folder whose snapshot has other values for
them raises CheckpointError instead of silently mixing two runs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.errors import CheckpointError

logger = logging.getLogger(__name__)

__all__ = ["resume_run", "save_epoch", "jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def resume_run(
    work_dir: Path,
    record: dict[str, Any],
    keys: tuple[str, ...],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    gen: torch.Generator,
) -> dict[str, Any]:
    """Load the snapshot in ``work_dir`` into the model, optimiser and generators when there is one.

    Returns the snapshot's progress record, or ``record`` (a fresh run's, with ``serial`` 0) when
    the folder holds none.
    """
    from retrieval_models.train_state import load_snapshot

    snapshot = load_snapshot(work_dir)
    if snapshot is None:
        return record
    for key in keys:
        if snapshot.progress.get(key) != jsonable(record[key]):
            raise CheckpointError(f"an interrupted run with a different {key} is in this folder; restart it or "
                                  "choose another output", file=work_dir, field=key)  # fmt: skip
    model.load_state_dict(snapshot.model, strict=True)
    if snapshot.optimizer is not None:
        optimizer.load_state_dict(snapshot.optimizer)
    rng.bit_generator.state = snapshot.numpy_rng
    gen.set_state(snapshot.torch_rng)
    logger.info("resuming from %s at epoch %d", work_dir, snapshot.progress.get("epoch", 0))
    return snapshot.progress


def save_epoch(
    work_dir: Path,
    record: dict[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    gen: torch.Generator,
) -> None:
    """Bump ``record["serial"]`` and write a consistent snapshot of the run into ``work_dir``."""
    from retrieval_models.train_state import save_snapshot

    record["serial"] = int(record.get("serial", 0)) + 1
    save_snapshot(work_dir, progress=record, model=model, optimizer=optimizer, scheduler=None, numpy_rng=rng, torch_rng=gen)
