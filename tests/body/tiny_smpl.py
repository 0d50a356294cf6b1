"""Synthetic SMPL-format body models for tests and benchmarks (no licensed data involved).

``smpl_model_arrays`` builds the arrays of an SMPL (24 joints) or SMPL-H (52 joints) model file:
a small cloud of vertices around each rest joint, each vertex skinned rigidly to its joint,
``J_regressor`` averaging each joint's cloud (so the rest joints are exactly ``rest_joints``),
random small shape and pose blend shapes and random triangles inside each cloud. The default is
tiny (6 vertices per joint: V = 144 for SMPL); ``num_vertices=6890, num_faces=13776`` gives a
full-size SMPL-format model. ``write_smpl_model`` saves one as .npz or .pkl, as a lone file or in
smplx's folder layout.

Rest pose: the built-in skeleton's T-pose lifted by ``TINY_PELVIS`` (so file frames with the pelvis
away from the origin get tested); SMPL-H fingers fan out from the wrists along ±x.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from bench.body.anthropometry import skeleton_rest_joints
from bench.body.model_files import TREES

TINY_PELVIS = np.array([0.0, 0.9, 0.0])
"""Rest position of the pelvis in the synthetic models, metres."""


def smpl_rest_joints(model_type: str = "smpl") -> np.ndarray:
    """float64 ``(J, 3)`` rest joints of the synthetic models (J = 24 smpl, 52 smplh)."""
    body = skeleton_rest_joints() + TINY_PELVIS
    names, parents = TREES[model_type]
    joints = [body[j] for j in range(min(len(names), len(body)))]
    for name, parent in zip(names[len(joints) :], parents[len(joints) :]):
        side = 1.0 if name.startswith("left") else -1.0
        finger = ("index", "middle", "pinky", "ring", "thumb").index(name.split("_")[1][:-1])
        base = name.endswith("1")  # finger bases fan out in z from the wrist; later joints follow along x
        step = np.array([side * 0.08, 0.0, 0.02 * (2 - finger)]) if base else np.array([side * 0.03, 0.0, 0.0])
        joints.append(joints[parent] + step)
    return np.array(joints)


def smpl_model_arrays(
    model_type: str = "smpl",
    *,
    num_vertices: int | None = None,
    num_faces: int | None = None,
    num_betas: int = 10,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Arrays of a synthetic SMPL-format model (keys as in an SMPL file).

    Args:
        model_type: ``smpl`` (24 joints) or ``smplh`` (52 joints).
        num_vertices: V, at least 2 per joint (default 6 per joint).
        num_faces: F (default 8 per joint).
        num_betas: shape components K.
        seed: seeds every random array.
    """
    rng = np.random.default_rng(seed)
    rest = smpl_rest_joints(model_type)
    num_joints = len(rest)
    num_vertices = 6 * num_joints if num_vertices is None else num_vertices
    num_faces = 8 * num_joints if num_faces is None else num_faces
    owner = np.arange(num_vertices) * num_joints // num_vertices  # joint of each vertex, sorted
    directions = rng.normal(size=(num_vertices, 3))
    directions *= 0.03 / np.linalg.norm(directions, axis=1, keepdims=True)
    counts = np.bincount(owner, minlength=num_joints)
    centroid = np.zeros((num_joints, 3))
    np.add.at(centroid, owner, directions)
    directions -= (centroid / counts[:, None])[owner]  # each cloud centred exactly on its joint
    weights = np.zeros((num_vertices, num_joints))
    weights[np.arange(num_vertices), owner] = 1.0
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    face_owner = np.arange(num_faces) * num_joints // num_faces
    faces = starts[face_owner, None] + rng.integers(0, counts[face_owner, None], size=(num_faces, 3))
    parents = np.array(TREES[model_type][1], dtype=np.int64)
    parents[0] = 2**32 - 1  # as in SMPL files: uint32 "-1"
    return {
        "v_template": rest[owner] + directions,
        "f": faces.astype(np.uint32),
        "weights": weights,
        "J_regressor": weights.T / counts[:, None],
        "shapedirs": rng.normal(scale=0.01, size=(num_vertices, 3, num_betas)),
        "posedirs": rng.normal(scale=0.001, size=(num_vertices, 3, 9 * (num_joints - 1))),
        "kintree_table": np.stack([parents, np.arange(num_joints)]).astype(np.uint32),
    }


def write_smpl_model(
    directory: Path,
    arrays: dict[str, np.ndarray],
    *,
    model_type: str = "smpl",
    fmt: str = "npz",
    layout: str = "folder",
) -> Path:
    """Save ``arrays`` under ``directory``; returns the path to give ``load_body_model``.

    ``layout="folder"``: ``directory/<model_type>/<SMPL|SMPLH>_NEUTRAL.<fmt>``, returns ``directory``.
    ``layout="file"``: ``directory/tiny_<model_type>.<fmt>``, returns that file.
    ``fmt``: ``npz`` or ``pkl`` (a trusted test file, so plain pickle is fine here).
    """
    stem = "SMPLH_NEUTRAL" if model_type == "smplh" else "SMPL_NEUTRAL"
    target = directory / model_type / f"{stem}.{fmt}" if layout == "folder" else directory / f"tiny_{model_type}.{fmt}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "npz":
        np.savez(target, **arrays)
    else:
        with open(target, "wb") as handle:
            pickle.dump(arrays, handle, protocol=2)
    return directory if layout == "folder" else target
