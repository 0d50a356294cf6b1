"""Time the leaderboard page's first paint over a 100-entry table (target: under 3 s).

Usage::

    python benchmarks/leaderboard.py [--entries 100] [--repeats 3]

It fills a results store in a temporary BENCH_HOME with ``gt``, ``chance`` and random entries
(``tests/leaderboard/entries.py``: all nine tasks, about one in five missing a task), builds the
table, and times Streamlit's AppTest running the page:

- **fresh process**: a new Python process imports Streamlit's AppTest (timed apart: a server
  has done this before anyone connects), then the page's first run, which imports the app's
  modules (pandas, pyarrow, bench) and loads the table: the first visitor after a server start;
- **new session**: a new AppTest in this process with the data caches cleared (the first visitor
  after a table rebuild on a running server);
- **rerun**: the same session again (cached table and view).

It prints one table of medians over ``--repeats`` runs (wall-clock seconds, and CPU seconds of the
process for the first paints: a figure that other load on the machine inflates much less), and the
verdict on the wall-clock target.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

TARGET_S = 3.0
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, whatever the install state

_COLD = """
import sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
imported, cpu = time.perf_counter(), time.process_time()
at = AppTest.from_file({app!r}, default_timeout=120)
at.run()
assert not at.exception, [e.value for e in at.exception]
assert len(at.dataframe[0].value) == {rows}
print(imported - start, time.perf_counter() - imported, time.process_time() - cpu)
"""


@click.command()
@click.option("--entries", type=click.IntRange(min=3), default=100, show_default=True, help="Rows of the table.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
def main(entries: int, repeats: int) -> None:
    """Build a table of ENTRIES rows and time the page's first paint."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from leaderboard.build import build_table
    from leaderboard.serve import APP_PATH, TABLE_ENV
    from tests.leaderboard.entries import fill_store, many_entries

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="posebench-lb-bench-") as tmp:
        home = Path(tmp)
        os.environ["BENCH_HOME"] = str(home)
        os.environ.pop(TABLE_ENV, None)
        begin = time.perf_counter()
        fill_store(home / "results.sqlite", many_entries(entries))
        fill_s = time.perf_counter() - begin
        begin = time.perf_counter()
        summary = build_table(home / "results.sqlite", home / "leaderboard" / "table.parquet")
        build_s = time.perf_counter() - begin
        size_kb = summary.path.stat().st_size / 1024

        code = _COLD.format(root=str(Path(__file__).resolve().parent.parent), app=str(APP_PATH), rows=entries)
        cold_import, cold, cold_cpu = [], [], []
        for _ in range(repeats):
            out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
                                 check=True)  # fmt: skip
            seconds = out.stdout.strip().splitlines()[-1].split()
            cold_import.append(float(seconds[0]))
            cold.append(float(seconds[1]))
            cold_cpu.append(float(seconds[2]))
        fresh, fresh_cpu, rerun = [], [], []
        for _ in range(repeats):
            st.cache_data.clear()
            begin, cpu = time.perf_counter(), time.process_time()
            at = AppTest.from_file(str(APP_PATH), default_timeout=120)
            at.run()
            fresh.append(time.perf_counter() - begin)
            fresh_cpu.append(time.process_time() - cpu)
            if at.exception or len(at.dataframe[0].value) != entries:
                raise SystemExit(f"the page did not show {entries} rows: {[e.value for e in at.exception]}")
            begin = time.perf_counter()
            at.run()
            rerun.append(time.perf_counter() - begin)

    med = statistics.median
    rows = [
        ("fill store (setup)", fill_s, None), ("bench leaderboard build", build_s, None),
        ("import streamlit (AppTest)", med(cold_import), None),
        ("first paint, fresh process", med(cold), med(cold_cpu)),
        ("first paint, new session", med(fresh), med(fresh_cpu)), ("rerun, warm caches", med(rerun), None),
    ]  # fmt: skip
    click.echo(f"{entries} entries, {summary.rows} score rows, table {size_kb:.0f} KiB, {repeats} repeats")
    click.echo(f"{'stage':<28} {'wall s':>7} {'CPU s':>7}")
    click.echo(f"{'-' * 28} {'-' * 7} {'-' * 7}")
    for name, seconds, cpu_s in rows:
        click.echo(f"{name:<28} {seconds:>7.2f} {'' if cpu_s is None else f'{cpu_s:.2f}':>7}")
    worst = max(statistics.median(cold), statistics.median(fresh))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    click.echo(f"first paint {'meets' if worst < TARGET_S else 'MISSES'} the {TARGET_S:.0f} s target ({worst:.2f} s; "
               f"{os.cpu_count()} cores, load average {load:.1f})")


if __name__ == "__main__":
    main()
