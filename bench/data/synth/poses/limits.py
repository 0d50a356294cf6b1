"""Anatomical joint angles and their limits: the readable parametrisation of a SMPL body pose.

Every body joint of the 22-row axis-angle pose gets three named anatomical angles in degrees, its
*degrees of freedom* (DOFs). The synthetic generator writes archetypes in these angles, converts
them to axis-angle with :func:`angles_to_axis_angle`, and :func:`joint_limit_violations` converts a
finished axis-angle pose back with :func:`axis_angle_to_angles` and checks every angle against the
ranges below, so a conversion bug or an out-of-range archetype shows up as a rejected pose.

Conventions (SMPL frame: y up, the body faces +z, the body's left is +x):

* Angles are given for the **left** side. A right-side joint uses the same anatomical meaning
  (flexion is flexion, abduction is away from the midline); its rotation is the mirror image of the
  left one: axis-angle ``(x, y, z) -> (x, -y, -z)``, the same rule as ``bench.body.mirror_pose``.
* Midline joints (spine, neck, head): ``bend`` and ``twist`` are positive towards the body's left.
* Euler joints compose intrinsic rotations in the order of their DOFs, outermost first
  (``R = R_dof0 @ R_dof1 @ R_dof2``). The middle DOF always stays well inside (-90°, 90°), so the
  decomposition back to angles is unique.
* The shoulder is a swing–twist joint in the ISB convention (Wu et al. 2005, J. Biomech. 38:981):
  ``elev`` is the angle between the upper arm and the downward vertical (0 = arm hanging, 90 =
  horizontal, 180 = overhead), ``plane`` the plane of elevation (0 = out to the side in the frontal
  plane, 90 = straight forward, negative = behind the body; a negative ``elev`` points the arm to
  the opposite side of that plane, which lets an arm swing smoothly through the vertical), ``twist``
  the axial rotation about the upper arm, measured from the minimal swing out of the T-pose
  (rest pose: arms out along ±x, palms down).
* Row 0 (global orientation) has ``pitch`` (about +x; +90 = lying face down), ``roll`` (about the
  facing axis +z; +90 = lying on the right side) and ``yaw`` (about +y; removed by heading
  normalisation). Root angles have no limits.

Limits are active ranges of motion of healthy adults, rounded outwards, after the AAOS tables
(Greene & Heckman, *The Clinical Measurement of Joint Motion*, AAOS 1994) and Soucie et al. 2011
(*Haemophilia* 17:500, normal ROM of 674 subjects), with the spine split evenly over SMPL's three
spine joints. Dimension letters: N poses; angle arrays are float64 (N, 22, 3) degrees, row r holding
the DOFs of pose row r.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from bench.fixed_order import dot, norm

LIMIT_TOLERANCE_DEG = 1.0
"""Slack allowed by :func:`joint_limit_violations` for float32 round-off of stored poses."""

SHOULDER_MAX_EXTENSION_DEG = 60.0
"""The upper arm may point at most this far behind the frontal plane (shoulder extension)."""

SHOULDER_MAX_CROSS_DEG = 50.0
"""The upper arm may point at most this far across the midsagittal plane (horizontal adduction)."""


@dataclass(frozen=True)
class JointSpec:
    """The anatomical DOFs of one pose row."""

    row: int
    """Row of the (22, 3) pose (0 = global orientation)."""
    name: str
    """SMPL joint name of that row."""
    kind: str
    """``root``, ``euler`` or ``shoulder`` (swing–twist)."""
    dofs: tuple[str, str, str]
    """DOF names, outermost rotation first."""
    axes: str
    """Intrinsic Euler axes of the DOFs (``"XZY"``: R = Rx(dof0) Rz(dof1) Ry(dof2)); left side."""
    signs: tuple[int, int, int]
    """Sign turning each anatomical angle into a rotation about its positive axis; left side."""
    lo: tuple[float, float, float]
    """Lowest allowed angle per DOF, degrees."""
    hi: tuple[float, float, float]
    """Highest allowed angle per DOF, degrees."""
    side: str
    """``left``, ``right`` or ``mid``."""
    note: str
    """Where the range comes from."""


_LIMITS: list[tuple[str, str, tuple[str, str, str], str, tuple[int, int, int], tuple, tuple, str]] = [
    # name, kind, dofs, axes, signs, lo, hi, note
    ("pelvis", "root", ("pitch", "roll", "yaw"), "XZY", (1, 1, 1), (-360, -360, -360), (360, 360, 360),
     "global orientation: not limited"),
    ("hip", "euler", ("flex", "abd", "twist"), "XZY", (-1, 1, -1), (-30, -30, -45), (135, 55, 45),
     "hip flexion 120-135, extension 30, abduction 45 (55 in splits-like yoga stances), adduction 30, "
     "internal/external rotation 45 (AAOS; Soucie 2011). twist > 0 = internal rotation"),
    ("spine", "euler", ("flex", "bend", "twist"), "XZY", (1, -1, 1), (-15, -20, -20), (35, 20, 20),
     "thoracolumbar flexion ~100, extension ~40, lateral bend ~60, rotation ~60, split over SMPL's "
     "three spine joints (AAOS)"),
    ("knee", "euler", ("flex", "abd", "twist"), "XZY", (1, 1, -1), (-5, -8, -20), (150, 8, 20),
     "knee flexion 0-150 with at most 5 hyperextension; small varus/valgus play; tibial rotation "
     "about 20 each way in flexion (AAOS)"),
    ("ankle", "euler", ("flex", "abd", "inv"), "XYZ", (-1, 1, -1), (-60, -25, -20), (30, 25, 35),
     "dorsiflexion 20-30 (flex > 0), plantarflexion 50 active and 60 passive, e.g. sitting on the "
     "insteps (flex < 0), toe-out/in 25, inversion 35, "
     "eversion 20 (AAOS)"),
    ("foot", "euler", ("flex", "abd", "twist"), "XYZ", (1, 1, 1), (-40, -10, -10), (40, 10, 10),
     "metatarsophalangeal flexion 40 (flex > 0 curls the toes), extension 40 (AAOS, first MTP 70)"),
    ("neck", "euler", ("flex", "bend", "twist"), "XZY", (1, -1, 1), (-40, -35, -60), (45, 35, 60),
     "cervical flexion 45, extension 45, lateral bend 45, rotation 60-80, split with the head joint"),
    ("collar", "euler", ("elev", "protr", "twist"), "ZYX", (1, -1, 1), (-10, -20, -10), (35, 25, 10),
     "shoulder-girdle elevation 30-40, depression 10, protraction/retraction 15-25 (Kapandji)"),
    ("head", "euler", ("flex", "bend", "twist"), "XZY", (1, -1, 1), (-30, -25, -30), (30, 25, 30),
     "atlanto-occipital share of the cervical range"),
    ("shoulder", "shoulder", ("elev", "plane", "twist"), "", (1, 1, 1), (-70, -180, -90), (180, 180, 90),
     "humeral elevation 0-180, extension 60 behind the frontal plane, horizontal adduction 50 across "
     "the midline, axial rotation 90 each way (ISB Wu 2005; AAOS)"),
    ("elbow", "euler", ("flex", "carry", "pron"), "YZX", (-1, 1, 1), (-5, -10, -85), (150, 10, 85),
     "elbow flexion 0-150 with at most 5 hyperextension; forearm pronation/supination 80-85 (AAOS)"),
    ("wrist", "euler", ("flex", "dev", "twist"), "ZYX", (-1, 1, 1), (-70, -30, -10), (80, 25, 10),
     "wrist flexion 80, extension 70, radial deviation 20-25, ulnar deviation 30-35 (AAOS)"),
]

_ROW_KIND = [
    # pose row -> (SMPL joint name, limit family, side)
    ("pelvis", "pelvis", "mid"), ("left_hip", "hip", "left"), ("right_hip", "hip", "right"),
    ("spine1", "spine", "mid"), ("left_knee", "knee", "left"), ("right_knee", "knee", "right"),
    ("spine2", "spine", "mid"), ("left_ankle", "ankle", "left"), ("right_ankle", "ankle", "right"),
    ("spine3", "spine", "mid"), ("left_foot", "foot", "left"), ("right_foot", "foot", "right"),
    ("neck", "neck", "mid"), ("left_collar", "collar", "left"), ("right_collar", "collar", "right"),
    ("head", "head", "mid"), ("left_shoulder", "shoulder", "left"), ("right_shoulder", "shoulder", "right"),
    ("left_elbow", "elbow", "left"), ("right_elbow", "elbow", "right"),
    ("left_wrist", "wrist", "left"), ("right_wrist", "wrist", "right"),
]


def _build_specs() -> tuple[JointSpec, ...]:
    families = {row[0]: row for row in _LIMITS}
    specs = []
    for row, (name, family, side) in enumerate(_ROW_KIND):
        _, kind, dofs, axes, signs, lo, hi, note = families[family]
        specs.append(JointSpec(row, name, kind, dofs, axes, signs, lo, hi, side, note))
    return tuple(specs)


JOINTS: tuple[JointSpec, ...] = _build_specs()
"""The 22 pose rows with their DOFs and limits, in SMPL order."""

JOINT_BY_NAME: dict[str, JointSpec] = {spec.name: spec for spec in JOINTS}

LOWER = np.array([spec.lo for spec in JOINTS], dtype=np.float64)
"""(22, 3) lowest allowed angle per row and DOF, degrees."""
UPPER = np.array([spec.hi for spec in JOINTS], dtype=np.float64)
"""(22, 3) highest allowed angle per row and DOF, degrees."""


def mirror_axis_angle(rotvec: np.ndarray) -> np.ndarray:
    """Mirror rotations through the body's sagittal plane: ``(x, y, z) -> (x, -y, -z)``."""
    out = np.array(rotvec, dtype=np.float64, copy=True)
    out[..., 1:] *= -1.0
    return out


