"""``bench data sheet``: write a contact sheet (PNG) of a dataset's renders, render pairs or rpe scenes."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from bench.cli._common import state

logger = logging.getLogger(__name__)


@click.command("sheet")
@click.option("--kind", type=click.Choice(["renders", "pairs", "rpe"]), required=True,
              help="renders + captions, render pairs + instructions, or rpe scenes + questions and boxes.")
@click.option("--data", "data_name", default="synth-small", show_default=True,
              help="Dataset name under the data directory, or a dataset folder.")
@click.option("--split", default="test", show_default=True, help="Dataset split.")
@click.option("--n", "count", type=click.IntRange(1, 1024), default=32, show_default=True, help="Items on the sheet.")
@click.option("--columns", type=click.IntRange(1, 64), default=None, help="Grid columns (default: about square).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the draw of items.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PNG file to write.")
@click.pass_context
def sheet(ctx: click.Context, kind: str, data_name: str, split: str, count: int, columns: int | None, seed: int,
          out: Path) -> None:
    """Write a contact sheet of COUNT items of a dataset: images with their texts under them."""
    from bench.data.dataset import load_dataset
    from bench.data.synth.contact_sheet import dataset_sheet

    dataset = load_dataset(data_name, state(ctx).config.data_dir)
    image = dataset_sheet(dataset, kind, split=split, n=count, seed=seed, columns=columns)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG", optimize=True)
    logger.info("contact sheet of %s %s (%s) written to %s", dataset.name, kind, split, out)
    click.echo(f"wrote {out} ({image.width}x{image.height})")
