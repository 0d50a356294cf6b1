"""Session fixtures shared by the task and submission tests (imported by their conftest files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tasks import get_task, task_ids


@pytest.fixture(scope="session")
def synth_dataset(synth_small: Path) -> Any:
    """``synth_small`` opened as a :class:`bench.data.Dataset` (components cached across tests)."""
    from bench.data import load_dataset

    return load_dataset(synth_small, synth_small.parent)


@pytest.fixture(scope="session")
def base_predictions(synth_dataset: Any) -> dict[str, dict[str, Any]]:
    """Ground-truth predictions of one text task and one pose task: a valid bundle's content."""
    return {t: get_task(t).reference_predictions(synth_dataset, "ceiling") for t in ("pose2text", "text2pose")}


@pytest.fixture(scope="session")
def gt_predictions(synth_dataset: Any) -> dict[str, dict[str, Any]]:
    """Ground-truth (ceiling) predictions of all nine tasks."""
    return {t: get_task(t).reference_predictions(synth_dataset, "ceiling") for t in task_ids()}
