"""Shaded 3D mannequin renders of poses: the images of the synth image tasks.

Frames (metres throughout):

- **world / body frame**: the pose's own frame (y up, a zero root faces +z, the body's left is +x,
  pelvis at the origin); figures stand on the floor plane ``y = floor_y`` (their lowest point).
- **camera frame** (OpenCV / HMR / 3DPW convention): x right, y down, z forward along the optical
  axis, the camera at the origin. ``p_cam = R @ p_world + t``. A pixel ``(u, v)`` (column, row) is
  ``u = f x / z + cx``, ``v = f y / z + cy``, with the pixel ``(i, j)`` covering ``[j, j + 1) x [i, i + 1)``.

:func:`camera_frame_pose` turns a pose into the image2pose target: its root orientation expressed in
the camera frame (``R_root_cam = R @ R_root``). Since the skeleton rotates about the pelvis, the
camera-frame pose's joints are ``R @ joints_world`` and the pelvis sits at ``t`` (for a figure at
the world origin), so ``project(FK(camera_frame_pose) + t)`` lands on the rendered figure.

Public API (the orchestrator's contract): :func:`sample_camera`, :func:`sample_style`,
:func:`render_pose`, :func:`render_pair`, :func:`camera_frame_pose`, :func:`frame_camera`,
:meth:`Camera.to_vector` / :meth:`Camera.from_vector` (``CAMERA_FIELDS``) for ``RenderSet.camera``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bench.data.synth.images.appearance import Light, Style, mirror_style, sample_style
from bench.data.synth.images.backdrop import render_backdrop
from bench.data.synth.images.camera import CAMERA_FIELDS, Camera, frame_camera, frame_on_primitives, sample_camera
from bench.data.synth.images.figure import Clothing, build_figure, layout_figures
from bench.data.synth.images.primitives import Primitives
from bench.data.synth.images.raster import Hits, cast
from bench.errors import UserError
from bench.fixed_order import dot, in_float64, matmul, matvec, norm

logger = logging.getLogger(__name__)

__all__ = [
    "CAMERA_FIELDS", "Camera", "Clothing", "Light", "Rendered", "Style", "camera_frame_pose", "frame_camera",
    "mirror_style", "render_figures", "render_pair", "render_pose", "sample_camera", "sample_style",
]

#: Sub-samples per side on the figures' silhouettes and seams (the backdrop is drawn once per pixel).
SUPERSAMPLE = 2
_SPECULAR = 0.08
_SHININESS = 24.0


@dataclass
class Rendered:
    """A rendered scene: ``image`` uint8 (H, W, 3); ``camera`` the framed camera used; ``owner``
    int16 (H, W) the figure seen at each pixel's centre (-1 = backdrop); ``translations``
    float32 (P, 3) world positions of the figures' pelvises; ``floor_y`` metres."""

    image: np.ndarray
    camera: Camera
    owner: np.ndarray
    translations: np.ndarray
    floor_y: float


def _check_pose(pose: np.ndarray, name: str) -> np.ndarray:
    pose = np.asarray(pose, np.float32)
    if pose.shape != (22, 3):
        raise UserError(f"expected a pose of shape (22, 3), got {pose.shape}", field=name)
    return pose


def render_figures(poses: np.ndarray, clothing: list[Clothing], camera: Camera, style: Style,
                   positions: np.ndarray | None = None, floor_y: float | None = None) -> Rendered:
    """Render P figures standing on one floor.

    poses: float32 (P, 22, 3) axis-angle, body frame; clothing: P outfits (``style.clothing`` is not
    used here); positions: float32 (P, 2) floor positions ``(x, z)`` of the pelvises and floor_y the
    floor height, metres (see :func:`figure.layout_figures`). An unframed ``camera`` is first framed
    on all the figures.
    """
    poses = np.asarray(poses, np.float32)
    if len(clothing) != len(poses):
        raise UserError(f"{len(poses)} poses but {len(clothing)} outfits", field="clothing")
    layout = layout_figures(poses, positions, floor_y)
    if not camera.is_framed:
        camera = frame_on_primitives(camera, layout.geometry, layout.floor_y)
    world = Primitives.concat([
        build_figure(layout.joints[p], layout.rotations[p], clothing[p], p, layout.translations[p])
        for p in range(len(poses))
    ])
    rot, trans = camera.rotation(), camera.translation()
    hits = cast(world.transformed(rot, trans), camera.size, camera.focal_px, camera.cx, camera.cy, SUPERSAMPLE)
    palette = np.concatenate([c.palette() for c in clothing])
    shadows = _contact_shadows(layout.joints + layout.translations[:, None, :], layout.floor_y)
    backdrop = render_backdrop(style.backdrop, rot, trans, camera.focal_px, (camera.cx, camera.cy), camera.size,
                               layout.floor_y, shadows)
    image = _composite(hits, palette, style.light, rot, backdrop)
    return Rendered(image=image, camera=camera, owner=hits.owner, translations=layout.translations,
                    floor_y=layout.floor_y)


