"""``bench models list`` and ``bench models train NAME``."""

from __future__ import annotations

from pathlib import Path

import click

from bench.cli._common import echo_json, echo_table, json_option, state


@click.group()
def models() -> None:
    """Models under test: list them, train the trainable ones."""


@models.command("list")
@click.option("--include", "includes", multiple=True, metavar="PATH",
              help="Also import adapters from a .py file, a folder of them, or a module name (as bench run --include).")  # fmt: skip
@json_option
def list_models(includes: tuple[str, ...], as_json: bool) -> None:
    """Every registered model with its version, tasks, origin and description.

    Origins: built in, an installed package's `posebench.models` entry point, or --include. A
    plugin that fails to load is reported on stderr (exit code 2) and hides no other model.
    """
    from bench.errors import UserError
    from bench.models import TRAINERS, discover_models, include, model_origin, plugin_errors

    include(includes)
    rows = []
    for name, adapter in discover_models().items():
        info = adapter.info
        rows.append({"name": name, "version": info.version, "tasks": list(adapter.tasks), "parameters": info.parameter_count,
                     "dtypes": list(adapter.dtypes), "trainable": name in TRAINERS, "origin": model_origin(name),
                     "description": info.description})  # fmt: skip
    if as_json:
        echo_json(rows)
    else:
        echo_table([{**r, "tasks": ",".join(r["tasks"]), "dtypes": ",".join(r["dtypes"]) or "-",
                     "trainable": "yes" if r["trainable"] else "-"} for r in rows])  # fmt: skip
    broken = plugin_errors()
    for error in broken[:-1]:
        click.echo(f"error: {error}", err=True)
    if broken:
        raise UserError(str(broken[-1]))


@models.command("train")
@click.argument("name")
@click.option("--data", default="synth-full", show_default=True, help="Dataset to train on (its train split; val selects).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), help="Output folder (default: <home>/models).")
@click.option("--quick", is_flag=True, help="Tiny settings (seconds; for smoke tests).")
@click.option("--config", "preset", help="A named training configuration, for models that have several (unipose: small, tiny).")
@click.option("--epochs", type=click.IntRange(1), help="Override the epoch count (models whose trainer takes it).")
@click.option("--seed", type=int, help="Training seed (models whose trainer takes it).")
@click.pass_context
def train(ctx: click.Context, name: str, data: str, out: Path | None, quick: bool, preset: str | None,
          epochs: int | None, seed: int | None) -> None:  # fmt: skip
    """Train model NAME's checkpoints; `bench run` then finds them in <home>/models."""
    import inspect

    from bench.data import load_dataset
    from bench.errors import ConfigError
    from bench.models import TRAINERS, discover_models

    config = state(ctx).config
    trainer = discover_models() and TRAINERS.get(name)
    extra = {}
    for option, key, value, missing in (("--config", "preset", preset, "no named training configurations"),
                                        ("--epochs", "epochs", epochs, "no --epochs option"),
                                        ("--seed", "seed", seed, "no --seed option")):  # fmt: skip
        if value is not None:
            if key not in inspect.signature(trainer).parameters:
                raise ConfigError(f"model {name!r} has {missing}", field=option)
            extra[key] = value
    dataset = load_dataset(data, config.data_dir)
    for path in trainer(dataset, out or config.user_models_dir, quick=quick, config=config, **extra):
        click.echo(f"wrote {path} (card {Path(path).with_suffix('.json')})")
