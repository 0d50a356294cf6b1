"""The mannequin: a posed skeleton dressed as ellipsoids and round cones for :mod:`raster`.

A figure is built in the **body frame** of the skeleton (y up, a zero root faces +z, the body's left
is +x, pelvis at the origin; metres). Each segment hangs off the SMPL joint that rotates it: its
position comes from the posed joints, its orientation from that joint's global rotation, and its
size from fixed radii (an adult of about 1.7 m). The left and right sides always share one set of
materials, so nothing in an image says which side is which except the figure's shape and face.

Materials are slots (:data:`SLOTS`); a scene with several figures gives figure ``p`` the material
indices ``p * len(SLOTS) + slot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bench.data.synth.images.primitives import Primitives
from bench.errors import UserError
from bench.fixed_order import matmul, matvec

#: Material slots of one figure, in order.
SLOTS = ("skin", "hair", "top", "trousers", "shoes", "features")
SKIN, HAIR, TOP, TROUSERS, SHOES, FEATURES = range(len(SLOTS))

SLEEVES = ("long", "short", "none")
LEGS = ("long", "short")
HAIRSTYLES = ("short", "long", "bald")


@dataclass(frozen=True)
class Clothing:
    """How one figure is dressed. Colours are RGB float triples in [0, 1] (display values, which
    the shading scales).

    ``sleeves``: "long" (to the wrist), "short" (upper arm) or "none"; ``legs``: "long" trousers
    or "short" (above the knee); ``hair``: "short", "long" (down to the shoulders) or "bald".
    """

    skin: tuple[float, float, float]
    hair_colour: tuple[float, float, float]
    top: tuple[float, float, float]
    trousers: tuple[float, float, float]
    shoes: tuple[float, float, float]
    sleeves: str = "long"
    legs: str = "long"
    hair: str = "short"

    def __post_init__(self) -> None:
        for name, value, known in (("sleeves", self.sleeves, SLEEVES), ("legs", self.legs, LEGS),
                                   ("hair", self.hair, HAIRSTYLES)):
            if value not in known:
                raise UserError(f"unknown {name} {value!r}; known: {', '.join(known)}", field=name)

    def palette(self) -> np.ndarray:
        """Slot colours: float32 (len(SLOTS), 3), in :data:`SLOTS` order."""
        features = tuple(0.25 * c for c in self.skin)  # eyes and mouth: a dark tint of the skin
        hair = self.skin if self.hair == "bald" else self.hair_colour
        return np.array([self.skin, hair, self.top, self.trousers, self.shoes, features], np.float32)


@lru_cache(maxsize=1)
def _rest_offsets() -> np.ndarray:
    """Each joint's rest offset from its parent, float32 (24, 3) metres (the root's: its position),
    read once from the ``skeleton`` body model's zero pose."""
    from bench.body import SMPL_PARENTS, load_body_model

    rest = np.asarray(load_body_model("skeleton").joints(np.zeros((1, 22, 3), np.float32))[0], np.float64)
    parents = np.array([max(p, 0) for p in SMPL_PARENTS])
    offsets = (rest - rest[parents]).astype(np.float32)
    offsets[0] = rest[0]
    offsets.setflags(write=False)
    return offsets


