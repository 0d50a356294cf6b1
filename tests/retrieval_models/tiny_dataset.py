"""A tiny dataset folder in the docs/architecture.md §3 layout, with texts that depend on the pose.

Each pose bends eight joints (hips, knees, shoulders, elbows) about their x axis by one of three
amounts, plus small noise elsewhere; its captions name each bent joint's state ("the left knee is
bent"), in a seeded random order, with synonyms. Pair instructions name the joints whose state
changes from A to B. Mirroring a pose (``bench.body.mirror_pose``) swaps the left and right joints
and keeps each bend, so the caption of a mirrored pose is the flipped caption (up to clause order).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.data import write_manifest

JOINTS = {
    "left hip": 1, "right hip": 2, "left knee": 4, "right knee": 5,
    "left shoulder": 16, "right shoulder": 17, "left elbow": 18, "right elbow": 19,
}  # fmt: skip
ANGLES = (0.05, 0.8, 1.6)
STATES = (("straight", "extended"), ("slightly bent", "a little bent"), ("bent", "flexed"))


def joint_states(poses: np.ndarray) -> np.ndarray:
    """int (N, 8): the state index (0 straight, 1 slightly bent, 2 bent) of each of ``JOINTS``."""
    bends = np.stack([poses[:, j, 0] for j in JOINTS.values()], axis=1)
    centres = np.asarray(ANGLES)
    return np.abs(bends[..., None] - centres).argmin(-1)


def caption(states: np.ndarray, rng: np.random.Generator, human: bool = False) -> str:
    """A description of one pose's ``states`` (int (8,)): its bent joints, in a random order."""
    names = list(JOINTS)
    clauses = [f"the {names[i]} is {STATES[s][int(rng.integers(2))]}" for i, s in enumerate(states) if s > 0]
    text = ", ".join(clauses[i] for i in rng.permutation(len(clauses))) or "the body is straight"
    return ("Their pose: " + text + ".") if human else (text[0].upper() + text[1:] + ".")


def instruction(states_a: np.ndarray, states_b: np.ndarray, rng: np.random.Generator) -> str:
    """How to go from A to B: bend or straighten each joint whose state changes."""
    names = list(JOINTS)
    parts = [f"{'bend' if b > a else 'straighten'} your {names[i]}{' a lot' if abs(b - a) == 2 else ''}"
             for i, (a, b) in enumerate(zip(states_a, states_b)) if a != b]  # fmt: skip
    return ", ".join(parts[i] for i in rng.permutation(len(parts))).capitalize() + "."


def random_poses(n: int, rng: np.random.Generator) -> np.ndarray:
    """float32 (n, 22, 3) poses with random joint states."""
    poses = rng.normal(0.0, 0.03, size=(n, 22, 3))
    poses[:, 0] = 0.0
    states = rng.integers(0, 3, size=(n, len(JOINTS)))
    for column, joint in enumerate(JOINTS.values()):
        poses[:, joint, 0] = np.asarray(ANGLES)[states[:, column]] + rng.normal(0.0, 0.05, size=n)
    return poses.astype(np.float32)


def build_tiny_dataset(root: Path, sizes: dict[str, int] | None = None, seed: int = 0, human_every: int = 2) -> Path:
    """Write the folder; returns ``root``. ``sizes``: poses per split (pairs: the same count);
    every ``human_every``-th item also gets one human text (``0``: none)."""
    sizes = sizes or {"train": 192, "val": 96, "test": 96}
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("poses", "captions", "pairs", "instructions"):
        (root / sub).mkdir(exist_ok=True)
    for split, n in sizes.items():
        poses = random_poses(n, rng)
        states = joint_states(poses)
        ids = np.asarray([f"{split}-{i:05d}" for i in range(n)])
        np.savez(root / f"poses/{split}.npz", ids=ids, poses=poses)
        with open(root / f"captions/{split}.jsonl", "w", encoding="utf-8") as handle:
            for i in range(n):
                human = [caption(states[i], rng, human=True)] if human_every and i % human_every == 0 else []
                record = {"id": str(ids[i]), "auto": [caption(states[i], rng) for _ in range(3)], "human": human}
                handle.write(json.dumps(record) + "\n")
        a_rows, b_rows = [], []
        while len(a_rows) < n:
            a, b = rng.integers(n, size=2)
            if (states[a] != states[b]).any():
                a_rows.append(int(a))
                b_rows.append(int(b))
        pair_ids = np.asarray([f"{split}-pair-{i:05d}" for i in range(n)])
        np.savez(root / f"pairs/{split}.npz", ids=pair_ids, a_ids=ids[a_rows], b_ids=ids[b_rows],
                 poses_a=poses[a_rows], poses_b=poses[b_rows], in_sequence=np.zeros(n, dtype=bool))  # fmt: skip
        with open(root / f"instructions/{split}.jsonl", "w", encoding="utf-8") as handle:
            for i, (a, b) in enumerate(zip(a_rows, b_rows)):
                human = [instruction(states[a], states[b], rng)] if human_every and i % human_every == 0 else []
                record = {"id": str(pair_ids[i]), "auto": [instruction(states[a], states[b], rng) for _ in range(3)],
                          "human": human}  # fmt: skip
                handle.write(json.dumps(record) + "\n")
    write_manifest(root, name="tiny-retrieval", version="1.0", variant="test",
                   description="tiny pose-dependent captions for retrieval-model tests", config={"seed": seed},
                   counts={split: {"poses": n, "pairs": n} for split, n in sizes.items()})  # fmt: skip
    return root
