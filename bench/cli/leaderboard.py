"""``bench leaderboard build|serve|screenshot``: the precomputed table and the Streamlit app."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import click

from bench.cli._common import echo_json, json_option, state

MAX_REASONS = 10
"""Ineligibility reasons ``bench leaderboard build`` lists (most frequent first); ``--json`` has all."""

table_option = click.option("--table", type=click.Path(dir_okay=False, path_type=Path),
                            help="Leaderboard table (default: $BENCH_HOME/leaderboard/table.parquet).")  # fmt: skip


@click.group()
def leaderboard() -> None:
    """Build the leaderboard table from the results store and serve the app."""


@leaderboard.command("build")
@table_option
@json_option
@click.pass_context
def build(ctx: click.Context, table: Path | None, as_json: bool) -> None:
    """Write the table the app reads (one parquet file) from every run in the results store.

    Also says how many runs the app hides as ineligible, with their reasons grouped (most frequent
    first).
    """
    from leaderboard.build import build_table

    config = state(ctx).config
    summary = build_table(config.results_store, table or config.leaderboard_table)
    if as_json:
        echo_json({"table": str(summary.path), "runs": summary.runs, "rows": summary.rows, "tasks": summary.tasks,
                   "ineligible": summary.ineligible, "ineligible_reasons": summary.ineligible_reasons})  # fmt: skip
        return
    click.echo(f"wrote {summary.path}: {summary.runs} runs, {summary.tasks} tasks, {summary.rows} score rows")
    if not summary.ineligible:
        click.echo(f"ineligible: 0 of {summary.runs} runs (the app shows every run)")
        return
    click.echo(f"ineligible: {summary.ineligible} of {summary.runs} runs, hidden unless 'Show ineligible runs' is on:")
    reasons = list(summary.ineligible_reasons.items())
    for reason, count in reasons[:MAX_REASONS]:
        click.echo(f"  {count} run{'s' if count != 1 else ''}: {reason}")
    if len(reasons) > MAX_REASONS:
        click.echo(f"  ... and {len(reasons) - MAX_REASONS} more reasons (`bench leaderboard build --json` lists all)")


@leaderboard.command("serve")
@table_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Port on 127.0.0.1.")
@click.pass_context
def serve(ctx: click.Context, table: Path | None, port: int) -> None:
    """Start the leaderboard app on 127.0.0.1 and print its URL (Ctrl-C stops it)."""
    from leaderboard.serve import serve_env, streamlit_command, wait_healthy

    config = state(ctx).config
    table = table or config.leaderboard_table
    if not table.is_file():
        click.echo(f"note: no table at {table} yet; run `bench leaderboard build` (the page says so too)", err=True)
    process = subprocess.Popen(streamlit_command(port), env=serve_env(config, table))
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the server too, not only Ctrl-C
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        click.echo(f"PoseBench leaderboard: http://127.0.0.1:{port}", nl=True)
        sys.stdout.flush()
        process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@leaderboard.command("screenshot")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@table_option
@click.option("--chromium", default="/usr/bin/chromium", show_default=True, help="Chromium binary.")
@click.option("--width", type=click.IntRange(320, 4000), default=1600, show_default=True)
@click.option("--height", type=click.IntRange(240, 4000), default=1000, show_default=True)
@click.pass_context
def screenshot(ctx: click.Context, out: Path, table: Path | None, chromium: str, width: int, height: int) -> None:
    """Serve the app, open it in headless Chromium and save a PNG of the leaderboard to OUT."""
    from leaderboard.browser import TABLE_READY, Browser
    from leaderboard.serve import running_app

    config = state(ctx).config
    with running_app(config, table or config.leaderboard_table) as url, Browser(chromium, width, height) as browser:
        browser.open(url, TABLE_READY)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(browser.screenshot())
    click.echo(f"wrote {out}")
