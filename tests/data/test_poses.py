"""The synthetic pose generator: limits, ground contact, rejection checks, coverage, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from bench.body import JOINT_NAMES, forward_kinematics, heading_angle, mirror_pose
from bench.data.synth.poses.archetypes import ARCHETYPE_NAMES, ARCHETYPES, get_archetype
from bench.data.synth.poses.limits import JOINT_BY_NAME, angles_to_axis_angle, check_joint_limits
from bench.data.synth.poses.generator import (
    CHECKS,
    GROUND_TOLERANCE_M,
    check_floating,
    check_ground_penetration,
    check_self_penetration,
    clearance,
    derive_rng,
    generate_chunk,
    generate_sequences,
    generate_split,
    place_on_ground,
    run_checks,
    sequence_archetypes,
    support_indices,
)
from bench.errors import NotFoundError

FEET = [JOINT_NAMES.index(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]


@pytest.fixture(scope="module")
def generated():
    """Two full rounds of the archetype library: 2 x 74 sequences x 4 poses."""
    return generate_split(seed=11, split="test", n_poses=4 * 2 * len(ARCHETYPE_NAMES), chunk=37)


def _angles(**rows: tuple[float, float, float]) -> np.ndarray:
    angles = np.zeros((1, 22, 3))
    for name, value in rows.items():
        angles[0, JOINT_BY_NAME[name].row] = value
    return angles


def _placed(angles: np.ndarray, archetype: str) -> np.ndarray:
    joints = forward_kinematics(angles_to_axis_angle(angles).astype(np.float64))
    return place_on_ground(joints, support_indices(get_archetype(archetype)))


def test_library_is_large_documented_and_varied():
    assert len(ARCHETYPE_NAMES) >= 40
    for name, archetype in ARCHETYPES.items():
        assert name == archetype.name and archetype.description and archetype.group
    groups = {a.group for a in ARCHETYPES.values()}
    assert {"standing", "locomotion", "sitting", "kneeling", "lying", "yoga", "sport", "jumping"} <= groups
    for required in ("walking", "running", "sitting_chair", "sitting_cross_legged", "kneeling", "kneeling_one_knee",
                     "squatting", "lunging", "lying_on_back", "lying_on_side", "lying_on_front", "bending_forward",
                     "reaching_up", "pointing", "waving", "stand_arms_crossed", "stand_hands_on_hips", "yoga_tree",
                     "yoga_downward_dog", "kicking", "throwing", "swinging_bat", "diving", "celebrating", "dancing",
                     "crawling", "praying", "climbing", "jumping_tuck", "t_pose", "a_pose"):  # fmt: skip
        assert required in ARCHETYPES
    assert sum(a.asymmetric for a in ARCHETYPES.values()) >= 15
    assert any(not a.grounded for a in ARCHETYPES.values())


def test_unknown_archetype_suggests_names():
    with pytest.raises(NotFoundError, match="did you mean 'walking'"):
        get_archetype("walkin")


def test_every_archetype_is_generated_and_labelled(generated):
    names, counts = np.unique(generated.archetype, return_counts=True)
    assert set(names) == set(ARCHETYPE_NAMES)
    assert (counts == 8).all()  # two sequences of four poses each
    assert generated.poses.shape == (len(generated.archetype), 22, 3) and generated.poses.dtype == np.float32


def test_no_joint_outside_its_limits(generated):
    assert not check_joint_limits(generated.poses).any()
    assert not check_joint_limits(generated.raw_poses).any()


def test_no_foot_below_the_ground(generated):
    feet_clearance = clearance(generated.joints_m)[:, FEET]
    assert feet_clearance.min() >= -GROUND_TOLERANCE_M
    assert generated.joints_m[:, FEET, 1].min() > 0.0  # foot joint centres stay above the floor plane
    assert clearance(generated.joints_m).min() >= -GROUND_TOLERANCE_M


def test_accepted_poses_pass_every_check_and_rejections_are_counted(generated):
    fired, _ = run_checks(generated.poses, [ARCHETYPES[str(a)] for a in generated.archetype])
    for name in CHECKS:
        assert not fired[name].any(), name
    assert set(generated.rejections) == set(CHECKS)
    assert generated.attempts >= len(generated.poses)
    assert sum(generated.rejections.values()) > 0


def test_grounded_poses_touch_the_ground_with_a_support_part(generated):
    for name in ("stand_relaxed", "kneeling", "lying_on_back", "plank"):
        rows = generated.archetype == name
        assert not check_floating(generated.joints_m[rows], ARCHETYPES[name].support).any()


def test_poses_are_heading_normalised_but_sequences_keep_relative_heading(generated):
    np.testing.assert_allclose(heading_angle(generated.poses), 0.0, atol=1e-4)
    raw_heading = heading_angle(generated.raw_poses).reshape(-1, 4)
    assert np.ptp(np.unwrap(raw_heading, axis=1), axis=1).max() > 0.05


def test_mirroring_balances_left_and_right(generated):
    assert 0.3 < generated.mirrored.mean() < 0.7


def test_sequences_vary_smoothly(generated):
    poses = generated.poses.reshape(-1, 4, 22, 3)
    step = np.abs(np.diff(poses[:, :, 1:], axis=1)).max(axis=(2, 3))
    other = np.abs(poses[1:, 0, 1:] - poses[:-1, 0, 1:]).max(axis=(1, 2))
    assert np.median(step) < np.median(other)


def test_self_penetration_fires_on_a_hand_through_the_chest():
    ok = _angles(left_shoulder=(20, 40, 0), left_elbow=(90, 0, 0))
    bad = _angles(left_shoulder=(20, 90, 80), left_elbow=(120, 0, 0))  # forearm folded into the torso
    joints = forward_kinematics(angles_to_axis_angle(np.concatenate([ok, bad])).astype(np.float64))
    assert check_self_penetration(joints).tolist() == [False, True]


def test_self_penetration_fires_on_crossed_legs_unless_the_archetype_allows_it():
    crossed = _angles(left_hip=(0, -25, 0), right_hip=(0, -25, 0))  # thighs through each other
    joints = forward_kinematics(angles_to_axis_angle(crossed).astype(np.float64))
    assert check_self_penetration(joints)[0]
    allowed = frozenset({frozenset({"left_thigh", "right_thigh"}), frozenset({"left_shin", "right_shin"}),
                         frozenset({"left_foot", "right_foot"}), frozenset({"left_shin", "right_foot"}),
                         frozenset({"left_foot", "right_shin"})})  # fmt: skip
    assert not check_self_penetration(joints, allowed)[0]


def test_ground_penetration_fires_on_a_hand_below_the_feet():
    standing = _placed(_angles(), "stand_relaxed")
    bent = _placed(_angles(pelvis=(100, 0, 0), left_hip=(100, 0, 0), right_hip=(100, 0, 0),
                           spine1=(30, 0, 0), spine2=(30, 0, 0), left_shoulder=(180, 90, 0),
                           right_shoulder=(180, 90, 0)), "stand_relaxed")  # fmt: skip (folded, arms to the floor)
    assert check_ground_penetration(np.concatenate([standing, bent])).tolist() == [False, True]
    sunk = standing.copy()
    sunk[:, :, 1] -= 0.05
    assert check_ground_penetration(sunk)[0]


def test_floating_fires_when_a_support_part_is_in_the_air():
    kneeling = _placed(_angles(left_knee=(105, 0, 0), right_knee=(105, 0, 0)), "kneeling")
    standing_as_kneeling = _placed(_angles(), "kneeling")  # feet down, knees half a metre up
    assert not check_floating(kneeling, ("knees", "feet"))[0]
    assert check_floating(standing_as_kneeling, ("knees", "feet"))[0]
    assert not check_floating(standing_as_kneeling, ())[0]  # airborne archetypes never float


def test_generation_is_deterministic_and_chunk_independent():
    first = generate_split(seed=3, split="val", n_poses=96, chunk=8)
    again = generate_split(seed=3, split="val", n_poses=96, chunk=8)
    assert first.poses.tobytes() == again.poses.tobytes()
    chunk = generate_chunk(seed=3, split="val", n_sequences=24, chunk=8, index=2, n_frames=4)
    np.testing.assert_array_equal(chunk.poses, first.poses[64:96])
    other = generate_split(seed=4, split="val", n_poses=96, chunk=8)
    assert not np.array_equal(other.poses, first.poses)


def test_archetype_order_covers_the_library_in_every_round():
    names = sequence_archetypes(0, "train", 3 * len(ARCHETYPE_NAMES))
    for r in range(3):
        assert sorted(names[r * len(ARCHETYPE_NAMES) : (r + 1) * len(ARCHETYPE_NAMES)]) == sorted(ARCHETYPE_NAMES)
    assert sequence_archetypes(0, "train", 10) != sequence_archetypes(0, "test", 10)


def test_derived_generators_are_independent_and_reproducible():
    assert derive_rng(0, "a", 1).random() == derive_rng(0, "a", 1).random()
    assert derive_rng(0, "a", 1).random() != derive_rng(0, "a", 2).random()


def test_mirrored_sequence_swaps_the_raised_arm():
    rng = np.random.default_rng(5)
    out = generate_sequences(["pointing"] * 24, 2, rng)
    joints = forward_kinematics(out.poses.astype(np.float64))
    left_up = joints[:, JOINT_NAMES.index("left_wrist"), 1] > joints[:, JOINT_NAMES.index("right_wrist"), 1]
    np.testing.assert_array_equal(left_up, ~out.mirrored)
    np.testing.assert_allclose(mirror_pose(mirror_pose(out.poses)), out.poses, atol=1e-6)
