"""One ``bench run`` over many processes and machines with torch.distributed.

``torchrun --nproc_per_node N -m bench run ...`` (or ``accelerate launch -m bench run ...``, or
``srun torchrun ...`` on a cluster) starts N copies of the command with ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. :func:`world_from_env` reads them; then
every rank answers its strided part of each task (the same :class:`~bench.runner.Shard` as
``--shard RANK/WORLD_SIZE``) on its own device, :func:`gather_runs` hands every rank all the parts,
and rank 0 alone combines them (:func:`bench.runner.combine_runs`), writes the one bundle, scores
it and stores it once. A rank that fails sends its error instead of answers, so every rank stops
together and the run exits with that rank's message; answers already cached are reused by a rerun.

Answers travel as the prediction cache's JSON text (``bench.prediction_cache.encode_answer``), so
what crosses the network is plain data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench.errors import BenchError, ConfigError

logger = logging.getLogger(__name__)

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class World:
    """This process's place in a torch.distributed job."""

    rank: int
    """Global rank, 0 .. size - 1; rank 0 writes, scores and stores."""
    size: int
    """Number of processes over all machines."""
    local_rank: int
    """Rank on this machine: the GPU index a plain ``cuda`` means."""

    @property
    def is_main(self) -> bool:
        return self.rank == 0


class RankFailed(BenchError):
    """A rank of a distributed run failed; carries that rank's exit code and message."""

    def __init__(self, rank: int, exit_code: int, message: str) -> None:
        self.exit_code = exit_code
        super().__init__(f"rank {rank} failed: {message}")


def world_from_env(env: Mapping[str, str] | None = None) -> World | None:
    """The :class:`World` that ``torchrun`` / ``accelerate launch`` describe in the environment;
    None outside such a launcher or when it started one process.

    Raises:
        ConfigError: the variables are present but malformed.
    """
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return None
    try:
        rank, size, local_rank = (int(env.get(name, "0")) for name in _ENV)
    except ValueError:
        raise ConfigError(f"non-integer {'/'.join(_ENV)} in the environment: "
                          f"{[env.get(n) for n in _ENV]}", field="WORLD_SIZE") from None  # fmt: skip
    if not 0 <= rank < size or local_rank < 0:
        raise ConfigError(f"RANK={rank} does not fit WORLD_SIZE={size}", field="RANK")
    return World(rank, size, local_rank) if size > 1 else None


@contextmanager
def process_group(world: World, device: str) -> Iterator[None]:
    """Join the job's process group for the block (NCCL on CUDA devices, gloo otherwise), through
    the ``env://`` rendezvous the launcher set up; leave it afterwards."""
    import torch
    import torch.distributed as dist

    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo", init_method="env://",
                            rank=world.rank, world_size=world.size)  # fmt: skip
    try:
        yield
    finally:
        dist.destroy_process_group()


def barrier() -> None:
    """Wait until every rank arrives (e.g. until rank 0 has built the dataset)."""
    import torch.distributed as dist

    dist.barrier()


def gather_runs(world: World, run: Any, error: BaseException | None = None) -> list[Any]:
    """Every rank's :class:`~bench.runner.ModelRun`, in rank order, on every rank.

    Args:
        run: this rank's part (ignored when ``error`` is given).
        error: what stopped this rank, sent to the others instead of answers.

    Raises:
        ``error`` itself on the rank that failed; RankFailed (the lowest failed rank's message and
        exit code) on the others.
    """
    import torch.distributed as dist

    payload = _error_payload(error) if error is not None else run_to_wire(run)
    gathered: list[Any] = [None] * world.size
    dist.all_gather_object(gathered, payload)
    if error is not None:
        raise error
    for rank, part in enumerate(gathered):
        if "error" in part:
            raise RankFailed(rank, int(part["exit_code"]), str(part["error"]))
    return [run_from_wire(part) for part in gathered]


def run_to_wire(run: Any) -> dict[str, Any]:
    """A ModelRun as JSON-ready data (answers as the prediction cache's JSON text)."""
    from bench.prediction_cache import encode_answer

    return {"model": run.model, "not_supported": list(run.not_supported), "skipped": dict(run.skipped),
            "tasks": {task_id: {"predictions": {i: encode_answer(a) for i, a in t.predictions.items()},
                                "failures": dict(t.failures), "computed": t.computed, "seconds": t.seconds}
                      for task_id, t in run.tasks.items()}}  # fmt: skip


def run_from_wire(data: Mapping[str, Any]) -> Any:
    """Inverse of :func:`run_to_wire`."""
    from pathlib import Path

    from bench.prediction_cache import decode_answer
    from bench.runner import ModelRun, TaskRun

    run = ModelRun(str(data["model"]), not_supported=list(data["not_supported"]), skipped=dict(data["skipped"]))
    for task_id, t in data["tasks"].items():
        where = Path(f"<rank answer of {task_id}>")
        run.tasks[task_id] = TaskRun({i: decode_answer(a, where, i) for i, a in t["predictions"].items()},
                                     dict(t["failures"]), int(t["computed"]), float(t["seconds"]))  # fmt: skip
    return run


def _error_payload(error: BaseException) -> dict[str, Any]:
    message = " ".join(str(error).split()) or type(error).__name__
    if not isinstance(error, BenchError):
        message = f"{type(error).__name__}: {message}"
    return {"error": message, "exit_code": getattr(error, "exit_code", 1)}
