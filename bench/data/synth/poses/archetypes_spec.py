"""The small language the archetype library is written in, and the :class:`Archetype` record.

An archetype sets anatomical angles (``bench.data.synth.poses.limits``: degrees about anatomical axes,
left-side convention) of the joints it cares about. Each angle is written as:

* a number: that fixed value;
* ``(lo, hi)``: a value between ``lo`` and ``hi`` driven by its own private parameter;
* ``(lo, hi, "name")``: driven by the named parameter ``name``, shared with every other angle of the
  archetype written with that name, so angles move together (``(-15, 30, "stride")`` on the left
  hip and ``(30, -15, "stride")`` on the right one make a walking stride);
* a list of those: their sum (e.g. arm elevation = trunk bend + hanging angle).

Every parameter is a number in [0, 1]; an angle is ``lo + (hi - lo) * u``. A pose samples all
parameters; a *sequence* moves them along a smooth path, so its poses vary continuously.

Keys are pose-row names of ``limits.JOINTS`` (``left_hip``, ``spine2``, ``root``...) or a side-less
name (``hip``, ``shoulder``, ``spine``...) meaning both sides (or all three spine joints) with the
same angles; independent ranges then get one private parameter per joint. Joints an archetype leaves
out take :data:`NEUTRAL` (relaxed standing limbs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from bench.data.synth.poses.limits import JOINT_BY_NAME, JOINTS
from bench.errors import InternalError

Term = float | int | tuple
AngleSpec = Term | list

SUPPORT_GROUPS: dict[str, tuple[str, ...]] = {
    "feet": ("left_ankle", "right_ankle", "left_foot", "right_foot"),
    "knees": ("left_knee", "right_knee"),
    "hands": ("left_wrist", "right_wrist", "left_hand", "right_hand"),
    "seat": ("pelvis", "left_hip", "right_hip"),
    "legs": ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_foot", "right_foot"),
    "torso": ("pelvis", "left_hip", "right_hip", "spine1", "spine2", "spine3", "neck",
              "left_collar", "right_collar", "left_shoulder", "right_shoulder", "head"),
}  # fmt: skip
"""Body parts that can carry the body's weight, as SMPL joint names (either side counts)."""

FOREARMS_TOUCH = (("left_forearm", "right_forearm"),)
"""Contacts of activities with the forearms pressed or folded together."""
ARMS_ON_LEGS = (("left_forearm", "left_thigh"), ("right_forearm", "right_thigh"),
                ("left_forearm", "left_shin"), ("right_forearm", "right_shin"))  # fmt: skip
"""Contacts of activities with the forearms resting on the legs (deep squats, forward folds)."""

NEUTRAL: dict[str, dict[str, AngleSpec]] = {
    "shoulder": {"elev": (4, 18), "plane": (0, 60), "twist": (-10, 15)},
    "elbow": {"flex": (5, 25), "pron": (-10, 30)},
    "knee": {"flex": (0, 6)},
}
"""Angles every archetype starts from: arms hanging relaxed, knees nearly straight."""

_SIDELESS = {
    "hip": ("left_hip", "right_hip"), "knee": ("left_knee", "right_knee"),
    "ankle": ("left_ankle", "right_ankle"), "foot": ("left_foot", "right_foot"),
    "collar": ("left_collar", "right_collar"), "shoulder": ("left_shoulder", "right_shoulder"),
    "elbow": ("left_elbow", "right_elbow"), "wrist": ("left_wrist", "right_wrist"),
    "spine": ("spine1", "spine2", "spine3"),
}  # fmt: skip


@dataclass(frozen=True)
class AngleTerm:
    """One linear term ``lo + (hi - lo) * params[param]`` of an angle, degrees."""

    lo: float
    hi: float
    param: str


