"""Small fake releases in the official formats, built by the tests themselves (no licensed data).

- :func:`build_amass`: AMASS SMPL+H G npz files, some under old and some under new sub-dataset
  folder names, whose roots are upright-with-a-heading poses of known tilt, and two lying, rolled
  roots (:data:`ROLLED`) on which PoseScript's heading rule and a swing-twist one disagree.
- :func:`build_posescript_v2` / :func:`build_posescript_v1` / :func:`build_posescript_v0`: PoseScript
  release JSONs with each version's file names.
- :func:`build_posefix`: PoseFix release JSONs (one in-sequence pair per split, one out-of-sequence).
- :func:`build_3dpw`: a 3DPW folder as the peers' loaders read it: a Python-2-style protocol-2 pickle
  (byte strings that need ``encoding='latin1'``), ``sequence`` as a 0-d numpy string array,
  ``img_frame_ids`` indexing the 60 Hz arrays (0, 2, 4, ...), and frame f's image ``image_{f:05d}.jpg``.

Rotation math here uses scipy, independently of ``bench.body``. PoseScript's heading rule is
re-stated with scipy's intrinsic ZYX Euler angles (:func:`posescript_root`).
"""

from __future__ import annotations

import io
import json
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy.spatial.transform import Rotation

# (path on disk, path written in the release, frames). The release uses old names (as PoseScript
# does) except the HDM05 row, which tests a new name in the release against an old folder on disk.
SEQUENCES: list[tuple[str, str, int]] = [
    ("BMLrub/rub001/0001_treadmill_norm_poses.npz", "BioMotionLab_NTroje/rub001/0001_treadmill_norm_poses.npz", 6),
    ("MPI_HDM05/bk/HDM_bk_01-01_01_120_poses.npz", "HDM05/bk/HDM_bk_01-01_01_120_poses.npz", 5),
    ("CMU/01/01_01_poses.npz", "CMU/01/01_01_poses.npz", 4),
]


ROLLED: dict[tuple[int, int], tuple[float, float]] = {(0, 2): (0.7, 0.5), (2, 2): (-0.75, 2.6)}
"""(SEQUENCES row, frame) -> (θy, θx) of a pitched and rolled root Rz(θz)·Ry(θy)·Rx(θx) (z-up; upright is
θx = 90°), head still above the pelvis: pose ids 2 and 13. The two heading conventions differ there by about 25°."""

ZUP_TO_YUP = Rotation.from_euler("x", -np.pi / 2)
"""AMASS z-up -> canonical y-up frame."""


@dataclass
class AmassTruth:
    """What the fake AMASS frames contain, keyed by (release path, frame)."""

    heading: dict[tuple[str, int], float] = field(default_factory=dict)
    """Yaw θz about the AMASS vertical (z) of each frame's root (its ZYX Euler z angle), radians."""
    tilt: dict[tuple[str, int], float] = field(default_factory=dict)
    """Forward tilt δ (about the body's x axis) of each upright frame's root, radians (not for ROLLED)."""
    root: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    """The root axis-angle (3,) of each frame, AMASS z-up frame."""
    body: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    """The 21 body-joint axis-angles (21, 3) of each frame."""


def zup_root(heading: float, tilt: float) -> np.ndarray:
    """AMASS root of an upright body turned by ``heading`` about z and tilted by ``tilt``: Rz·Rx(90°)·Rx(δ)."""
    rotation = Rotation.from_euler("z", heading) * Rotation.from_euler("x", np.pi / 2) * Rotation.from_euler("x", tilt)
    return rotation.as_rotvec()


def posescript_root(root_zup: np.ndarray) -> Rotation:
    """PoseScript's heading rule on a z-up root (utils.py::get_pose_data_from_file), then moved to y-up.

    The root is split as intrinsic ZYX Euler angles, R = Rz(θz)·Ry(θy)·Rx(θx); θz is set to 0.
    """
    _, theta_y, theta_x = Rotation.from_rotvec(root_zup).as_euler("ZYX")
    return ZUP_TO_YUP * Rotation.from_euler("ZYX", [0.0, theta_y, theta_x])


def posescript_turn(root_zup: np.ndarray) -> Rotation:
    """PoseScript's normalising rotation Rz(−θz) of a z-up root (applied to B in PoseFix in-sequence pairs)."""
    return Rotation.from_euler("z", -Rotation.from_rotvec(root_zup).as_euler("ZYX")[0])


