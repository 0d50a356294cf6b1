"""Fixtures of the runner tests (shared ones live in tests/runner/fixtures.py)."""

from tests.runner.fixtures import bench_config, evaluator_overrides, small_dataset, tiny_model_dir  # noqa: F401
