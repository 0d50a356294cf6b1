"""Paircodes: what changes from pose A to pose B, the PoseFix way
(docs/peers.md#posefix-paircode-operators).

Every paircode bins value(A) − value(B) of a posecode measurement (angles, distances, joint
coordinates, body incline) with its own thresholds and noise (:data:`PAIR_OPERATORS`). Distance
paircodes are support only: they surface through super-paircodes ("move the hands apart", which
also needs the hands close in A). "Straighten the leg/arm" needs the angle to open up and the limb
to end straight or slightly bent in B; it replaces the plain angle paircode. The global rotation
change (B's heading minus A's, positive = turned to its left) gets its own binning.

Each pose is heading-normalised on its own before the codes are measured (as PoseFix does); the
rotation change keeps what the normalisation removed.

Dimension letters: N pairs, K paircodes, S super-paircodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.data.synth.text.posecode_defs import CodeSpec, Part, make_spec
from bench.data.synth.text.posecode_joints import JOINT_INDEX, pose_joints
from bench.data.synth.text.posecode_operators import (
    INCLINE_MIN_ANKLE_DROP_M,
    PAIR_OPERATORS,
    ROTATION_BINNING,
    categorize,
)
from bench.data.synth.text.posecodes import POSE_TABLE, CodeTable, Posecodes, posecodes_from_joints
from bench.errors import DataError


def _pair(operator: str, joints: tuple[str, ...], support: bool = False, **kw: object) -> CodeSpec:
    cats = PAIR_OPERATORS[operator].binning.categories
    if support:
        kw["support1"] = tuple(c for c in cats if "ignored" not in c)
    return make_spec(operator, joints, categories=cats, **kw)  # type: ignore[arg-type]


def _build() -> tuple[CodeSpec, ...]:
    specs = []
    for s in ("left", "right"):
        specs.append(_pair("pair_angle", (f"{s}_hip", f"{s}_knee", f"{s}_ankle")))
        specs.append(_pair("pair_angle", (f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist")))
    for part in ("elbow", "hand", "knee", "foot"):
        specs.append(_pair("pair_distance", (f"left_{part}", f"right_{part}"), support=True,
                           subject=("both", part)))
        for s in ("left", "right"):
            specs.append(_pair("pair_distance", (f"{s}_{part}", "torso"), support=True, other=(None, "torso")))
    for axis in "XYZ":
        parts = ("elbow", "hand", "knee", "foot") if axis == "X" else ("shoulder", "elbow", "hand", "knee", "foot")
        for part in parts:
            for s in ("left", "right"):
                specs.append(_pair(f"pair_pos{axis}", (f"{s}_{part}",)))
    for axis in "XYZ":
        specs.append(_pair(f"pair_incline{axis}", (), subject=(None, "body")))
    return tuple(specs)


#: All paircodes, in column order.
PAIRCODES: tuple[CodeSpec, ...] = _build()
PAIR_TABLE = CodeTable(PAIRCODES, PAIR_OPERATORS)


@dataclass(frozen=True)
class SuperPaircode:
    """Produced when the paircode ``pair_key`` is in ``pair_categories`` and the posecode
    ``pose_key`` of pose ``pose`` ("a" or "b") is in ``pose_categories``."""

    key: str
    interp: str
    subject: Part
    other: Part | None
    pair_key: str
    pair_categories: tuple[str, ...]
    pose: str
    pose_key: str
    pose_categories: tuple[str, ...]
    replaces_paircode: bool = False


def _build_supers() -> tuple[SuperPaircode, ...]:
    out = []
    less = ("bent much less", "bent less", "bent slightly less")
    for s in ("left", "right"):
        for limb, joints in (("leg", ("hip", "knee", "ankle")), ("arm", ("shoulder", "elbow", "wrist"))):
            key = "-".join(f"{s}_{j}" for j in joints)
            out.append(SuperPaircode(f"straighten_{s}_{limb}", "straighten", (s, limb), None, f"pair_angle:{key}",
                                     less, "b", f"angle:{key}", ("slightly bent", "straight"), replaces_paircode=True))
    for part in ("elbow", "hand", "knee", "foot"):
        targets = [(f"left_{part}-right_{part}", ("both", part), None)]
        targets += [(f"{s}_{part}-torso", (s, part), (None, "torso")) for s in ("left", "right")]
        for joints, subject, other in targets:
            for interp, pose in (("farther", "a"), ("slightly farther", "a"), ("closer", "b"),
                                 ("slightly closer", "b")):
                out.append(SuperPaircode(f"{interp.replace(' ', '_')}:{joints}", interp, subject, other,
                                         f"pair_distance:{joints}", (interp,), pose, f"distance:{joints}", ("close",)))
    return tuple(out)


SUPER_PAIRCODES: tuple[SuperPaircode, ...] = _build_supers()


def _compile_supers() -> list[tuple[int, np.ndarray, str, int, np.ndarray]]:
    compiled = []
    for sp in SUPER_PAIRCODES:
        k = PAIR_TABLE.index[sp.pair_key]
        pair_cats = np.array([PAIR_TABLE.category_index(sp.pair_key, c)[1] for c in sp.pair_categories])
        pk = POSE_TABLE.index[sp.pose_key]
        pose_cats = np.array([POSE_TABLE.category_index(sp.pose_key, c)[1] for c in sp.pose_categories])
        compiled.append((k, pair_cats, sp.pose, pk, pose_cats))
    return compiled


_SUPER_PLAN = _compile_supers()
_IGNORED = np.array([next(i for i, c in enumerate(op.binning.categories) if "ignored" in c)
                     for op in PAIR_TABLE.operators])
_INCLINE_X = PAIR_TABLE.index["pair_inclineX:body"]


@dataclass(frozen=True)
class Paircodes:
    """Paircodes of a batch of pairs."""

    categories: np.ndarray
    """int8 (N, K) paircode categories (columns: :data:`PAIRCODES`)."""
    eligibility: np.ndarray
    """int8 (N, K) 0 / 1 (acceptable, skippable) / 2 (rare)."""
    magnitude: np.ndarray
    """int8 (N, K) bins away from the "ignored" bin (0 = no change); the sign is the direction."""
    supers: np.ndarray
    """bool (N, S) produced super-paircodes (columns: :data:`SUPER_PAIRCODES`)."""
    rotation: np.ndarray
    """int8 (N,) category of the global rotation change (:data:`ROTATION_BINNING`)."""
    posecodes_a: Posecodes
    posecodes_b: Posecodes


def _upright(joints_m: np.ndarray) -> np.ndarray:
    mid_y = joints_m[:, [JOINT_INDEX["left_shoulder"], JOINT_INDEX["right_shoulder"]], 1].mean(axis=1)
    ankle_y = joints_m[:, [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]], 1].min(axis=1)
    return mid_y - ankle_y >= INCLINE_MIN_ANKLE_DROP_M


def paircodes_from_joints(joints_a: np.ndarray, joints_b: np.ndarray, rotation_deg: np.ndarray,
                          rng: np.random.Generator | None) -> Paircodes:
    """Paircodes of heading-normalised extended joints (N, E, 3) of A and B, metres.

    Args:
        rotation_deg: float (N,) B's heading minus A's, degrees, positive = B turned to its left.
        rng: draws the noise (paircodes, posecodes of A and B, rotation); None = no noise.
    """
    diff = PAIR_TABLE.values(joints_a) - PAIR_TABLE.values(joints_b)
    diff[~(_upright(joints_a) & _upright(joints_b)), _INCLINE_X] = 0.0
    categories = PAIR_TABLE.categorize(diff, rng)
    codes_a = posecodes_from_joints(joints_a, rng)
    codes_b = posecodes_from_joints(joints_b, rng)
    eligibility = PAIR_TABLE.eligibility(categories)
    supers = np.zeros((len(diff), len(SUPER_PAIRCODES)), dtype=bool)
    for s, (k, pair_cats, which, pk, pose_cats) in enumerate(_SUPER_PLAN):
        pose = codes_a if which == "a" else codes_b
        supers[:, s] = np.isin(categories[:, k], pair_cats) & np.isin(pose.categories[:, pk], pose_cats)
        if SUPER_PAIRCODES[s].replaces_paircode:
            eligibility[supers[:, s], k] = 0
    rot = np.asarray(rotation_deg, dtype=np.float64).reshape(-1, 1)
    rot_cat = categorize(rot, np.asarray(ROTATION_BINNING.thresholds, dtype=np.float64)[None, :],
                         np.array([ROTATION_BINNING.noise]), rng)[:, 0]
    magnitude = (categories.astype(np.int16) - _IGNORED[None, :]).astype(np.int8)
    return Paircodes(categories, eligibility, magnitude, supers, rot_cat, codes_a, codes_b)


def wrap_degrees(angle_deg: np.ndarray) -> np.ndarray:
    """Angles wrapped to [-180, 180)."""
    return (np.asarray(angle_deg, dtype=np.float64) + 180.0) % 360.0 - 180.0


def pair_joints(poses_a: np.ndarray, poses_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joints of each pose heading-normalised on its own, and the heading change.

    Args:
        poses_a, poses_b: float32 (N, 22, 3) axis-angle; B may be turned relative to A.

    Returns:
        (joints_a, joints_b) float32 (N, E, 3) extended joints in metres, and float64 (N,) B's
        heading minus A's in degrees, wrapped to [-180, 180), positive = B turned to its left.
    """
    from bench.body import heading_angle, normalize_heading

    poses_a = np.asarray(poses_a, dtype=np.float32)
    poses_b = np.asarray(poses_b, dtype=np.float32)
    if poses_a.shape != poses_b.shape:
        raise DataError(f"poses_a {poses_a.shape} and poses_b {poses_b.shape} differ", field="poses_b")
    if poses_a.ndim != 3 or poses_a.shape[1:] != (22, 3):
        raise DataError(f"expected poses of shape (N, 22, 3), got {poses_a.shape}", field="poses_a")
    rotation = wrap_degrees(np.degrees(np.asarray(heading_angle(poses_b), dtype=np.float64)
                                       - np.asarray(heading_angle(poses_a), dtype=np.float64)))
    both = pose_joints(np.asarray(normalize_heading(np.concatenate([poses_a, poses_b])), dtype=np.float32))
    n = len(poses_a)
    return both[:n], both[n:], rotation


def compute_paircodes(poses_a: np.ndarray, poses_b: np.ndarray, rng: np.random.Generator | None) -> Paircodes:
    """Paircodes of axis-angle pose pairs float32 (N, 22, 3) (see :func:`pair_joints`)."""
    return paircodes_from_joints(*pair_joints(poses_a, poses_b), rng)


_DESCRIBED_ALONE = np.array([spec.operator != "pair_distance" for spec in PAIRCODES])


def count_changes(values_a: np.ndarray, values_b: np.ndarray) -> np.ndarray:
    """Noise-free number of paircodes that would be described on their own (angle, position and
    incline changes out of their "ignored" bin), int64 (N,).

    Args:
        values_a, values_b: float (N, K) ``PAIR_TABLE.values`` of the two poses' extended joints.
    """
    categories = PAIR_TABLE.categorize(values_a - values_b, None)
    return ((categories != _IGNORED[None, :]) & _DESCRIBED_ALONE[None, :]).sum(axis=1)
