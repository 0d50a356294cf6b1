"""``bench run``: run models on tasks, write their bundles, score them like ``bench score``, store them.

With no arguments: builds ``synth-full`` if it is missing, runs every baseline on every task it
supports, and prints a task × model table of main scores.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bench.cli._common import echo_json, echo_table, json_option, parse_model_args, state
from bench.devices import DTYPES
from bench.errors import ConfigError
from bench.progress import set_quiet
from submissions.scoring import DEFAULT_DATA

logger = logging.getLogger(__name__)

DEFAULT_MODELS = ("gt", "chance", "mean-pose", "copy-source", "nn-retrieval", "captioner", "regressor")
"""The baselines run by a plain ``bench run``."""
BUILDABLE = {"synth-small": "small", "synth-full": "full"}


def _split_list(values: tuple[str, ...]) -> list[str]:
    return [v for value in values for v in value.split(",") if v]


@click.command()
@click.option("--model", "models", multiple=True, help="Model name (repeatable or comma-separated; default: every baseline).")
@click.option("--tasks", "tasks", multiple=True, help="Task ids (repeatable or comma-separated; default: all).")
@click.option("--data", help="Dataset name or path (default synth-full, built if missing; with --merge: the parts' dataset).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N samples per task (run becomes ineligible).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Requests per model call.")
@click.option("--device", help="Torch device of the model: cpu, cuda, cuda:N, mps or auto (default: the config's, "
                                "else cpu). Under torchrun, cuda means cuda:LOCAL_RANK.")  # fmt: skip
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True,
              help="Precision of the model's weights, for models that support it (bench models list).")  # fmt: skip
@click.option("--model-args", "model_args", metavar="KEY=VALUE,...",
              help="Arguments for the model (values read as JSON where they parse); they key the prediction cache.")  # fmt: skip
@click.option("--include", "includes", multiple=True, metavar="PATH",
              help="Import model adapters from a .py file, a folder of them, or a module name (repeatable).")  # fmt: skip
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
        batch_size: int, device: str | None, dtype: str, model_args: str | None, includes: tuple[str, ...],
        shard: str | None, merge: tuple[Path, ...], out: Path | None, seed: int, model_dirs: tuple[Path, ...],
        no_store: bool, as_json: bool) -> None:  # fmt: skip
    """Run models on tasks; write, score and store their submission bundles.

    Under torchrun (or accelerate launch) the processes share the work as one run: each answers
    its strided part of every task, rank 0 writes, scores and stores the one bundle.
    """
    from bench.distributed import process_group, world_from_env
    from bench.runner import Shard, merge_parts, score_and_store

    config = state(ctx).config
    world = world_from_env()
    if merge:
        if world is not None:
            raise ConfigError("--merge runs in one process, not under torchrun", field="--merge")
        folder = out or merge[0].parent / merge[0].name.split(".shard-")[0]
        bundle, merged_limit, merged_data = merge_parts(list(merge), folder)
        result, run_id = score_and_store(bundle, config, data or merged_data, limit=merged_limit, store=not no_store)
        _report([(result, run_id, bundle, {})], as_json)
        return
    if world is not None and shard:
        raise ConfigError("--shard is for schedulers without torch.distributed; under torchrun each rank is a shard",
                          field="--shard")  # fmt: skip
    from bench.devices import resolve_device
    from bench.models import include

    include(includes)
    local_rank = world.local_rank if world is not None else None
    plan = RunPlan(
        models=_split_list(models), tasks=_split_list(tasks), data=data or DEFAULT_DATA, limit=limit,
        batch_size=batch_size, shard=Shard.parse(shard) if shard else None, out=out, seed=seed,
        model_dirs=model_dirs, store=not no_store, device=resolve_device(device or config.device, local_rank=local_rank),
        dtype=dtype, model_args=parse_model_args(model_args),
    )  # fmt: skip
    if world is None:
        outcomes = _run_models(plan, config, None)
    else:
        if not world.is_main:  # other ranks print only their errors
            set_quiet(True)
            logging.getLogger().setLevel(logging.ERROR)
        with process_group(world, plan.device):
            outcomes = _run_models(plan, config, world)
    if outcomes:
        _report(outcomes, as_json)


@dataclass(frozen=True)
class RunPlan:
    """The options of one ``bench run`` (models, tasks, data and how to answer them)."""

    models: list[str]
    """Names asked for; empty means :data:`DEFAULT_MODELS` (a missing checkpoint then skips a model)."""
    tasks: list[str]
    data: str
    limit: int | None
    batch_size: int
    shard: Any
    """A ``bench.runner.Shard`` (``--shard``), or None."""
    out: Path | None
    seed: int
    model_dirs: tuple[Path, ...]
    store: bool
    device: str
    """Concrete torch device of this process."""
    dtype: str
    model_args: dict[str, Any]


def _run_models(plan: RunPlan, config: Any, world: Any) -> list[tuple[Any, int | None, Path, dict[str, Any]]]:
    """Answer, write, score and store each model; under torch.distributed (``world``) each rank
    answers its part and only rank 0 writes, scores, stores and returns outcomes."""
    from bench.distributed import barrier
    from bench.prediction_cache import PredictionCache
    from bench.runner import Shard, score_and_store, write_run_bundle, write_shard_part

    main = world is None or world.is_main
    if main:
        dataset = _open_or_build(config, plan.data)
    if world is not None:
        barrier()  # rank 0 has built the dataset if it was missing
    if not main:
        from bench.data import load_dataset

        dataset = load_dataset(plan.data, config.data_dir)
    part = Shard(world.rank, world.size) if world is not None else plan.shard
    out_dir = plan.out or config.runs_dir / _data_name(plan.data)
    outcomes = []
    with PredictionCache(config.cache_dir) as cache:
        for name in plan.models or list(DEFAULT_MODELS):
            answered = _answer(name, plan, config, dataset, cache, part, world)
            if answered is None or not main:
                continue
            adapter, settings, model_run = answered
            for task_id in model_run.not_supported:
                click.echo(f"{name}: {task_id}: not supported", err=True)
            if not model_run.tasks:
                logger.warning("%s answered none of the requested tasks", name)
                continue
            if world is None and part is not None:
                folder = write_shard_part(model_run, adapter, dataset,
                                          out_dir / f"{name}.shard-{part.index}-of-{part.count}", part, plan.limit,
                                          plan.batch_size)  # fmt: skip
                click.echo(f"{name}: wrote shard part {folder}")
                continue
            bundle = write_run_bundle(model_run, adapter, dataset, out_dir / name)
            summary = {**model_run.summary(), "settings": settings, "processes": world.size if world else 1}
            result, run_id = score_and_store(bundle, config, dataset.root, limit=plan.limit, summary=summary,
                                             store=plan.store)  # fmt: skip
            outcomes.append((result, run_id, bundle, summary))
    return outcomes


def _answer(name: str, plan: RunPlan, config: Any, dataset: Any, cache: Any, part: Any,
            world: Any) -> tuple[Any, dict[str, Any], Any] | None:  # fmt: skip
    """Load model ``name`` and answer this process's part; under torch.distributed, every rank's
    answers combined (or every rank stops with the error of the one that failed).

    Returns:
        ``(adapter, cache settings, ModelRun)``, or None for a default baseline that cannot run
        here (a missing checkpoint or an unsupported dtype: skipped alike on every rank).
    """
    from bench.distributed import gather_runs
    from bench.errors import CheckpointError
    from bench.runner import combine_runs, generate, load_adapter
    from tasks import get_task, task_ids

    chosen_tasks = plan.tasks or task_ids()
    adapter, settings, model_run, error = None, {}, None, None
    try:
        adapter, settings = load_adapter(name, config, dataset, plan.model_dirs, device=plan.device,
                                         dtype=plan.dtype, model_args=plan.model_args)  # fmt: skip
    except (CheckpointError, ConfigError) as exc:
        if not plan.models:
            if world is None or world.is_main:
                click.echo(f"{name}: skipped: {exc}", err=True)
            return None
        if world is None:
            raise
        error = exc
    else:
        if world is None:  # start the METEOR JVM (~10 s) while the model answers; under torchrun the
            # ranks already use every core, so rank 0 starts it when it scores
            for task_id in chosen_tasks:
                if adapter.supports(task_id):
                    get_task(task_id).prepare()
        try:
            model_run = generate(adapter, name, dataset, chosen_tasks, cache, limit=plan.limit,
                                 batch_size=plan.batch_size, shard=part, seed=plan.seed, options=settings)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 (under torch.distributed: sent to every rank, then raised)
            if world is None:
                raise
            error = exc
    if world is not None:
        model_run = combine_runs(gather_runs(world, model_run, error))
    return adapter, settings, model_run


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
    from tasks.spec import DIRECTION_ARROWS

    rows = []
    for task_id in sorted(task_order):
        spec = get_task(task_id).spec
        metric = f"{spec.main_metric} {DIRECTION_ARROWS[spec.main_direction]}"
        row = {"task": task_id, "main metric": metric}
        row.update({r.model_name: cells.get((task_id, r.model_name), "-") for r, *_ in outcomes})
        rows.append(row)
    echo_table(rows)
    failures = {r.model_name: s.get("failures") for r, _, _, s in outcomes if s.get("failures")}
    if failures:
        click.echo("failed samples (fallback answers used): " + json.dumps(
            {m: {t: len(f) for t, f in fs.items()} for m, fs in failures.items()}))  # fmt: skip