def _shoulder_left_to_rotvec(angles: np.ndarray) -> np.ndarray:
    """Left shoulder (elev, plane, twist) degrees (N, 3) -> axis-angle (N, 3)."""
    elev, plane, twist = np.radians(angles).T
    direction = np.stack(
        [np.sin(elev) * np.cos(plane), -np.cos(elev), np.sin(elev) * np.sin(plane)], axis=-1
    )
    rest = np.array([1.0, 0.0, 0.0])
    axis = np.cross(rest, direction)
    sin_swing = norm(axis)
    swing_angle = np.arctan2(sin_swing, dot(direction, rest))
    safe = sin_swing > 1e-9
    axis[safe] = axis[safe] / sin_swing[safe, None]
    axis[~safe] = np.array([0.0, 0.0, 1.0])  # only at the rest direction (swing 0) or straight across
    swing = Rotation.from_rotvec(axis * swing_angle[:, None])
    twist_rot = Rotation.from_rotvec(np.outer(twist, rest))
    return (swing * twist_rot).as_rotvec()


def _shoulder_left_from_rotvec(rotvec: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_shoulder_left_to_rotvec`: (N, 3) axis-angle -> (elev >= 0, plane, twist)."""
    rot = Rotation.from_rotvec(rotvec)
    rest = np.array([1.0, 0.0, 0.0])
    direction = rot.apply(rest)
    elev = np.degrees(np.arccos(np.clip(-direction[:, 1], -1.0, 1.0)))
    plane = np.degrees(np.arctan2(direction[:, 2], direction[:, 0]))
    axis = np.cross(rest, direction)
    sin_swing = norm(axis)
    swing_angle = np.arctan2(sin_swing, dot(direction, rest))
    safe = sin_swing > 1e-9
    axis[safe] = axis[safe] / sin_swing[safe, None]
    axis[~safe] = np.array([0.0, 0.0, 1.0])
    swing = Rotation.from_rotvec(axis * swing_angle[:, None])
    twist_rot = swing.inv() * rot
    twist_vec = twist_rot.as_rotvec()
    twist = np.degrees(np.sign(twist_vec[:, 0]) * norm(twist_vec))
    return np.stack([elev, plane, twist], axis=-1)


def _joint_to_rotvec(spec: JointSpec, angles: np.ndarray) -> np.ndarray:
    """Anatomical angles (N, 3) degrees of one row -> axis-angle (N, 3) float64."""
    if spec.kind == "shoulder":
        rotvec = _shoulder_left_to_rotvec(angles)
    elif spec.kind == "root":
        pitch, roll, yaw = angles.T
        rotvec = Rotation.from_euler("YXZ", np.stack([yaw, pitch, roll], -1), degrees=True).as_rotvec()
    else:
        signed = angles * np.asarray(spec.signs, dtype=np.float64)
        rotvec = Rotation.from_euler(spec.axes, signed, degrees=True).as_rotvec()
    return mirror_axis_angle(rotvec) if spec.side == "right" else rotvec


def _joint_from_rotvec(spec: JointSpec, rotvec: np.ndarray) -> np.ndarray:
    """Axis-angle (N, 3) of one row -> anatomical angles (N, 3) degrees."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    if spec.side == "right":
        rotvec = mirror_axis_angle(rotvec)
    if spec.kind == "shoulder":
        return _shoulder_left_from_rotvec(rotvec)
    if spec.kind == "root":
        with warnings.catch_warnings():  # lying poses sit at pitch ±90°, where yaw and roll share one angle
            warnings.simplefilter("ignore", UserWarning)
            yaw, pitch, roll = Rotation.from_rotvec(rotvec).as_euler("YXZ", degrees=True).T
        return np.stack([pitch, roll, yaw], axis=-1)
    signed = Rotation.from_rotvec(rotvec).as_euler(spec.axes, degrees=True)
    return signed * np.asarray(spec.signs, dtype=np.float64)


def angles_to_axis_angle(angles: np.ndarray) -> np.ndarray:
    """Anatomical angles float (N, 22, 3) degrees -> SMPL axis-angle float32 (N, 22, 3) radians.

    Row 0 is (pitch, roll, yaw) of the global orientation, ``R = Ry(yaw) Rx(pitch) Rz(roll)``.
    """
    angles = np.asarray(angles, dtype=np.float64)
    out = np.empty(angles.shape, dtype=np.float64)
    for spec in JOINTS:
        out[:, spec.row] = _joint_to_rotvec(spec, angles[:, spec.row])
    return out.astype(np.float32)


def axis_angle_to_angles(poses: np.ndarray) -> np.ndarray:
    """SMPL axis-angle (N, 22, 3) -> anatomical angles float64 (N, 22, 3) degrees.

    The shoulder comes back with ``elev >= 0`` (a negative generated elevation returns as a positive
    one with the plane turned by 180°); every other joint returns the angles it was built from.
    """
    poses = np.asarray(poses, dtype=np.float64)
    out = np.empty(poses.shape, dtype=np.float64)
    for spec in JOINTS:
        out[:, spec.row] = _joint_from_rotvec(spec, poses[:, spec.row])
    return out


def shoulder_excursions(poses: np.ndarray) -> np.ndarray:
    """How far each upper arm points behind the body and across the midline.

    Args:
        poses: axis-angle (N, 22, 3).

    Returns:
        float64 (N, 2, 2) degrees: ``[:, side, 0]`` extension behind the frontal plane,
        ``[:, side, 1]`` crossing of the midsagittal plane; side 0 = left, 1 = right; 0 when the arm
        is in front of / outside those planes.
    """
    poses = np.asarray(poses, dtype=np.float64)
    out = np.zeros((poses.shape[0], 2, 2))
    for side, spec in enumerate((JOINT_BY_NAME["left_shoulder"], JOINT_BY_NAME["right_shoulder"])):
        rotvec = poses[:, spec.row]
        if spec.side == "right":
            rotvec = mirror_axis_angle(rotvec)
        direction = Rotation.from_rotvec(rotvec).apply([1.0, 0.0, 0.0])
        out[:, side, 0] = np.degrees(np.arcsin(np.clip(-direction[:, 2], 0.0, 1.0)))
        out[:, side, 1] = np.degrees(np.arcsin(np.clip(-direction[:, 0], 0.0, 1.0)))
    return out


def joint_limit_violations(poses: np.ndarray, tol_deg: float = LIMIT_TOLERANCE_DEG) -> np.ndarray:
    """Which DOFs of each pose lie outside their anatomical range.

    Args:
        poses: axis-angle (N, 22, 3), radians.
        tol_deg: slack in degrees.

    Returns:
        bool (N, 22, 3): True where a DOF is out of range. Row 0 (root) is never flagged. For the
        shoulders, column 1 (plane) flags the extension / cross-body limits
        (:data:`SHOULDER_MAX_EXTENSION_DEG`, :data:`SHOULDER_MAX_CROSS_DEG`) instead of a plane range.
    """
    angles = axis_angle_to_angles(poses)
    bad = (angles < LOWER - tol_deg) | (angles > UPPER + tol_deg)
    bad[:, 0] = False
    excursion = shoulder_excursions(poses)
    for side, row in enumerate((JOINT_BY_NAME["left_shoulder"].row, JOINT_BY_NAME["right_shoulder"].row)):
        bad[:, row, 1] = (excursion[:, side, 0] > SHOULDER_MAX_EXTENSION_DEG + tol_deg) | (
            excursion[:, side, 1] > SHOULDER_MAX_CROSS_DEG + tol_deg
        )
    return bad


def check_joint_limits(poses: np.ndarray, tol_deg: float = LIMIT_TOLERANCE_DEG) -> np.ndarray:
    """Rejection check: bool (N,), True where any joint of the pose is outside its limits."""
    return joint_limit_violations(poses, tol_deg).reshape(len(poses), -1).any(axis=1)
