"""rpe scenes: layout, boxes, camera-frame poses and referring questions that pick out one person."""

from __future__ import annotations

import numpy as np
import pytest

from bench.body import JOINT_NAMES, load_body_model
from bench.data.synth.images.scenes import (
    Person,
    activity_phrase,
    candidate_references,
    make_rpe_scene,
    referents,
)
from bench.errors import UserError

J = {name: i for i, name in enumerate(JOINT_NAMES)}


def _standing(rng: np.random.Generator) -> np.ndarray:
    pose = rng.normal(0.0, 0.08, (22, 3)).astype(np.float32)
    pose[0] = 0.0
    pose[J["left_shoulder"], 2] -= 1.1
    pose[J["right_shoulder"], 2] += 1.1
    return pose


def _kneeling() -> np.ndarray:
    pose = np.zeros((22, 3), np.float32)
    for side in ("left", "right"):
        pose[J[f"{side}_hip"], 0] = -0.2
        pose[J[f"{side}_knee"], 0] = 1.6
    pose[J["left_shoulder"], 2], pose[J["right_shoulder"], 2] = -1.1, 1.1
    return pose


def _scene_inputs(rng: np.random.Generator, count: int) -> tuple[np.ndarray, list[str]]:
    poses = [_standing(rng) for _ in range(count)]
    names = ["stand_relaxed"] * count
    if count > 2:  # one kneeling person, so an activity reference can exist
        poses[1], names[1] = _kneeling(), "kneeling"
    return np.stack(poses), names


@pytest.mark.parametrize("seed,count", [(0, 2), (1, 3), (2, 4), (3, 3), (4, 4), (5, 2)])
def test_scene_contract_boxes_and_unique_reference(seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    poses, names = _scene_inputs(rng, count)
    scene = make_rpe_scene(poses, names, rng)
    assert scene.image.shape == (224, 224, 3) and scene.image.dtype == np.uint8
    assert scene.boxes.shape == (count, 4) and scene.poses_camera.shape == (count, 22, 3)
    assert 0 <= scene.target < count
    # The question's reference picks out exactly the target.
    assert referents(scene.people, *scene.reference) == [scene.target]
    assert "{" not in scene.question and scene.question.endswith(("?", "."))
    # Boxes lie inside the image and do not overlap left to right.
    assert (scene.boxes[:, :2] >= 0).all() and (scene.boxes[:, 2:] <= 224).all()
    assert (scene.boxes[:, 2] > scene.boxes[:, 0]).all() and (scene.boxes[:, 3] > scene.boxes[:, 1]).all()
    ordered = scene.boxes[np.argsort(scene.boxes[:, 0])]
    assert (ordered[:-1, 2] <= ordered[1:, 0]).all()
    assert [p.order for p in scene.people] == list(np.argsort(np.argsort(scene.boxes[:, 0])))
    # Each person's camera-frame pose, placed at its pelvis, projects into its own box.
    cam = scene.camera
    joints = load_body_model("skeleton").joints(scene.poses_camera) + scene.pelvis_camera[:, None, :]
    u = cam.focal_px * joints[..., 0] / joints[..., 2] + cam.cx
    v = cam.focal_px * joints[..., 1] / joints[..., 2] + cam.cy
    for p, (x0, y0, x1, y1) in enumerate(scene.boxes):
        inside = (u[p] >= x0 - 1) & (u[p] <= x1 + 1) & (v[p] >= y0 - 1) & (v[p] <= y1 + 1)
        assert inside.mean() >= 0.9, (p, inside.mean())
    target_box = scene.boxes[scene.target]
    centre = (np.median(u[scene.target]), np.median(v[scene.target]))
    assert target_box[0] <= centre[0] <= target_box[2] and target_box[1] <= centre[1] <= target_box[3]


def test_scene_is_deterministic_for_a_seed() -> None:
    poses, names = _scene_inputs(np.random.default_rng(7), 3)
    a = make_rpe_scene(poses, names, np.random.default_rng(9))
    b = make_rpe_scene(poses, names, np.random.default_rng(9))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert (a.question, a.target) == (b.question, b.target)


def test_every_reference_kind_appears_and_stays_unique() -> None:
    rng = np.random.default_rng(11)
    kinds = set()
    for _ in range(14):
        poses, names = _scene_inputs(rng, int(rng.integers(3, 5)))
        scene = make_rpe_scene(poses, names, rng)
        kinds.add(scene.reference[0])
        for target in range(len(scene.people)):
            for reference in candidate_references(scene.people, target):
                assert referents(scene.people, *reference) == [target]
    assert {"position", "top", "bottoms"} <= kinds


def _person(order: int, top: str, bottoms: str = "black", archetype: str = "stand_relaxed", family: str = "standing",
            depth: float = 3.0, legs: str = "long") -> Person:
    return Person(order=order, top=top, bottoms=bottoms, legs=legs, archetype=archetype, family=family, depth_m=depth)


def test_shared_attributes_are_never_used() -> None:
    people = [
        _person(0, "red", "blue", depth=3.0),
        _person(1, "green", "blue", depth=3.2),
        _person(2, "white", "black", archetype="kneeling", family="kneeling", depth=4.5),
    ]
    first = dict(candidate_references(people, 0))
    assert "bottoms" not in first  # two people wear blue trousers
    assert "activity" not in first  # two people are standing
    assert "depth" not in first  # 0.2 m is no clear depth gap
    assert first["position"] == "far left" and first["top"] == "red"
    third = candidate_references(people, 2)
    assert ("activity", "kneeling") in third and ("depth", "farthest") in third
    assert ("bottoms", "black trousers") in third
    assert referents(people, "position", "middle") == [1]
    assert referents(people, "top", "purple") == []


def test_activity_phrases_read_as_a_clause() -> None:
    assert activity_phrase("kneeling") == "kneeling upright on both knees"
    assert activity_phrase("squatting").startswith("in a deep squat")
    assert activity_phrase("t_pose") == "in a T-pose"
    assert activity_phrase("a_pose") == "in an A-pose"
    assert activity_phrase("boxing_guard") == "in a boxing guard"
    assert activity_phrase("celebrating") == "celebrating a victory"
    assert activity_phrase("cartwheel_left") == "doing cartwheel left"


def test_bad_inputs_are_user_errors() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(UserError):
        make_rpe_scene(np.zeros((1, 22, 3), np.float32), ["stand_relaxed"], rng)
    with pytest.raises(UserError):
        make_rpe_scene(np.zeros((5, 22, 3), np.float32), ["stand_relaxed"] * 5, rng)
    with pytest.raises(UserError):
        make_rpe_scene(np.zeros((2, 22, 3), np.float32), ["stand_relaxed"], rng)
