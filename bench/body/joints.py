"""The SMPL 24-joint kinematic tree, named joint sets and the left/right mirror permutation.

Joint ``j`` of a pose or of a joint array is ``JOINT_NAMES[j]``; its parent is ``SMPL_PARENTS[j]``
(-1 for the root). Poses carry rotations for joints 0–21 (``body22``); the two hand joints 22–23
are leaves whose position follows the wrists.

Joint sets (lists of indices into the 24 SMPL joints):

- ``body22``: joints 0–21, the joints a pose rotates. Valid for every backend (SMPL-H's first 22
  joints are the same).
- ``smpl24``: all 24 SMPL joints (24-joint backends: ``skeleton`` and ``smpl``).
- ``lsp14``: the 14 joints of the Leeds Sports Pose layout, in LSP order, from the SMPL joints:
  right ankle (8), right knee (5), right hip (2), left hip (1), left knee (4), left ankle (7),
  right wrist (21), right elbow (19), right shoulder (17), left shoulder (16), left elbow (18),
  left wrist (20), neck (12), head top → SMPL ``head`` (15). SMPL has no head-top joint; its
  ``head`` joint sits lower, so LSP-annotated heads differ by a fixed offset.
- ``upper_body`` / ``lower_body``: a partition of ``body22`` at the pelvis, for part-wise errors
  (the lower body is the pelvis and both legs).
"""

from __future__ import annotations

import difflib

from bench.errors import NotFoundError

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)  # fmt: skip
"""The 24 SMPL joint names in SMPL order."""

SMPL_PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
"""Parent of each SMPL joint (-1 for the pelvis); a parent always precedes its children."""

NUM_POSE_JOINTS = 22
"""Rows of a pose: the global orientation plus 21 body joints."""

_LOWER_BODY = (0, 1, 2, 4, 5, 7, 8, 10, 11)

JOINT_SETS: dict[str, tuple[int, ...]] = {
    "body22": tuple(range(NUM_POSE_JOINTS)),
    "smpl24": tuple(range(len(JOINT_NAMES))),
    "lsp14": (8, 5, 2, 1, 4, 7, 21, 19, 17, 16, 18, 20, 12, 15),
    "upper_body": tuple(j for j in range(NUM_POSE_JOINTS) if j not in _LOWER_BODY),
    "lower_body": _LOWER_BODY,
}
"""Named joint subsets, as indices into the 24 SMPL joints (see the module docstring)."""


def _mirror_permutation(names: tuple[str, ...]) -> tuple[int, ...]:
    index = {name: i for i, name in enumerate(names)}
    swapped = {"left_": "right_", "right_": "left_"}
    perm = []
    for name in names:
        prefix = next((p for p in swapped if name.startswith(p)), None)
        perm.append(index[swapped[prefix] + name[len(prefix) :]] if prefix else index[name])
    return tuple(perm)


MIRROR_PERMUTATION: tuple[int, ...] = _mirror_permutation(JOINT_NAMES)
"""``MIRROR_PERMUTATION[j]`` is the joint that ``j`` becomes under a left/right swap (an involution;
it maps 0–21 onto 0–21, so ``MIRROR_PERMUTATION[:22]`` permutes a pose's rows)."""


def joint_indices(name: str) -> list[int]:
    """Indices of the joint set ``name`` into the 24 SMPL joints (a fresh list).

    Raises:
        NotFoundError: an unknown set name (the message suggests close names and lists all).
    """
    if name in JOINT_SETS:
        return list(JOINT_SETS[name])
    close = difflib.get_close_matches(name, JOINT_SETS, n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise NotFoundError(f"unknown joint set {name!r}{hint} (known: {', '.join(sorted(JOINT_SETS))})", field="joint_set")