@dataclass(frozen=True)
class Archetype:
    """A named activity: angle ranges, coupled parameters, support and left/right handling."""

    name: str
    """Identifier, ``snake_case``; stored in ``poses/<split>.npz`` ``archetype``."""
    group: str
    """Family (``standing``, ``locomotion``, ``sitting``, ``kneeling``, ``lying``, ``yoga``, ...)."""
    description: str
    """One sentence describing the activity."""
    terms: Mapping[tuple[int, int], tuple[AngleTerm, ...]]
    """(pose row, DOF column) -> summed terms; rows not listed are 0 plus noise."""
    params: tuple[str, ...]
    """Parameter names, sorted; each lives in [0, 1]."""
    support: tuple[str, ...]
    """:data:`SUPPORT_GROUPS` that must touch the ground; empty = airborne or hanging on something."""
    asymmetric: bool
    """Written with a dominant side; the generator mirrors half of the sequences."""
    noise_deg: float = 3.0
    """Standard deviation of the per-angle Gaussian noise, degrees."""
    fixed: Mapping[tuple[int, int], float] = field(default_factory=dict)
    """(row, DOF) -> constant angles (spelled as plain numbers)."""
    contacts: frozenset[frozenset[str]] = frozenset()
    """Body-capsule pairs (``poses.CAPSULES`` names) that rest on each other in this activity (legs
    crossed); the self-penetration check skips them, since capsules cannot stack one limb on another."""

    @property
    def grounded(self) -> bool:
        """True when the pose rests on the ground (it has support groups)."""
        return bool(self.support)

    def angles(self, params: np.ndarray) -> np.ndarray:
        """Anatomical angles for parameter vectors.

        Args:
            params: float (N, P) in [0, 1], columns in the order of :attr:`params`.

        Returns:
            float64 (N, 22, 3) degrees, before noise and clipping.
        """
        params = np.asarray(params, dtype=np.float64)
        column = {name: i for i, name in enumerate(self.params)}
        out = np.zeros((params.shape[0], len(JOINTS), 3))
        for (row, dof), value in self.fixed.items():
            out[:, row, dof] = value
        for (row, dof), terms in self.terms.items():
            for term in terms:
                out[:, row, dof] += term.lo + (term.hi - term.lo) * params[:, column[term.param]]
        return out


def _expand_key(key: str) -> tuple[str, ...]:
    if key in _SIDELESS:
        return _SIDELESS[key]
    if key == "root":
        return ("pelvis",)
    if key in JOINT_BY_NAME:
        return (key,)
    raise InternalError(f"archetype key {key!r} is not a joint of bench.data.synth.poses.limits")


def arch(
    name: str,
    group: str,
    description: str,
    *,
    support: tuple[str, ...] = ("feet",),
    asymmetric: bool = False,
    noise_deg: float = 3.0,
    neutral: bool = True,
    contacts: tuple[tuple[str, str], ...] = (),
    **joints: Mapping[str, AngleSpec],
) -> Archetype:
    """Build an :class:`Archetype` from keyword joint specs (see the module docstring).

    ``neutral=False`` skips :data:`NEUTRAL` (for poses where hanging arms make no sense).
    """
    for group_name in support:
        if group_name not in SUPPORT_GROUPS:
            raise InternalError(f"archetype {name!r}: unknown support group {group_name!r}")
    merged: dict[str, dict[str, AngleSpec]] = {}
    for key, dofs in ({**NEUTRAL} if neutral else {}).items():
        for joint in _expand_key(key):
            merged.setdefault(joint, {}).update(dofs)
    for key, dofs in joints.items():
        for joint in _expand_key(key):
            merged.setdefault(joint, {}).update(dofs)

    terms: dict[tuple[int, int], tuple[AngleTerm, ...]] = {}
    fixed: dict[tuple[int, int], float] = {}
    for joint, dofs in merged.items():
        spec = JOINT_BY_NAME[joint]
        for dof_name, value in dofs.items():
            if dof_name not in spec.dofs:
                raise InternalError(f"archetype {name!r}: joint {joint!r} has no DOF {dof_name!r} (has {spec.dofs})")
            col = spec.dofs.index(dof_name)
            parsed = _parse(value, f"{joint}.{dof_name}", name)
            constants = [t for t in parsed if isinstance(t, float)]
            linear = tuple(t for t in parsed if isinstance(t, AngleTerm))
            if constants:
                fixed[(spec.row, col)] = sum(constants)
            if linear:
                terms[(spec.row, col)] = linear
    params = tuple(sorted({t.param for ts in terms.values() for t in ts}))
    pairs = frozenset(frozenset(pair) for pair in contacts)
    return Archetype(name, group, description, terms, params, support, asymmetric, noise_deg, fixed, pairs)


def _parse(value: AngleSpec, private: str, archetype: str) -> list[float | AngleTerm]:
    if isinstance(value, list):
        return [term for item in value for term in _parse(item, private, archetype)]
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, tuple) and len(value) == 2:
        return [AngleTerm(float(value[0]), float(value[1]), private)]
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[2], str):
        return [AngleTerm(float(value[0]), float(value[1]), value[2])]
    raise InternalError(f"archetype {archetype!r}: bad angle spec {value!r} for {private}")
