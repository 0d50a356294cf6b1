"""Throughput of the PoseBench-Synth pipeline stages, single process.

Usage: ``python benchmarks/data.py [--poses 512] [--images 24] [--seed 0]``

Prints items per second for pose generation (with its rejection checks), automatic captions, pair
mining, pair instructions and single renders, measured in this process with one torch thread, the
way each build worker runs them. The full build runs the chunked stages on ``--workers`` processes.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.data.synth.poses.generator import derive_rng, generate_split, torch_threads

logger = logging.getLogger("benchmarks.data")


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run(n_poses: int, n_images: int, seed: int) -> list[dict[str, Any]]:
    """Time each stage; returns rows ``{stage, items, seconds, per_second}``."""
    from bench.data.synth.text.captions import caption_poses
    from bench.data.synth.text.instructions import instruct_pairs
    from bench.data.synth.pairs import mine_pairs
    from bench.data.synth.images.render import frame_camera, render_pose, sample_camera, sample_style

    rows = []

    def row(stage: str, items: int, seconds: float) -> None:
        rows.append({"stage": stage, "items": items, "seconds": seconds, "per_second": items / max(seconds, 1e-9)})

    with torch_threads(1):
        generated, seconds = _timed(lambda: generate_split(seed, "bench", n_poses))
        row("poses", len(generated.poses), seconds)
        archetypes = [str(a) for a in generated.archetype]
        captions, seconds = _timed(lambda: caption_poses(generated.poses, archetypes, derive_rng(seed, "c")))
        row("captions (3 per pose)", len(captions), seconds)
        pairs, seconds = _timed(lambda: mine_pairs(generated.poses, archetypes, generated.sequence, derive_rng(seed, "p"),
                                                   n_poses))
        a, b = np.asarray(pairs[0]), np.asarray(pairs[1])
        row("pairs (mining)", len(a), seconds)
        texts, seconds = _timed(lambda: instruct_pairs(generated.poses[a], generated.poses[b], derive_rng(seed, "i")))
        row("instructions (3 per pair)", len(texts), seconds)
        rng = derive_rng(seed, "r")

        def render_all() -> None:
            for pose in generated.poses[:n_images]:
                render_pose(pose, frame_camera(pose[None], sample_camera(rng)), sample_style(rng))

        _, seconds = _timed(render_all)
        row("renders (224x224)", min(n_images, len(generated.poses)), seconds)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=int, default=512, help="poses to generate (a multiple of 4)")
    parser.add_argument("--images", type=int, default=24, help="poses to render")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = run(args.poses, args.images, args.seed)
    print(f"{'stage':28s} {'items':>7s} {'seconds':>8s} {'items/s':>9s}")
    for r in rows:
        print(f"{r['stage']:28s} {r['items']:7d} {r['seconds']:8.2f} {r['per_second']:9.1f}")


if __name__ == "__main__":
    main()
