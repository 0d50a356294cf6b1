"""Anatomical angle conversion and joint-limit checks (bench.data.synth.poses.limits)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.body import forward_kinematics, joint_indices, mirror_pose
from bench.data.synth.poses.limits import (
    JOINT_BY_NAME,
    JOINTS,
    LOWER,
    UPPER,
    angles_to_axis_angle,
    axis_angle_to_angles,
    check_joint_limits,
    joint_limit_violations,
    shoulder_excursions,
)

NAMES = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
         "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
         "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")  # fmt: skip


def _angles(**rows: tuple[float, float, float]) -> np.ndarray:
    angles = np.zeros((1, 22, 3))
    for name, value in rows.items():
        angles[0, JOINT_BY_NAME[name].row] = value
    return angles


def _joints(angles: np.ndarray) -> np.ndarray:
    return forward_kinematics(angles_to_axis_angle(angles).astype(np.float64))[0]


def test_table_covers_every_pose_row_with_a_documented_range():
    assert tuple(spec.name for spec in JOINTS) == NAMES
    assert (LOWER[1:] < UPPER[1:]).all()
    assert all(spec.note for spec in JOINTS)
    assert JOINT_BY_NAME["left_knee"].lo[0] == -5 and JOINT_BY_NAME["left_knee"].hi[0] == 150
    assert JOINT_BY_NAME["left_elbow"].hi[0] == 150


def test_round_trip_inside_the_limits():
    rng = np.random.default_rng(0)
    angles = rng.uniform(LOWER * 0.95, UPPER * 0.95, size=(400, 22, 3))
    angles[:, 0] = rng.uniform(-80, 80, size=(400, 3))
    angles[:, 16:18, 0] = rng.uniform(5, 175, size=(400, 2))  # shoulder elevation comes back >= 0
    back = axis_angle_to_angles(angles_to_axis_angle(angles))
    diff = np.abs(back - angles)
    diff[:, 16:18, 1] = 0.0  # the plane is recovered modulo 360
    np.testing.assert_allclose(diff.max(), 0.0, atol=1e-3)


def test_anatomical_directions():
    hip = joint_indices("body22")  # just the 22 joint rows
    assert len(hip) == 22
    knee, ankle, hip_l = 4, 7, 1
    flexed_knee = _joints(_angles(left_knee=(90, 0, 0)))
    assert flexed_knee[ankle, 2] < flexed_knee[knee, 2] - 0.3  # the shin folds backwards
    flexed_hip = _joints(_angles(left_hip=(90, 0, 0)))
    assert flexed_hip[knee, 2] > flexed_hip[hip_l, 2] + 0.3  # the thigh comes forward
    shoulder, elbow, wrist = 16, 18, 20
    arm_down = _joints(_angles(left_shoulder=(0, 0, 0)))
    assert arm_down[elbow, 1] < arm_down[shoulder, 1] - 0.25
    arm_up = _joints(_angles(left_shoulder=(180, 0, 0)))
    assert arm_up[elbow, 1] > arm_up[shoulder, 1] + 0.25
    arm_forward = _joints(_angles(left_shoulder=(90, 90, 0)))
    assert arm_forward[elbow, 2] > arm_forward[shoulder, 2] + 0.25
    bent_elbow = _joints(_angles(left_shoulder=(0, 0, 0), left_elbow=(90, 0, 0)))
    assert bent_elbow[wrist, 2] > bent_elbow[elbow, 2] + 0.2  # the forearm comes forward


def test_right_side_is_the_mirror_of_the_left():
    left = angles_to_axis_angle(_angles(left_hip=(40, 20, 10), left_shoulder=(60, 30, 20), left_elbow=(70, 0, 30)))
    right = angles_to_axis_angle(_angles(right_hip=(40, 20, 10), right_shoulder=(60, 30, 20), right_elbow=(70, 0, 30)))
    np.testing.assert_allclose(mirror_pose(left), right, atol=1e-6)


@pytest.mark.parametrize(
    ("row", "bad", "column"),
    [
        ("left_knee", (-30, 0, 0), 0),  # hyperextended knee
        ("right_elbow", (-25, 0, 0), 0),  # hyperextended elbow
        ("left_hip", (20, 80, 0), 1),  # splits beyond abduction range
        ("neck", (0, 0, 120), 2),  # head turned backwards
        ("left_wrist", (100, 0, 0), 0),
    ],
)
def test_limit_check_fires_on_planted_violation(row: str, bad: tuple[float, float, float], column: int):
    angles = np.stack([_angles()[0], _angles(**{row: bad})[0]])
    violations = joint_limit_violations(angles_to_axis_angle(angles))
    assert not violations[0].any()
    assert violations[1, JOINT_BY_NAME[row].row, column]
    assert check_joint_limits(angles_to_axis_angle(angles)).tolist() == [False, True]


def test_shoulder_cannot_point_far_behind_or_across_the_body():
    behind = _angles(left_shoulder=(90, -90, 0))  # arm horizontal straight back: 90 deg extension
    across = _angles(right_shoulder=(90, 170, 0))  # arm reaching far across the chest
    fine = _angles(left_shoulder=(45, -90, 0))  # 45 deg of extension is normal
    poses = angles_to_axis_angle(np.concatenate([behind, across, fine]))
    excursion = shoulder_excursions(poses)
    assert excursion[0, 0, 0] == pytest.approx(90, abs=0.1)
    assert excursion[1, 1, 1] > 60
    assert check_joint_limits(poses).tolist() == [True, True, False]


def test_root_orientation_is_never_a_violation():
    lying = angles_to_axis_angle(_angles(pelvis=(-90, 0, 135)))
    assert not check_joint_limits(lying)[0]
