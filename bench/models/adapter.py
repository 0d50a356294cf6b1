"""The model adapter interface (docs/architecture.md §7) and the model registry.

A model is a :class:`ModelAdapter` subclass registered with ``@register_model("<name>")``. The class
declares, without loading anything, what it is (:class:`ModelInfo`) and which task ids it answers
(``tasks``); :meth:`ModelAdapter.load` builds a ready instance from a :class:`ModelContext`
(config paths, the dataset under evaluation, checkpoint folders, device).

The runner (``bench.runner``) groups requests by task and hands the adapter one chunk of at most
``--batch-size`` requests of ONE task at a time, each with its own sampling seed; the adapter owns
how it batches inside a chunk (an LLM adapter may sort by length, pad, or split further). It returns
one answer per request, in order: a prediction (``str`` for text tasks, float32 (22, 3) axis-angle
for pose tasks) or a :class:`SampleFailure` saying why that one sample could not be answered.
Failures are recorded by the runner and never stop a run; exceptions do stop it (the prediction
cache keeps what was answered before).
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bench.config import BenchConfig
from bench.devices import device_kind
from bench.errors import CheckpointError, ConfigError
from bench.registry import Registry
from tasks.spec import Request

if TYPE_CHECKING:
    from bench.data import Dataset

logger = logging.getLogger(__name__)

Prediction = str | np.ndarray
"""A text (text tasks) or a float32 (22, 3) axis-angle pose (pose tasks)."""


@dataclass(frozen=True)
class ModelInfo:
    """What a model is, as recorded in a bundle's ``meta.json``."""

    name: str
    """Registry name and leaderboard name (``mean-pose``)."""
    version: str
    """Model version; bump it whenever its answers may change (it keys the prediction cache)."""
    description: str
    """One sentence for ``bench models list``."""
    licence: str = "MIT"
    """Licence of the model and its predictions."""
    parameter_count: int | None = None
    """Trainable parameters (None for parameter-free baselines)."""
    training_data: tuple[str, ...] = ()
    """Datasets (and splits) the model learned from, e.g. ``("synth-full/train",)``."""
    code_link: str | None = None
    """Where its code lives, None if closed."""


@dataclass(frozen=True)
class SampleFailure:
    """An answer that could not be produced for one request (recorded, never raised)."""

    reason: str
    """One line: why, e.g. ``"no pose emitted"``."""


@dataclass(frozen=True)
class ModelContext:
    """What :meth:`ModelAdapter.load` may use. Built by the runner (or a test)."""

    config: BenchConfig
    """Paths and device."""
    dataset: Dataset
    """The dataset under evaluation: baselines read its ``train`` split (training poses and texts)
    and oracle baselines the test annotations they are documented to use."""
    model_dirs: tuple[Path, ...] = ()
    """Checkpoint folders searched first to last; empty means the user's, then the shipped models."""
    options: dict[str, Any] = field(default_factory=dict)
    """Model arguments (``bench run --model-args key=value,...``), passed through untouched; each
    one keys the prediction cache."""
    device: str = "cpu"
    """The concrete torch device to run on (``cpu``, ``cuda:N``, ``mps``; ``bench.devices``)."""
    dtype: str = "float32"
    """Precision of weights and activations (``float32``, ``bfloat16``, ``float16``), for models
    that list it in :attr:`ModelAdapter.dtypes`."""

    @property
    def checkpoint_dirs(self) -> tuple[Path, ...]:
        """Folders to search for checkpoint files: ``model_dirs`` first, then the user's and the shipped models."""
        return (*self.model_dirs, self.config.user_models_dir, self.config.shipped_models_dir)

    def find_checkpoint(self, filename: str, model: str) -> Path:
        """The first ``filename`` in :attr:`checkpoint_dirs`; CheckpointError naming how to train it."""
        for folder in self.checkpoint_dirs:
            if (Path(folder) / filename).is_file():
                return Path(folder) / filename
        searched = ", ".join(str(d) for d in self.checkpoint_dirs)
        raise CheckpointError(f"checkpoint not found in {searched}; train it with `bench models train {model}`",
                              file=filename)  # fmt: skip


