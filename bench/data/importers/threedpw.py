"""Import 3DPW (ECCV'18) as the ``renders`` component: person crops with their camera-frame pose.

Release layout (``--root DIR``)::

    sequenceFiles/{train,validation,test}/<sequence>.pkl    Python 2 pickles (read with safe_pickle)
    imageFiles/<sequence>/image_XXXXX.jpg

Fields read from each pickle (F frames, P people): ``poses`` P x (F, 72) SMPL axis-angle (24 joints,
world frame), ``betas`` P x (10,), ``trans`` P x (F, 3), ``cam_poses`` (F, 4, 4) world→camera
extrinsics, ``campose_valid`` P x (F,), ``img_frame_ids`` (F,), ``cam_intrinsics`` (3, 3),
``sequence`` (a ``str`` or a 0-d numpy string array), ``genders`` P x str, ``jointPositions`` P x
(F, 72) world joint positions in metres.

**Which image.** The per-frame arrays (``poses``, ``trans``, ``cam_poses``, ``campose_valid``, ...) are
"aligned with image data" (the release's readme): frame ``f`` of them is ``image_{f:05d}.jpg``.
``img_frame_ids`` is not an image index: the readme calls it "an index-array to down-sample 60 Hz 3D
poses to corresponding image frame ids", i.e. frame ``f``'s row in the ``*_60Hz`` arrays (0, 2, 4, ...).
This follows the loaders that open the images: VIBE ``lib/data_utils/threedpw_utils.py::read_data``
(``image_{i_frame:05d}.jpg`` for ``i_frame`` in ``range(num_frames)``) and mmhuman3d
``mmhuman3d/data/data_converters/pw3d.py::Pw3dConverter.convert_by_mode`` (``image_{str(i).zfill(5)}``
for ``i`` in ``range(num_frames)``; the sequence name read as ``str(data['sequence'])``). Both unpickle
the files with ``encoding='latin1'``, as :mod:`.safe_pickle` does.

**Frames.** The camera frame is 3DPW's (OpenCV): x right, y down, z forward into the scene, metres.
``poses_camera`` is the SMPL pose with its root rotated into that frame, ``root ← R_cam · root``
(:func:`.frames.premultiply_root`, ``R_cam`` = the upper-left 3x3 of ``cam_poses``); rows 1–21 are the
body joints unchanged. It is **not** heading-normalised: the orientation relative to the camera is
what an image→pose model has to predict. (A person upright in front of a level camera has a root
of about Rx(180°) here.)

**Crops.** The 24 world joints (``jointPositions``; or, when a file lacks them, the body model's joints
of the mean shape plus ``trans``) are projected with the intrinsics; the box is the square around
their bounding box, enlarged by ``1 + 2 * margin``; pixels outside the image are black; the crop is
resized to 224 x 224 RGB and written as ``renders/<split>/<id>.png``. Frames whose camera pose is
invalid (``campose_valid`` false) or where a joint is behind the camera are skipped.

**Shape.** ``betas`` (first 10) are recorded per render (``renders/<split>.npz`` field ``betas``), but
the default image→pose protocol scores with the mean shape (betas = 0).

Render ids are ``<sequence>_<person>_<image index:05d>`` (the frame's index in the aligned arrays, the
number of its ``image_XXXXX.jpg``); each render is its own pose (``pose_ids`` =
``ids``). ``camera`` is float32 (R, 7): ``fx, fy, cx, cy`` in crop pixels, then the pelvis position
in the camera frame in metres.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.body import BodyModel
from bench.data.importers.frames import premultiply_root
from bench.data.importers.safe_pickle import UnsafePickleError, load_restricted_pickle
from bench.data.importers.writer import DatasetWriter
from bench.errors import DataError, NotFoundError
from bench.progress import progress

logger = logging.getLogger(__name__)

SPLIT_FOLDERS: dict[str, str] = {"train": "train", "val": "validation", "test": "test"}
"""PoseBench split -> 3DPW ``sequenceFiles`` folder."""
CROP_SIZE = 224
_MIN_DEPTH_M = 0.05


@dataclass
class Sequence3DPW:
    """One validated 3DPW sequence file. F frames, P people."""

    name: str
    file: Path
    poses: np.ndarray
    """float64 (P, F, 72) SMPL axis-angle, world frame."""
    betas: np.ndarray
    """float32 (P, 10)."""
    trans: np.ndarray
    """float64 (P, F, 3) metres, world frame."""
    cam_poses: np.ndarray
    """float64 (F, 4, 4) world→camera."""
    valid: np.ndarray
    """bool (P, F) campose_valid."""
    frame_ids_60hz: np.ndarray
    """int64 (F,) ``img_frame_ids``: each frame's row in the 60 Hz arrays (not its image: frame f is image f)."""
    intrinsics: np.ndarray
    """float64 (3, 3)."""
    joints: np.ndarray | None
    """float64 (P, F, 24, 3) world joints in metres, or None when the file has no jointPositions."""


