"""The shipped pinned evaluators (``retrieval_models.pinned``), loaded once per test process.

They are read-only checkpoints (a few seconds to load), so every test module that needs the real
evaluators shares one copy: ``pinned_evaluators()`` -> ``{"posetext-synth-v1": Evaluator, ...}``,
each loaded by its pinned id from ``BenchConfig.shipped_evaluators_dir`` and checked against its
pinned SHA-256 (the same call ``bench score`` makes). Never modify the returned objects.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def pinned_evaluators() -> dict[str, Any]:
    """Pinned evaluator id -> the shipped :class:`retrieval_models.Evaluator` (on the CPU)."""
    from bench.config import load_config
    from retrieval_models import EVALUATORS, load_evaluator

    config = load_config(env={"BENCH_HOME": "/nonexistent-bench-home"})
    folders = [config.shipped_evaluators_dir]
    return {name: load_evaluator(name, folders, EVALUATORS.get(name).sha256) for name in EVALUATORS.names()}
