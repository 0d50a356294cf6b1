"""Posecode operators, definitions and super-posecodes on hand-built poses and joints.

Hand-built poses use the skeleton's T-pose rest (arms along ±x, the body's left at +x, facing +z).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from bench.body import mirror_pose
from bench.data.synth.text.posecode_defs import POSECODES, SUPER_POSECODES
from bench.data.synth.text.posecode_joints import JOINT_INDEX, NUM_EXTENDED, extend_joints, pose_joints
from bench.data.synth.text.posecode_operators import POSE_OPERATORS, body_incline_deg, categorize
from bench.data.synth.text.posecodes import (
    POSE_SUPERS,
    POSE_TABLE,
    Posecodes,
    compute_posecodes,
    count_differing_posecodes,
    posecode_frequencies,
    posecodes_from_joints,
)

L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 1, 2, 4, 5, 7, 8
SPINE = (3, 6, 9)
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW = 16, 17, 18, 19


def arms_down(n: int = 1) -> np.ndarray:
    """(n, 22, 3) standing poses with both arms hanging (the rest is the T-pose)."""
    poses = np.zeros((n, 22, 3), dtype=np.float32)
    poses[:, L_SHOULDER] = (0.0, 0.0, -np.pi / 2)
    poses[:, R_SHOULDER] = (0.0, 0.0, np.pi / 2)
    return poses


def bend_knee(poses: np.ndarray, row: int, flexion_deg: float) -> np.ndarray:
    """Flex a knee (the shin swings backward about +x); the knee angle becomes 180 - flexion."""
    out = poses.copy()
    out[:, row] = (np.radians(flexion_deg), 0.0, 0.0)
    return out


def raise_right_arm(poses: np.ndarray) -> np.ndarray:
    """Right arm straight up over the head."""
    out = poses.copy()
    out[:, R_SHOULDER] = (0.0, 0.0, -np.pi / 2)
    return out


@functools.lru_cache(maxsize=32)
def _cached_codes(data: bytes, n: int) -> Posecodes:
    return compute_posecodes(np.frombuffer(data, dtype=np.float32).reshape(n, 22, 3))


def codes_of(poses: np.ndarray) -> Posecodes:
    """Noise-free posecodes (memoised: several tests query the same hand-built pose)."""
    poses = np.ascontiguousarray(poses, dtype=np.float32)
    return _cached_codes(poses.tobytes(), len(poses))


def category(poses: np.ndarray, key: str, row: int = 0) -> str:
    codes = codes_of(poses)
    k = POSE_TABLE.index[key]
    return POSE_TABLE.category_name(k, int(codes.categories[row, k]))


def produced(poses: np.ndarray, key: str, row: int = 0) -> bool:
    codes = codes_of(poses)
    return bool(codes.supers[row, [s.key for s in SUPER_POSECODES].index(key)])


LEFT_KNEE = "angle:left_hip-left_knee-left_ankle"
RIGHT_KNEE = "angle:right_hip-right_knee-right_ankle"


@pytest.mark.parametrize(
    ("flexion", "expected"),
    [(10, "straight"), (40, "slightly bent"), (60, "bent less"), (90, "right angle"), (120, "bent more"),
     (150, "completely bent")],
)
def test_knee_angle_bins(flexion: float, expected: str) -> None:
    poses = bend_knee(arms_down(), L_KNEE, flexion)
    assert category(poses, LEFT_KNEE) == expected
    assert category(poses, RIGHT_KNEE) == "straight"


def test_elbow_right_angle_on_the_bent_side_only() -> None:
    poses = arms_down()
    poses[0, R_ELBOW] = (0.0, np.pi / 2, 0.0)  # swing the right forearm forward, perpendicular to the arm
    assert category(poses, "angle:right_shoulder-right_elbow-right_wrist") == "right angle"
    assert category(poses, "angle:left_shoulder-left_elbow-left_wrist") == "straight"


def test_raised_right_arm_relative_positions_and_segments() -> None:
    poses = raise_right_arm(arms_down())
    assert category(poses, "relposY:right_wrist-neck") == "above"
    assert category(poses, "relposY:left_wrist-neck") == "below"
    assert category(poses, "relposY:left_hand-right_hand") == "below"
    assert category(poses, "vaxis:right_shoulder-right_elbow") == "vertical"
    assert category(poses, "relposY:right_hand-right_elbow") == "above"


def test_t_pose_arms_horizontal_and_wide() -> None:
    codes = compute_posecodes(np.concatenate([np.zeros((1, 22, 3), dtype=np.float32), arms_down()]))

    def cat(key: str, row: int = 0) -> str:
        k = POSE_TABLE.index[key]
        return POSE_TABLE.category_name(k, int(codes.categories[row, k]))

    for side in ("left", "right"):
        assert cat(f"vaxis:{side}_shoulder-{side}_elbow") == "horizontal"
        assert cat(f"vaxis:{side}_elbow-{side}_wrist") == "horizontal"
        assert cat(f"relposX:{side}_elbow-{side}_shoulder") == ("at_left" if side == "left" else "at_right")
        assert cat(f"vaxis:{side}_shoulder-{side}_elbow", row=1) == "vertical"
    assert cat("distance:left_hand-right_hand") == "wide"


def test_kneeling_super_posecode_and_ground_contact() -> None:
    poses = bend_knee(bend_knee(arms_down(), L_KNEE, 90), R_KNEE, 90)
    poses[0, L_ANKLE] = poses[0, R_ANKLE] = (-np.pi / 2, 0.0, 0.0)  # feet stretched back along the floor
    assert category(poses, "onground:left_knee") == "on_ground"
    assert produced(poses, "kneeling")
    assert not produced(arms_down(), "kneeling")
    assert category(arms_down(), "onground:left_knee") != "on_ground"


def test_super_posecode_support2_is_removed_only_when_produced() -> None:
    k = POSE_TABLE.index[LEFT_KNEE]
    cats = np.zeros((2, len(POSE_TABLE)), dtype=np.int8)
    for key, cat in SUPER_POSECODES[[s.key for s in SUPER_POSECODES].index("kneeling")].recipes[1]:
        col, c = POSE_TABLE.category_index(key, cat)
        cats[:, col] = c
    cats[1, POSE_TABLE.index["onground:right_knee"]] = 1  # second pose: right knee off the ground
    produced_ = POSE_SUPERS.produced(cats)
    eligibility = POSE_SUPERS.remove_support2(cats, POSE_TABLE.eligibility(cats), produced_)
    kneeling = [s.key for s in SUPER_POSECODES].index("kneeling")
    assert produced_[:, kneeling].tolist() == [True, False]
    assert eligibility[0, k] == 0 and eligibility[1, k] == 2  # "completely bent" is rare when described


@pytest.mark.parametrize(
    ("row_angle", "key", "expected"),
    [((0.8, 0.0, 0.0), "inclineX:body", "forward"), ((0.45, 0.0, 0.0), "inclineX:body", "forward slightly"),
     ((-0.9, 0.0, 0.0), "inclineX:body", "backward"),
     ((0.0, 0.0, -0.5), "inclineZ:body", "lean left"), ((0.0, 0.0, 0.5), "inclineZ:body", "lean right"),
     ((0.0, 0.35, 0.0), "inclineY:body", "twist left"), ((0.0, -0.35, 0.0), "inclineY:body", "twist right")],
)
def test_body_incline(row_angle: tuple[float, float, float], key: str, expected: str) -> None:
    poses = arms_down()
    for row in SPINE:
        poses[0, row] = row_angle
    assert category(poses, key) == expected


def test_facing_up_and_down() -> None:
    poses = arms_down(2)
    poses[0, 0] = (-np.pi / 2, 0.0, 0.0)  # lying on the back
    poses[1, 0] = (np.pi / 2, 0.0, 0.0)  # lying on the front
    assert category(poses, "facing:body", 0) == "facing up"
    assert category(poses, "facing:body", 1) == "facing down"
    assert category(arms_down(), "facing:body") == "ignored_f"


def test_incline_x_is_zeroed_when_lying() -> None:
    joints = pose_joints(arms_down())
    lying = joints.copy()
    lying[..., [1, 2]] = joints[..., [2, 1]] * np.array([1.0, -1.0])  # rotate the standing body onto its back
    assert body_incline_deg(lying)[0, 0] == 0.0


def test_operators_on_hand_made_joints() -> None:
    joints = np.zeros((1, NUM_EXTENDED, 3))
    joints[0, JOINT_INDEX["left_hand"]] = (0.3, 1.0, 0.1)
    joints[0, JOINT_INDEX["right_hand"]] = (-0.3, 0.5, 0.0)
    table = POSE_TABLE
    values = table.values(joints)
    assert values[0, table.index["distance:left_hand-right_hand"]] == pytest.approx(np.sqrt(0.36 + 0.25 + 0.01))
    assert values[0, table.index["relposX:left_hand-right_hand"]] == pytest.approx(0.6)
    assert values[0, table.index["relposY:left_hand-right_hand"]] == pytest.approx(0.5)
    assert values[0, table.index["onground:left_hand"]] == pytest.approx(1.0)
    vertical = np.degrees(np.arctan2(np.hypot(0.6, 0.1), 0.5))
    assert values[0, table.index["vaxis:left_hand-right_hand"]] == pytest.approx(vertical)


def test_categorize_first_threshold_at_or_above_and_noise() -> None:
    thresholds = np.array([[45.0, 75.0, 105.0, 135.0, 160.0]])
    values = np.array([[45.0], [45.01], [170.0], [0.0]])
    assert categorize(values, thresholds, np.array([5.0]), None)[:, 0].tolist() == [0, 1, 5, 0]
    rng = np.random.default_rng(0)
    near = np.full((400, 1), 104.0)
    drawn = categorize(near, thresholds, np.array([5.0]), rng)[:, 0]
    assert set(drawn.tolist()) == {2, 3}  # the ±5° noise crosses the 105° threshold both ways
    far = np.full((400, 1), 90.0)
    assert set(categorize(far, thresholds, np.array([5.0]), rng)[:, 0].tolist()) == {2}


def _swap(key: str) -> str:
    return key.replace("left", "@").replace("right", "left").replace("@", "right")


def test_mirrored_pose_swaps_left_and_right_values() -> None:
    rng = np.random.default_rng(3)
    poses = (rng.normal(0.0, 0.35, size=(16, 22, 3))).astype(np.float32)
    joints = pose_joints(poses)
    mirrored = pose_joints(np.asarray(mirror_pose(poses), dtype=np.float32))
    v, vm = POSE_TABLE.values(joints), POSE_TABLE.values(mirrored)
    checked = 0
    for k, spec in enumerate(POSECODES):
        flips_x = spec.operator in ("relposX", "inclineY", "inclineZ")
        swapped = _swap(spec.key)
        if swapped in POSE_TABLE.index and swapped != spec.key:
            sign = -1.0 if flips_x else 1.0
            np.testing.assert_allclose(vm[:, POSE_TABLE.index[swapped]], sign * v[:, k], atol=1e-4, err_msg=spec.key)
        else:  # left-vs-right codes of one part, and side-less codes
            pair = "left" in spec.key and "right" in spec.key
            sign = 1.0
            if spec.operator in ("relposY", "relposZ") and pair:
                sign = -1.0
            if spec.operator in ("inclineY", "inclineZ"):
                sign = -1.0
            np.testing.assert_allclose(vm[:, k], sign * v[:, k], atol=1e-4, err_msg=spec.key)
        checked += 1
    assert checked == len(POSECODES)


def test_frequencies_and_differences() -> None:
    poses = np.concatenate([arms_down(), raise_right_arm(arms_down()), bend_knee(arms_down(), L_KNEE, 90)])
    freqs = posecode_frequencies(poses)
    for kind, op in POSE_OPERATORS.items():
        assert set(freqs[kind]) == set(op.binning.categories)
        assert sum(freqs[kind].values()) == pytest.approx(1.0)
    assert set(freqs["super"]) == {s.key for s in SUPER_POSECODES}
    cats = compute_posecodes(poses).categories
    assert count_differing_posecodes(cats[0], cats[0]) == 0
    diff = count_differing_posecodes(cats[0][None], cats[1:])
    assert diff.shape == (2,) and (diff > 0).all()


def test_extend_joints_accepts_22_body_joints_and_rejects_bad_shapes() -> None:
    joints = pose_joints(arms_down())
    short = extend_joints(joints[:, :22])
    assert short.shape == (1, NUM_EXTENDED, 3)
    wrist, hand = JOINT_INDEX["left_wrist"], JOINT_INDEX["left_hand"]
    assert np.linalg.norm(short[0, hand] - short[0, wrist]) == pytest.approx(0.0684, abs=1e-4)
    from bench.errors import DataError

    with pytest.raises(DataError):
        extend_joints(np.zeros((2, 10, 3)))
    with pytest.raises(DataError):
        compute_posecodes(np.zeros((2, 21, 3), dtype=np.float32))


def test_noise_changes_only_borderline_codes() -> None:
    poses = bend_knee(arms_down(64), L_KNEE, 90)
    joints = pose_joints(poses)
    noisy = posecodes_from_joints(joints, np.random.default_rng(0)).categories
    k = POSE_TABLE.index[LEFT_KNEE]
    assert (noisy[:, k] == POSE_TABLE.category_index(LEFT_KNEE, "right angle")[1]).all()
