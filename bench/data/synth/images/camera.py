"""Perspective cameras for the synth renders: random views, person-centred framing, storage.

World frame: the body frame (y up, a zero root faces +z, the body's left is +x, metres). Camera
frame: OpenCV / HMR / 3DPW (x right, y down, z forward); ``p_cam = R @ p_world + t``; pixels
``u = f x / z + cx``, ``v = f y / z + cy`` on a square image of ``size`` pixels.

A camera is described by its view (azimuth about the world y axis, 0 = in front of the body, 90 =
on the body's left; elevation above the horizontal; roll about the optical axis; field of view) and
its framing: how much of the image the figures fill and where their box sits. :func:`sample_camera`
draws the view and framing *preferences*; :func:`frame_camera` turns them into a concrete camera for
given poses: it looks at the centre of the figures, sets the distance so their projected bounding
box spans ``fill`` of the image (less where the camera would come closer than 2.5 times the
figures' depth along the view, which would distort the perspective), and shifts the principal
point (a person-centred crop) so the box sits at ``offset`` (fractions of the free margin) from the
centre. Figures are always fully inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from bench.data.synth.images.figure import layout_figures
from bench.data.synth.images.primitives import Primitives, sphere_bounds
from bench.errors import DataError, InternalError, UserError
from bench.fixed_order import dot, matmul, matvec, norm

IMAGE_SIZE = 224

#: Names of the entries of :meth:`Camera.to_vector` (``RenderSet.camera`` rows), in order.
CAMERA_FIELDS: tuple[str, ...] = (
    "focal_px", "cx", "cy",
    "r00", "r01", "r02", "r10", "r11", "r12", "r20", "r21", "r22",  # R, world -> camera, row-major
    "tx", "ty", "tz",  # t, metres: the world origin (a single figure's pelvis) in the camera frame
    "azimuth_deg", "elevation_deg", "roll_deg", "distance_m",
)

_MIN_CLEARANCE_M = 0.25  # the camera stays at least this high above the floor
_MAX_ELEVATION_DEG = 80.0
# The camera stays at least this many times the figures' depth extent (along the view, from their
# centre) away, so that a figure seen end-on (lying, planking) is not filled into a close-up whose
# near end looms much larger than its far end (at most (2.5 + 1) / (2.5 - 1) = 2.3 times).
_MIN_DISTANCE_DEPTH = 2.5


@dataclass(frozen=True)
class Camera:
    """A pinhole camera; see the module docstring for frames and angles.

    ``fill`` (0, 1]: share of the image side the figures' bounding box spans (its larger side);
    ``offset_x``/``offset_y`` in [-1, 1]: box centre shift in units of half the free margin.
    ``distance_m``, ``target`` (world point looked at) and ``cx``/``cy`` (principal point, pixels)
    are None until the camera is framed; framed cameras render exactly as given.
    """

    azimuth_deg: float
    elevation_deg: float
    roll_deg: float
    fov_deg: float
    fill: float = 0.8
    offset_x: float = 0.0
    offset_y: float = 0.0
    size: int = IMAGE_SIZE
    distance_m: float | None = None
    target: tuple[float, float, float] | None = None
    cx: float | None = None
    cy: float | None = None

    def __post_init__(self) -> None:
        if not 1.0 <= self.fov_deg <= 170.0:
            raise UserError(f"field of view {self.fov_deg} deg is outside 1..170", field="fov_deg")
        if not 0.0 < self.fill <= 1.0:
            raise UserError(f"fill {self.fill} is outside (0, 1]", field="fill")
        if self.size < 8:
            raise UserError(f"image size {self.size} is too small", field="size")

    @property
    def is_framed(self) -> bool:
        return self.distance_m is not None

    @property
    def focal_px(self) -> float:
        """Focal length in pixels, from the (horizontal = vertical) field of view."""
        return self.size / 2.0 / math.tan(math.radians(self.fov_deg) / 2.0)

    def rotation(self) -> np.ndarray:
        """R, world -> camera: read-only float32 (3, 3), rows = camera x (right), y (down), z (forward)."""
        return _rotation(self.azimuth_deg, self.elevation_deg, self.roll_deg)

    def centre(self) -> np.ndarray:
        """Camera centre in the world, float32 (3,) metres (framed cameras only)."""
        self._require_framed()
        back = _direction(self.azimuth_deg, self.elevation_deg)
        return (np.asarray(self.target, np.float64) + self.distance_m * back).astype(np.float32)

    def translation(self) -> np.ndarray:
        """t, world -> camera: float32 (3,) metres (framed cameras only)."""
        return (-matvec(self.rotation().astype(np.float64), self.centre().astype(np.float64))).astype(np.float32)

    def project(self, points_world: np.ndarray) -> np.ndarray:
        """Pixel coordinates float32 (..., 2) ``(u, v)`` of world points (..., 3) (framed cameras only)."""
        p = matvec(self.rotation().astype(np.float64), np.asarray(points_world, np.float64)) + self.translation()
        f = self.focal_px
        return np.stack([f * p[..., 0] / p[..., 2] + self.cx, f * p[..., 1] / p[..., 2] + self.cy], -1).astype(
            np.float32)

    def to_vector(self) -> np.ndarray:
        """float32 (len(CAMERA_FIELDS),) for storage (framed cameras only)."""
        self._require_framed()
        return np.concatenate([
            [self.focal_px, self.cx, self.cy], self.rotation().reshape(-1), self.translation(),
            [self.azimuth_deg, self.elevation_deg, self.roll_deg, self.distance_m],
        ]).astype(np.float32)

    @staticmethod
    def from_vector(vector: np.ndarray, size: int = IMAGE_SIZE) -> Camera:
        """The framed camera stored by :meth:`to_vector` (renders the same image)."""
        v = np.asarray(vector, np.float64)
        if v.shape != (len(CAMERA_FIELDS),) or not np.isfinite(v).all():
            raise DataError(f"camera vector must be {len(CAMERA_FIELDS)} finite numbers, got shape {v.shape}",
                            field="camera")
        f, cx, cy = v[:3]
        rot, t = v[3:12].reshape(3, 3), v[12:15]
        azimuth, elevation, roll, distance = v[15:19]
        centre = -matvec(rot.T, t)
        target = centre - distance * _direction(azimuth, elevation)
        fov = math.degrees(2.0 * math.atan(size / 2.0 / f))
        return Camera(float(azimuth), float(elevation), float(roll), fov, size=size, distance_m=float(distance),
                      target=tuple(float(x) for x in target), cx=float(cx), cy=float(cy))

    def mirrored(self) -> Camera:
        """The camera mirrored through the world's x = 0 plane (its image is flipped left-right)."""
        target = None if self.target is None else (-self.target[0], self.target[1], self.target[2])
        return replace(self, azimuth_deg=-self.azimuth_deg, roll_deg=-self.roll_deg, offset_x=-self.offset_x,
                       target=target, cx=None if self.cx is None else self.size - self.cx)

    def _require_framed(self) -> None:
        if not self.is_framed:
            raise InternalError("the camera is not framed yet; call frame_camera first", field="camera")