def _contact_shadows(joints: np.ndarray, floor_y: float) -> np.ndarray:
    """Soft ellipses under each figure: float32 (P, 4) world ``(x, z, rx, rz)``, sized by the spread
    of the joints near the floor (within 0.4 m of it)."""
    out = []
    for body in joints:
        low = body[body[:, 1] < floor_y + 0.4]
        if len(low) == 0:
            low = body[np.argsort(body[:, 1], kind="stable")[:3]]
        x0, z0 = low[:, 0].min(), low[:, 2].min()
        x1, z1 = low[:, 0].max(), low[:, 2].max()
        out.append(((x0 + x1) / 2, (z0 + z1) / 2, (x1 - x0) / 2 + 0.18, (z1 - z0) / 2 + 0.18))
    return np.array(out, np.float32).reshape(-1, 4)


def _composite(hits: Hits, palette: np.ndarray, light: Light, rotation: np.ndarray, backdrop: np.ndarray
               ) -> np.ndarray:
    """Shade the figures over the backdrop: uint8 (H, W, 3). Edge pixels average their sub-samples
    (backdrop sub-samples take the pixel's backdrop colour)."""
    light_dir = matvec(rotation, np.asarray(light.direction, np.float32)).astype(np.float32)  # camera frame
    up = rotation[:, 1].astype(np.float32)  # world up in the camera frame
    half = light_dir + np.array([0.0, 0.0, -1.0], np.float32)  # view direction taken as -z
    half /= max(float(norm(half)), 1e-6)
    tint = np.asarray(light.tint, np.float32)

    def shade(normal: np.ndarray, material: np.ndarray) -> np.ndarray:
        """(N, 3) unit normals and (N,) materials -> (N, 3) colours."""
        lambert = np.maximum(dot(normal, light_dir), 0.0)
        sky = 0.7 + 0.3 * dot(normal, up)
        spec = in_float64(lambda x: x**_SHININESS, np.maximum(dot(normal, half), 0.0))
        colour = palette[material] * (light.ambient * sky + light.intensity * lambert)[:, None]
        return (colour + (_SPECULAR * light.intensity * spec)[:, None]) * tint

    image = backdrop.reshape(-1, 3).copy()
    hit = np.flatnonzero(hits.material.reshape(-1) >= 0)
    image[hit] = shade(hits.normal.reshape(-1, 3)[hit], hits.material.reshape(-1)[hit])
    sub = np.repeat(backdrop.reshape(-1, 3)[hits.edges][:, None, :], hits.edge_material.shape[1], axis=1)
    covered = hits.edge_material >= 0
    sub[covered] = shade(hits.edge_normal[covered], hits.edge_material[covered])
    image[hits.edges] = sub.mean(axis=1)
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).reshape(backdrop.shape)


def render_pose(pose: np.ndarray, camera: Camera, style: Style) -> np.ndarray:
    """Render one pose: uint8 (224, 224, 3) RGB.

    pose: float32 (22, 3) axis-angle, body frame. A camera from :func:`sample_camera` is framed on
    the figure (see :func:`frame_camera`, which gives the camera to store); a framed camera (from
    :func:`frame_camera` or :meth:`Camera.from_vector`) is used exactly as given.
    """
    pose = _check_pose(pose, "pose")
    return render_figures(pose[None], [style.clothing], camera, style).image


def render_pair(pose_a: np.ndarray, pose_b: np.ndarray, camera: Camera, style: Style
                ) -> tuple[np.ndarray, np.ndarray]:
    """Render two poses with one camera, style and floor (for imagediff): two uint8 (224, 224, 3).

    Both figures stand on the floor under the lower of the two (each touches it), and an unframed
    camera is framed on both together, so the two images differ only by the pose.
    """
    pose_a = _check_pose(pose_a, "pose_a")
    pose_b = _check_pose(pose_b, "pose_b")
    layout = layout_figures(np.stack([pose_a, pose_b]))
    if not camera.is_framed:
        camera = frame_on_primitives(camera, layout.geometry, layout.floor_y)
    return tuple(render_figures(pose[None], [style.clothing], camera, style, floor_y=layout.floor_y).image
                 for pose in (pose_a, pose_b))


def camera_frame_pose(pose: np.ndarray, camera: Camera) -> np.ndarray:
    """The image2pose target: float32 (22, 3), ``pose`` with its root orientation turned into the
    camera frame (x right, y down, z forward): ``R_root_cam = R_world_to_cam @ R_root``.

    An unframed camera is framed on the pose first, as :func:`render_pose` does (framing can raise
    the elevation to keep the camera above the floor, which changes R).
    """
    from bench.body import axis_angle_to_matrix, matrix_to_axis_angle

    pose = _check_pose(pose, "pose")
    if not camera.is_framed:
        camera = frame_camera(pose, camera)
    root = np.asarray(axis_angle_to_matrix(pose[0].astype(np.float64)), np.float64)
    root_cam = matmul(camera.rotation().astype(np.float64), root)
    out = pose.copy()
    out[0] = np.asarray(matrix_to_axis_angle(root_cam), np.float32)
    return out
