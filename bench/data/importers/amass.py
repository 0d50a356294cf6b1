"""Reading single frames of AMASS "SMPL+H G" sequences, with old and new sub-dataset folder names.

The PoseScript / PoseFix releases point at AMASS frames as ``(<SubDataset>/<subject>/<seq>_poses.npz,
frame)`` using the folder names AMASS had in 2021 (``BioMotionLab_NTroje``, ``MPI_HDM05``, ...).
Current AMASS downloads unpack the same files under new folder names (``BMLrub``, ``HDM05``, ...).
:data:`AMASS_FOLDER_NAMES` maps one to the other; :func:`resolve_amass_path` accepts a release path
written with either name and finds the file under either name (``MPI_Limits`` also under
``MPI_Limits_PosePrior``, the spelling of PoseScript's README). A folder name outside the table is a
:class:`~bench.errors.DataError` naming it.

Each npz holds ``poses``: float (F, 156) axis-angle, 52 SMPL-H joints x 3 (root, 21 body joints,
15 + 15 hand joints), at the sequence's native frame rate; the frame index of a release is a row of
that array (nothing is subsampled). Only root + 21 body joints are kept. Translation, betas, gender
and DMPLs are ignored, as in PoseScript. The poses returned here are still in the AMASS z-up frame:
:func:`bench.data.importers.frames.amass_to_canonical` converts them.

Dimension letters: N poses, F frames of one sequence.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from bench.errors import DataError, NotFoundError
from bench.progress import progress

logger = logging.getLogger(__name__)

AMASS_FOLDER_NAMES: dict[str, str] = {
    "ACCAD": "ACCAD",
    "BMLhandball": "BMLhandball",
    "BMLmovi": "BMLmovi",
    "BioMotionLab_NTroje": "BMLrub",
    "CMU": "CMU",
    "DFaust_67": "DFaust",
    "DanceDB": "DanceDB",
    "EKUT": "EKUT",
    "Eyes_Japan_Dataset": "EyesJapanDataset",
    "HumanEva": "HumanEva",
    "KIT": "KIT",
    "MPI_HDM05": "HDM05",
    "MPI_Limits": "PosePrior",
    "MPI_mosh": "MoSh",
    "SFU": "SFU",
    "SSM_synced": "SSM",
    "TCD_handMocap": "TCDHands",
    "TotalCapture": "TotalCapture",
    "Transitions_mocap": "Transitions",
}
"""The 19 AMASS sub-datasets used by PoseScript: old folder name (as in the releases) -> current
AMASS download folder name. Ten kept their name.

The old names are ``naver/posescript`` ``src/text2pose/posescript/format_babel_labels.py::
amass_to_babel_subdir``. The new names are the folder names third-party loaders of the releases
rename them to (e.g. the ChatPose-style PoseScript loader: ``MPI_Limits`` -> ``PosePrior``, ...).
PoseScript's top-level README lists the sub-datasets with their current names but writes this one
``MPI_Limits_PosePrior``; no code uses that spelling, so ``PosePrior`` stays the current name and
``MPI_Limits_PosePrior`` is only searched as a further folder (:data:`EXTRA_FOLDER_NAMES`)."""

EXTRA_FOLDER_NAMES: dict[str, tuple[str, ...]] = {"MPI_Limits": ("MPI_Limits_PosePrior",)}
"""Old name -> further folder names searched on disk (after the old and the current name)."""

_ALIASES: dict[str, tuple[str, ...]] = {}
for _old, _new in AMASS_FOLDER_NAMES.items():
    _names = ((_old,) if _old == _new else (_old, _new)) + EXTRA_FOLDER_NAMES.get(_old, ())
    for _name in (_old, _new, *EXTRA_FOLDER_NAMES.get(_old, ())):
        _ALIASES[_name] = _names

AMASS_POSE_WIDTH = 156
"""Values per row of an SMPL+H G ``poses`` array: 52 joints x 3."""
BODY_JOINTS = 22
"""Root + 21 body joints: the part of a pose PoseBench keeps."""


@dataclass(frozen=True)
class AmassFrame:
    """One frame of one AMASS sequence, as a release names it."""

    sample_id: str
    """The release's pose id (a decimal string)."""
    sequence: str
    """The npz path relative to the AMASS root, with the release's (old) folder name."""
    frame: int
    """Row of the sequence's ``poses`` array (native frame rate)."""


def canonical_sequence_name(rel_path: str) -> str:
    """The release path with its sub-dataset folder replaced by the current AMASS name.

    Two release paths naming the same file under old and new folder names give the same string,
    so this is the key for "same sequence" tests (PoseFix in-sequence pairs). Unknown folders give
    the path unchanged.
    """
    parts = PurePosixPath(rel_path.replace("\\", "/")).parts
    if not parts or parts[0] not in _ALIASES:
        return rel_path
    return str(PurePosixPath(AMASS_FOLDER_NAMES[_ALIASES[parts[0]][0]], *parts[1:]))