@lru_cache(maxsize=1024)
def _rotation(azimuth_deg: float, elevation_deg: float, roll_deg: float) -> np.ndarray:
    back = _direction(azimuth_deg, elevation_deg)  # from the target towards the camera
    forward = -back
    right = np.cross(forward, np.array([0.0, 1.0, 0.0]))
    right /= norm(right)
    down = np.cross(forward, right)
    c, s = math.cos(math.radians(roll_deg)), math.sin(math.radians(roll_deg))
    roll = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    out = matmul(roll, np.stack([right, down, forward])).astype(np.float32)
    out.setflags(write=False)
    return out


def _direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])


def sample_camera(rng: np.random.Generator) -> Camera:
    """A random unframed camera: azimuth uniform over 360 deg, elevation -10..45 deg, roll within
    +-8 deg, field of view 35..60 deg, fill 0.68..0.9, offsets within +-0.6 of the free margin."""
    return Camera(
        azimuth_deg=float(rng.uniform(-180.0, 180.0)),
        elevation_deg=float(rng.uniform(-10.0, 45.0)),
        roll_deg=float(np.clip(rng.normal(0.0, 3.0), -8.0, 8.0)),
        fov_deg=float(rng.uniform(35.0, 60.0)),
        fill=float(rng.uniform(0.68, 0.9)),
        offset_x=float(rng.uniform(-0.6, 0.6)),
        offset_y=float(rng.uniform(-0.6, 0.6)),
    )


