"""Session fixtures of the model and runner tests (imported by tests/models and tests/runner conftests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.config import load_config
from tasks.pins import PAIRTEXT_EVALUATOR, POSETEXT_EVALUATOR


@pytest.fixture(scope="session")
def small_dataset(synth_small: Path) -> Any:
    """``synth_small`` opened as a Dataset."""
    from bench.data import load_dataset

    return load_dataset(synth_small, synth_small.parent)


@pytest.fixture(scope="session")
def evaluator_overrides(synth_small: Path, tiny_evaluators: Callable[[Path], dict]) -> dict[str, Any]:
    """Pinned evaluator id → tiny evaluator trained on synth_small (for scoring in tests)."""
    evaluators = tiny_evaluators(synth_small)
    return {POSETEXT_EVALUATOR: evaluators["pose-text"], PAIRTEXT_EVALUATOR: evaluators["pair-text"]}


@pytest.fixture(scope="session")
def tiny_model_dir(small_dataset: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with quick-trained ``nn-retrieval`` and ``regressor`` checkpoints for synth_small."""
    import torch

    from bench.models.nn_retrieval import train as train_nn
    from bench.models.regressor_training import train as train_regressor

    folder = tmp_path_factory.mktemp("tiny_models")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_nn(small_dataset, folder, quick=True)
        train_regressor(small_dataset, folder, quick=True)
    finally:
        torch.set_num_threads(threads)
    return folder


@pytest.fixture
def bench_config(bench_home: Path) -> Iterator[Any]:
    """A BenchConfig rooted at the empty per-test ``bench_home``."""
    yield load_config(env={"BENCH_HOME": str(bench_home)})