def build_amass(root: Path, seed: int = 0) -> AmassTruth:
    """Write the :data:`SEQUENCES` npz files under ``root``; return their ground truth."""
    rng = np.random.default_rng(seed)
    truth = AmassTruth()
    for row, (disk_path, release_path, frames) in enumerate(SEQUENCES):
        poses = rng.normal(scale=0.3, size=(frames, 156))
        for f in range(frames):
            heading, tilt = rng.uniform(-np.pi, np.pi), rng.uniform(-0.4, 0.4)
            key = (release_path, f)
            if (row, f) in ROLLED:
                poses[f, :3] = Rotation.from_euler("ZYX", [heading, *ROLLED[row, f]]).as_rotvec()
            else:
                poses[f, :3] = zup_root(heading, tilt)
                truth.tilt[key] = tilt
            truth.heading[key], truth.root[key] = heading, poses[f, :3].copy()
            truth.body[key] = poses[f, 3:66].reshape(21, 3)
        path = root / disk_path
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, poses=poses, trans=rng.normal(size=(frames, 3)), betas=np.zeros(16),
                 gender=np.array("neutral"), mocap_framerate=np.array(120.0), dmpls=np.zeros((frames, 8)))
    return truth


def _dump(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


POSE_FRAMES: list[tuple[str, int]] = [(release, f) for _, release, frames in SEQUENCES for f in range(frames)]
"""Pose id k -> (release path, frame): all 15 frames of the fake AMASS, in order."""
SPLIT_IDS = {"train": [0, 1, 2, 5, 6, 7, 11, 12], "val": [3, 8, 13], "test": [4, 9, 10, 14]}


def build_posescript_v2(release: Path) -> None:
    """PoseScript V2 files; human texts as a string for some ids and a list for others."""
    _dump(release / "ids_2_dataset_sequence_and_frame_index_100k.json",
          {str(k): ["AMASS", path, frame] for k, (path, frame) in enumerate(POSE_FRAMES)})
    for split, ids in SPLIT_IDS.items():
        _dump(release / f"{split}_ids_100k.json", ids)
    _dump(release / "posescript_auto_100k.json",
          {str(k): [f"auto {k} version {v}" for v in "abc"] for k in range(len(POSE_FRAMES)) if k != 7})
    _dump(release / "posescript_human_6293.json",
          {"0": "the person stands.", "4": ["human four one", "human four two"], "9": "  human  nine ", "7": "seven"})


def build_posescript_v1(release: Path) -> None:
    """PoseScript V1 files: six automatic_X.json with one string each, human6293.json, unsuffixed splits."""
    _dump(release / "ids_2_dataset_sequence_and_frame_index.json",
          {str(k): ["AMASS", path, frame] for k, (path, frame) in enumerate(POSE_FRAMES)})
    for split, ids in SPLIT_IDS.items():
        _dump(release / f"{split}_ids.json", ids)
    for letter in "ABCDEF":
        _dump(release / f"automatic_{letter}.json", {str(k): f"auto {letter} {k}" for k in range(len(POSE_FRAMES))})
    _dump(release / "human6293.json", {"4": "human four"})


def build_posescript_v0(release: Path) -> None:
    """PoseScript V0 (ECCV'22) files: as V1, with ``human3893.json`` (the ``posescript`` branch's config.py)."""
    build_posescript_v1(release)
    (release / "human6293.json").rename(release / "human3893.json")


PAIRS = [[0, 3], [5, 12], [1, 2], [6, 11], [4, 9], [9, 10], [13, 8]]
"""Pair k = (pose A id, pose B id). Ids 0-5 are frames of the BMLrub file, 6-10 of the HDM05 file, 11-14 of
the CMU file, so pairs 0, 2 and 5 are in-sequence, 1, 3, 4 and 6 out-of-sequence."""
PAIR_SPLITS = {"train": ([0, 2], [1, 3]), "val": ([], [6]), "test": ([5], [4])}
"""Split -> (in-sequence pair ids, out-of-sequence pair ids)."""


def build_posefix(release: Path) -> None:
    """PoseFix files, including the PoseScript V2 id map the release ships.

    Pose 10 is mapped with the old folder name (MPI_HDM05) and pose 9 with the new one (HDM05): the
    same file, so pair 5 = (9, 10) must still count as in-sequence.
    """
    id_map = {str(k): ["AMASS", path, frame] for k, (path, frame) in enumerate(POSE_FRAMES)}
    id_map["10"][1] = id_map["10"][1].replace("HDM05/", "MPI_HDM05/", 1)
    _dump(release / "ids_2_dataset_sequence_and_frame_index_100k.json", id_map)
    _dump(release / "pair_id_2_pose_ids.json", PAIRS)
    for split, (inside, outside) in PAIR_SPLITS.items():
        _dump(release / f"{split}_in_sequence_pair_ids.json", inside)
        _dump(release / f"{split}_out_sequence_pair_ids.json", outside)
    _dump(release / "posefix_human_6157.json", {"0": "raise your arm", "5": ["bend", "bend more"], "4": "turn"})
    _dump(release / "posefix_auto_135305.json", {str(k): [f"auto {k} {v}" for v in "abc"] for k in range(len(PAIRS))})
    _dump(release / "posefix_paraphrases_4284.json", {"0": ["lift your arm"], "5": ["paraphrase of a test text"]})


# ---------------------------------------------------------------------------------------------- 3DPW

IMAGE_SIZE = (200, 160)  # width, height
INTRINSICS = np.array([[150.0, 0.0, 100.0], [0.0, 150.0, 80.0], [0.0, 0.0, 1.0]])
PERSON_COLOURS = [(220, 30, 30), (30, 30, 220)]
CAMERA_ROTATION = Rotation.from_euler("xyz", [np.pi, 0.3, 0.05])
CAMERA_TRANSLATION = np.array([0.1, -0.2, 0.5])


FRAME_IDS_60HZ = np.array([0, 2, 4, 6])
"""``img_frame_ids`` of the fake sequence: each frame's row in the 60 Hz arrays, as in the release."""


def background(frame: int) -> tuple[int, int, int]:
    """The grey of image ``image_{frame:05d}.jpg``: tells which image a crop was cut from."""
    level = 40 + 50 * frame
    return (level, level, level)


@dataclass
class ThreeDPWTruth:
    sequence: str
    poses: np.ndarray  # (P, F, 72)
    valid: np.ndarray  # (P, F) bool
    frames: int


def _camera_joints(rng: np.random.Generator, centre_x: float) -> np.ndarray:
    """24 joints of a 1.6 m tall standing figure 4 m in front of the camera (OpenCV frame)."""
    joints = np.stack([rng.uniform(-0.25, 0.25, 24) + centre_x, np.linspace(-0.8, 0.8, 24),
                       rng.uniform(-0.1, 0.1, 24) + 4.0], axis=1)
    return joints


def build_3dpw(root: Path, *, seed: int = 0, name: str = "courtyard_fake_00", split: str = "test") -> ThreeDPWTruth:
    """One sequence (2 people, 4 frames; person 1 has an invalid camera pose at frame 2).

    Frame f's image is ``image_{f:05d}.jpg`` (grey :func:`background`), whatever ``img_frame_ids`` says.
    """
    rng = np.random.default_rng(seed)
    frames, people = 4, 2
    valid = np.ones((people, frames), dtype=bool)
    valid[1, 2] = False
    r_cam = CAMERA_ROTATION.as_matrix()
    cam_poses = np.tile(np.eye(4), (frames, 1, 1))
    cam_poses[:, :3, :3], cam_poses[:, :3, 3] = r_cam, CAMERA_TRANSLATION
    poses = rng.normal(scale=0.2, size=(people, frames, 72))
    poses[:, :, :3] = Rotation.random(people * frames, random_state=seed).as_rotvec().reshape(people, frames, 3)
    joints_world = np.zeros((people, frames, 24, 3))
    (root / "imageFiles" / name).mkdir(parents=True, exist_ok=True)
    for f in range(frames):
        image = Image.new("RGB", IMAGE_SIZE, background(f))
        draw = ImageDraw.Draw(image)
        for k, centre_x in enumerate((-0.6, 0.6)):
            cam = _camera_joints(rng, centre_x)
            joints_world[k, f] = (cam - CAMERA_TRANSLATION) @ r_cam  # inverse of X_c = R X + t
            pixels = cam[:, :2] / cam[:, 2:] * 150.0 + np.array([100.0, 80.0])
            draw.rectangle([*pixels.min(0), *pixels.max(0)], fill=PERSON_COLOURS[k])
        image.save(root / "imageFiles" / name / f"image_{f:05d}.jpg", quality=95)
    data = {
        "sequence": np.array(name),  # mmhuman3d reads it as str(data['sequence'])
        "poses": [poses[k] for k in range(people)],
        "betas": [rng.normal(size=10) for _ in range(people)],
        "trans": [rng.normal(size=(frames, 3)) for _ in range(people)],
        "cam_poses": cam_poses,
        "campose_valid": [valid[k].astype(np.int64) for k in range(people)],
        "img_frame_ids": FRAME_IDS_60HZ,
        "cam_intrinsics": INTRINSICS,
        "genders": ["m", "f"],
        "jointPositions": [joints_world[k].reshape(frames, 72) for k in range(people)],
    }
    write_3dpw_pickle(root / "sequenceFiles" / split / f"{name}.pkl", data)
    return ThreeDPWTruth(name, poses, valid, frames)


class _Python2Pickler(pickle._Pickler):  # the pure-Python pickler, so that its dispatch table can be extended
    """Writes ``str`` and ``bytes`` as Python 2 byte strings (``BINSTRING``), as the official files have them.

    Python 3 can read such a pickle only with ``encoding='latin1'`` (or 'bytes'): array payloads come
    back as latin-1 ``str`` that numpy turns back into bytes.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_byte_string(self, obj: str | bytes) -> None:
        data = obj.encode("latin-1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = _save_byte_string
    dispatch[bytes] = _save_byte_string


def write_3dpw_pickle(path: Path, data: object) -> None:
    """Protocol 2 with Python 2 byte strings and numpy 1.x module names, as the official files."""
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"))
