"""``bench data``: build, inspect and verify datasets; ``import`` and ``sheet`` are attached here.

- ``bench data build synth [--size small|full] [--seed S] [--force] [--workers N]`` writes
  ``DATA_DIR/synth-<size>`` (or ``--out``).
- ``bench data info [NAME] [--stats] [--json]``: without NAME, every dataset in the data dir; with
  NAME, its counts, split hashes and version (``--stats`` adds the quality report).
- ``bench data verify [NAME]``: re-hash every file against the manifest; exit 2 with one line
  naming the first bad file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from bench.cli._common import echo_json, echo_table, json_option, state
from bench.cli.data_import import import_group
from bench.cli.data_sheet import sheet
from bench.errors import DataError

logger = logging.getLogger(__name__)


@click.group("data")
def data() -> None:
    """Build, inspect, verify, import and preview datasets."""


data.add_command(import_group)
data.add_command(sheet)


@data.command("build")
@click.argument("name", type=click.Choice(["synth"]))
@click.option("--size", type=click.Choice(["small", "full"]), default="small", show_default=True,
              help="small: a few hundred items per split (< 1 min); full: the v1 benchmark (minutes).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
@click.option("--force", is_flag=True, help="Replace an existing dataset folder.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes (the files do not depend on it).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Dataset folder (default: DATA_DIR/synth-SIZE).")
@json_option
@click.pass_context
def build(ctx: click.Context, name: str, size: str, seed: int, force: bool, workers: int, out: Path | None,
          as_json: bool) -> None:  # fmt: skip
    """Build the synthetic dataset NAME (only `synth`)."""
    from bench.data.synth.build import build_synth
    from bench.data.synth.pinned import compare_with_pinned, pinned_hash

    root = out or state(ctx).config.data_dir / f"{name}-{size}"
    report = build_synth(root, size=size, seed=seed, workers=workers, force=force)
    test_hash = report.manifest["splits"]["test"]["hash"]
    expected = pinned_hash(size, seed)
    if expected is not None and expected != test_hash:
        comparison = compare_with_pinned(report.manifest)
        logger.warning("test-split hash %s differs from the pinned %s: this build is not the published %s data%s",
                       test_hash, expected, size, f" ({comparison.summary()})" if comparison else "")  # fmt: skip
    summary = {"root": str(report.root), "size": size, "seed": seed, "test_hash": test_hash,
               "pinned": None if expected is None else expected == test_hash,
               "seconds": {k: round(v, 1) for k, v in report.seconds.items()}}  # fmt: skip
    if as_json:
        echo_json(summary)
        return
    click.echo(f"built {report.root} ({size}, seed {seed}) in {sum(report.seconds.values()):.0f} s")
    click.echo(f"test split hash {test_hash}" + ("" if expected is None else f" ({'matches' if expected == test_hash else 'DIFFERS FROM'} the pinned hash)"))


def _dataset_roots(data_dir: Path) -> list[Path]:
    if not data_dir.is_dir():
        return []
    return sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def _info(root: Path) -> dict[str, Any]:
    from bench.data.dataset import load_dataset

    ds = load_dataset(root, root.parent)
    return {"name": ds.name, "folder": root.name, "root": str(root), "version": ds.version,
            "variant": ds.manifest["variant"], "description": ds.manifest["description"],
            "files": len(ds.manifest["files"]),
            "splits": {s: {"hash": ds.split_hash(s), "counts": ds.manifest["splits"][s]["counts"]} for s in ds.splits}}  # fmt: skip


@data.command("info")
@click.argument("name", required=False)
@click.option("--stats", is_flag=True, help="Add the quality report (archetypes, angles, texts, pairs, rejections).")
@json_option
@click.pass_context
def info(ctx: click.Context, name: str | None, stats: bool, as_json: bool) -> None:
    """Counts, split hashes and version of dataset NAME (default: list every dataset)."""
    data_dir = state(ctx).config.data_dir
    if name is None:
        rows = []
        for root in _dataset_roots(data_dir):
            try:
                entry = _info(root)
            except DataError as exc:
                rows.append({"folder": root.name, "problem": str(exc)})
                continue
            rows.append({"folder": root.name, "name": entry["name"], "version": entry["version"],
                         "variant": entry["variant"], "test_hash": entry["splits"].get("test", {}).get("hash", "")[:16],
                         "splits": ", ".join(f"{s}:{c['counts'].get('poses', '-')}" for s, c in entry["splits"].items())})  # fmt: skip
        if as_json:
            echo_json({"data_dir": str(data_dir), "datasets": rows})
        elif not rows:
            click.echo(f"no datasets in {data_dir}; build one with `bench data build synth`")
        else:
            echo_table(rows, ["folder", "name", "version", "variant", "splits", "test_hash", "problem"] if any("problem" in r for r in rows)
                       else ["folder", "name", "version", "variant", "splits", "test_hash"])  # fmt: skip
        return

    from bench.data.dataset import load_dataset

    ds = load_dataset(name, data_dir)
    entry = _info(ds.root)
    report = None
    if stats:
        from bench.data.synth.stats import quality_report

        report = quality_report(ds)
    if as_json:
        echo_json(dict(entry, stats=report) if stats else entry)
        return
    click.echo(f"{entry['name']} {entry['version']} ({entry['variant']}) at {entry['root']}")
    click.echo(entry["description"])
    components = sorted({c for s in entry["splits"].values() for c in s["counts"]})
    echo_table([dict({"split": s, "hash": v["hash"][:16]}, **{c: v["counts"].get(c) for c in components})
                for s, v in entry["splits"].items()], ["split", *components, "hash"])  # fmt: skip
    if report is not None:
        from bench.data.synth.stats import format_report

        for line in format_report(report):
            click.echo(line)


@data.command("verify")
@click.argument("name", required=False)
@click.pass_context
def verify(ctx: click.Context, name: str | None) -> None:
    """Re-hash every file of dataset NAME (default: every dataset) against its manifest; for a
    PoseBench-Synth build, also compare its test split with the published one (exit 2 naming the
    files and components that differ)."""
    from bench.data.dataset import load_dataset
    from bench.data.manifest import verify_dataset
    from bench.data.synth.pinned import compare_with_pinned

    data_dir = state(ctx).config.data_dir
    if name is not None:
        candidate = Path(name).expanduser()
        roots = [candidate if candidate.is_dir() else data_dir / name]
        if not roots[0].is_dir():
            load_dataset(name, data_dir)  # raises NotFoundError listing what exists
    else:
        roots = _dataset_roots(data_dir)
        if not roots:
            raise DataError(f"no datasets in {data_dir}; build one with `bench data build synth`", file=data_dir)
    not_pinned = []
    for root in roots:
        problems = verify_dataset(root)
        if problems:
            more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
            for problem in problems[1:]:
                logger.debug("%s", problem)
            raise DataError(problems[0] + more)
        manifest = load_dataset(root, root.parent).manifest
        comparison = compare_with_pinned(manifest)
        pinned = "" if comparison is None else f"; {comparison.summary()}"
        click.echo(f"ok {root} ({len(manifest['files'])} files{pinned})")
        if comparison is not None and not comparison.matches:
            for rel in (*comparison.changed, *comparison.missing, *comparison.extra):
                logger.debug("differs from the pinned build: %s", rel)
            not_pinned.append(f"{root}: intact, but {comparison.summary()}; runs on it are not leaderboard-eligible")
    if not_pinned:
        raise DataError(not_pinned[0] + (f" (and {len(not_pinned) - 1} more dataset(s))" if len(not_pinned) > 1 else ""))
