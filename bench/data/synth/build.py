"""Build PoseBench-Synth: poses, captions, pairs, instructions, renders, render pairs, rpe, spg.

``build_synth(root, size, seed)`` writes a schema-1 dataset folder (``docs/architecture.md`` §3).
Every stage is cut into chunks; chunk ``c`` of stage ``s`` of split ``p`` draws only from
``derive_rng(seed, s, p, c)`` and results are assembled in chunk order, so the files do not depend
on the number of worker processes. Same seed and size give byte-identical files (the test-split
hashes are pinned in ``bench.data.synth.pinned``).

Splits never share a sequence: each split's sequences are drawn from its own generators, pose ids
are ``<split>_<sequence:05d>_<frame>``. The build writes into a hidden sibling folder and renames it
into place after the manifest (written last); an interrupted build leaves no dataset behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.body import heading_angle, rotate_heading
from bench.data.manifest import MANIFEST, write_bytes_atomic, write_jsonl_atomic, write_manifest, write_npz_atomic
from bench.data.synth.poses.archetypes import ARCHETYPE_NAMES
from bench.data.synth.poses.generator import (
    CHECKS,
    GeneratedPoses,
    concatenate,
    derive_rng,
    generate_chunk,
    torch_threads,
)
from bench.errors import DataError, UserError
from bench.progress import is_quiet, progress_bar, set_quiet

logger = logging.getLogger(__name__)

VERSION = "1.1"
"""1.1: every product, sum, transcendental function and sort that decides a stored value is computed the
same way on every CPU (``bench.fixed_order``); 1.0's renders depended on the BLAS kernel."""
SPLITS = ("train", "val", "test")
FRAMES_PER_SEQUENCE = 4
SEQUENCES_PER_CHUNK = 64
ITEMS_PER_CHUNK = 256
IMAGES_PER_CHUNK = 16


@dataclass(frozen=True)
class SynthSize:
    """Item counts per split of one build size."""

    poses: dict[str, int]
    pairs: dict[str, int]
    renders: dict[str, int]
    render_pairs: dict[str, int]
    rpe: dict[str, int]
    spg: dict[str, int]


SIZES: dict[str, SynthSize] = {
    "small": SynthSize(poses={"train": 512, "val": 128, "test": 256}, pairs={"train": 512, "val": 128, "test": 256},
                       renders={"train": 64, "val": 32, "test": 128}, render_pairs={"test": 64}, rpe={"test": 64},
                       spg={"test": 64}),
    "full": SynthSize(poses={"train": 20000, "val": 1000, "test": 2000}, pairs={"train": 20000, "val": 1000, "test": 2000},
                      renders={"train": 10000, "val": 1000, "test": 1000}, render_pairs={"test": 1000},
                      rpe={"test": 1000}, spg={"test": 500}),
}  # fmt: skip
"""``small`` builds in well under a minute (>= 256 test poses and pairs: 8 blocks of 32); ``full``
is the v1 benchmark."""


def test_split_size(size: str) -> SynthSize:
    """The published ``size``'s test counts with train/val counts of 16/8: builds the same test split
    (each split draws from its own generators) in a fraction of the time, for pin checks."""
    if size not in SIZES:
        raise UserError(f"unknown synth size {size!r}; choose from {', '.join(SIZES)}", field="size")
    published, tiny = SIZES[size], {"train": 16, "val": 8}
    return SynthSize(poses={**tiny, "test": published.poses["test"]}, pairs={**tiny, "test": published.pairs["test"]},
                     renders={**tiny, "test": published.renders["test"]}, render_pairs=dict(published.render_pairs),
                     rpe=dict(published.rpe), spg=dict(published.spg))  # fmt: skip


@dataclass
class BuildReport:
    """What a build did: the manifest it wrote and how long each stage took (not stored on disk)."""

    root: Path
    manifest: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def _worker_init(quiet: bool) -> None:
    """Set up a spawned worker: one torch thread, and the parent's progress-bar setting."""
    import torch

    torch.set_num_threads(1)
    set_quiet(quiet)


@contextmanager
def _executor(workers: int) -> Iterator[Callable[[Callable[..., Any], Sequence[tuple]], Iterator[Any]]]:
    """``run(fn, argument_tuples)`` yielding results in order, on ``workers`` spawned processes (0/1: inline)."""
    if workers <= 1:
        with torch_threads(1):
            yield lambda fn, args: (fn(*a) for a in args)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_init,
                             initargs=(is_quiet(),)) as pool:
        yield lambda fn, args: pool.map(fn, *zip(*args)) if args else iter(())


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


