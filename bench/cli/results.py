"""``bench results list|show RUN|export``: read the results store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from bench.cli._common import echo_json, echo_table, json_option, state
from bench.errors import ConfigError

from tasks.spec import DIRECTION_ARROWS as ARROWS

FALLBACK_IDS_SHOWN = 10
"""Sample ids per task ``bench results show`` lists of the samples that got the fallback answer."""
EXPORT_COLUMNS = (
    "run_id", "model_name", "model_version", "status", "eligible", "data_name", "created", "task", "task_version",
    "metric", "is_main", "value", "ci_low", "ci_high", "unit", "direction", "n", "evaluator_id", "evaluator_sha256",
    "data_hash", "protocol",
)  # fmt: skip


@click.group()
def results() -> None:
    """Inspect and export stored runs."""


@results.command("list")
@json_option
@click.pass_context
def list_runs(ctx: click.Context, as_json: bool) -> None:
    """All stored runs, newest first."""
    from bench.store import ResultsStore

    path = state(ctx).config.results_store
    runs = []
    if path.is_file():
        with ResultsStore(path, create=False) as store:
            runs = store.runs()
    if as_json:
        echo_json(runs)
        return
    echo_table([{"run": r["id"], "model": r["model_name"], "version": r["model_version"], "status": r["status"],
                 "eligible": "yes" if r["eligible"] else "no", "data": r["data_name"], "tasks": r["tasks"],
                 "created": r["created"]} for r in runs])  # fmt: skip


@results.command("show")
@click.argument("run_id", type=int)
@json_option
@click.pass_context
def show_run(ctx: click.Context, run_id: int, as_json: bool) -> None:
    """One run: provenance and every score with its CI."""
    from bench.store import ResultsStore

    with ResultsStore(state(ctx).config.results_store, create=False) as store:
        run = store.run(run_id)
    if as_json:
        echo_json(run)
        return
    click.echo(f"run {run['id']}: {run['model_name']} {run['model_version']} ({run['status']})")
    click.echo(f"data      {run['data_name']} {run['data_version']} ({run['data_hash'][:12]})")
    click.echo(f"bench     {run['bench_version']}, created {run['created']}")
    click.echo(f"eligible  {'yes' if run['eligible'] else 'no: ' + '; '.join(run['ineligible_reasons'])}")
    for line in fallback_lines(run.get("settings")):
        click.echo(line)
    echo_table([{"task": s["task"], "version": s["task_version"],
                 "metric": s["metric"] + (" *" if s["is_main"] else ""), "value": s["value"], "95% CI": _ci(s["ci_low"], s["ci_high"]), "unit": s["unit"],
                 "dir": ARROWS[s["direction"]], "n": s["n"]} for s in run["scores"]])  # fmt: skip


@results.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "json"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (required for parquet; default stdout).")
@click.option("--eligible-only", is_flag=True, help="Only leaderboard-eligible runs.")
@click.pass_context
def export(ctx: click.Context, fmt: str, out: Path | None, eligible_only: bool) -> None:
    """Every score row (one per run, task and metric) with its run's provenance."""
    from bench.store import ResultsStore

    if fmt == "parquet" and out is None:
        raise ConfigError("parquet export needs --out FILE", field="--out")
    path = state(ctx).config.results_store
    rows = []
    if path.is_file():
        with ResultsStore(path, create=False) as store:
            rows = store.scores(eligible_only=eligible_only)
    table = [{c: json.dumps(r["protocol"], sort_keys=True) if c == "protocol" else r[c] for c in EXPORT_COLUMNS}
             for r in rows]  # fmt: skip
    if fmt == "parquet":
        import pandas as pd

        pd.DataFrame(table, columns=list(EXPORT_COLUMNS)).to_parquet(out, index=False)
    else:
        text = _csv(table) if fmt == "csv" else json.dumps(table, indent=2) + "\n"
        if out is None:
            click.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
    if out is not None:
        click.echo(f"wrote {len(table)} rows to {out}", err=True)


def fallback_lines(settings: object) -> list[str]:
    """``bench results show``'s lines on the samples of a ``bench run`` run that got the fallback
    answer (the model failed on them): the count, then per task its count and first ids."""
    bench_run = settings.get("bench_run") if isinstance(settings, dict) else None
    if not isinstance(bench_run, dict):
        return []  # scored from submitted files: no fallback answers
    failures = {task: ids for task, ids in (bench_run.get("failures") or {}).items() if ids}
    total = sum(len(ids) for ids in failures.values())
    if not total:
        return ["fallback  none (the model answered every sample)"]
    header = (f"fallback  {total} sample{'s' if total != 1 else ''} got the fallback answer (the model failed on "
              f"{'them' if total != 1 else 'it'}; --json has why):")  # fmt: skip
    lines = [header]
    for task, ids in sorted(failures.items()):
        shown = ", ".join(list(ids)[:FALLBACK_IDS_SHOWN])
        more = f", ... and {len(ids) - FALLBACK_IDS_SHOWN} more" if len(ids) > FALLBACK_IDS_SHOWN else ""
        lines.append(f"          {task} ({len(ids)}): {shown}{more}")
    return lines


def _ci(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"[{low:.4g}, {high:.4g}]"


def _csv(rows: list[dict[str, object]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
