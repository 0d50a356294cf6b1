"""Fixtures of the task tests (shared ones live in tests/tasks/fixtures.py)."""

from tests.tasks.fixtures import base_predictions, gt_predictions, synth_dataset  # noqa: F401
