"""Import PoseScript (ECCV'22 / 2023 release) poses and captions into the PoseBench schema.

Release files (``--release DIR``), newest naming first:

=========  =======================================================  ======================================
version    pose map / splits                                        captions
=========  =======================================================  ======================================
V2 (100k)  ``ids_2_dataset_sequence_and_frame_index_100k.json``,    ``posescript_auto_100k.json`` {id: [3 texts]},
           ``{train,val,test}_ids_100k.json``                       ``posescript_human_6293.json`` {id: text | [texts]}
V1 (20k)   ``ids_2_dataset_sequence_and_frame_index.json``,         ``automatic_{A..F}.json`` {id: text},
           ``{train,val,test}_ids.json``                            ``human6293.json`` or ``posescript_human_6293.json``
V0 (20k)   as V1                                                    ``automatic_{A..F}.json``, ``human3893.json``
=========  =======================================================  ======================================

The V0 names are those of the ECCV'22 code (``naver/posescript`` branch ``posescript``,
``src/text2pose/config.py::caption_files``); V2's those of ``main`` (``config.py``). No official code
reads V1: its README says only that V1 has 6,293 human texts instead of 3,893. ``human6293.json`` is the
name a third-party loader of the V1 zip opens (a ChatPose-style ``PosescriptDataset``); because that is
unverified, ``posescript_human_6293.json`` (V2's name for the same 6,293 texts) is accepted as well in
a V1 folder. A folder with the unsuffixed map and ``human3893.json`` only is V0.

The pose map is ``{"<id>": ["AMASS", "<SubDataset>/<subject>/<seq>_poses.npz", frame]}``. Every split
pose is read from AMASS (:mod:`.amass`), moved to the canonical y-up frame and heading-normalised
(:mod:`.frames`; by default with PoseScript's own rule, :data:`.headings.POSESCRIPT_EULER`; the
convention's name is stored as ``config.heading_convention`` in the manifest), and written as
``poses/<split>.npz`` (with ``sequence``: the AMASS file, current folder names);
``captions/<split>.jsonl`` holds one line per split pose with any text: ``{"id", "auto": [...],
"human": [...]}``. PoseScript-A is the whole split; PoseScript-H (the items with a human text) is
recorded in the manifest (``counts.human``, ``config.subsets``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.data.importers.amass import AmassFrame, canonical_sequence_name, read_amass_frames
from bench.data.importers.frames import amass_to_canonical, normalize_heading_as
from bench.data.importers.headings import HEADING_CONVENTIONS, POSESCRIPT_EULER, check_heading_convention
from bench.data.importers.release import (
    SPLITS,
    check_known_ids,
    find_file,
    merge_texts,
    parse_int_id,
    read_id_list,
    read_json,
    read_text_map,
)
from bench.data.importers.writer import DatasetWriter, TextItem
from bench.errors import DataError

logger = logging.getLogger(__name__)

ID_MAP_NAMES = ("ids_2_dataset_sequence_and_frame_index_100k.json", "ids_2_dataset_sequence_and_frame_index.json")
"""The pose-id -> AMASS frame map, V2 name first (the PoseFix release ships the V2 file too)."""
_V0_V1_AUTO = tuple(f"automatic_{letter}.json" for letter in "ABCDEF")
_V1_HUMAN_NAMES = ("human6293.json", "posescript_human_6293.json")
_V0_HUMAN_NAME = "human3893.json"


@dataclass
class PoseScriptRelease:
    """The parsed release files (no AMASS data yet)."""

    version: str
    """``"V2"``, ``"V1"`` or ``"V0"``."""
    id_map_file: Path
    frames: dict[str, AmassFrame]
    """Pose id -> AMASS frame, for every id of the map."""
    splits: dict[str, list[str]]
    """Split -> pose ids in release order."""
    auto: dict[str, list[str]]
    """Pose id -> automatic captions."""
    human: dict[str, list[str]]
    """Pose id -> human captions."""
    files: dict[str, str] = field(default_factory=dict)
    """Role -> release file name that was read (recorded in the manifest)."""


def read_id_map(path: Path) -> dict[str, AmassFrame]:
    """Parse ``ids_2_dataset_sequence_and_frame_index*.json`` into ``{pose_id: AmassFrame}``.

    Raises DataError naming the id of the first entry that is not ``["AMASS", "<path>.npz", frame]``.
    """
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"expected a JSON object {{id: [dataset, path, frame]}}, got {type(data).__name__}", file=path)
    frames: dict[str, AmassFrame] = {}
    for key, value in data.items():
        pose_id = parse_int_id(key, file=path, field="id")
        if pose_id in frames:
            raise DataError("duplicate id", file=path, field="id", sample_id=pose_id)
        if not (isinstance(value, list) and len(value) == 3):
            raise DataError("expected [dataset, npz path, frame index]", file=path, sample_id=pose_id)
        dataset, sequence, frame = value
        if dataset != "AMASS":
            raise DataError(f"only AMASS poses can be read, got dataset {dataset!r}", file=path, sample_id=pose_id)
        if not isinstance(sequence, str) or not sequence.endswith(".npz"):
            raise DataError(f"expected an npz path, got {sequence!r}", file=path, field="path", sample_id=pose_id)
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            raise DataError(f"expected a frame index >= 0, got {frame!r}", file=path, field="frame", sample_id=pose_id)
        frames[pose_id] = AmassFrame(sample_id=pose_id, sequence=sequence, frame=frame)
    return frames


def read_posescript_release(release_dir: Path) -> PoseScriptRelease:
    """Find and parse the release files of any version, with every cross-file check.

    Raises:
        NotFoundError: the folder or a file of the detected version is missing.
        DataError: malformed JSON, a split id without a pose, an id in two splits, a caption id not
            in the pose map.
    """
    id_map_file = find_file(release_dir, ID_MAP_NAMES, what="PoseScript pose-id map")
    frames = read_id_map(id_map_file)
    files = {"id_map": id_map_file.name}
    if id_map_file.name == ID_MAP_NAMES[0]:
        version = "V2"
        split_names = {split: f"{split}_ids_100k.json" for split in SPLITS}
        auto_files = [find_file(release_dir, ["posescript_auto_100k.json"], what="automatic caption")]
        human_file = find_file(release_dir, ["posescript_human_6293.json"], what="human caption")
    else:
        human_file = find_file(release_dir, [*_V1_HUMAN_NAMES, _V0_HUMAN_NAME], what="human caption")
        version = "V0" if human_file.name == _V0_HUMAN_NAME else "V1"
        split_names = {split: f"{split}_ids.json" for split in SPLITS}
        auto_files = [find_file(release_dir, [name], what="automatic caption") for name in _V0_V1_AUTO]

    splits: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for split, name in split_names.items():
        path = find_file(release_dir, [name], what=f"{split} split")
        ids = read_id_list(path, field="id")
        for pose_id in ids:
            if pose_id not in frames:
                raise DataError(f"split id has no pose in {id_map_file.name}", file=path, sample_id=pose_id)
            if pose_id in owner:
                raise DataError(f"id is also in the {owner[pose_id]} split", file=path, sample_id=pose_id)
            owner[pose_id] = split
        splits[split] = ids
        files[f"split_{split}"] = name

    auto_maps = []
    for path in auto_files:
        texts = read_text_map(path, field="auto")
        check_known_ids(texts, frames, file=path, field="auto")
        auto_maps.append(texts)
    human = read_text_map(human_file, field="human")
    check_known_ids(human, frames, file=human_file, field="human")
    files["auto"] = ",".join(path.name for path in auto_files)
    files["human"] = human_file.name
    logger.info("PoseScript %s release: %d poses mapped, splits %s", version, len(frames),
                {split: len(ids) for split, ids in splits.items()})
    return PoseScriptRelease(version, id_map_file, frames, splits, merge_texts(*auto_maps), human, files)


def import_posescript(release_dir: Path, amass_root: Path, writer: DatasetWriter, *,
                      heading: str = POSESCRIPT_EULER) -> dict[str, dict[str, int]]:
    """Read the release and its AMASS frames; write ``poses`` and ``captions`` for every split.

    Args:
        release_dir: the unzipped PoseScript release.
        amass_root: the AMASS SMPL+H G root (old or new sub-dataset folder names).
        writer: where the dataset is written (it also records counts for the manifest).
        heading: the heading convention, a key of :data:`.headings.HEADING_CONVENTIONS`.
    Returns:
        ``{split: {"poses": N, "captions": C, "human": H}}``.
    """
    check_heading_convention(heading)
    release = read_posescript_release(release_dir)
    counts: dict[str, dict[str, int]] = {}
    for split, ids in release.splits.items():
        frames = [release.frames[pose_id] for pose_id in ids]
        poses_zup = read_amass_frames(amass_root, frames, source=release.id_map_file)
        poses = normalize_heading_as(amass_to_canonical(poses_zup), heading)
        sequences = [canonical_sequence_name(frame.sequence) for frame in frames]
        writer.write_poses(split, np.asarray(ids), poses, np.asarray(sequences))
        items = [
            TextItem(pose_id, release.auto.get(pose_id, []), release.human.get(pose_id, []))
            for pose_id in ids
            if pose_id in release.auto or pose_id in release.human
        ]
        writer.write_texts("captions", split, items)
        human = sum(1 for item in items if item.human)
        counts[split] = {"poses": len(ids), "captions": len(items), "human": human}
        if len(items) < len(ids):
            logger.info("%s: %d of %d poses have no caption", split, len(ids) - len(items), len(ids))
    mapped_only = len(set(release.auto) | set(release.human)) - sum(c["captions"] for c in counts.values())
    if mapped_only:
        logger.info("%d captioned poses are in no split and were not imported", mapped_only)
    writer.config.update(
        release_version=release.version,
        release_files=release.files,
        heading_convention=heading,
        heading_follows=HEADING_CONVENTIONS[heading],
        subsets={
            "posescript-A": "every pose of the split (captions[].auto)",
            "posescript-H": "split poses with at least one human caption (captions[].human non-empty)",
        },
    )
    return counts
