"""One import run: load and check the body model, stage the dataset, import, write the manifest.

These are the functions ``bench data import`` calls; each returns a JSON-ready summary
``{"name", "path", "counts": {split: {...}}, "body_model": str | None}``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from bench.body import BodyModel, load_body_model
from bench.data.importers.headings import POSESCRIPT_EULER, check_heading_convention
from bench.data.importers.posefix import import_posefix
from bench.data.importers.posescript import import_posescript
from bench.data.importers.threedpw import CROP_SIZE, SPLIT_FOLDERS, import_3dpw
from bench.data.importers.writer import DatasetWriter
from bench.errors import BodyModelError

logger = logging.getLogger(__name__)

_CHECK_POSES = 512
"""How many imported poses the body-model frame check runs through the model."""


def open_body_model(path: Path | None, name: str | None) -> BodyModel | None:
    """The user's SMPL-H / SMPL model (``bench.body.load_body_model``), or None without a path.

    The type is ``name`` when given; else, for a folder (smplx layout), ``smplh`` when it holds an
    ``smplh/`` and no ``smpl/`` sub-folder; for a file, ``smplh`` when its name or its two parent
    folders name SMPL-H (``SMPLH_NEUTRAL.npz``, AMASS's ``smplh/neutral/model.npz``); else ``smpl``.
    Raises BodyModelError (exit 2, one line) for a missing or unreadable model.
    """
    if path is None:
        return None
    if not path.exists():
        raise BodyModelError("body-model path does not exist", file=path)
    if name is None:
        if path.is_dir():
            smplh = (path / "smplh").is_dir() and not (path / "smpl").is_dir()
        else:
            smplh = any(tag in part.lower() for part in path.parts[-3:] for tag in ("smplh", "smpl+h"))
        name = "smplh" if smplh else "smpl"
    return load_body_model(name, path)


def upright_fraction(body_model: BodyModel, poses: np.ndarray) -> float:
    """Fraction of poses whose neck (joint 12) is above the pelvis (joint 0) along +y.

    A check of the z-up → y-up conversion on real data: mocap poses are mostly upright, so a value
    far below 0.5 means the frame is wrong. Uses at most the first 512 poses (float (N, 22, 3)).
    """
    sample = np.asarray(poses[:_CHECK_POSES], dtype=np.float32)
    if sample.shape[0] == 0:
        return float("nan")
    joints = np.asarray(body_model.joints(sample))
    return float(np.mean(joints[:, 12, 1] > joints[:, 0, 1]))


def _summary(writer: DatasetWriter, counts: dict[str, dict[str, int]], body: BodyModel | None) -> dict[str, Any]:
    return {"name": writer.name, "path": str(writer.root), "counts": counts,
            "body_model": None if body is None else body.name}


def _record_frame_check(writer: DatasetWriter, body: BodyModel | None, component: str, array: str) -> None:
    """Store the upright fraction of each written split in the manifest config; warn when it is low."""
    if body is None:
        return
    fractions = {}
    for path in sorted((writer.staging / component).glob("*.npz")):
        with np.load(path, allow_pickle=False) as npz:
            fractions[path.stem] = round(upright_fraction(body, npz[array]), 4)
    writer.config["frame_check"] = {"body_model": body.description, "upright_fraction": fractions}
    low = {split: value for split, value in fractions.items() if value < 0.5}
    if low:
        logger.warning("few imported poses are upright (%s): is the AMASS frame right?", low)


def import_posescript_dataset(release: Path, amass: Path, out: Path, *, name: str = "posescript",
                              overwrite: bool = False, body_models: Path | None = None,
                              body_model_name: str | None = None, heading: str = POSESCRIPT_EULER) -> dict[str, Any]:
    """Import a PoseScript release into ``out`` (see :mod:`.posescript`; ``heading``: :mod:`.frames`)."""
    check_heading_convention(heading)
    body = open_body_model(body_models, body_model_name)
    description = "PoseScript poses (AMASS SMPL+H G, body joints, y-up, heading-normalised) with captions"
    with DatasetWriter(out, name=name, version="V2", variant="body22", description=description,
                       overwrite=overwrite) as writer:
        counts = import_posescript(release, amass, writer, heading=heading)
        writer.version = str(writer.config["release_version"])
        _record_frame_check(writer, body, "poses", "poses")
        writer.commit(counts)
    return _summary(writer, counts, body)


def import_posefix_dataset(release: Path, amass: Path, out: Path, *, name: str = "posefix", overwrite: bool = False,
                           id_map: Path | None = None, paraphrases: bool = True, body_models: Path | None = None,
                           body_model_name: str | None = None, heading: str = POSESCRIPT_EULER) -> dict[str, Any]:
    """Import a PoseFix release into ``out`` (see :mod:`.posefix`; ``heading``: :mod:`.frames`)."""
    check_heading_convention(heading)
    body = open_body_model(body_models, body_model_name)
    description = "PoseFix pose pairs (AMASS, y-up; in-sequence B keeps its heading relative to A) with instructions"
    with DatasetWriter(out, name=name, version="ICCV23", variant="body22", description=description,
                       overwrite=overwrite) as writer:
        counts = import_posefix(release, amass, writer, id_map=id_map, paraphrases=paraphrases,
                                heading=heading)
        _record_frame_check(writer, body, "pairs", "poses_a")
        writer.commit(counts)
    return _summary(writer, counts, body)


def import_3dpw_dataset(root: Path, out: Path, *, name: str = "3dpw", overwrite: bool = False,
                        splits: tuple[str, ...] | None = None, stride: int = 1, margin: float = 0.2,
                        body_models: Path | None = None, body_model_name: str | None = None) -> dict[str, Any]:
    """Import 3DPW person crops into ``out`` (see :mod:`.threedpw`)."""
    body = open_body_model(body_models, body_model_name)
    description = "3DPW person crops (224x224) with the SMPL pose in the camera frame (image2pose)"
    variant = f"crop{CROP_SIZE}-margin{margin:g}-stride{stride}"
    with DatasetWriter(out, name=name, version="1.0", variant=variant, description=description,
                       overwrite=overwrite) as writer:
        counts = import_3dpw(root, writer, splits=splits or tuple(SPLIT_FOLDERS), stride=stride, margin=margin,
                             body_model=body)
        writer.commit(counts)
    return _summary(writer, counts, body)
