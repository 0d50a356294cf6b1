"""Wall time of one ``bench run`` in 1 and in N processes (torchrun, gloo on CPU), and the bundle's SHA-256.

Usage::

    python benchmarks/run_distributed.py [--model unipose] [--tasks pose2text,image2text text2pose,poseedit,image2pose]
        [--data synth-full] [--processes 1,2] [--limit N] [--model-args threads=1]

Each setting runs in a fresh ``BENCH_HOME`` (an empty prediction cache, the dataset linked in from
``$BENCH_HOME/data``), with one torch thread per process (``OMP_NUM_THREADS=1`` and the model's own
``threads=1``) and ``--no-store``. One process is plain ``python -m bench run``; N processes are
``torchrun --standalone --nproc_per_node N -m bench run``. Reported:

- ``wall s``: the whole command, start-up, answering, gathering, writing, and scoring on rank 0;
- ``model s``: the adapter time of the slowest rank, summed over the tasks;
- the speed-ups of both over one process (target: wall ≥ 1.6× with 2 processes on 2 cores);
- the SHA-256 of the bundle's files, which must be the same for every process count.

Each ``--tasks`` value is one workload. Rank 0 scores alone after the answers are gathered, so the
wall-time speed-up is bounded by the share of scoring: the text tasks' METEOR and PTB tokenizer
(about 10 ms per sample here) weigh more than the pose tasks' joint errors.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SPEEDUP = 1.6


def bundle_sha256(folder: Path) -> str:
    """SHA-256 over the sorted (name, bytes) of a bundle folder's files."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def run_once(processes: int, tasks: str, args: argparse.Namespace, data_dir: Path, work: Path) -> dict[str, float | str]:
    """One ``bench run`` of ``tasks`` in ``processes`` processes, in a fresh home under ``work``."""
    home = work / "home"
    (home / "data").mkdir(parents=True)
    (home / "data" / args.data).symlink_to(data_dir / args.data)
    out = work / "bundles"
    env = {**os.environ, "BENCH_HOME": str(home), "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    launcher = [sys.executable] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]  # fmt: skip
    command = [*launcher, "-m", "bench", "-q", "run", "--model", args.model, "--tasks", tasks, "--data", args.data,
               "--model-args", args.model_args, "--no-store", "--json", "--out", str(out)]  # fmt: skip
    if args.limit:
        command += ["--limit", str(args.limit)]
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{processes} process(es) failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    [outcome] = json.loads(done.stdout)
    rates = outcome["run"]["samples_per_s"]
    model_s = sum(outcome["tasks"][t]["n"] / rate for t, rate in rates.items() if rate)
    return {"wall": wall, "model": model_s, "sha256": bundle_sha256(out / args.model)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="unipose")
    parser.add_argument("--tasks", nargs="+", default=["pose2text,image2text", "text2pose,poseedit,image2pose"],
                        help="One or more comma-separated task lists, each a workload.")
    parser.add_argument("--data", default="synth-full", help="A dataset name under $BENCH_HOME/data.")
    parser.add_argument("--processes", default="1,2", help="Comma-separated process counts; the first is the baseline.")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--model-args", default="threads=1")
    args = parser.parse_args()

    from bench.config import load_config

    data_dir = load_config().data_dir
    if not (data_dir / args.data).is_dir():
        raise SystemExit(f"{data_dir / args.data} is missing: build it with `bench data build synth --size "
                         f"{args.data.removeprefix('synth-')}`")  # fmt: skip
    counts = [int(n) for n in args.processes.split(",")]
    print(f"model {args.model}, data {args.data}{f', limit {args.limit}' if args.limit else ''}, "
          f"{os.cpu_count()} CPUs, model args {args.model_args}")  # fmt: skip
    print(f"{'tasks':<32}  {'processes':>9}  {'wall s':>7}  {'speed-up':>8}  {'model s':>7}  {'speed-up':>8}  bundle sha256")
    identical = True
    for tasks in args.tasks:
        rows = []
        with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
            for n in counts:
                rows.append((n, run_once(n, tasks, args, data_dir, Path(tmp) / str(n))))
        base = rows[0][1]
        for n, row in rows:
            print(f"{tasks:<32}  {n:>9}  {row['wall']:>7.1f}  {base['wall'] / row['wall']:>7.2f}x  {row['model']:>7.1f}  "
                  f"{base['model'] / row['model']:>7.2f}x  {str(row['sha256'])[:16]}", flush=True)  # fmt: skip
        identical &= len({row["sha256"] for _, row in rows}) == 1
    print(f"bundles identical across process counts: {'yes' if identical else 'NO'} "
          f"(target: wall speed-up >= {TARGET_SPEEDUP}x with 2 processes on 2 cores)")  # fmt: skip
    if not identical:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