def posed_skeleton(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward kinematics for figures: joints float32 (P, 24, 3) metres and global rotations
    float32 (P, 24, 3, 3), body frame, for axis-angle ``poses`` float32 (P, 22, 3).

    The same chain as the ``skeleton`` body model (a joint is its parent plus the parent's global
    rotation applied to its rest offset), done in numpy for speed; the hand joints (22, 23) keep
    their wrist's rotation (a body-only pose does not rotate them).
    """
    import torch

    from bench.body import SMPL_PARENTS, axis_angle_to_matrix

    poses = np.asarray(poses, np.float32)
    if poses.ndim != 3 or poses.shape[1:] != (22, 3):
        raise UserError(f"expected poses of shape (P, 22, 3), got {poses.shape}", field="poses")
    if not np.isfinite(poses).all():
        raise UserError("poses contain NaN or inf", field="poses")
    offsets = _rest_offsets()
    local = np.asarray(axis_angle_to_matrix(torch.tensor(poses, dtype=torch.float64)), np.float32)
    glob = np.empty((len(poses), 24, 3, 3), np.float32)
    joints = np.empty((len(poses), 24, 3), np.float32)
    for j, parent in enumerate(SMPL_PARENTS):
        rot = local[:, j] if j < 22 else np.eye(3, dtype=np.float32)
        if parent < 0:
            glob[:, j] = rot
            joints[:, j] = offsets[j]
        else:
            glob[:, j] = matmul(glob[:, parent], rot)
            joints[:, j] = joints[:, parent] + matvec(glob[:, parent], offsets[j])
    return joints, glob


# Named points beyond the 24 joints, by negative index into build_figure's point table.
_MID_HIPS, _HEAD = -1, -2
_HEAD_OFFSET = (0.0, 0.058, 0.012)  # head centre relative to the head joint (chin-eye midpoint)

# Ellipsoids: (name, rotating joint, centre as (point a, point b, fraction a->b), offset in the
# rotating joint's frame, semi-axes along its x/y/z, slot).
_ELLIPSOIDS = (
    ("head", 15, (_HEAD, _HEAD, 0.0), (0.0, 0.0, 0.0), (0.077, 0.106, 0.094), SKIN),
    ("hair", 15, (_HEAD, _HEAD, 0.0), (0.0, 0.024, -0.018), (0.084, 0.100, 0.096), HAIR),
    ("left_eye", 15, (_HEAD, _HEAD, 0.0), (0.030, 0.010, 0.080), (0.013, 0.011, 0.012), FEATURES),
    ("right_eye", 15, (_HEAD, _HEAD, 0.0), (-0.030, 0.010, 0.080), (0.013, 0.011, 0.012), FEATURES),
    ("nose", 15, (_HEAD, _HEAD, 0.0), (0.0, -0.018, 0.091), (0.013, 0.022, 0.016), SKIN),
    ("mouth", 15, (_HEAD, _HEAD, 0.0), (0.0, -0.056, 0.077), (0.022, 0.006, 0.010), FEATURES),
    ("left_hand", 20, (20, 22, 1.1), (0.0, 0.0, 0.0), (0.078, 0.024, 0.043), SKIN),
    ("right_hand", 21, (21, 23, 1.1), (0.0, 0.0, 0.0), (0.078, 0.024, 0.043), SKIN),
    ("left_foot", 7, (7, 10, 0.5), (0.0, -0.012, 0.0), (0.047, 0.040, 0.130), SHOES),
    ("right_foot", 8, (8, 11, 0.5), (0.0, -0.012, 0.0), (0.047, 0.040, 0.130), SHOES),
    ("long_hair", 15, (_HEAD, _HEAD, 0.0), (0.0, -0.075, -0.055), (0.085, 0.135, 0.055), HAIR),
)
# Round cones: (name, start as (point a, point b, fraction), end, radius at start, at end, slot key,
# frame joint, scale along that joint's x/y/z). A scale other than (1, 1, 1) makes the cone the
# hull of two ellipsoids (elliptical cross-section) in the frame joint's axes: the torso.
# The slot key is a slot index or a clothing-dependent rule resolved by _cone_slot.
_TORSO = (1.0, 0.72, 0.66)
_ROUND = (1.0, 1.0, 1.0)
_CONES = (
    ("pelvis", (0, _MID_HIPS, 0.8), (3, 3, 0.0), 0.150, 0.132, TROUSERS, 0, (1.0, 0.72, 0.70)),
    ("belly", (3, 3, 0.0), (6, 6, 0.0), 0.132, 0.142, TOP, 3, _TORSO),
    ("chest", (6, 6, 0.0), (9, 9, 0.0), 0.142, 0.158, TOP, 6, _TORSO),
    ("upper_chest", (9, 9, 0.0), (9, 12, 0.45), 0.158, 0.140, TOP, 9, _TORSO),
    ("neck", (12, 9, 0.2), (15, 15, 0.0), 0.052, 0.046, SKIN, 12, _ROUND),
    ("left_shoulder", (9, 12, 0.5), (16, 16, 0.0), 0.064, 0.054, TOP, 9, _ROUND),
    ("right_shoulder", (9, 12, 0.5), (17, 17, 0.0), 0.064, 0.054, TOP, 9, _ROUND),
    ("left_upper_arm", (16, 16, 0.0), (18, 18, 0.0), 0.052, 0.040, "upper_arm", 16, _ROUND),
    ("right_upper_arm", (17, 17, 0.0), (19, 19, 0.0), 0.052, 0.040, "upper_arm", 17, _ROUND),
    ("left_forearm", (18, 18, 0.0), (20, 20, 0.0), 0.040, 0.030, "forearm", 18, _ROUND),
    ("right_forearm", (19, 19, 0.0), (21, 21, 0.0), 0.040, 0.030, "forearm", 19, _ROUND),
    ("left_thigh", (1, 1, 0.0), (4, 4, 0.0), 0.088, 0.058, TROUSERS, 1, _ROUND),
    ("right_thigh", (2, 2, 0.0), (5, 5, 0.0), 0.088, 0.058, TROUSERS, 2, _ROUND),
    ("left_shin", (4, 4, 0.0), (7, 7, 0.0), 0.058, 0.040, "shin", 4, _ROUND),
    ("right_shin", (5, 5, 0.0), (8, 8, 0.0), 0.058, 0.040, "shin", 5, _ROUND),
)


def _cone_slot(key: int | str, clothing: Clothing) -> int:
    if isinstance(key, int):
        return key
    if key == "upper_arm":
        return SKIN if clothing.sleeves == "none" else TOP
    if key == "forearm":
        return TOP if clothing.sleeves == "long" else SKIN
    return TROUSERS if clothing.legs == "long" else SKIN  # shin


def _columns(rows: tuple, specs: tuple[int, ...]) -> list[np.ndarray]:
    """Table columns as arrays: for each ``(a, b, fraction)`` spec column, three arrays."""
    out = []
    for col in specs:
        out += [np.array([r[col][0] for r in rows]), np.array([r[col][1] for r in rows]),
                np.array([r[col][2] for r in rows], np.float32)]
    return out


_ELL_NAMES = np.array([e[0] for e in _ELLIPSOIDS])
_ELL_JOINT = np.array([e[1] for e in _ELLIPSOIDS])
_ELL_A, _ELL_B, _ELL_FRAC = _columns(_ELLIPSOIDS, (2,))
_ELL_OFFSET = np.array([e[3] for e in _ELLIPSOIDS], np.float32)
_ELL_INV_RADII = 1.0 / np.array([e[4] for e in _ELLIPSOIDS], np.float32)
_ELL_SLOT = np.array([e[5] for e in _ELLIPSOIDS])
_CONE_A, _CONE_A2, _CONE_AF, _CONE_B, _CONE_B2, _CONE_BF = _columns(_CONES, (1, 2))
_CONE_RA = np.array([c[3] for c in _CONES], np.float32)
_CONE_RB = np.array([c[4] for c in _CONES], np.float32)
_CONE_FRAME = np.array([c[6] for c in _CONES])
_CONE_INV_SCALE = 1.0 / np.array([c[7] for c in _CONES], np.float32)


def build_figure(joints: np.ndarray, rotations: np.ndarray, clothing: Clothing, owner: int,
                 translation: np.ndarray | None = None) -> Primitives:
    """The primitives of one posed figure, in the body frame shifted by ``translation`` (3,) metres.

    joints: float32 (24, 3) metres; rotations: float32 (24, 3, 3) global joint rotations (both from
    :func:`posed_skeleton`). Materials are ``owner * len(SLOTS) + slot``; owner ids are ``owner``.
    """
    shift = np.zeros(3, np.float32) if translation is None else np.asarray(translation, np.float32)
    # Extra named points: index -1 = mid-hips, -2 = head centre (see _ELLIPSOIDS).
    head_centre = joints[15] + matvec(rotations[15], np.array(_HEAD_OFFSET, np.float32))
    points = np.concatenate([joints, head_centre[None], ((joints[1] + joints[2]) / 2)[None]]) + shift
    keep = np.ones(len(_ELLIPSOIDS), bool)
    keep[_ELL_NAMES == "hair"] = clothing.hair != "bald"
    keep[_ELL_NAMES == "long_hair"] = clothing.hair == "long"
    rot = rotations[_ELL_JOINT[keep]]
    base = points[_ELL_A[keep]] + _ELL_FRAC[keep, None] * (points[_ELL_B[keep]] - points[_ELL_A[keep]])
    frames = rotations[_CONE_FRAME].transpose(0, 2, 1)
    n_ell, n_cone = int(keep.sum()), len(_CONES)
    return Primitives(
        ell_center=(base + matvec(rot, _ELL_OFFSET[keep])).astype(np.float32),
        ell_inv=(_ELL_INV_RADII[keep, :, None] * rot.transpose(0, 2, 1)).astype(np.float32),  # diag(1/r) R^T
        ell_material=(owner * len(SLOTS) + _ELL_SLOT[keep]).astype(np.int16),
        ell_owner=np.full(n_ell, owner, np.int16),
        cone_a=(points[_CONE_A] + _CONE_AF[:, None] * (points[_CONE_A2] - points[_CONE_A])).astype(np.float32),
        cone_b=(points[_CONE_B] + _CONE_BF[:, None] * (points[_CONE_B2] - points[_CONE_B])).astype(np.float32),
        cone_ra=_CONE_RA,
        cone_rb=_CONE_RB,
        cone_map=(_CONE_INV_SCALE[:, :, None] * frames).astype(np.float32),
        cone_material=np.array([owner * len(SLOTS) + _cone_slot(c[5], clothing) for c in _CONES], np.int16),
        cone_owner=np.full(n_cone, owner, np.int16),
    )


#: Clothing-independent outfit whose geometry (long hair included) frames cameras and lays out scenes.
LAYOUT_CLOTHING = Clothing(skin=(0.8, 0.6, 0.5), hair_colour=(0.2, 0.1, 0.05), top=(0.5, 0.5, 0.5),
                           trousers=(0.3, 0.3, 0.3), shoes=(0.1, 0.1, 0.1), hair="long")


@dataclass
class Layout:
    """Figures placed on one floor. ``joints`` float32 (P, 24, 3) and ``rotations`` (P, 24, 3, 3)
    body-frame FK; ``translations`` float32 (P, 3) world position of each pelvis; ``floor_y`` the
    floor height (metres); ``geometry`` the figures in :data:`LAYOUT_CLOTHING`, world frame."""

    joints: np.ndarray
    rotations: np.ndarray
    translations: np.ndarray
    floor_y: float
    geometry: Primitives


def layout_figures(poses: np.ndarray, positions: np.ndarray | None = None, floor_y: float | None = None) -> Layout:
    """Stand P posed figures on one floor.

    poses: float32 (P, 22, 3); positions: float32 (P, 2) floor positions ``(x, z)`` of the pelvises,
    metres (default all zero). The floor is at ``floor_y`` if given, else at the lowest point of
    all figures placed at height 0; every figure is moved up or down until it touches it, so a
    single figure without ``floor_y`` keeps its pelvis at the origin. Depends on the poses only,
    never on clothing, so framing is reproducible. The result is read-only and memoised (framing a
    camera and then rendering lays out the same poses twice).
    """
    poses = np.ascontiguousarray(poses, np.float32)
    count = len(poses)
    xz = np.zeros((count, 2), np.float32) if positions is None else np.ascontiguousarray(positions, np.float32)
    if xz.shape != (count, 2):
        raise UserError(f"expected positions of shape ({count}, 2), got {xz.shape}", field="positions")
    return _layout(poses.tobytes(), poses.shape, xz.tobytes(), None if floor_y is None else float(floor_y))


@lru_cache(maxsize=16)
def _layout(pose_bytes: bytes, shape: tuple[int, ...], xz_bytes: bytes, floor_y: float | None) -> Layout:
    joints, rotations = posed_skeleton(np.frombuffer(pose_bytes, np.float32).reshape(shape))
    count = len(joints)
    translations = np.zeros((count, 3), np.float32)
    translations[:, [0, 2]] = np.frombuffer(xz_bytes, np.float32).reshape(count, 2)
    placed = [build_figure(joints[p], rotations[p], LAYOUT_CLOTHING, p, translations[p]) for p in range(count)]
    lows = np.array([figure.lowest_y() for figure in placed], np.float32)
    floor_y = float(lows.min()) if floor_y is None else floor_y
    translations[:, 1] = floor_y - lows
    eye = np.eye(3, dtype=np.float32)
    geometry = Primitives.concat([figure.transformed(eye, np.array([0.0, lift, 0.0], np.float32))
                                  for figure, lift in zip(placed, translations[:, 1])])
    for array in (joints, rotations, translations, *vars(geometry).values()):
        array.setflags(write=False)
    return Layout(joints=joints, rotations=rotations, translations=translations, floor_y=floor_y, geometry=geometry)