class ModelAdapter(ABC):
    """A model under test. Subclasses set ``info`` and ``tasks`` and implement :meth:`predict`."""

    info: ClassVar[ModelInfo]
    tasks: ClassVar[tuple[str, ...]]
    """Task ids answered; the runner records every other task as not supported."""
    dtypes: ClassVar[tuple[str, ...]] = ()
    """Precisions the model can run in (``ModelContext.dtype``), first the default. Empty for
    models without tensors to run: they ignore ``--device`` and ``--dtype``, which then do not key
    their cache."""

    @classmethod
    def load(cls, ctx: ModelContext) -> ModelAdapter:
        """A ready instance (load checkpoints, precompute galleries). Default: ``cls()``."""
        return cls()

    def supports(self, task_id: str) -> bool:
        """Whether this model answers ``task_id``."""
        return task_id in self.tasks

    def weights_sha256(self) -> tuple[str, ...]:
        """SHA-256 of every checkpoint file this instance loaded (empty for models without weights).

        Part of the prediction cache key, so retraining a checkpoint under the same model version
        never serves answers of the old weights.
        """
        return ()

    @abstractmethod
    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        """Answer requests of one task, in order.

        Args:
            requests: one task's requests (``Request.inputs``: poses float32 (22, 3) axis-angle,
                y up; images uint8 (224, 224, 3) RGB; texts str).
            seeds: one sampling seed per request (stable per sample id; independent of batching
                and sharding). Deterministic models ignore them.

        Returns:
            One prediction (``str`` or float32 (22, 3)) or :class:`SampleFailure` per request.
        """


MODELS: Registry[type[ModelAdapter]] = Registry("model")
"""Model name → adapter class; filled by ``bench.models.plugins.discover_models`` (the built-in
modules of ``bench.models``, then the ``posebench.models`` entry points)."""


TRAINERS: Registry[Any] = Registry("model trainer")
"""Model name → ``train(dataset, out_dir, *, quick, config) -> list[Path]`` (``bench models train NAME``)."""


def register_trainer(name: str) -> Any:
    """Function decorator registering the training entry of model ``name``: it trains on
    ``dataset`` (a ``bench.data.Dataset``), writes checkpoints + JSON cards into ``out_dir`` and
    returns their paths; ``quick`` asks for tiny settings (tests); ``config`` gives paths/device."""
    return TRAINERS.register(name)


def register_model(name: str) -> Any:
    """Class decorator registering a :class:`ModelAdapter` subclass under ``name``."""
    return MODELS.register(name)


def answer_settings(adapter: type[ModelAdapter], ctx: ModelContext) -> dict[str, Any]:
    """Every setting of ``ctx`` that can change ``adapter``'s answers, for the prediction cache key:
    the model arguments, and for models with tensors (``adapter.dtypes``) the device kind (``cuda``
    for every ``cuda:N``) and the dtype.

    Raises:
        ConfigError: the model cannot run in ``ctx.dtype``.
    """
    settings: dict[str, Any] = {"model_args": dict(sorted(ctx.options.items()))} if ctx.options else {}
    if adapter.dtypes:
        if ctx.dtype not in adapter.dtypes:
            raise ConfigError(f"model {adapter.info.name!r} runs in {', '.join(adapter.dtypes)} only, not {ctx.dtype}",
                              field="--dtype")  # fmt: skip
        settings.update(device=device_kind(ctx.device), dtype=ctx.dtype)
    return settings


def request_seed(run_seed: int, task_id: str, sample_id: str) -> int:
    """The sampling seed of one request: a 63-bit integer from SHA-256 of (run seed, task, sample id)."""
    digest = hashlib.sha256(f"{run_seed}\0{task_id}\0{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def parameter_count(module: Any) -> int:
    """Number of parameters of a torch module."""
    return int(sum(p.numel() for p in module.parameters()))
