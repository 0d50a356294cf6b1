"""``bench validate BUNDLE`` and ``bench score BUNDLE``: check and score submission bundles."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from bench.cli._common import echo_json, echo_table, json_option, state
from bench.errors import ConfigError
from submissions.scoring import DEFAULT_DATA
from tasks.result import TaskResult
from tasks.spec import DIRECTION_ARROWS as ARROWS

data_option = click.option("--data",
                           help=f"Dataset name or path (default: meta.json's 'data', else {DEFAULT_DATA}).")
limit_option = click.option("--limit", type=click.IntRange(min=1),
                            help="Expect only the first N samples per task (not leaderboard-eligible).")


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@data_option
@limit_option
@json_option
@click.pass_context
def validate(ctx: click.Context, bundle: Path, data: str | None, limit: int | None, as_json: bool) -> None:
    """Check a submission BUNDLE (directory or .zip) without scoring it.

    Checks container safety, meta.json, task versions, each predictions file and id coverage, and
    lists its problems with file, field and sample id (the first ones, up to the cap that
    docs/submission_format.md states; a note says when more were left out). Exit code 2 when invalid.
    """
    from submissions import check_bundle, dataset_opener

    report, checked = check_bundle(bundle, dataset_opener(state(ctx).config), data=data, limit=limit)
    summary = {} if checked is None else {
        "model": f"{checked.meta.model_name} {checked.meta.model_version}",
        "tasks": {task: len(preds) for task, preds in checked.predictions.items()},
    }  # fmt: skip
    if as_json:
        echo_json({**report.to_dict(), **summary})
    else:
        for problem in report.problems:
            click.echo(f"problem: {problem}")
        note = report.truncation_note()
        if note is not None:
            click.echo(f"note: {note}")
        if checked is not None:
            tasks = ", ".join(f"{task} ({n})" for task, n in summary["tasks"].items())
            click.echo(f"ok: {bundle}: {summary['model']}: {tasks}")
    report.raise_if_invalid()


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@data_option
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Evaluator batch size (results do not depend on it).")  # fmt: skip
@limit_option
@click.option("--variant", "variants", multiple=True,
              help="Add a metric variant, e.g. 'posescript' R-precision (repeatable).")  # fmt: skip
@click.option("--evaluator", "evaluator_overrides", multiple=True, metavar="ID=CHECKPOINT",
              help="Use CHECKPOINT in place of pinned evaluator ID (the run becomes ineligible).")  # fmt: skip
@click.option("--device", help="Torch device of the evaluators: cpu, cuda, cuda:N, mps or auto (default: the "
                                "config's, else cpu). Scores agree across devices to the precision docs/protocols.md "
                                "states.")  # fmt: skip
@click.option("--no-store", is_flag=True, help="Print the scores without storing them.")
@json_option
@click.pass_context
def score(ctx: click.Context, bundle: Path, data: str | None, batch_size: int, limit: int | None,
          variants: tuple[str, ...], evaluator_overrides: tuple[str, ...], device: str | None, no_store: bool,
          as_json: bool) -> None:  # fmt: skip
    """Validate and score a submission BUNDLE, print a table and store the run.

    Nothing is written when validation or scoring fails.
    """
    from bench.devices import resolve_device
    from submissions import score_and_store

    config = state(ctx).config
    resolved = resolve_device(device or config.device)
    if resolved != config.device:
        config = config.with_overrides(device=resolved)
    result, run_id = score_and_store(bundle, config, data, store=not no_store, batch_size=batch_size, limit=limit,
                                     variants=variants, evaluators=_parse_overrides(evaluator_overrides))  # fmt: skip
    if as_json:
        echo_json({"run_id": run_id, **result.to_dict()})
        return
    click.echo(f"{result.model_name} {result.model_version} on {result.data_name} ({result.data_hash[:12]})")
    echo_table(score_rows(result.tasks.values()))
    for task_id, task in result.tasks.items():
        for name, reason in task.skipped.items():
            click.echo(f"skipped: {task_id} {name}: {reason}")
    click.echo(f"eligible: {'yes' if result.eligible else 'no'}")
    for reason in result.ineligible_reasons:
        click.echo(f"  - {reason}")
    click.echo(f"time: {result.timings_s['total']:.1f} s")
    if run_id is not None:
        click.echo(f"stored as run {run_id} in {config.results_store}")


def score_rows(task_results: Iterable[TaskResult]) -> list[dict[str, object]]:
    """Table rows (task, metric, value, 95% CI, unit, direction, n) of TaskResults, main metric first."""
    rows = []
    for task in task_results:
        for m in sorted(task.metrics, key=lambda m: not m.is_main):
            ci = "-" if m.ci_low is None or m.ci_high is None else f"[{m.ci_low:.4g}, {m.ci_high:.4g}]"
            rows.append({"task": task.task, "metric": m.name + (" *" if m.is_main else ""), "value": m.value,
                         "95% CI": ci, "unit": m.unit, "dir": ARROWS[m.direction], "n": m.n})  # fmt: skip
    return rows


def _parse_overrides(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        evaluator_id, sep, checkpoint = pair.partition("=")
        if not sep or not evaluator_id or not checkpoint:
            raise ConfigError(f"expected ID=CHECKPOINT, got {pair!r}", field="--evaluator")
        out[evaluator_id] = checkpoint
    return out
