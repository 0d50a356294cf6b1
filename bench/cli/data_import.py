"""``bench data import``: turn licensed dataset releases into PoseBench datasets.

Nothing here downloads anything: the user points at releases they have. Each command writes one
dataset folder (schema v1, architecture §3) under the data dir (``--out`` to choose another place)
and prints what it wrote. The folder is staged next to its destination and only moved into place
when complete, so a failed import leaves no half-written dataset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bench.cli._common import echo_json, echo_table, json_option, state

logger = logging.getLogger(__name__)

_PATH = click.Path(path_type=Path)


def _output_options(default_name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--name``, ``--out``, ``--overwrite`` and ``--json``, shared by every import command."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = json_option(fn)
        fn = click.option("--overwrite", is_flag=True, help="Replace an existing dataset folder.")(fn)
        fn = click.option("--out", type=_PATH, help="Dataset folder to write (default: DATA_DIR/NAME).")(fn)
        fn = click.option("--name", default=default_name, show_default=True, help="Dataset name.")(fn)
        return fn

    return decorate


def _heading_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    from bench.data.importers.headings import HEADING_CONVENTIONS, POSESCRIPT_EULER

    return click.option("--heading", type=click.Choice(sorted(HEADING_CONVENTIONS)), default=POSESCRIPT_EULER,
                        show_default=True, help="How the yaw is removed from the root (PoseScript's own rule by "
                        "default; docs/peers.md, 'Dataset releases read by the importers').")(fn)  # fmt: skip


def _body_model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--body-model", "body_model_name", type=click.Choice(["smpl", "smplh"]),
                      help="Body-model type of --body-models (default: inferred from the path).")(fn)
    fn = click.option("--body-models", type=_PATH,
                      help="SMPL-H (or SMPL) model file or folder (chumpy-free .npz/.pkl), loaded and checked.")(fn)
    return fn


@click.group("import")
def import_group() -> None:
    """Import a licensed dataset release (PoseScript, PoseFix, 3DPW) from local files."""


@import_group.command("posescript")
@click.option("--release", required=True, type=_PATH, help="Unzipped PoseScript release folder (V2, V1 or V0).")
@click.option("--amass", required=True, type=_PATH, help="AMASS SMPL+H G root (old or new sub-dataset names).")
@_heading_option
@_body_model_options
@_output_options("posescript")
@click.pass_context
def posescript_command(ctx: click.Context, release: Path, amass: Path, heading: str, body_models: Path | None,
                       body_model_name: str | None, name: str, out: Path | None, overwrite: bool,
                       as_json: bool) -> None:
    """PoseScript poses (AMASS, y-up, heading-normalised) and auto/human captions."""
    from bench.data.importers.pipeline import import_posescript_dataset

    target = out or state(ctx).config.data_dir / name
    result = import_posescript_dataset(release, amass, target, name=name, overwrite=overwrite, heading=heading,
                                       body_models=body_models, body_model_name=body_model_name)
    _report(result, as_json)


@import_group.command("posefix")
@click.option("--release", required=True, type=_PATH, help="Unzipped PoseFix release folder.")
@click.option("--amass", required=True, type=_PATH, help="AMASS SMPL+H G root (old or new sub-dataset names).")
@click.option("--id-map", type=_PATH,
              help="PoseScript V2 ids_2_dataset_sequence_and_frame_index_100k.json, if not in --release.")
@click.option("--paraphrases/--no-paraphrases", default=True, show_default=True,
              help="Append the paraphrases to the human texts of train pairs (PoseFix-HPP).")
@_heading_option
@_body_model_options
@_output_options("posefix")
@click.pass_context
def posefix_command(ctx: click.Context, release: Path, amass: Path, id_map: Path | None, paraphrases: bool,
                    heading: str, body_models: Path | None, body_model_name: str | None, name: str, out: Path | None,
                    overwrite: bool, as_json: bool) -> None:
    """PoseFix pairs (A→B, in-sequence relative heading kept) and instructions."""
    from bench.data.importers.pipeline import import_posefix_dataset

    target = out or state(ctx).config.data_dir / name
    result = import_posefix_dataset(release, amass, target, name=name, overwrite=overwrite, id_map=id_map,
                                    paraphrases=paraphrases, heading=heading, body_models=body_models,
                                    body_model_name=body_model_name)
    _report(result, as_json)


@import_group.command("3dpw")
@click.option("--root", required=True, type=_PATH, help="3DPW folder with sequenceFiles/ and imageFiles/.")
@click.option("--split", "splits", multiple=True, type=click.Choice(["train", "val", "test"]),
              help="Split to import (repeatable; default: all three).")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Keep every N-th frame of each sequence.")
@click.option("--margin", type=click.FloatRange(min=0.0, max=2.0), default=0.2, show_default=True,
              help="Crop margin per side, as a fraction of the projected joints' box.")
@_body_model_options
@_output_options("3dpw")
@click.pass_context
def threedpw_command(ctx: click.Context, root: Path, splits: tuple[str, ...], stride: int, margin: float,
                     body_models: Path | None, body_model_name: str | None, name: str, out: Path | None,
                     overwrite: bool, as_json: bool) -> None:
    """3DPW person crops (224x224) with their camera-frame SMPL pose (the image2pose target)."""
    from bench.data.importers.pipeline import import_3dpw_dataset

    target = out or state(ctx).config.data_dir / name
    result = import_3dpw_dataset(root, target, name=name, overwrite=overwrite, splits=splits or None,
                                 stride=stride, margin=margin, body_models=body_models,
                                 body_model_name=body_model_name)
    _report(result, as_json)


def _report(result: dict[str, Any], as_json: bool) -> None:
    """Print the written dataset's path and per-split counts."""
    if as_json:
        echo_json(result)
        return
    click.echo(f"wrote {result['name']} to {result['path']}")
    rows = [{"split": split, **counts} for split, counts in result["counts"].items()]
    echo_table(rows)