def _array(value: Any, shape: tuple[int | None, ...], *, file: Path, field: str, sample_id: str | None = None,
           dtype: type = np.float64) -> np.ndarray:
    """``value`` as a numeric array of ``shape`` (None = any size), else a DataError."""
    array = np.asarray(value) if isinstance(value, (np.ndarray, list, tuple)) else None
    ok = (array is not None and array.dtype.kind in "biuf" and array.ndim == len(shape)
          and all(want is None or want == got for want, got in zip(shape, array.shape)))
    if not ok:
        got = "a non-array" if array is None else f"{array.dtype} {array.shape}"
        want = "(" + ", ".join("F" if d is None else str(d) for d in shape) + ")"
        raise DataError(f"expected a numeric {want} array, got {got}", file=file, field=field, sample_id=sample_id)
    return array.astype(dtype)


def _per_person(data: dict[str, Any], key: str, count: int | None, *, file: Path) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, (list, tuple)) or (count is not None and len(value) != count):
        want = "a list" if count is None else f"a list of {count} (one per person)"
        raise DataError(f"expected {want}", file=file, field=key)
    return list(value)


def read_sequence(path: Path) -> Sequence3DPW:
    """Load and validate one ``sequenceFiles/<split>/<seq>.pkl`` through the restricted unpickler."""
    try:
        data = load_restricted_pickle(path)
    except UnsafePickleError as exc:
        raise DataError(f"not a plain 3DPW pickle: {exc}", file=path) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, OSError, AttributeError) as exc:
        raise DataError(f"unreadable pickle ({type(exc).__name__}: {exc})", file=path) from None
    if not isinstance(data, dict):
        raise DataError(f"expected a dict, got {type(data).__name__}", file=path)
    for key in ("poses", "betas", "trans", "cam_poses", "campose_valid", "img_frame_ids", "cam_intrinsics"):
        if key not in data:
            raise DataError("missing field", file=path, field=key)
    name = _sequence_name(data.get("sequence", path.stem), file=path)

    poses_list = _per_person(data, "poses", None, file=path)
    people = len(poses_list)
    poses = [_array(p, (None, 72), file=path, field="poses", sample_id=f"person {k}") for k, p in enumerate(poses_list)]
    frames = poses[0].shape[0] if poses else 0
    if people == 0 or any(p.shape[0] != frames for p in poses):
        raise DataError("expected one (F, 72) array per person, all with the same F", file=path, field="poses")
    fixed = dict(file=path)
    cam_poses = _array(data["cam_poses"], (frames, 4, 4), field="cam_poses", **fixed)
    frame_ids_60hz = _array(data["img_frame_ids"], (frames,), field="img_frame_ids", dtype=np.int64, **fixed)
    intrinsics = _array(data["cam_intrinsics"], (3, 3), field="cam_intrinsics", **fixed)
    if len(np.unique(frame_ids_60hz)) != frames or (frames and frame_ids_60hz.min() < 0):
        raise DataError("image frame ids must be unique and >= 0", field="img_frame_ids", **fixed)
    trans = [_array(t, (frames, 3), field="trans", sample_id=f"person {k}", **fixed)
             for k, t in enumerate(_per_person(data, "trans", people, **fixed))]
    valid = [_array(v, (frames,), field="campose_valid", sample_id=f"person {k}", dtype=bool, **fixed)
             for k, v in enumerate(_per_person(data, "campose_valid", people, **fixed))]
    betas = []
    for k, b in enumerate(_per_person(data, "betas", people, **fixed)):
        b = _array(b, (None,), field="betas", sample_id=f"person {k}", **fixed)
        if b.shape[0] < 10:
            raise DataError(f"expected at least 10 betas, got {b.shape[0]}", field="betas", sample_id=f"person {k}",
                            **fixed)
        betas.append(b[:10])
    joints = None
    if "jointPositions" in data:
        joints = np.stack([_array(j, (frames, 72), field="jointPositions", sample_id=f"person {k}", **fixed)
                           for k, j in enumerate(_per_person(data, "jointPositions", people, **fixed))])
        joints = joints.reshape(people, frames, 24, 3)
    arrays = [cam_poses, intrinsics, *poses, *trans, *([] if joints is None else [joints])]
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise DataError("non-finite values", file=path)
    return Sequence3DPW(name, path, np.stack(poses), np.stack(betas).astype(np.float32), np.stack(trans),
                        cam_poses, np.stack(valid), frame_ids_60hz, intrinsics, joints)


