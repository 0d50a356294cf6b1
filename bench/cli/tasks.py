"""``bench tasks list|show ID|export``: the registered tasks, their specs, and their requests as files."""

from __future__ import annotations

from pathlib import Path

import click

from bench.cli._common import echo_json, echo_table, json_option, state
from submissions.scoring import DEFAULT_DATA

from tasks.spec import DIRECTION_ARROWS as ARROWS


@click.group()
def tasks() -> None:
    """List tasks and show their metrics, protocols, data and evaluator pins."""


@tasks.command("list")
@json_option
def list_tasks(as_json: bool) -> None:
    """One line per task: version, family, input → output, main metric."""
    from tasks import TASKS

    specs = [cls.spec for _, cls in TASKS.items()]
    if as_json:
        echo_json([spec.to_dict() for spec in specs])
        return
    echo_table([
        {"id": s.id, "version": s.version, "family": s.family,
         "input → output": f"{s.input_modality} → {s.output_kind}",
         "main metric": f"{s.main_metric} {ARROWS[s.main_direction]}", "evaluator": s.evaluator_id or "-"}
        for s in specs
    ])  # fmt: skip


@tasks.command("show")
@click.argument("task_id")
@json_option
def show_task(task_id: str, as_json: bool) -> None:
    """Everything that defines TASK_ID's current version."""
    from tasks import TASKS

    spec = TASKS.get(task_id).spec
    if as_json:
        echo_json(spec.to_dict())
        return
    pins = ", ".join(f"{key} {digest[:12]}" for key, digest in spec.data_hashes) or "none published yet"
    lines = [
        f"{spec.id} {spec.version}: {spec.description}",
        f"family          {spec.family}",
        f"request         {spec.request_kind} (inputs: {', '.join(spec.input_kinds)}; output: {spec.output_kind})",
        f"data            {'+'.join(spec.components)} / {spec.split}; pinned: {pins}",
        f"evaluator       {spec.evaluator_id or '-'}{_pin(spec.evaluator_id, spec.evaluator_sha256)}",
        f"main metric     {spec.main_metric} ({spec.main_direction} is better)",
        f"chance          {spec.chance}",
        f"ceiling         {spec.ceiling}",
        f"variants        {', '.join(spec.variants) or '-'}",
    ]  # fmt: skip
    for line in lines:
        click.echo(line)
    click.echo("")
    echo_table([
        {"metric": m.name, "dir": ARROWS[m.direction], "unit": m.unit, "protocol": m.protocol, "k": m.k,
         "joints": m.joint_set, "align": m.alignment, "seed": m.seed, "variant": m.variant}
        for m in spec.metrics
    ])  # fmt: skip
    click.echo("")
    for version, note in spec.changelog:
        click.echo(f"{version}  {note}")


def _pin(evaluator_id: str | None, sha256: str | None) -> str:
    if evaluator_id is None:
        return ""
    return f" sha256 {sha256}" if sha256 else " (pin pending)"


@tasks.command("export")
@click.argument("names", metavar="ID|all", nargs=-1, required=True)
@click.option("--data", default=DEFAULT_DATA, show_default=True, help="Dataset name or path.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Folder to write.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N samples per task (score with the same --limit).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
@click.pass_context
def export(ctx: click.Context, names: tuple[str, ...], data: str, out: Path, limit: int | None,
           overwrite: bool) -> None:  # fmt: skip
    """Write each task's requests as JSONL (ids, inputs, image files, instruction) for a model that
    runs outside PoseBench; answer them in a bundle and score it with `bench score`
    (docs/submission_format.md)."""
    from bench.data import load_dataset
    from tasks import get_task, task_ids
    from tasks.export import export_tasks

    ids = [t for value in names for t in value.split(",") if t]
    chosen = [get_task(t) for t in (task_ids() if ids == ["all"] else ids)]
    dataset = load_dataset(data, state(ctx).config.data_dir)
    record = export_tasks(chosen, dataset, out, limit=limit, overwrite=overwrite)
    for task_id, entry in record["tasks"].items():
        click.echo(f"{task_id}: {entry['samples']} requests → {out / f'{task_id}.jsonl'} (answer: {entry['answer']})")
    click.echo(f"wrote {out} (data {record['data']}); answer into a bundle, then `bench score BUNDLE --data {data}"
               f"{f' --limit {limit}' if limit else ''}`")  # fmt: skip