def resolve_amass_path(amass_root: Path, rel_path: str, *, source: Path, sample_id: str) -> Path:
    """The npz file a release path points to, under the old or the new sub-dataset folder name.

    Args:
        amass_root: the folder holding the AMASS sub-dataset folders (SMPL+H G).
        rel_path: ``<SubDataset>/<subject>/<seq>_poses.npz`` as written in the release.
        source: the release file the path comes from (for error messages).
        sample_id: the pose id the path belongs to (for error messages).
    Raises:
        DataError: the sub-dataset folder is not in :data:`AMASS_FOLDER_NAMES`, or the path is absolute
            or climbs out of the root.
        NotFoundError: the file exists under neither name.
    """
    parts = PurePosixPath(rel_path.replace("\\", "/")).parts
    if not parts or parts[0] == "/" or ".." in parts or len(parts) < 2:
        raise DataError(f"not a relative AMASS npz path: {rel_path!r}", file=source, sample_id=sample_id)
    folder, rest = parts[0], parts[1:]
    if folder not in _ALIASES:
        raise DataError(
            f"unknown AMASS sub-dataset folder {folder!r} in {rel_path!r}; known (or their current AMASS "
            f"names): {sorted(AMASS_FOLDER_NAMES)}",
            file=source,
            sample_id=sample_id,
        )
    candidates = [amass_root.joinpath(name, *rest) for name in _ALIASES[folder]]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = " or ".join(str(c) for c in candidates)
    raise NotFoundError(f"AMASS file not found (tried {tried})", file=source, sample_id=sample_id)


def read_amass_frames(amass_root: Path, frames: Sequence[AmassFrame], *, source: Path) -> np.ndarray:
    """The root + 21 body-joint axis-angles of every requested frame, in the AMASS z-up frame.

    Each sequence file is opened once (``np.load(allow_pickle=False)``), however many of its frames
    are requested.

    Args:
        amass_root: the AMASS SMPL+H G root folder.
        frames: N frames to read.
        source: the release file the frames come from (for error messages).
    Returns:
        float64 (N, 22, 3) axis-angle, radians, AMASS z-up world frame; rows in the order of ``frames``.
    Raises:
        NotFoundError / DataError: a missing or unreadable file, a ``poses`` array that is not (F, 156),
            non-finite values, or a frame index out of range; each names the file and the pose id.
    """
    if not amass_root.is_dir():
        raise NotFoundError("AMASS root folder does not exist", file=amass_root)
    by_file: dict[Path, list[int]] = {}
    for index, frame in enumerate(frames):
        path = resolve_amass_path(amass_root, frame.sequence, source=source, sample_id=frame.sample_id)
        by_file.setdefault(path, []).append(index)

    out = np.empty((len(frames), BODY_JOINTS, 3), dtype=np.float64)
    for path, indices in progress(by_file.items(), desc="AMASS sequences", total=len(by_file), unit="file"):
        poses = _read_poses_array(path, sample_id=frames[indices[0]].sample_id)
        for index in indices:
            frame = frames[index]
            if not 0 <= frame.frame < poses.shape[0]:
                raise DataError(
                    f"frame index {frame.frame} out of range: the sequence has {poses.shape[0]} frames",
                    file=path,
                    field="poses",
                    sample_id=frame.sample_id,
                )
            row = poses[frame.frame, : BODY_JOINTS * 3]
            if not np.all(np.isfinite(row)):
                raise DataError("non-finite pose values", file=path, field="poses", sample_id=frame.sample_id)
            out[index] = row.reshape(BODY_JOINTS, 3)
    logger.info("read %d AMASS frames from %d sequence files", len(frames), len(by_file))
    return out


def _read_poses_array(path: Path, *, sample_id: str) -> np.ndarray:
    """The (F, 156) ``poses`` array of one AMASS npz, as float64."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "poses" not in npz.files:
                raise DataError(f"no 'poses' array (has {sorted(npz.files)})", file=path, sample_id=sample_id)
            poses = npz["poses"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = f"not a readable AMASS npz ({type(exc).__name__}: {exc})"
        raise DataError(reason, file=path, sample_id=sample_id) from None
    if poses.ndim != 2 or poses.shape[1] != AMASS_POSE_WIDTH or not np.issubdtype(poses.dtype, np.floating):
        raise DataError(
            f"expected a float (F, {AMASS_POSE_WIDTH}) SMPL+H G array, got {poses.dtype} {poses.shape}",
            file=path,
            field="poses",
            sample_id=sample_id,
        )
    return poses.astype(np.float64, copy=False)