def _sequence_name(value: Any, *, file: Path) -> str:
    """The ``sequence`` field as a ``str``: a ``str``, or a 0-d numpy string array (bytes read as latin-1)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "US":
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str) or not value or "/" in value or "\\" in value or value in (".", ".."):
        raise DataError(f"bad sequence name {value!r}", file=file, field="sequence")
    return str(value)


def square_box(pixels: np.ndarray, margin: float) -> tuple[int, int, int]:
    """``(x0, y0, side)`` in pixels: the square around the points' bounding box, enlarged by 1 + 2·margin.

    Args:
        pixels: float (J, 2) image coordinates (x right, y down).
        margin: extra fraction of the box's longer side added on each side.
    """
    low, high = pixels.min(axis=0), pixels.max(axis=0)
    centre = (low + high) / 2.0
    side = max(float((high - low).max()) * (1.0 + 2.0 * margin), 8.0)
    return int(round(centre[0] - side / 2)), int(round(centre[1] - side / 2)), int(round(side))


def _world_joints(seq: Sequence3DPW, body_model: BodyModel | None) -> np.ndarray:
    """float64 (P, F, 24, 3) world joints: ``jointPositions``, else the body model (mean shape) + trans."""
    if seq.joints is not None:
        return seq.joints
    if body_model is None:
        raise DataError("no jointPositions and no body model to compute joints", file=seq.file, field="jointPositions")
    people, frames = seq.poses.shape[:2]
    poses22 = seq.poses[:, :, :66].reshape(people * frames, 22, 3).astype(np.float32)
    joints = np.asarray(body_model.joints(poses22), dtype=np.float64)[:, :24]
    return joints.reshape(people, frames, 24, 3) + seq.trans[:, :, None, :]


def import_3dpw(
    root: Path,
    writer: DatasetWriter,
    *,
    splits: tuple[str, ...] = tuple(SPLIT_FOLDERS),
    stride: int = 1,
    margin: float = 0.2,
    body_model: BodyModel | None = None,
) -> dict[str, dict[str, int]]:
    """Write ``renders/<split>.npz`` and the crops of every valid (person, frame) of each split.

    Args:
        root: the 3DPW folder holding ``sequenceFiles`` and ``imageFiles``.
        writer: where the dataset is written.
        splits: PoseBench split names to import.
        stride: keep every ``stride``-th frame of each sequence.
        margin: crop margin per side, as a fraction of the joints' box.
        body_model: computes crop joints for files without ``jointPositions``.
    Returns:
        ``{split: {"renders": R, "sequences": S, "skipped_invalid_camera": n, "skipped_behind_camera": m}}``.
    """
    counts: dict[str, dict[str, int]] = {}
    for split in splits:
        folder = root / "sequenceFiles" / SPLIT_FOLDERS[split]
        files = sorted(folder.glob("*.pkl")) if folder.is_dir() else []
        if not files:
            raise NotFoundError("no 3DPW sequence files (*.pkl)", file=folder)
        rows: dict[str, list[np.ndarray]] = {"poses_camera": [], "camera": [], "betas": []}
        ids: list[str] = []
        names: set[str] = set()
        tally = {"skipped_invalid_camera": 0, "skipped_behind_camera": 0}
        for path in progress(files, desc=f"3DPW {split}", total=len(files), unit="seq"):
            seq = read_sequence(path)
            if seq.name in names:
                raise DataError(f"sequence name {seq.name!r} is used by another file", file=path, field="sequence")
            names.add(seq.name)
            joints_world = _world_joints(seq, body_model)
            for frame in range(0, seq.poses.shape[1], stride):
                people = [k for k in range(seq.poses.shape[0]) if seq.valid[k, frame]]
                tally["skipped_invalid_camera"] += seq.poses.shape[0] - len(people)
                if not people:
                    continue
                image = _open_image(root, seq, frame)
                r_cam, t_cam = seq.cam_poses[frame, :3, :3], seq.cam_poses[frame, :3, 3]
                for k in people:
                    render_id = f"{seq.name}_{k}_{frame:05d}"
                    joints_cam = joints_world[k, frame] @ r_cam.T + t_cam
                    if joints_cam[:, 2].min() < _MIN_DEPTH_M:
                        tally["skipped_behind_camera"] += 1
                        continue
                    pixels = joints_cam[:, :2] / joints_cam[:, 2:] * np.diag(seq.intrinsics)[:2] + seq.intrinsics[:2, 2]
                    x0, y0, side = square_box(pixels, margin)
                    crop = image.crop((x0, y0, x0 + side, y0 + side)).resize((CROP_SIZE, CROP_SIZE),
                                                                              Image.Resampling.LANCZOS)
                    writer.write_image("renders", split, render_id, np.asarray(crop, dtype=np.uint8))
                    scale = CROP_SIZE / side
                    fx, fy = seq.intrinsics[0, 0] * scale, seq.intrinsics[1, 1] * scale
                    cx, cy = (seq.intrinsics[0, 2] - x0) * scale, (seq.intrinsics[1, 2] - y0) * scale
                    rows["camera"].append(np.array([fx, fy, cx, cy, *joints_cam[0]]))
                    pose = seq.poses[k, frame, :66].reshape(1, 22, 3)
                    rows["poses_camera"].append(premultiply_root(pose, r_cam)[0])
                    rows["betas"].append(seq.betas[k])
                    ids.append(render_id)
        if not ids:
            raise DataError("no valid (person, frame) to import", file=folder)
        writer.write_renders(
            split,
            ids=np.asarray(ids),
            pose_ids=np.asarray(ids),
            poses_camera=np.stack(rows["poses_camera"]).astype(np.float32),
            camera=np.stack(rows["camera"]).astype(np.float32),
            extra={"betas": np.stack(rows["betas"]).astype(np.float32)},
        )
        counts[split] = {"renders": len(ids), "sequences": len(files), **tally}
        logger.info("3DPW %s: %d crops from %d sequences (%s)", split, len(ids), len(files), tally)
    writer.config.update(
        camera_frame="OpenCV camera of 3DPW: x right, y down, z forward; root <- R_cam . root",
        camera_fields=["fx", "fy", "cx", "cy", "pelvis_x_m", "pelvis_y_m", "pelvis_z_m"],
        shape="betas recorded per render; the default image2pose protocol uses the mean shape",
        crop={"size": CROP_SIZE, "margin": margin, "stride": stride,
              "joints": "jointPositions (or body model, mean shape + trans)"},
    )
    return counts


def _open_image(root: Path, seq: Sequence3DPW, frame: int) -> Image.Image:
    """The RGB image of frame ``frame`` (index in the aligned arrays): ``imageFiles/<seq>/image_{frame:05d}.jpg``."""
    path = root / "imageFiles" / seq.name / f"image_{frame:05d}.jpg"
    if not path.is_file():
        raise NotFoundError("image file does not exist", file=path, sample_id=f"{seq.name} frame {frame}")
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as exc:
        raise DataError(f"unreadable image ({exc})", file=path, sample_id=f"{seq.name} frame {frame}") from None
