"""Posecode operators: what is measured on the joints, and how a value becomes a category.

Shared by the single-pose posecodes (PoseScript's operators,
docs/peers.md#posescript-posecode-operators) and the pair codes (PoseFix's,
docs/peers.md#posefix-paircode-operators): a pair code applies the same measurement to both poses and
bins the difference value(A) − value(B) with its own thresholds.

Every measurement takes extended joints ``joints_m`` float (N, E, 3) (metres, y up, the body faces
+z, its left is +x) and integer joint indices ``idx`` (K, arity), and returns float64 (N, K).
Dimension letters: N poses, E extended joints, K codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.data.synth.text.posecode_joints import JOINT_INDEX
from bench.errors import InternalError

Measure = Callable[[np.ndarray, np.ndarray], np.ndarray]

_PELVIS = JOINT_INDEX["pelvis"]
_LEFT_SHOULDER = JOINT_INDEX["left_shoulder"]
_RIGHT_SHOULDER = JOINT_INDEX["right_shoulder"]
_NECK = JOINT_INDEX["neck"]
_ANKLES = [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]

#: Body incline about x is forced to 0 unless the lower ankle is this far below mid-shoulder height
#: (lying down, handstands), metres.
INCLINE_MIN_ANKLE_DROP_M = 0.20


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def angle_deg(joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Angle at joint b between b→a and b→c, degrees in [0, 180]; idx (K, 3) = (a, b, c)."""
    j = joints_m.astype(np.float64, copy=False)
    u = _unit(j[:, idx[:, 0]] - j[:, idx[:, 1]])
    v = _unit(j[:, idx[:, 2]] - j[:, idx[:, 1]])
    return np.degrees(np.arccos(np.clip((u * v).sum(-1), -1.0, 1.0)))


