"""Time scoring a ground-truth bundle of synth-full for all nine tasks (target: at most 60 s on 2 cores).

Usage::

    python benchmarks/score.py [--data synth-full] [--batch-size 64] [--variant NAME ...]
                               [--evaluator ID=CHECKPOINT ...]

It needs the built dataset (``bench data build synth --size full``) and the pinned evaluators
(``retrieval_models/checkpoints``); it stops with a clear message when either is missing. It
prints one table per task with the time of each scoring stage (embeddings, each metric group), a
per-task total, the validation and loading overheads, and the grand total. ``--variant`` adds
metric variants (``posescript``, ``tmr``); the ``tmr`` variant's sentence embeddings are kept in
``$BENCH_HOME/cache`` after the first run, so run it twice to see both the first and later timings.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import click

TARGET_S = 60.0
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, whatever the install state


@click.command()
@click.option("--data", default="synth-full", show_default=True, help="Dataset name or path.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--variant", "variants", multiple=True, metavar="NAME", help="Add a metric variant (repeatable).")
@click.option("--evaluator", "overrides", multiple=True, metavar="ID=CHECKPOINT", help="Substitute an evaluator.")
def main(data: str, batch_size: int, variants: tuple[str, ...], overrides: tuple[str, ...]) -> None:
    """Score a ground-truth bundle of every task and print where the time goes."""
    from bench.config import load_config
    from bench.errors import BenchError
    from submissions import bundle_meta, dataset_opener, score_bundle, write_bundle
    from tasks import get_task, task_ids

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = load_config()
    evaluators = dict(o.split("=", 1) for o in overrides)
    try:
        dataset = dataset_opener(config)(data)
        _check_evaluators(evaluators)
        tasks = task_ids()
        start = time.perf_counter()
        predictions = {t: get_task(t).reference_predictions(dataset, "ceiling") for t in tasks}
        prepare_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            meta = bundle_meta("ground-truth", "1", tasks, licence="n/a")
            bundle = write_bundle(Path(tmp) / "ground-truth", meta, predictions)
            result = score_bundle(bundle, config, data, batch_size, variants=variants, evaluators=evaluators)
    except BenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(f"{result.data_name} ({result.data_hash[:12]}), batch size {batch_size}, "
               f"variants {', '.join(variants) or 'none'}; "
               f"bundle prepared in {prepare_s:.1f} s (not timed below)")  # fmt: skip
    for task_id, task in result.tasks.items():
        stages = {k: v for k, v in task.timings_s.items() if k != "total"}
        breakdown = ", ".join(f"{k} {v:.2f}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1]))
        click.echo(f"{task_id:<11} n={task.n:<5} {task.timings_s['total']:6.2f} s   {breakdown}")
    timings = result.timings_s
    click.echo(f"{'validate':<19} {timings['validate']:6.2f} s")
    click.echo(f"{'load evaluators':<19} {timings['load_evaluators_and_body']:6.2f} s")
    total = timings["total"]
    click.echo(f"{'total':<19} {total:6.2f} s   target <= {TARGET_S:.0f} s: {'ok' if total <= TARGET_S else 'OVER'}")


def _check_evaluators(overrides: dict[str, str]) -> None:
    """Fail early, with the fix, when a pinned evaluator is pending or missing."""
    from bench.errors import CheckpointError
    from retrieval_models.pinned import EVALUATORS

    for evaluator_id, pinned in EVALUATORS.items():
        if evaluator_id in overrides:
            continue
        if pinned.sha256 is None:
            raise CheckpointError(
                f"evaluator {evaluator_id} has no pinned checkpoint yet; train and pin it "
                f"(retrieval_models/pinned.py) or pass --evaluator {evaluator_id}=CHECKPOINT"
            )


if __name__ == "__main__":
    main()