def frame_camera(poses: np.ndarray, camera: Camera, positions: np.ndarray | None = None) -> Camera:
    """Frame ``camera`` on figures: the concrete camera that :func:`render.render_pose` uses.

    poses: float32 (22, 3) or (P, 22, 3) axis-angle, body frame; positions: float32 (P, 2) floor
    positions of the pelvises (see :func:`figure.layout_figures`). Store ``.to_vector()`` of the
    result. A camera that is already framed is returned unchanged.
    """
    if camera.is_framed:
        return camera
    poses = np.asarray(poses, np.float32)
    layout = layout_figures(poses[None] if poses.ndim == 2 else poses, positions)
    return frame_on_primitives(camera, layout.geometry, layout.floor_y)


def frame_on_primitives(camera: Camera, world: Primitives, floor_y: float) -> Camera:
    """Frame ``camera`` on world-frame primitives standing on ``y = floor_y`` (see module doc)."""
    centres, radii = world.bounding_spheres()
    lo, hi = (centres - radii[:, None]).min(0), (centres + radii[:, None]).max(0)
    target = (lo + hi) / 2.0
    reach = float(np.max(norm(centres - target) + radii))
    f, size = camera.focal_px, camera.size
    wanted = camera.fill * size / f  # box side in normalised image units
    elevation = float(np.clip(camera.elevation_deg, -_MAX_ELEVATION_DEG, _MAX_ELEVATION_DEG))
    # The projected size is close to S / (distance + const), so 1 / size is nearly linear in the
    # distance: secant steps on it converge in a few iterations.
    distance, previous = 3.0, None
    for _ in range(10):
        elevation = _clear_floor(elevation, target, distance, floor_y)
        box = _bounds(camera, elevation, distance, target, centres, radii)
        miss = 1.0 / max(box[2] - box[0], box[3] - box[1]) - 1.0 / wanted
        if abs(miss) * wanted < 1e-5:
            break
        if previous is None or previous[1] == miss:  # first step: scale the distance by the size ratio
            new_distance = distance / (miss * wanted + 1.0)
        else:
            new_distance = distance - miss * (distance - previous[0]) / (miss - previous[1])
        previous = (distance, miss)
        # Depth of the figures along the view: the camera stays _MIN_DISTANCE_DEPTH times farther.
        forward = _direction(camera.azimuth_deg, elevation)
        depth = float(np.max(np.abs(dot(centres - target, forward)) + radii))
        distance = max(float(new_distance), _MIN_DISTANCE_DEPTH * depth, reach + 0.3)
    elevation = _clear_floor(elevation, target, distance, floor_y)
    box = _bounds(camera, elevation, distance, target, centres, radii)
    if not np.isfinite(box).all():
        raise InternalError("could not frame the camera on the figures", field="camera")
    width, height = f * (box[2] - box[0]), f * (box[3] - box[1])
    cx = size / 2.0 + camera.offset_x * max(size - width, 0.0) / 2.0 - f * (box[0] + box[2]) / 2.0
    cy = size / 2.0 + camera.offset_y * max(size - height, 0.0) / 2.0 - f * (box[1] + box[3]) / 2.0
    return replace(camera, elevation_deg=elevation, distance_m=distance, target=tuple(map(float, target)),
                   cx=float(cx), cy=float(cy))


def _clear_floor(elevation: float, target: np.ndarray, distance: float, floor_y: float) -> float:
    """The elevation (deg), raised if needed so the camera is _MIN_CLEARANCE_M above the floor."""
    low = (floor_y + _MIN_CLEARANCE_M - float(target[1])) / distance
    if math.sin(math.radians(elevation)) < low:
        return min(math.degrees(math.asin(min(low, 1.0))), _MAX_ELEVATION_DEG)
    return elevation


def _bounds(camera: Camera, elevation: float, distance: float, target: np.ndarray, centres: np.ndarray,
            radii: np.ndarray) -> np.ndarray:
    """Normalised-image bounding box (x0, y0, x1, y1) of world spheres seen from the given view."""
    trial = replace(camera, elevation_deg=elevation, distance_m=distance, target=tuple(map(float, target)))
    return sphere_bounds(matvec(trial.rotation().astype(np.float64), centres) + trial.translation(), radii)
