"""The mannequin renderer: API contract, camera conventions, framing, symmetry and the ray caster."""

from __future__ import annotations

import numpy as np
import pytest

from bench.body import JOINT_NAMES, load_body_model, mirror_pose
from bench.data.synth.images.appearance import Light, Style, sample_clothing
from bench.data.synth.images.backdrop import Backdrop
from bench.data.synth.images.camera import CAMERA_FIELDS, Camera, frame_camera, sample_camera
from bench.data.synth.images.figure import Clothing, layout_figures, posed_skeleton
from bench.data.synth.images.render import (
    camera_frame_pose,
    mirror_style,
    render_figures,
    render_pair,
    render_pose,
    sample_style,
)
from bench.errors import DataError, UserError

J = {name: i for i, name in enumerate(JOINT_NAMES)}


def _pose(rng: np.random.Generator, scale: float = 0.25) -> np.ndarray:
    """A random but human-looking pose: arms lowered, small joint angles, a random root tilt."""
    pose = (rng.normal(0.0, scale, (22, 3))).astype(np.float32)
    pose[0] = rng.normal(0.0, 0.2, 3)
    pose[J["left_shoulder"], 2] -= 1.1
    pose[J["right_shoulder"], 2] += 1.1
    return pose


def _arms_down() -> np.ndarray:
    """A left-right symmetric standing pose with the arms by the sides."""
    pose = np.zeros((22, 3), np.float32)
    pose[J["left_shoulder"], 2] = -1.2
    pose[J["right_shoulder"], 2] = 1.2
    return pose


def _plain_style(light_direction=(0.3, 0.8, 0.5), clothing: Clothing | None = None) -> Style:
    """A style without image-space noise, so that images can be compared pixel by pixel."""
    clothing = clothing or Clothing(skin=(0.85, 0.65, 0.5), hair_colour=(0.2, 0.12, 0.06), top=(0.2, 0.4, 0.8),
                                    trousers=(0.3, 0.3, 0.3), shoes=(0.1, 0.1, 0.1))
    direction = np.asarray(light_direction, np.float64)
    return Style(
        clothing=clothing,
        light=Light(direction=tuple(direction / np.linalg.norm(direction)), intensity=0.7, ambient=0.4),
        backdrop=Backdrop(kind="floor", top=(0.8, 0.85, 0.9), bottom=(0.6, 0.6, 0.62), floor=(0.5, 0.45, 0.4),
                          pattern="tiles", noise=0.05, grain=0.0, seed=3),
    )


def test_render_shape_dtype_and_determinism() -> None:
    images, vectors = [], []
    for _ in range(2):
        rng = np.random.default_rng(11)
        pose, camera, style = _pose(rng), sample_camera(rng), sample_style(rng)
        images.append(render_pose(pose, camera, style))
        vectors.append(frame_camera(pose, camera).to_vector())
    assert images[0].shape == (224, 224, 3) and images[0].dtype == np.uint8
    np.testing.assert_array_equal(images[0], images[1])
    np.testing.assert_array_equal(vectors[0], vectors[1])
    assert vectors[0].shape == (len(CAMERA_FIELDS),) and vectors[0].dtype == np.float32
    other = np.random.default_rng(12)
    assert not np.array_equal(images[0], render_pose(_pose(other), sample_camera(other), sample_style(other)))


def test_bad_pose_is_a_user_error() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(UserError):
        render_pose(np.zeros((21, 3), np.float32), sample_camera(rng), sample_style(rng))
    with pytest.raises(UserError):
        render_pose(np.full((22, 3), np.nan, np.float32), sample_camera(rng), sample_style(rng))
    with pytest.raises(DataError):
        Camera.from_vector(np.zeros(5, np.float32))


