"""Body-model throughput: poses per second for the skeleton and the smplx backends.

Run from the repository root::

    python benchmarks/body.py [--threads 2] [--repeats 7] [--clock wall|cpu]

Rows: ``skeleton.joints`` (built-in FK), ``smpl-tiny`` / ``smpl-full`` ``.joints`` (FK on the
model's rest joints) and ``.vertices`` (smplx linear blend skinning), for batches of 1, 64 and 1024
random poses, under ``torch.no_grad``. ``smpl-full`` is a random SMPL-format model of full size
(V = 6890, F = 13776) built in a temporary folder; ``smpl-tiny`` is the test model (V = 144).
Each cell is the median (and best) over ``--repeats`` timed runs; a run repeats the call until it has
taken at least 50 ms, so small batches are not dominated by timer resolution. The load average is
printed because a shared machine's load changes these figures several-fold.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import click
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.body.tiny_smpl when run as a script

from bench.body import BodyModel, load_body_model  # noqa: E402
from tests.body.tiny_smpl import smpl_model_arrays, write_smpl_model  # noqa: E402

BATCHES = (1, 64, 1024)
MIN_RUN_S = 0.05


def poses_per_second(
    fn: Callable[[torch.Tensor], torch.Tensor], poses: torch.Tensor, repeats: int, clock: Callable[[], float]
) -> tuple[float, float]:
    """Median and best throughput of ``fn(poses)`` over ``repeats`` runs, poses per second of ``clock``."""
    fn(poses)  # warm-up
    rates = []
    for _ in range(repeats):
        calls, start = 0, clock()
        while True:
            fn(poses)
            calls += 1
            elapsed = clock() - start
            if elapsed >= MIN_RUN_S:
                break
        rates.append(calls * len(poses) / elapsed)
    return statistics.median(rates), max(rates)


def build_models(folder: Path) -> dict[str, BodyModel]:
    full = smpl_model_arrays("smpl", num_vertices=6890, num_faces=13776, seed=1)
    return {
        "skeleton": load_body_model("skeleton"),
        "smpl-tiny": load_body_model("smpl", write_smpl_model(folder / "tiny", smpl_model_arrays("smpl"))),
        "smpl-full": load_body_model("smpl", write_smpl_model(folder / "full", full)),
    }


@click.command()
@click.option("--threads", default=2, show_default=True, help="torch intra-op threads")
@click.option("--repeats", default=7, show_default=True, help="timed runs per figure (median reported)")
@click.option(
    "--clock",
    type=click.Choice(["wall", "cpu"]),
    default="wall",
    show_default=True,
    help="wall: elapsed time; cpu: this process's CPU time (all threads), steadier on a shared machine",
)
@click.option("--seed", default=0, show_default=True)
def main(threads: int, repeats: int, clock: str, seed: int) -> None:
    """Print a table of body-model throughput (poses/s)."""
    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(seed)
    batches = {b: torch.randn(b, 22, 3, generator=generator) * 0.4 for b in BATCHES}
    header = f"{'model':<10} {'method':<9}" + "".join(f" {f'B={b} median (best)':>24}" for b in BATCHES)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    timer = time.perf_counter if clock == "wall" else time.process_time
    click.echo(f"torch {torch.__version__}, {threads} thread(s), load average {load}")
    click.echo(f"poses per {clock}-clock second: median (best) of {repeats} runs")
    click.echo(header)
    click.echo("-" * len(header))
    with tempfile.TemporaryDirectory() as folder, torch.no_grad():
        for name, model in build_models(Path(folder)).items():
            methods = ["joints", "vertices"] if model.has_mesh else ["joints"]
            for method in methods:
                fn = getattr(model, method)
                rates = [poses_per_second(fn, batches[b], repeats, timer) for b in BATCHES]
                cells = "".join(f" {f'{median:,.0f} ({best:,.0f})':>24}" for median, best in rates)
                click.echo(f"{name:<10} {method:<9}{cells}")


if __name__ == "__main__":
    main()
