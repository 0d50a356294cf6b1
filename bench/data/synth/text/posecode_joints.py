"""Joints seen by the posecode and paircode operators.

The text pipelines work from forward-kinematics joints of the ``skeleton`` body model (metres, y up,
a zero root faces +z, the body's left is +x) extended with virtual joints, as PoseScript does
(docs/peers.md#posescript-captioning-pipeline):

* rows 0–21: the 22 SMPL body joints, in ``JOINT_NAMES`` order;
* rows 22–23: ``left_hand`` / ``right_hand``, the centre of each hand, :data:`HAND_CENTRE_M` past the
  wrist along the wrist → hand-joint direction (PoseScript: the mean of the wrist and the middle
  finger's second phalanx, which sits 0.1367 m past the wrist);
* rows 24–32: ``torso`` (mean of pelvis, neck and spine3) and the midpoints of the thighs, shins,
  upper arms and forearms.

Dimension letters: N poses, E = :data:`NUM_EXTENDED` extended joints.
"""

from __future__ import annotations

import logging

import numpy as np

from bench.body.joints import JOINT_NAMES
from bench.errors import DataError

logger = logging.getLogger(__name__)

#: Distance from the wrist to the hand centre, metres (half of PoseScript's 0.1367 m wrist→middle2).
HAND_CENTRE_M = 0.0684

#: The 22 body joints of the pose convention, in SMPL order.
BODY_JOINTS: tuple[str, ...] = JOINT_NAMES[:22]

#: Virtual joints, each the mean of the listed joints (hands are handled separately).
_MIDPOINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("torso", ("pelvis", "neck", "spine3")),
    ("left_thigh", ("left_hip", "left_knee")),
    ("right_thigh", ("right_hip", "right_knee")),
    ("left_shin", ("left_knee", "left_ankle")),
    ("right_shin", ("right_knee", "right_ankle")),
    ("left_upperarm", ("left_shoulder", "left_elbow")),
    ("right_upperarm", ("right_shoulder", "right_elbow")),
    ("left_forearm", ("left_elbow", "left_wrist")),
    ("right_forearm", ("right_elbow", "right_wrist")),
)

#: Names of the extended joint rows, in order.
EXTENDED_JOINTS: tuple[str, ...] = BODY_JOINTS + ("left_hand", "right_hand") + tuple(n for n, _ in _MIDPOINTS)
NUM_EXTENDED = len(EXTENDED_JOINTS)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(EXTENDED_JOINTS)}

_SMPL_HAND_ROWS = (22, 23)  # left_hand, right_hand rows of the 24-joint skeleton output
_WRIST_ROWS = (20, 21)
_ELBOW_ROWS = (18, 19)


def split_name(joint: str) -> tuple[str | None, str]:
    """``"left_knee"`` → ``("left", "knee")``; ``"torso"`` → ``(None, "torso")``."""
    side, _, part = joint.partition("_")
    if side in ("left", "right") and part:
        return side, part
    return None, joint


def extend_joints(joints_m: np.ndarray) -> np.ndarray:
    """Add the virtual joints.

    Args:
        joints_m: float (N, 24, 3) skeleton joints (metres, y up), or (N, 22, 3) body joints only, in
            which case each hand centre is placed along the elbow → wrist direction.

    Returns:
        float32 (N, E, 3), rows named by :data:`EXTENDED_JOINTS`.
    """
    joints_m = np.asarray(joints_m, dtype=np.float32)
    if joints_m.ndim != 3 or joints_m.shape[1] not in (22, 24) or joints_m.shape[2] != 3:
        raise DataError(f"expected joints of shape (N, 22|24, 3), got {joints_m.shape}", field="joints")
    n = joints_m.shape[0]
    out = np.empty((n, NUM_EXTENDED, 3), dtype=np.float32)
    out[:, :22] = joints_m[:, :22]
    for k in range(2):
        wrist = joints_m[:, _WRIST_ROWS[k]]
        if joints_m.shape[1] == 24:
            direction = joints_m[:, _SMPL_HAND_ROWS[k]] - wrist
        else:
            direction = wrist - joints_m[:, _ELBOW_ROWS[k]]
        norm = np.linalg.norm(direction, axis=-1, keepdims=True)
        out[:, 22 + k] = wrist + HAND_CENTRE_M * direction / np.maximum(norm, 1e-8)
    for name, members in _MIDPOINTS:
        rows = [JOINT_INDEX[m] for m in members]
        out[:, JOINT_INDEX[name]] = out[:, rows].mean(axis=1)
    return out


def pose_joints(poses: np.ndarray, body_model: object | None = None) -> np.ndarray:
    """Forward kinematics of axis-angle poses into extended joints.

    Args:
        poses: float32 (N, 22, 3) axis-angle, SMPL order, y up.
        body_model: a :class:`bench.body.BodyModel`; the built-in ``skeleton`` when None.

    Returns:
        float32 (N, E, 3) extended joints, metres, y up (pelvis where the model puts it).
    """
    poses = np.asarray(poses, dtype=np.float32)
    if poses.ndim != 3 or poses.shape[1:] != (22, 3):
        raise DataError(f"expected poses of shape (N, 22, 3), got {poses.shape}", field="poses")
    if not np.isfinite(poses).all():
        raise DataError("poses contain NaN or infinite values", field="poses")
    if body_model is None:
        from bench.body import load_body_model

        body_model = load_body_model("skeleton")
    # Kinematics in float64, then rounded: the sines of float32 kernels differ between SIMD levels.
    joints = np.asarray(body_model.joints(poses.astype(np.float64)), dtype=np.float32)  # type: ignore[attr-defined]
    return extend_joints(joints)
