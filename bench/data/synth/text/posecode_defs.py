"""Posecode definitions: which joints each posecode measures, who it talks about, and which of its
categories may be described, after PoseScript's definitions and super-posecodes
(docs/peers.md#posescript-posecode-selection-and-text).

Eligibility per category: 0 = never described alone (ignored, not acceptable, or support-I),
1 = acceptable (may be randomly skipped), 2 = rare (never skipped). Support-II categories are
describable unless a super-posecode using them was produced. "Absolute" categories of pose B may
appear in PoseFix instructions (docs/peers.md#posefix-instruction-pipeline).

Changes from PoseScript's definitions: added, to make captions of the synthetic archetypes
distinctive, the hand-to-head contact, "hand at shoulder height" (hand y-aligned with its shoulder),
where each limb segment points (elbow out to the side of / in front of / behind its shoulder, hand
above its elbow, knee in front of its hip, foot behind its knee) and the body's facing direction
(chest facing up or down: lying on the back vs on the front); both sides of "left knee below/above
right knee" are support-II (PoseScript marks only "above", the half used by "kneel on right", so
after "kneel on left" it may still say "the left knee is below the right knee"; both kneeling
super-posecodes need the same rule); the {xy,xz,yz}-aligned super-posecodes of PoseScript's ICCV
and later versions are not built.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.data.synth.text.posecode_joints import split_name
from bench.data.synth.text.posecode_operators import POSE_OPERATORS
from bench.errors import InternalError

Part = tuple[str | None, str]  # (side or None, part name), e.g. ("left", "knee")


@dataclass(frozen=True)
class CodeSpec:
    """One elementary code (posecode or paircode)."""

    key: str
    """Unique name, e.g. ``"angle:left_knee"``."""
    operator: str
    """Operator name (a key of POSE_OPERATORS or PAIR_OPERATORS)."""
    joints: tuple[str, ...]
    """Extended joint names measured."""
    subject: Part
    """The body part the sentence is about."""
    other: Part | None
    """The second body part of a relation, None for one-part codes."""
    eligibility: tuple[int, ...]
    """Per category: 0 never described alone, 1 acceptable, 2 rare."""
    support2: tuple[str, ...] = ()
    """Categories removed when a super-code using them is produced."""
    absolute: tuple[str, ...] = ()
    """Categories that may describe pose B in an instruction."""


@dataclass(frozen=True)
class SuperSpec:
    """A binary super-code, produced when any recipe holds (every (code key, category) in it)."""

    key: str
    operator: str
    """Template family used to render it (an operator name or ``"super"``)."""
    interp: str
    subject: Part
    other: Part | None
    recipes: tuple[tuple[tuple[str, str], ...], ...]
    rare: bool
    absolute: bool = False


def make_spec(operator: str, joints: tuple[str, ...], *, categories: tuple[str, ...],
              subject: Part | None = None, other: Part | None = None, accept: tuple[str, ...] | str = "ALL",
              rare: tuple[str, ...] = (), support1: tuple[str, ...] = (), support2: tuple[str, ...] = (),
              absolute: tuple[str, ...] = (), key: str | None = None) -> CodeSpec:
    """Build a :class:`CodeSpec`, resolving category names into the eligibility tuple.

    ``subject`` defaults to the middle joint of a 3-joint code, else the first joint; ``other``
    defaults to the second joint of a 2-joint relation (pass ``other=None`` explicitly through
    ``key``-less one-part operators, which never get one).
    """
    for name in (*rare, *support1, *support2, *absolute, *(() if accept == "ALL" else accept)):
        if name not in categories:
            raise InternalError(f"{operator} {joints}: unknown category {name!r}")
    eligibility = []
    for cat in categories:
        if "ignored" in cat or cat in support1:
            eligibility.append(0)
        elif cat in rare:
            eligibility.append(2)
        elif accept == "ALL" or cat in accept:
            eligibility.append(1)
        else:
            eligibility.append(0)
    if subject is None:
        subject = split_name(joints[1] if len(joints) == 3 else joints[0]) if joints else (None, "body")
    return CodeSpec(
        key=key or f"{operator}:{'-'.join(joints) or 'body'}",
        operator=operator, joints=joints, subject=subject, other=other,
        eligibility=tuple(eligibility), support2=support2, absolute=absolute,
    )


def _pose(operator: str, joints: tuple[str, ...], relation: bool = False, **kw: object) -> CodeSpec:
    cats = POSE_OPERATORS[operator].binning.categories
    if relation and "other" not in kw:
        kw["other"] = split_name(joints[1])
    return make_spec(operator, joints, categories=cats, **kw)  # type: ignore[arg-type]


def _opp(side: str) -> str:
    return "right" if side == "left" else "left"


def _build_posecodes() -> tuple[CodeSpec, ...]:
    specs: list[CodeSpec] = []
    add = specs.append
    sides = ("left", "right")
    angle_abs = ("completely bent", "right angle", "straight")
    for s in sides:
        add(_pose("angle", (f"{s}_hip", f"{s}_knee", f"{s}_ankle"), rare=("completely bent",),
                  support2=("completely bent",), absolute=angle_abs))
        add(_pose("angle", (f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist"), rare=("completely bent",),
                  absolute=angle_abs))
    # symmetric distances
    for part, accept, rare in (
        ("elbow", ("close", "shoulder width", "wide"), ("close",)),
        ("hand", ("close", "shoulder width", "spread", "wide"), ()),
        ("knee", ("close", "shoulder width", "wide"), ("wide",)),
        ("foot", ("close", "shoulder width", "wide"), ("close",)),
    ):
        add(_pose("distance", (f"left_{part}", f"right_{part}"), relation=True, accept=accept, rare=rare,
                  support1=("shoulder width",), absolute=("close",)))
    # hand contacts (all rare "close")
    for s in sides:
        o = _opp(s)
        for target in (f"{s}_shoulder", f"{o}_shoulder", f"{o}_elbow", f"{s}_knee", f"{o}_knee",
                       f"{s}_ankle", f"{o}_ankle", f"{s}_foot", f"{o}_foot", "head"):
            add(_pose("distance", (f"{s}_hand", target), relation=True, accept=("close",), rare=("close",),
                      absolute=("close",)))
    # limbs vs the torso: support for the PoseFix super-paircodes only
    for s in sides:
        for part in ("elbow", "hand", "knee", "foot"):
            add(_pose("distance", (f"{s}_{part}", "torso"), relation=True, accept=(), support1=("close",)))
    # left vs right relative positions
    for part in ("shoulder", "elbow", "hand", "knee", "foot"):
        pair = (f"left_{part}", f"right_{part}")
        if part in ("hand", "foot"):
            add(_pose("relposX", pair, relation=True, accept=("at_right",), rare=("at_right",)))
        add(_pose("relposY", pair, relation=True, accept=("below", "above"),
                  support2=("below", "above") if part == "knee" else ()))
        add(_pose("relposZ", pair, relation=True, accept=("behind", "front")))
    for s in sides:
        cross = "at_right" if s == "left" else "at_left"
        add(_pose("relposY", (f"{s}_hip", f"{s}_knee"), relation=True, accept=(), support1=("above",)))
        add(_pose("relposX", (f"{s}_hand", f"{s}_shoulder"), relation=True, accept=(cross,)))
        add(_pose("relposY", (f"{s}_hand", f"{s}_shoulder"), relation=True, accept=("above", "y-aligned")))
        add(_pose("relposX", (f"{s}_foot", f"{s}_hip"), relation=True, accept=(cross,), rare=(cross,)))
        add(_pose("relposY", (f"{s}_foot", f"{s}_hip"), relation=True, accept=("above",), rare=("above",)))
        add(_pose("relposY", (f"{s}_wrist", "neck"), relation=True, subject=(s, "hand"), accept=("above",)))
        add(_pose("relposY", (f"{s}_hand", f"{s}_hip"), relation=True, accept=("below",)))
        add(_pose("relposZ", (f"{s}_hand", "torso"), relation=True, accept=("behind",)))
        add(_pose("relposZ", (f"{s}_foot", "torso"), relation=True, accept=("behind", "front")))
    # segment orientation
    for s in sides:
        add(_pose("vaxis", (f"{s}_hip", f"{s}_knee"), subject=(s, "thigh"), accept=("vertical", "horizontal"),
                  rare=("horizontal",)))
        add(_pose("vaxis", (f"{s}_knee", f"{s}_ankle"), subject=(s, "shin"), accept=("vertical", "horizontal"),
                  rare=("horizontal",)))
        add(_pose("vaxis", (f"{s}_shoulder", f"{s}_elbow"), subject=(s, "upperarm"),
                  accept=("vertical", "horizontal"), rare=("vertical",)))
        add(_pose("vaxis", (f"{s}_elbow", f"{s}_wrist"), subject=(s, "forearm"),
                  accept=("vertical", "horizontal"), rare=("vertical",)))
        add(_pose("vaxis", ("pelvis", f"{s}_shoulder"), subject=(None, "torso"), accept=(),
                  support1=("horizontal",)))
    add(_pose("vaxis", ("pelvis", "neck"), subject=(None, "torso"), accept=("vertical",)))
    for part in ("hand", "foot"):
        add(_pose("vaxis", (f"left_{part}", f"right_{part}"), subject=("both", part), accept=(),
                  support1=("horizontal",)))
    # ground contact
    for s in sides:
        add(_pose("onground", (f"{s}_knee",), accept=(), support1=("on_ground",)))
        add(_pose("onground", (f"{s}_foot",), accept=(), support1=("on_ground",)))
        add(_pose("onground", (f"{s}_hand",), accept=("on_ground",), absolute=("on_ground",)))
    # additions (see the module docstring): where the upper arms, forearms, thighs and shins point
    for s in sides:
        out = "at_left" if s == "left" else "at_right"
        add(_pose("relposX", (f"{s}_elbow", f"{s}_shoulder"), relation=True, accept=(out,)))
        add(_pose("relposZ", (f"{s}_elbow", f"{s}_shoulder"), relation=True, accept=("front", "behind")))
        add(_pose("relposY", (f"{s}_hand", f"{s}_elbow"), relation=True, accept=("above",)))
        add(_pose("relposZ", (f"{s}_knee", f"{s}_hip"), relation=True, accept=("front",)))
        add(_pose("relposZ", (f"{s}_foot", f"{s}_knee"), relation=True, accept=("behind",)))
    # whole-body incline and facing direction
    for op in ("facing", "inclineX", "inclineY", "inclineZ"):
        add(_pose(op, (), subject=(None, "body")))
    keys = [s.key for s in specs]
    if len(set(keys)) != len(keys):
        raise InternalError("duplicate posecode keys")
    return tuple(specs)


def _build_supers() -> tuple[SuperSpec, ...]:
    body: Part = (None, "body")
    return (
        SuperSpec("torso_horizontal", "vaxis", "horizontal", (None, "torso"), None,
                  ((("vaxis:pelvis-left_shoulder", "horizontal"), ("vaxis:pelvis-right_shoulder", "horizontal")),),
                  rare=True),
        SuperSpec("kneel_on_left", "super", "kneel on left", body, None,
                  ((("relposY:left_knee-right_knee", "below"), ("onground:left_knee", "on_ground"),
                    ("onground:right_foot", "on_ground")),), rare=True),
        SuperSpec("kneel_on_right", "super", "kneel on right", body, None,
                  ((("relposY:left_knee-right_knee", "above"), ("onground:right_knee", "on_ground"),
                    ("onground:left_foot", "on_ground")),), rare=True),
        SuperSpec("kneeling", "super", "kneeling", body, None,
                  ((("relposY:left_hip-left_knee", "above"), ("relposY:right_hip-right_knee", "above"),
                    ("onground:left_knee", "on_ground"), ("onground:right_knee", "on_ground")),
                   (("angle:left_hip-left_knee-left_ankle", "completely bent"),
                    ("angle:right_hip-right_knee-right_ankle", "completely bent"),
                    ("onground:left_knee", "on_ground"), ("onground:right_knee", "on_ground"))), rare=True),
        SuperSpec("hands_shoulder_width", "distance", "shoulder width", ("both", "hand"), None,
                  ((("distance:left_hand-right_hand", "shoulder width"), ("vaxis:left_hand-right_hand", "horizontal")),),
                  rare=True, absolute=True),
        SuperSpec("feet_shoulder_width", "distance", "shoulder width", ("both", "foot"), None,
                  ((("distance:left_foot-right_foot", "shoulder width"), ("vaxis:left_foot-right_foot", "horizontal")),),
                  rare=False, absolute=True),
    )


#: All single-pose posecodes, in a fixed order (the columns of a posecode matrix).
POSECODES: tuple[CodeSpec, ...] = _build_posecodes()
#: All super-posecodes.
SUPER_POSECODES: tuple[SuperSpec, ...] = _build_supers()