# -- worker functions (module level, so spawned workers can import them) ---------------------------


def _captions_chunk(poses: np.ndarray, archetypes: list[str], seed: int, split: str, index: int) -> list[list[str]]:
    from bench.data.synth.text.captions import caption_poses

    return caption_poses(poses, archetypes, derive_rng(seed, "captions", split, index))


def _instructions_chunk(poses_a: np.ndarray, poses_b: np.ndarray, seed: int, split: str, index: int) -> list[list[str]]:
    from bench.data.synth.text.instructions import instruct_pairs

    return instruct_pairs(poses_a, poses_b, derive_rng(seed, "instructions", split, index))


def _png(path: Path, image: np.ndarray) -> None:
    from io import BytesIO

    buffer = BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="PNG", compress_level=6)
    write_bytes_atomic(path, buffer.getvalue())


def _renders_chunk(folder: Path, ids: list[str], poses: np.ndarray, seed: int, split: str, index: int
                   ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Render poses into ``folder/<id>.png``; returns (poses_camera (R, 22, 3), camera vectors (R, k))."""
    from bench.data.synth.images.render import camera_frame_pose, frame_camera, render_pose, sample_camera, sample_style

    rng = derive_rng(seed, "renders", split, index)
    targets, cameras = [], []
    for render_id, pose in zip(ids, poses):
        camera = frame_camera(pose[None], sample_camera(rng))
        _png(folder / f"{render_id}.png", render_pose(pose, camera, sample_style(rng)))
        targets.append(camera_frame_pose(pose, camera))
        cameras.append(camera.to_vector())
    return np.stack(targets).astype(np.float32), np.stack(cameras).astype(np.float32)


def _render_pairs_chunk(folder: Path, ids: list[str], poses_a: np.ndarray, poses_b: np.ndarray, seed: int, split: str,
                        index: int) -> None:  # fmt: skip
    from bench.data.synth.images.render import render_pair, sample_camera, sample_style

    rng = derive_rng(seed, "render_pairs", split, index)
    for pair_id, pose_a, pose_b in zip(ids, poses_a, poses_b):
        image_a, image_b = render_pair(pose_a, pose_b, sample_camera(rng), sample_style(rng))
        _png(folder / f"{pair_id}_a.png", image_a)
        _png(folder / f"{pair_id}_b.png", image_b)


def _rpe_chunk(folder: Path, ids: list[str], groups: list[np.ndarray], archetypes: list[list[str]], seed: int,
               split: str, index: int) -> list[tuple[np.ndarray, list[list[float]], int, str]]:  # fmt: skip
    """Scenes into ``folder/<id>.png``; per scene (target pose_camera, boxes, target, question)."""
    from bench.data.synth.images.scenes import make_rpe_scene

    rng = derive_rng(seed, "rpe", split, index)
    out = []
    for scene_id, poses, names in zip(ids, groups, archetypes):
        scene = make_rpe_scene(poses, names, rng)
        _png(folder / f"{scene_id}.png", scene.image)
        boxes = [[round(float(v), 2) for v in box] for box in scene.boxes]
        out.append((scene.poses_camera[scene.target], boxes, int(scene.target), scene.question))
    return out


# -- stages -----------------------------------------------------------------------------------------


def _run_chunked(run: Callable, desc: str, fn: Callable, args: list[tuple]) -> list[Any]:
    """Run ``fn`` on every argument tuple (in order) with a progress bar counting chunks."""
    results = []
    with progress_bar(desc, total=len(args), unit="chunk") as bar:
        for result in run(fn, args):
            results.append(result)
            bar.update(1)
    return results


def _stage_poses(run: Callable, seed: int, split: str, n_poses: int) -> GeneratedPoses:
    n_sequences = n_poses // FRAMES_PER_SEQUENCE
    n_chunks = -(-n_sequences // SEQUENCES_PER_CHUNK)
    args = [(seed, split, n_sequences, SEQUENCES_PER_CHUNK, c, FRAMES_PER_SEQUENCE) for c in range(n_chunks)]
    return concatenate(_run_chunked(run, f"poses {split}", generate_chunk, args))


def _pose_ids(split: str, generated: GeneratedPoses) -> np.ndarray:
    return np.array([f"{split}_{s:05d}_{f}" for s, f in zip(generated.sequence, generated.frame)])


def _texts_rows(ids: Sequence[str], texts: list[list[str]]) -> list[dict[str, Any]]:
    return [{"id": str(i), "auto": list(t), "human": []} for i, t in zip(ids, texts)]


def _stage_captions(run: Callable, tmp: Path, seed: int, split: str, ids: np.ndarray, generated: GeneratedPoses) -> int:
    spans = _chunks(len(ids), ITEMS_PER_CHUNK)
    args = [(generated.poses[a:b], [str(x) for x in generated.archetype[a:b]], seed, split, c) for c, (a, b) in enumerate(spans)]
    texts = [t for chunk in _run_chunked(run, f"captions {split}", _captions_chunk, args) for t in chunk]
    write_jsonl_atomic(tmp / f"captions/{split}.jsonl", _texts_rows(ids, texts))
    return len(texts)


@dataclass
class _Pairs:
    ids: np.ndarray
    a: np.ndarray
    b: np.ndarray
    in_sequence: np.ndarray
    poses_a: np.ndarray
    poses_b: np.ndarray


def _stage_pairs(run: Callable, tmp: Path, seed: int, split: str, n_pairs: int, ids: np.ndarray,
                 generated: GeneratedPoses) -> _Pairs:  # fmt: skip
    """Mine pairs, give in-sequence B its heading relative to A, write pairs and instructions."""
    from bench.data.synth.pairs import mine_pairs

    a, b, in_sequence = mine_pairs(generated.poses, generated.archetype, generated.sequence,
                                   derive_rng(seed, "pairs", split), n_pairs)
    a, b, in_sequence = np.asarray(a), np.asarray(b), np.asarray(in_sequence, dtype=bool)
    if len(a) < n_pairs:
        logger.warning("%s: mined %d of %d pairs", split, len(a), n_pairs)
    if np.any(in_sequence != (generated.sequence[a] == generated.sequence[b])):
        raise DataError("mine_pairs returned an in_sequence flag that disagrees with the sequences", field="in_sequence")
    poses_b = generated.poses[b].copy()
    turned = rotate_heading(generated.raw_poses[b], -heading_angle(generated.raw_poses[a]))
    poses_b[in_sequence] = np.asarray(turned, dtype=np.float32)[in_sequence]
    pairs = _Pairs(np.array([f"{split}_pair_{k:05d}" for k in range(len(a))]), a, b, in_sequence, generated.poses[a], poses_b)
    write_npz_atomic(tmp / f"pairs/{split}.npz", {"ids": pairs.ids, "a_ids": ids[a], "b_ids": ids[b],
                                                  "poses_a": pairs.poses_a, "poses_b": pairs.poses_b,
                                                  "in_sequence": in_sequence})  # fmt: skip
    spans = _chunks(len(a), ITEMS_PER_CHUNK)
    args = [(pairs.poses_a[x:y], pairs.poses_b[x:y], seed, split, c) for c, (x, y) in enumerate(spans)]
    texts = [t for chunk in _run_chunked(run, f"instructions {split}", _instructions_chunk, args) for t in chunk]
    write_jsonl_atomic(tmp / f"instructions/{split}.jsonl", _texts_rows(pairs.ids, texts))
    return pairs


def _stage_renders(run: Callable, tmp: Path, seed: int, split: str, n: int, ids: np.ndarray, poses: np.ndarray) -> None:
    chosen = np.sort(derive_rng(seed, "render-choice", split).choice(len(ids), size=n, replace=False))
    render_ids = [f"{split}_render_{k:05d}" for k in range(n)]
    spans = _chunks(n, IMAGES_PER_CHUNK)
    args = [(tmp / "renders" / split, render_ids[x:y], poses[chosen[x:y]], seed, split, c) for c, (x, y) in enumerate(spans)]
    results = _run_chunked(run, f"renders {split}", _renders_chunk, args)
    write_npz_atomic(tmp / f"renders/{split}.npz", {
        "ids": np.array(render_ids), "pose_ids": ids[chosen],
        "poses_camera": np.concatenate([r[0] for r in results]), "camera": np.concatenate([r[1] for r in results]),
    })  # fmt: skip


def _stage_render_pairs(run: Callable, tmp: Path, seed: int, split: str, n: int, pairs: _Pairs) -> None:
    chosen = np.sort(derive_rng(seed, "render-pair-choice", split).choice(len(pairs.ids), size=n, replace=False))
    ids = [f"{split}_rpair_{k:05d}" for k in range(n)]
    spans = _chunks(n, IMAGES_PER_CHUNK)
    folder = tmp / "render_pairs" / split
    args = [(folder, ids[x:y], pairs.poses_a[chosen[x:y]], pairs.poses_b[chosen[x:y]], seed, split, c)
            for c, (x, y) in enumerate(spans)]  # fmt: skip
    _run_chunked(run, f"render pairs {split}", _render_pairs_chunk, args)
    write_jsonl_atomic(tmp / f"render_pairs/{split}.jsonl", [
        {"id": i, "pair_id": str(pairs.ids[k]), "image_a": f"render_pairs/{split}/{i}_a.png",
         "image_b": f"render_pairs/{split}/{i}_b.png"} for i, k in zip(ids, chosen)
    ])  # fmt: skip


def _stage_rpe(run: Callable, tmp: Path, seed: int, split: str, n: int, ids: np.ndarray, generated: GeneratedPoses) -> None:
    """Scenes of 2-4 people, each from a different sequence of the split."""
    rng = derive_rng(seed, "rpe-choice", split)
    first_frames = np.flatnonzero(generated.frame == rng.integers(FRAMES_PER_SEQUENCE))
    groups = [np.sort(rng.choice(first_frames, size=rng.integers(2, 5), replace=False)) for _ in range(n)]
    scene_ids = [f"{split}_scene_{k:05d}" for k in range(n)]
    spans = _chunks(n, IMAGES_PER_CHUNK)
    args = [(tmp / "rpe" / split, scene_ids[x:y], [generated.poses[g] for g in groups[x:y]],
             [[str(a) for a in generated.archetype[g]] for g in groups[x:y]], seed, split, c)
            for c, (x, y) in enumerate(spans)]  # fmt: skip
    scenes = [s for chunk in _run_chunked(run, f"rpe {split}", _rpe_chunk, args) for s in chunk]
    write_jsonl_atomic(tmp / f"rpe/{split}.jsonl", [
        {"id": i, "image": f"rpe/{split}/{i}.png", "question": question, "target": target, "boxes": boxes,
         "pose_ids": [str(p) for p in ids[g]]}
        for i, g, (_, boxes, target, question) in zip(scene_ids, groups, scenes)
    ])  # fmt: skip
    write_npz_atomic(tmp / f"rpe/{split}.npz", {"ids": np.array(scene_ids), "poses_camera": np.stack([s[0] for s in scenes])})


def _stage_spg(tmp: Path, seed: int, split: str, n: int, ids: np.ndarray, generated: GeneratedPoses) -> None:
    """Implicit descriptions for ``n`` poses of archetypes that have them, spread over archetypes."""
    from bench.data.synth.text.spg import SPG_DESCRIPTIONS, implicit_description

    rng = derive_rng(seed, "spg", split)
    eligible = np.flatnonzero(np.isin(generated.archetype, list(SPG_DESCRIPTIONS)))
    if len(eligible) < n:
        raise DataError(f"only {len(eligible)} {split} poses have SPG descriptions, need {n}", field="spg")
    chosen = np.sort(rng.choice(eligible, size=n, replace=False))
    rows = [{"id": f"{split}_spg_{k:05d}", "pose_id": str(ids[i]),
             "description": implicit_description(str(generated.archetype[i]), rng), "archetype": str(generated.archetype[i])}
            for k, i in enumerate(chosen)]  # fmt: skip
    write_jsonl_atomic(tmp / f"spg/{split}.jsonl", rows)


def _rejection_stats(generated: dict[str, GeneratedPoses]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split, g in generated.items():
        out[split] = {"attempts": g.attempts, "accepted": len(g.poses),
                      "rejected": {name: g.rejections[name] for name in CHECKS},
                      "rate": {name: round(g.rejections[name] / max(g.attempts, 1), 4) for name in CHECKS}}  # fmt: skip
    return out


def build_synth(root: str | Path, size: str | SynthSize = "small", seed: int = 0, *, workers: int = 2,
                force: bool = False) -> BuildReport:  # fmt: skip
    """Build PoseBench-Synth into ``root`` (see the module docstring).

    Args:
        root: the dataset folder to create (e.g. ``config.data_dir / "synth-small"``).
        size: ``small`` or ``full`` (:data:`SIZES`), or explicit :class:`SynthSize` counts (variant
            ``custom``, for tests).
        seed: the one seed of every random draw.
        workers: processes for the chunked stages (1 = in this process); does not change the files.
        force: replace an existing dataset at ``root``.

    Raises:
        UserError: unknown size, or ``root`` exists and ``force`` is False.
    """
    if isinstance(size, SynthSize):
        sizes, size = size, "custom"
    elif size in SIZES:
        sizes = SIZES[size]
    else:
        raise UserError(f"unknown synth size {size!r} (known: {', '.join(SIZES)})", field="size")
    root = Path(root)
    if root.exists() and not force:
        raise UserError(f"{root} already exists; pass --force to rebuild it", file=root)
    tmp = root.parent / f".{root.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    seconds: dict[str, float] = {}
    generated: dict[str, GeneratedPoses] = {}
    counts: dict[str, dict[str, int]] = {split: {} for split in SPLITS}
    try:
        with _executor(workers) as run:
            for split in SPLITS:
                clock = time.perf_counter()
                generated[split] = g = _stage_poses(run, seed, split, sizes.poses[split])
                ids = _pose_ids(split, g)
                write_npz_atomic(tmp / f"poses/{split}.npz", {"ids": ids, "poses": g.poses, "archetype": g.archetype,
                                                              "sequence": np.array([f"{split}_{s:05d}" for s in g.sequence])})  # fmt: skip
                seconds[f"poses {split}"] = time.perf_counter() - clock
                clock = time.perf_counter()
                counts[split]["poses"] = len(ids)
                counts[split]["captions"] = _stage_captions(run, tmp, seed, split, ids, g)
                seconds[f"captions {split}"] = time.perf_counter() - clock
                clock = time.perf_counter()
                pairs = _stage_pairs(run, tmp, seed, split, sizes.pairs[split], ids, g)
                counts[split]["pairs"] = counts[split]["instructions"] = len(pairs.ids)
                seconds[f"pairs {split}"] = time.perf_counter() - clock
                clock = time.perf_counter()
                _stage_renders(run, tmp, seed, split, sizes.renders[split], ids, g.poses)
                counts[split]["renders"] = sizes.renders[split]
                if split in sizes.render_pairs:
                    _stage_render_pairs(run, tmp, seed, split, sizes.render_pairs[split], pairs)
                    counts[split]["render_pairs"] = sizes.render_pairs[split]
                if split in sizes.rpe:
                    _stage_rpe(run, tmp, seed, split, sizes.rpe[split], ids, g)
                    counts[split]["rpe"] = sizes.rpe[split]
                seconds[f"images {split}"] = time.perf_counter() - clock
                if split in sizes.spg:
                    _stage_spg(tmp, seed, split, sizes.spg[split], ids, g)
                    counts[split]["spg"] = sizes.spg[split]
        config = {"seed": seed, "size": size, "frames_per_sequence": FRAMES_PER_SEQUENCE, "sizes": asdict(sizes),
                  "archetypes": list(ARCHETYPE_NAMES), "body_model": "skeleton",
                  "camera_fields": _camera_fields()}  # fmt: skip
        manifest = write_manifest(
            tmp, name="synth", version=VERSION, variant=size, config=config, counts=counts,
            description=f"PoseBench-Synth {VERSION} ({size}): procedural poses of {len(ARCHETYPE_NAMES)} activity "
                        "archetypes with automatic captions, pose pairs with instructions, renders, multi-person "
                        "scenes and implicit descriptions",
            extra={"build": {"rejections": _rejection_stats(generated)}},
        )  # fmt: skip
        _swap_into_place(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("built %s (%s, seed %d) in %.1f s", root, size, seed, sum(seconds.values()))
    return BuildReport(root=root, manifest=manifest, seconds=seconds)


def _camera_fields() -> list[str]:
    from bench.data.synth.images.camera import CAMERA_FIELDS

    return list(CAMERA_FIELDS)


def _swap_into_place(tmp: Path, root: Path) -> None:
    """Rename the finished build over ``root`` (the old dataset, if any, is removed after)."""
    if not (tmp / MANIFEST).is_file():
        raise DataError("build finished without a manifest", file=tmp / MANIFEST)
    trash = root.parent / f".{root.name}.old-{os.getpid()}"
    if root.exists():
        os.replace(root, trash)
    os.replace(tmp, root)
    shutil.rmtree(trash, ignore_errors=True)
