"""``bench run``: run models on tasks, write their bundles, score them like ``bench score``, store them.

With no arguments: builds ``synth-full`` if it is missing, runs every baseline on every task it
supports, and prints a task × model table of main scores.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from bench.cli._common import echo_json, echo_table, json_option, state

logger = logging.getLogger(__name__)

DEFAULT_MODELS = ("gt", "chance", "mean-pose", "copy-source", "nn-retrieval", "captioner", "regressor")
"""The baselines run by a plain ``bench run``."""
DEFAULT_DATA = "synth-full"
BUILDABLE = {"synth-small": "small", "synth-full": "full"}


def _split_list(values: tuple[str, ...]) -> list[str]:
    return [v for value in values for v in value.split(",") if v]


@click.command()
@click.option("--model", "models", multiple=True, help="Model name (repeatable or comma-separated; default: every baseline).")
@click.option("--tasks", "tasks", multiple=True, help="Task ids (repeatable or comma-separated; default: all).")
@click.option("--data", help="Dataset name or path (default synth-full, built if missing; with --merge: the parts' dataset).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N samples per task (run becomes ineligible).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Requests per model call.")
@click.option("--shard", help="Run part i of N (i/N, 0-based, strided by sorted sample id); writes a part, no scoring.")
@click.option("--merge", "merge", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Merge these shard parts (repeatable) into one bundle, then score and store it.")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Folder for the bundles (default: <home>/runs/<data>).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed (per-request sampling seeds derive from it).")
@click.option("--model-dir", "model_dirs", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Checkpoint folder searched before the user's and shipped models (repeatable).")  # fmt: skip
@click.option("--no-store", is_flag=True, help="Score but do not store the runs.")
@json_option
@click.pass_context
def run(ctx: click.Context, models: tuple[str, ...], tasks: tuple[str, ...], data: str | None, limit: int | None,
        batch_size: int, shard: str | None, merge: tuple[Path, ...], out: Path | None, seed: int,
        model_dirs: tuple[Path, ...], no_store: bool, as_json: bool) -> None:  # fmt: skip
    """Run models on tasks; write, score and store their submission bundles."""
    from bench.runner import Shard, merge_parts, score_and_store

    config = state(ctx).config
    if merge:
        folder = out or merge[0].parent / merge[0].name.split(".shard-")[0]
        bundle, merged_limit, merged_data = merge_parts(list(merge), folder)
        result, run_id = score_and_store(bundle, config, data or merged_data, limit=merged_limit, store=not no_store)
        _report([(result, run_id, bundle, {})], as_json)
        return
    from bench.errors import CheckpointError
    from bench.runner import generate, load_adapter, write_run_bundle, write_shard_part
    from tasks import task_ids

    data = data or DEFAULT_DATA
    dataset = _open_or_build(config, data)
    part = Shard.parse(shard) if shard else None
    chosen_tasks = _split_list(tasks) or task_ids()
    from bench.prediction_cache import PredictionCache

    out_dir = out or config.runs_dir / _data_name(data)
    outcomes = []
    with PredictionCache(config.cache_dir) as cache:
        for name in _split_list(models) or list(DEFAULT_MODELS):
            try:
                adapter = load_adapter(name, config, dataset, model_dirs)
            except CheckpointError as exc:
                if models:  # asked for by name: an error
                    raise
                click.echo(f"{name}: skipped: {exc}", err=True)
                continue
            model_run = generate(adapter, name, dataset, chosen_tasks, cache, limit=limit, batch_size=batch_size,
                                 shard=part, seed=seed)  # fmt: skip
            for task_id in model_run.not_supported:
                click.echo(f"{name}: {task_id}: not supported", err=True)
            if not model_run.tasks:
                logger.warning("%s answered none of the requested tasks", name)
                continue
            if part is not None:
                folder = write_shard_part(model_run, adapter, dataset, out_dir / f"{name}.shard-{part.index}-of-{part.count}",
                                          part, limit)  # fmt: skip
                click.echo(f"{name}: wrote shard part {folder}")
                continue
            bundle = write_run_bundle(model_run, adapter, dataset, out_dir / name)
            result, run_id = score_and_store(bundle, config, dataset.root, limit=limit, summary=model_run.summary(),
                                             store=not no_store)  # fmt: skip
            outcomes.append((result, run_id, bundle, model_run.summary()))
    if outcomes:
        _report(outcomes, as_json)


def _data_name(data: str) -> str:
    return Path(data).name if ("/" in data or data.startswith(".")) else data


def _open_or_build(config, data: str):  # noqa: ANN001, ANN202
    """Open ``data``; build ``synth-small`` / ``synth-full`` into ``config.data_dir`` when missing."""
    from bench.data import load_dataset
    from bench.errors import NotFoundError

    try:
        return load_dataset(data, config.data_dir)
    except NotFoundError:
        if data not in BUILDABLE:
            raise
    from bench.data.synth.build import build_synth

    click.echo(f"building {data} into {config.data_dir} (first run only)", err=True)
    build_synth(config.data_dir / data, size=BUILDABLE[data], seed=0, workers=2)
    return load_dataset(data, config.data_dir)


def _report(outcomes: list, as_json: bool) -> None:  # noqa: ANN001
    if as_json:
        echo_json([{"run_id": run_id, "bundle": str(bundle), "run": summary, **result.to_dict()}
                   for result, run_id, bundle, summary in outcomes])  # fmt: skip
        return
    task_order: list[str] = []
    cells: dict[tuple[str, str], str] = {}
    for result, run_id, bundle, summary in outcomes:
        for task_id, task in result.tasks.items():
            if task_id not in task_order:
                task_order.append(task_id)
            main = next((m for m in task.metrics if m.is_main), None)
            if main is not None:
                cells[(task_id, result.model_name)] = f"{main.value:.4g}" if abs(main.value) >= 1e-6 else "0"
        for task_id in summary.get("not_supported", []):
            cells.setdefault((task_id, result.model_name), "n/s")
        click.echo(f"{result.model_name}: bundle {bundle}; eligible: {'yes' if result.eligible else 'no'}"
                   + (f"; stored as run {run_id}" if run_id is not None else ""))  # fmt: skip
    from tasks import get_task

    rows = []
    for task_id in sorted(task_order):
        spec = get_task(task_id).spec
        metric = f"{spec.main_metric} {'↑' if spec.main_direction == 'higher' else '↓'}"
        row = {"task": task_id, "main metric": metric}
        row.update({r.model_name: cells.get((task_id, r.model_name), "-") for r, *_ in outcomes})
        rows.append(row)
    echo_table(rows)
    failures = {r.model_name: s.get("failures") for r, _, _, s in outcomes if s.get("failures")}
    if failures:
        click.echo("failed samples (fallback answers used): " + json.dumps(
            {m: {t: len(f) for t, f in fs.items()} for m, fs in failures.items()}))  # fmt: skip