def distance_m(joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Euclidean distance between joints a and b, metres; idx (K, 2)."""
    j = joints_m.astype(np.float64, copy=False)
    return np.linalg.norm(j[:, idx[:, 0]] - j[:, idx[:, 1]], axis=-1)


def _relative(axis: int) -> Measure:
    def measure(joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
        j = joints_m.astype(np.float64, copy=False)
        return j[:, idx[:, 0], axis] - j[:, idx[:, 1], axis]

    measure.__doc__ = f"Coordinate {'xyz'[axis]} of joint a minus that of joint b, metres; idx (K, 2)."
    return measure


def _coordinate(axis: int) -> Measure:
    def measure(joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return joints_m.astype(np.float64, copy=False)[:, idx[:, 0], axis]

    measure.__doc__ = f"Coordinate {'xyz'[axis]} of one joint, metres (pair codes); idx (K, 1)."
    return measure


def vertical_angle_deg(joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Angle between the segment a→b and the vertical, folded to [0, 90] degrees; idx (K, 2)."""
    j = joints_m.astype(np.float64, copy=False)
    v = _unit(j[:, idx[:, 1]] - j[:, idx[:, 0]])
    return np.degrees(np.arccos(np.clip(np.abs(v[..., 1]), 0.0, 1.0)))


def height_above_ground_m(joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Height of joint a above the lowest extended joint, metres; idx (K, 1)."""
    j = joints_m.astype(np.float64, copy=False)
    return j[:, idx[:, 0], 1] - j[..., 1].min(axis=1, keepdims=True)


def body_incline_deg(joints_m: np.ndarray) -> np.ndarray:
    """The three body-incline angles of PoseScript, degrees, float64 (N, 3)
    (docs/peers.md#posescript-posecode-operators).

    Column 0 (x): pelvis → mid-shoulder projected on the y-z plane, signed angle to +y, positive
    forward (+z); forced to 0 when the lower ankle is not 0.20 m below mid-shoulder height.
    Column 1 (y): the right → left shoulder line projected on the x-z plane, signed angle to +x,
    positive when the left shoulder is forward (the torso twists to its right).
    Column 2 (z): 90° − angle(pelvis → mid-shoulder, +x), positive when leaning to the left (+x).
    """
    j = joints_m.astype(np.float64, copy=False)
    mid = 0.5 * (j[:, _LEFT_SHOULDER] + j[:, _RIGHT_SHOULDER])
    spine = mid - j[:, _PELVIS]
    incline_x = np.degrees(np.arctan2(spine[:, 2], spine[:, 1]))
    lower_ankle = j[:, _ANKLES, 1].min(axis=1)
    incline_x = np.where(mid[:, 1] - lower_ankle >= INCLINE_MIN_ANKLE_DROP_M, incline_x, 0.0)
    line = j[:, _LEFT_SHOULDER] - j[:, _RIGHT_SHOULDER]
    incline_y = np.degrees(np.arctan2(line[:, 2], line[:, 0]))
    cos_x = _unit(spine)[:, 0]
    incline_z = 90.0 - np.degrees(np.arccos(np.clip(cos_x, -1.0, 1.0)))
    return np.stack([incline_x, incline_y, incline_z], axis=1)


def facing(joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Vertical component of the torso's forward axis (right→left shoulder line × pelvis→neck),
    in [-1, 1]: +1 the chest faces up, -1 it faces the ground; idx (K, 0)."""
    j = joints_m.astype(np.float64, copy=False)
    forward = _unit(np.cross(j[:, _LEFT_SHOULDER] - j[:, _RIGHT_SHOULDER], j[:, _NECK] - j[:, _PELVIS]))
    return np.repeat(forward[:, 1:2], idx.shape[0], axis=1)


def _incline(axis: int) -> Measure:
    def measure(joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.repeat(body_incline_deg(joints_m)[:, axis : axis + 1], idx.shape[0], axis=1)

    measure.__doc__ = f"Body incline about {'xyz'[axis]}, degrees; idx (K, 0)."
    return measure


#: measurement name → (function, number of joints per code)
MEASURES: dict[str, tuple[Measure, int]] = {
    "angle": (angle_deg, 3),
    "distance": (distance_m, 2),
    "relposX": (_relative(0), 2),
    "relposY": (_relative(1), 2),
    "relposZ": (_relative(2), 2),
    "vaxis": (vertical_angle_deg, 2),
    "onground": (height_above_ground_m, 1),
    "inclineX": (_incline(0), 0),
    "inclineY": (_incline(1), 0),
    "inclineZ": (_incline(2), 0),
    "facing": (facing, 0),
    "posX": (_coordinate(0), 1),
    "posY": (_coordinate(1), 1),
    "posZ": (_coordinate(2), 1),
}


@dataclass(frozen=True)
class Binning:
    """Categories of an operator: the first threshold t_i with value ≤ t_i names the category,
    the last category is above every threshold. ``noise`` is the half-width of the uniform offset
    added before binning (the measure's unit). Category names containing "ignored" are never
    described."""

    categories: tuple[str, ...]
    thresholds: tuple[float, ...]
    noise: float

    def __post_init__(self) -> None:
        if len(self.categories) != len(self.thresholds) + 1:
            raise InternalError(f"{len(self.categories)} categories for {len(self.thresholds)} thresholds")
        if list(self.thresholds) != sorted(self.thresholds):
            raise InternalError(f"thresholds must increase: {self.thresholds}")

    def index(self, category: str) -> int:
        """Index of a category name (InternalError if unknown: a definition bug)."""
        try:
            return self.categories.index(category)
        except ValueError:
            raise InternalError(f"unknown category {category!r}; known: {self.categories}") from None


@dataclass(frozen=True)
class Operator:
    """A named measurement plus its binning."""

    name: str
    measure: str
    binning: Binning

    @property
    def arity(self) -> int:
        return MEASURES[self.measure][1]

    def values(self, joints_m: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """float64 (N, K) raw values for the codes whose joints are ``idx`` (K, arity)."""
        return MEASURES[self.measure][0](joints_m, idx)


def categorize(values: np.ndarray, thresholds: np.ndarray, noise: np.ndarray,
               rng: np.random.Generator | None) -> np.ndarray:
    """Bin values column by column.

    Args:
        values: float (N, K).
        thresholds: float (K, T) increasing thresholds per column (all columns share T).
        noise: float (K,) half-width of the uniform noise per column.
        rng: draws the noise; None bins the exact values.

    Returns:
        int8 (N, K) category indices in [0, T].
    """
    if rng is not None:
        values = values + rng.uniform(-1.0, 1.0, size=values.shape) * noise[None, :]
    # first threshold with value <= t  ==  number of thresholds strictly below value
    return (values[:, :, None] > thresholds[None, :, :]).sum(axis=-1).astype(np.int8)


def _b(categories: str, thresholds: tuple[float, ...], noise: float) -> Binning:
    return Binning(tuple(c.strip() for c in categories.split(",")), thresholds, noise)


_REL = (-0.15, -0.05, 0.05, 0.15)

#: Single-pose operators: PoseScript's measurements and bins; the relative-position operators have the
#: middle "x/y/z-aligned" bin that PoseScript added after its ECCV version, and ``facing`` is
#: PoseBench's own (docs/peers.md#posescript-posecode-operators).
POSE_OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("angle", "angle", _b("completely bent, bent more, right angle, bent less, slightly bent, straight",
                                      (45, 75, 105, 135, 160), 5.0)),
        Operator("distance", "distance", _b("close, shoulder width, spread, wide", (0.20, 0.40, 0.80), 0.05)),
        Operator("relposX", "relposX", _b("at_right, ignored_x1, x-aligned, ignored_x2, at_left", _REL, 0.05)),
        Operator("relposY", "relposY", _b("below, ignored_y1, y-aligned, ignored_y2, above", _REL, 0.05)),
        Operator("relposZ", "relposZ", _b("behind, ignored_z1, z-aligned, ignored_z2, front", _REL, 0.05)),
        Operator("vaxis", "vaxis", _b("vertical, ignored_v, horizontal", (10, 80), 5.0)),
        Operator("onground", "onground", _b("on_ground, ignored_g", (0.10,), 0.05)),
        Operator("facing", "facing", _b("facing down, ignored_f, facing up", (-0.7, 0.7), 0.1)),
        Operator("inclineX", "inclineX", _b("backward, backward slightly, ignored_ix, forward slightly, forward",
                                            (-50, -20, 20, 50), 5.0)),
        Operator("inclineY", "inclineY", _b("twist left, twist left slightly, ignored_iy, twist right slightly, "
                                            "twist right", (-50, -20, 20, 50), 5.0)),
        Operator("inclineZ", "inclineZ", _b("lean right, lean right slightly, ignored_iz, lean left slightly, "
                                            "lean left", (-30, -15, 15, 30), 5.0)),
    )
}

_PAIR_POS = (-0.30, -0.10, 0.10, 0.30)

#: Pair operators, after PoseFix's pair codes (docs/peers.md#posefix-paircode-operators): each bins
#: value(A) − value(B), lowest category first. One change from PoseFix: joint displacements are binned
#: at ±0.10 / ±0.30 m, where PoseFix uses ±0.15 / ±0.40 m, because the synthetic pairs are closer
#: together than PoseFix's (moving a hand 10 cm is worth an instruction here).
PAIR_OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("pair_angle", "angle", _b("bent much less, bent less, bent slightly less, ignored_pa, "
                                           "bent slightly more, bent more, bent much more",
                                           (-80, -45, -18, 18, 45, 80), 5.0)),
        Operator("pair_distance", "distance", _b("farther, slightly farther, ignored_pd, slightly closer, closer",
                                                 (-0.40, -0.10, 0.10, 0.40), 0.05)),
        Operator("pair_posX", "posX", _b("more to left, slightly more to left, ignored_px, "
                                         "slightly more to right, more to right", _PAIR_POS, 0.05)),
        Operator("pair_posY", "posY", _b("higher, slightly higher, ignored_py, slightly lower, lower", _PAIR_POS, 0.05)),
        Operator("pair_posZ", "posZ", _b("more to front, slightly more to front, ignored_pz, "
                                         "slightly more to back, more to back", _PAIR_POS, 0.05)),
        Operator("pair_inclineX", "inclineX", _b("incline forward more, incline forward slightly more, ignored_pix, "
                                                 "incline backward slightly more, incline backward more",
                                                 (-45, -20, 20, 45), 5.0)),
        Operator("pair_inclineY", "inclineY", _b("twist right more, twist right slightly more, ignored_piy, "
                                                 "twist left slightly more, twist left more", (-45, -20, 20, 45), 5.0)),
        Operator("pair_inclineZ", "inclineZ", _b("lean left more, lean left slightly more, ignored_piz, "
                                                 "lean right slightly more, lean right more", (-30, -15, 15, 30), 5.0)),
    )
}

#: Global rotation change of a pair, degrees, positive = B turned to its left; binned at ±20 / ±60 /
#: ±120 / ±150 with 10° of noise, as PoseFix does (docs/peers.md#posefix-paircode-operators).
ROTATION_BINNING = _b("around, around to the right, a quarter to the right, slightly to the right, ignored_rot, "
                      "slightly to the left, a quarter to the left, around to the left, around_2",
                      (-150, -120, -60, -20, 20, 60, 120, 150), 10.0)


def is_ignored(category: str) -> bool:
    """Whether a category is never described."""
    return "ignored" in category