@pytest.mark.parametrize("seed", range(8))
def test_figure_is_fully_inside_the_frame(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pose, camera, style = _pose(rng), sample_camera(rng), sample_style(rng)
    rendered = render_figures(pose[None], [style.clothing], camera, style)
    joints = load_body_model("skeleton").joints(pose[None])[0]
    uv = rendered.camera.project(joints)
    assert (uv > 0).all() and (uv < 224).all()
    owner = rendered.owner
    assert (owner >= 0).sum() > 1500  # a figure, not a speck
    border = np.concatenate([owner[0], owner[-1], owner[:, 0], owner[:, -1]])
    assert (border < 0).all(), "the silhouette touches the image border"
    # Person-centred: the silhouette's box centre is within the middle 60% of the image.
    rows, cols = np.nonzero(owner >= 0)
    assert 0.2 * 224 < (cols.min() + cols.max()) / 2 < 0.8 * 224
    assert 0.2 * 224 < (rows.min() + rows.max()) / 2 < 0.8 * 224


def test_sampled_cameras_cover_all_azimuths_and_the_stated_ranges() -> None:
    rng = np.random.default_rng(5)
    cameras = [sample_camera(rng) for _ in range(400)]
    azimuths = np.array([c.azimuth_deg for c in cameras])
    elevations = np.array([c.elevation_deg for c in cameras])
    assert np.histogram(azimuths, bins=8, range=(-180, 180))[0].min() > 20
    assert elevations.min() >= -10 and elevations.max() <= 45
    assert all(35 <= c.fov_deg <= 60 and abs(c.roll_deg) <= 8 for c in cameras)


def test_camera_frame_convention_for_a_frontal_view() -> None:
    pose = _arms_down()
    camera = frame_camera(pose, Camera(azimuth_deg=0.0, elevation_deg=0.0, roll_deg=0.0, fov_deg=45.0))
    joints = load_body_model("skeleton").joints(pose[None])[0]
    uv = camera.project(joints)
    # y down: the head is above the pelvis; facing the camera: the body's left is on the image right.
    assert uv[J["head"], 1] < uv[J["pelvis"], 1] - 50
    assert uv[J["left_wrist"], 0] > uv[J["right_wrist"], 0] + 20
    # The camera looks along -z of the world, upright: R = diag(1, -1, -1), a half turn about x.
    np.testing.assert_allclose(camera.rotation(), np.diag([1.0, -1.0, -1.0]), atol=1e-6)
    root = camera_frame_pose(pose, camera)[0]
    assert abs(np.linalg.norm(root) - np.pi) < 1e-4 and abs(abs(root[0]) - np.pi) < 1e-4
    np.testing.assert_array_equal(camera_frame_pose(pose, camera)[1:], pose[1:])


@pytest.mark.parametrize("seed", range(4))
def test_camera_frame_pose_projects_onto_the_figure(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    pose, camera, style = _pose(rng), sample_camera(rng), sample_style(rng)
    rendered = render_figures(pose[None], [style.clothing], camera, style)
    cam = rendered.camera
    body = load_body_model("skeleton")
    joints_cam = body.joints(camera_frame_pose(pose, cam)[None])[0] + cam.translation()
    uv = np.stack([cam.focal_px * joints_cam[:, 0] / joints_cam[:, 2] + cam.cx,
                   cam.focal_px * joints_cam[:, 1] / joints_cam[:, 2] + cam.cy], axis=1)
    np.testing.assert_allclose(uv, cam.project(body.joints(pose[None])[0]), atol=1e-2)
    # Every joint lies inside the mannequin, so its pixel shows the figure.
    on_figure = rendered.owner[uv[:, 1].astype(int), uv[:, 0].astype(int)] >= 0
    assert on_figure.sum() >= 22, np.array(JOINT_NAMES)[~on_figure]


def test_stored_camera_vector_renders_the_same_image() -> None:
    rng = np.random.default_rng(21)
    pose, camera, style = _pose(rng), sample_camera(rng), sample_style(rng)
    framed = frame_camera(pose, camera)
    restored = Camera.from_vector(framed.to_vector())
    np.testing.assert_allclose(restored.to_vector(), framed.to_vector(), atol=1e-4)
    a, b = render_pose(pose, camera, style), render_pose(pose, restored, style)
    assert np.mean(np.abs(a.astype(int) - b.astype(int)) > 8) < 0.002


def test_front_and_back_differ_by_the_face() -> None:
    """A bald head in skin colour: only the eyes, nose and mouth tell its front from its back."""
    pose = _arms_down()
    bald = Clothing(skin=(0.85, 0.65, 0.5), hair_colour=(0.2, 0.1, 0.05), top=(0.3, 0.5, 0.3),
                    trousers=(0.3, 0.3, 0.3), shoes=(0.1, 0.1, 0.1), hair="bald")
    style = _plain_style(light_direction=(0.0, 1.0, 0.0), clothing=bald)  # light from straight above
    dark = []
    for azimuth in (0.0, 180.0):
        camera = Camera(azimuth_deg=azimuth, elevation_deg=5.0, roll_deg=0.0, fov_deg=30.0, fill=0.95)
        rendered = render_figures(pose[None], [bald], camera, style)
        head = rendered.camera.project(load_body_model("skeleton").joints(pose[None])[0, J["head"]] + [0, 0.06, 0])
        u, v = int(head[0]), int(head[1])
        crop = rendered.image[v - 9:v + 10, u - 7:u + 8].astype(float).mean(-1)
        dark.append(int((crop < 0.6 * np.median(crop)).sum()))
    front, back = dark
    assert front >= 6 and back <= 1, (front, back)


@pytest.mark.parametrize("seed", range(3))
def test_no_left_right_colour_coding_mirror_gives_flipped_image(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    pose = _pose(rng, scale=0.35)
    pose[J["left_shoulder"]] = (0.0, 0.0, 0.3)  # left arm up: an asymmetric pose
    camera = sample_camera(rng)
    style = _plain_style(light_direction=rng.normal(size=3) + (0, 2, 0), clothing=sample_clothing(rng))
    image = render_pose(pose, camera, style)
    mirrored = render_pose(np.asarray(mirror_pose(pose[None]))[0], camera.mirrored(), mirror_style(style))
    diff = np.abs(mirrored.astype(int) - image[:, ::-1].astype(int))
    assert diff.mean() < 1.0, diff.mean()
    assert (diff.max(-1) > 40).mean() < 0.003
    # ... while the unmirrored pose from the mirrored camera is a different picture.
    other = render_pose(pose, camera.mirrored(), mirror_style(style))
    assert np.abs(other.astype(int) - image[:, ::-1].astype(int)).mean() > 2.0


def test_render_pair_shares_camera_style_and_floor() -> None:
    rng = np.random.default_rng(31)
    standing = _pose(rng)
    lying = _pose(rng)
    lying[0] = (-np.pi / 2, 0.0, 0.0)  # its lowest point is ~0.8 m above the standing one's
    camera, style = sample_camera(rng), sample_style(rng)
    a, b = render_pair(standing, lying, camera, style)
    floor = layout_figures(np.stack([standing, lying])).floor_y
    framed = frame_camera(np.stack([standing, lying]), camera)
    for pose, image in ((standing, a), (lying, b)):
        rendered = render_figures(pose[None], [style.clothing], framed, style, floor_y=floor)
        np.testing.assert_array_equal(image, rendered.image)
        assert rendered.floor_y == floor
        owner = rendered.owner
        assert (owner >= 0).sum() > 500
        assert (np.concatenate([owner[0], owner[-1], owner[:, 0], owner[:, -1]]) < 0).all()
    same_a, same_b = render_pair(standing, standing, camera, style)
    np.testing.assert_array_equal(same_a, same_b)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0


def test_posed_skeleton_matches_the_body_model() -> None:
    rng = np.random.default_rng(41)
    poses = np.stack([_pose(rng, 0.5) for _ in range(5)])
    joints, rotations = posed_skeleton(poses)
    np.testing.assert_allclose(joints, load_body_model("skeleton").joints(poses), atol=1e-5)
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 1, 3, 2), np.broadcast_to(np.eye(3), rotations.shape),
                               atol=1e-5)


def test_lying_pose_stands_on_the_floor_with_camera_above_it() -> None:
    pose = _arms_down()
    pose[0] = (-np.pi / 2, 0.0, 0.0)  # lying on the back
    camera = frame_camera(pose, Camera(azimuth_deg=90.0, elevation_deg=-10.0, roll_deg=0.0, fov_deg=50.0))
    joints = load_body_model("skeleton").joints(pose[None])[0]
    floor = joints[:, 1].min() - 0.1
    assert camera.centre()[1] > floor + 0.2  # the camera was lifted above the floor
    assert camera.elevation_deg > -10.0


def test_camera_frame_pose_with_an_unframed_camera_matches_the_render() -> None:
    """Framing a low camera over a lying pose raises its elevation; the target must follow."""
    pose = _arms_down()
    pose[0] = (-np.pi / 2, 0.0, 0.0)
    low = Camera(azimuth_deg=30.0, elevation_deg=-10.0, roll_deg=0.0, fov_deg=50.0)
    framed = frame_camera(pose, low)
    assert framed.elevation_deg > low.elevation_deg
    np.testing.assert_allclose(camera_frame_pose(pose, low), camera_frame_pose(pose, framed), atol=1e-6)
