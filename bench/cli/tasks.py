"""``bench tasks list|show ID``: the registered tasks and their specs."""

from __future__ import annotations

import click

from bench.cli._common import echo_json, echo_table, json_option

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
