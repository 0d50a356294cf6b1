"""Rest-pose joint positions of the built-in ``skeleton`` body model, from open anthropometry.

Source: the segment lengths and landmark heights as fractions of body height H of Drillis &
Contini (1966), "Body segment parameters", Report 1166-03, Office of Vocational Rehabilitation,
New York University, as tabulated in D. A. Winter, *Biomechanics and Motor Control of Human
Movement*, 4th ed. (2009), Fig. 4.1. No number comes from any SMPL model file.

Used fractions of H (``DRILLIS_CONTINI``): heights above the floor of the hip (greater
trochanter) 0.530, knee 0.285, ankle 0.039, shoulder 0.818, chin 0.870, eye 0.936; breadths of
the shoulders (biacromial) 0.259, chest 0.174, hips 0.191; lengths of the upper arm 0.186, forearm
0.146, hand 0.108 and foot 0.152.

Derivation for a neutral adult with H = 1.70 m, in the SMPL frame (y up, facing +z, the body's
left at +x), T-pose (arms along ±x), all joints in the mid-coronal plane z = 0 except the feet:

- hips: height 0.530 H; lateral ±hip breadth / 4 (hip joint centres taken at half of the
  half-breadth, 0.081 m from the midline). Knees and ankles straight below at 0.285 H and 0.039 H.
- feet (SMPL's foot joint is at the ball of the foot): the ankle is taken above the point 1/4 of
  the foot length from the heel and the ball at 3/4, so the foot joint is 0.5 × 0.152 H forward
  of the ankle, at half the ankle height.
- pelvis: on the midline, 1/10 of the hip-to-shoulder height above the hips.
- neck: midway between shoulder and chin height; spine1–3 split pelvis→neck into quarters.
- head: midway between chin and eye height.
- collars: at shoulder height, ±chest breadth / 4.
- shoulders (gleno-humeral centres lie inside the acromion): at shoulder height, lateral
  offset the mean of the half chest and half shoulder breadths, ±(0.174 + 0.259) H / 4.
- elbow, wrist: one upper-arm and one forearm length further out along ±x; the hand joint
  (SMPL's sits at the knuckles' base) half a hand length beyond the wrist.

Finally everything is shifted so the pelvis is at the origin. Left and right are exact mirror
images (x → −x), which ``mirror_pose`` relies on.
"""

from __future__ import annotations

import hashlib

import numpy as np

from bench.body.joints import JOINT_NAMES

SKELETON_HEIGHT_M = 1.70
"""Body height of the built-in skeleton, metres."""

DRILLIS_CONTINI: dict[str, float] = {
    "hip_height": 0.530,
    "knee_height": 0.285,
    "ankle_height": 0.039,
    "shoulder_height": 0.818,
    "chin_height": 0.870,
    "eye_height": 0.936,
    "shoulder_breadth": 0.259,
    "chest_breadth": 0.174,
    "hip_breadth": 0.191,
    "upper_arm_length": 0.186,
    "forearm_length": 0.146,
    "hand_length": 0.108,
    "foot_length": 0.152,
}
"""Drillis & Contini (1966) proportions used here, as fractions of body height (Winter, Fig. 4.1)."""


def skeleton_rest_joints(height_m: float = SKELETON_HEIGHT_M) -> np.ndarray:
    """Rest (T-pose) joint positions, float64 ``(24, 3)``, metres, SMPL frame, pelvis at the origin.

    Row ``j`` is joint ``JOINT_NAMES[j]``; the derivation is in the module docstring.
    """
    p = {k: v * height_m for k, v in DRILLIS_CONTINI.items()}
    hip_x = p["hip_breadth"] / 4
    collar_x = p["chest_breadth"] / 4
    shoulder_x = (p["chest_breadth"] + p["shoulder_breadth"]) / 4
    elbow_x = shoulder_x + p["upper_arm_length"]
    wrist_x = elbow_x + p["forearm_length"]
    hand_x = wrist_x + p["hand_length"] / 2
    pelvis_y = p["hip_height"] + 0.1 * (p["shoulder_height"] - p["hip_height"])
    neck_y = (p["shoulder_height"] + p["chin_height"]) / 2
    spine = [pelvis_y + f * (neck_y - pelvis_y) for f in (0.25, 0.5, 0.75)]
    foot = (p["ankle_height"] / 2, 0.5 * p["foot_length"])
    sides = {
        "hip": (hip_x, p["hip_height"], 0.0),
        "knee": (hip_x, p["knee_height"], 0.0),
        "ankle": (hip_x, p["ankle_height"], 0.0),
        "foot": (hip_x, foot[0], foot[1]),
        "collar": (collar_x, p["shoulder_height"], 0.0),
        "shoulder": (shoulder_x, p["shoulder_height"], 0.0),
        "elbow": (elbow_x, p["shoulder_height"], 0.0),
        "wrist": (wrist_x, p["shoulder_height"], 0.0),
        "hand": (hand_x, p["shoulder_height"], 0.0),
    }
    midline = {
        "pelvis": pelvis_y,
        "spine1": spine[0],
        "spine2": spine[1],
        "spine3": spine[2],
        "neck": neck_y,
        "head": (p["chin_height"] + p["eye_height"]) / 2,
    }
    rest = np.zeros((len(JOINT_NAMES), 3))
    for j, name in enumerate(JOINT_NAMES):
        side, _, part = name.partition("_")
        if part:
            x, y, z = sides[part]
            rest[j] = (x if side == "left" else -x, y, z)
        else:
            rest[j] = (0.0, midline[name], 0.0)
    return rest - rest[0]


def rest_joints_sha256(rest_joints: np.ndarray) -> str:
    """SHA-256 of a rest pose's float64 bytes: pins the skeleton in protocol records."""
    return hashlib.sha256(np.ascontiguousarray(rest_joints, dtype="<f8").tobytes()).hexdigest()
