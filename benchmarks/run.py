"""Throughput of each baseline per task (samples/s), measured through ``bench.runner.generate``.

Usage::

    python benchmarks/run.py --data synth-small [--limit 64] [--batch-size 32] [--model-dir DIR] [--models a,b]

Each model answers every task it supports on the first ``--limit`` samples, with a fresh
prediction cache (so every sample is computed). Time is adapter time only (request building and
image decoding excluded); models whose checkpoints are missing are listed as skipped.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from bench.config import load_config
from bench.data import load_dataset
from bench.errors import CheckpointError
from bench.prediction_cache import PredictionCache
from bench.runner import generate, load_adapter
from tasks import task_ids

logger = logging.getLogger("benchmarks.run")
DEFAULT_MODELS = "gt,chance,mean-pose,copy-source,nn-retrieval,captioner,regressor"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synth-small")
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model-dir", action="append", default=[])
    parser.add_argument("--models", default=DEFAULT_MODELS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    config = load_config()
    dataset = load_dataset(args.data, config.data_dir)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, PredictionCache(Path(tmp)) as cache:
        for name in args.models.split(","):
            try:
                adapter, settings = load_adapter(name, config, dataset, args.model_dir)
            except CheckpointError as exc:
                print(f"{name}: skipped ({exc})")
                continue
            run = generate(adapter, name, dataset, task_ids(), cache, limit=args.limit, batch_size=args.batch_size,
                           options=settings)
            for task_id, task in run.tasks.items():
                rate = len(task.predictions) / task.seconds if task.seconds > 0 else float("inf")
                rows.append((name, task_id, len(task.predictions), task.seconds, rate))
    print(f"{'model':<14}{'task':<12}{'n':>6}{'seconds':>10}{'samples/s':>12}")
    for name, task_id, n, seconds, rate in rows:
        print(f"{name:<14}{task_id:<12}{n:>6}{seconds:>10.3f}{rate:>12.1f}")


if __name__ == "__main__":
    main()
