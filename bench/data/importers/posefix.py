"""Import PoseFix (ICCV'23 release) pose pairs and instructions into the PoseBench schema.

Release files (``--release DIR``):

- ``pair_id_2_pose_ids.json``: a list; entry k is ``[pose_A_id, pose_B_id]`` of pair ``"k"``. Pose ids
  are PoseScript V2 ids, resolved through ``ids_2_dataset_sequence_and_frame_index_100k.json`` (in the
  release folder, or given with ``--id-map``). The text says how to go from A to B.
- ``{train,val,test}_{in,out}_sequence_pair_ids.json``: pair ids per split.
- ``posefix_human_6157.json``, ``posefix_auto_135305.json``, optional ``posefix_paraphrases_4284.json``:
  ``{pair_id: text | [texts]}``.

Poses come from AMASS and are moved to the canonical y-up frame (:mod:`.frames`). Heading, as in
PoseFix (``naver/posescript`` ``src/text2pose/data.py::PoseFix.get_poses_AB``): pose A is
heading-normalised, by default with PoseScript's rule (:data:`.headings.POSESCRIPT_EULER`; the name is
stored as ``config.heading_convention``); for an **in-sequence** pair (A and B from the same AMASS file,
recomputed from the paths as the official loader does) B's root is pre-multiplied by A's normalising
rotation, so B keeps its true heading relative to A; for an out-of-sequence pair B is normalised on
its own. Written: ``pairs/<split>.npz`` and ``instructions/<split>.jsonl``
(``{"id", "auto", "human"}``). Paraphrases (InstructGPT rewrites of the human texts, the "HPP" set) are
appended after the human texts of **train** pairs when enabled, never to val/test, so evaluation
references stay human-written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.body import rotate_heading
from bench.data.importers.amass import AmassFrame, canonical_sequence_name, read_amass_frames
from bench.data.importers.frames import amass_to_canonical, heading_yaw, normalize_heading_as
from bench.data.importers.headings import HEADING_CONVENTIONS, POSESCRIPT_EULER, check_heading_convention
from bench.data.importers.posescript import ID_MAP_NAMES, read_id_map
from bench.data.importers.release import (
    SPLITS,
    check_known_ids,
    find_file,
    parse_int_id,
    read_id_list,
    read_json,
    read_text_map,
)
from bench.data.importers.writer import DatasetWriter, TextItem
from bench.errors import DataError

logger = logging.getLogger(__name__)

PAIR_MAP_NAME = "pair_id_2_pose_ids.json"
HUMAN_NAME = "posefix_human_6157.json"
AUTO_NAME = "posefix_auto_135305.json"
PARAPHRASES_NAME = "posefix_paraphrases_4284.json"


@dataclass
class PoseFixRelease:
    """The parsed release files (no AMASS data yet)."""

    id_map_file: Path
    frames: dict[str, AmassFrame]
    """PoseScript pose id -> AMASS frame."""
    pairs: dict[str, tuple[str, str]]
    """Pair id -> (pose A id, pose B id)."""
    splits: dict[str, list[str]]
    """Split -> pair ids, ascending."""
    listed_in_sequence: set[str]
    """Pair ids that the ``*_in_sequence_*`` files list."""
    auto: dict[str, list[str]]
    human: dict[str, list[str]]
    paraphrases: dict[str, list[str]]
    files: dict[str, str] = field(default_factory=dict)


def read_pair_map(path: Path, frames: dict[str, AmassFrame]) -> dict[str, tuple[str, str]]:
    """``pair_id_2_pose_ids.json`` as ``{pair_id: (a_id, b_id)}``; DataError for a pose id with no pose."""
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(f"expected a JSON list of [pose_A_id, pose_B_id], got {type(data).__name__}", file=path)
    pairs: dict[str, tuple[str, str]] = {}
    for index, entry in enumerate(data):
        pair_id = str(index)
        if not (isinstance(entry, list) and len(entry) == 2):
            raise DataError("expected [pose_A_id, pose_B_id]", file=path, sample_id=pair_id)
        a_id, b_id = (parse_int_id(value, file=path, field="pose_ids") for value in entry)
        for role, pose_id in (("pose_A", a_id), ("pose_B", b_id)):
            if pose_id not in frames:
                raise DataError(f"pose id {pose_id} has no entry in the pose-id map", file=path, field=role,
                                sample_id=pair_id)
        pairs[pair_id] = (a_id, b_id)
    return pairs


def read_posefix_release(release_dir: Path, id_map: Path | None = None) -> PoseFixRelease:
    """Find and parse the release files, with every cross-file check.

    Args:
        release_dir: the unzipped PoseFix release.
        id_map: the PoseScript V2 pose-id map when the release folder lacks it.
    Raises:
        NotFoundError: a missing file. DataError: malformed JSON, a pair id listed twice or not in the
            pair map, a pose id without a pose, a text id not in the pair map.
    """
    id_map_file = id_map if id_map is not None else find_file(release_dir, ID_MAP_NAMES[:1], what="pose-id map")
    frames = read_id_map(id_map_file)
    pair_file = find_file(release_dir, [PAIR_MAP_NAME], what="pair map")
    pairs = read_pair_map(pair_file, frames)
    files = {"id_map": id_map_file.name, "pairs": pair_file.name}

    splits: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    listed_in: set[str] = set()
    for split in SPLITS:
        split_ids: list[str] = []
        for kind in ("in", "out"):
            name = f"{split}_{kind}_sequence_pair_ids.json"
            path = find_file(release_dir, [name], what=f"{split} {kind}-sequence split")
            for pair_id in read_id_list(path, field="pair_id"):
                if pair_id not in pairs:
                    raise DataError(f"pair id is not in {PAIR_MAP_NAME}", file=path, sample_id=pair_id)
                if pair_id in owner:
                    raise DataError(f"pair id is also listed in {owner[pair_id]}", file=path, sample_id=pair_id)
                owner[pair_id] = name
                split_ids.append(pair_id)
                if kind == "in":
                    listed_in.add(pair_id)
            files[f"split_{split}_{kind}"] = name
        splits[split] = sorted(split_ids, key=int)

    texts: dict[str, dict[str, list[str]]] = {}
    for role, name in (("human", HUMAN_NAME), ("auto", AUTO_NAME), ("paraphrases", PARAPHRASES_NAME)):
        if role == "paraphrases" and not (release_dir / name).is_file():
            logger.info("no %s in %s: importing without paraphrases", name, release_dir)
            texts[role] = {}
            continue
        path = find_file(release_dir, [name], what=f"{role} instruction")
        texts[role] = read_text_map(path, field=role)
        check_known_ids(texts[role], pairs, file=path, field=role, known_name=PAIR_MAP_NAME)
        files[role] = name
    return PoseFixRelease(id_map_file, frames, pairs, splits, listed_in, texts["auto"], texts["human"],
                          texts["paraphrases"], files)


def import_posefix(
    release_dir: Path,
    amass_root: Path,
    writer: DatasetWriter,
    *,
    id_map: Path | None = None,
    paraphrases: bool = True,
    heading: str = POSESCRIPT_EULER,
) -> dict[str, dict[str, int]]:
    """Read the release and its AMASS frames; write ``pairs`` and ``instructions`` for every split.

    Args:
        release_dir: the unzipped PoseFix release.
        amass_root: the AMASS SMPL+H G root (old or new sub-dataset folder names).
        writer: where the dataset is written.
        id_map: the PoseScript V2 pose-id map, when not inside ``release_dir``.
        paraphrases: append the paraphrases to the human texts of train pairs.
        heading: the heading convention, a key of :data:`.headings.HEADING_CONVENTIONS`.
    Returns:
        ``{split: {"pairs": M, "in_sequence": I, "instructions": T, "human": H}}``.
    """
    check_heading_convention(heading)
    release = read_posefix_release(release_dir, id_map)
    counts: dict[str, dict[str, int]] = {}
    disagreements = 0
    for split, pair_ids in release.splits.items():
        a_ids = [release.pairs[p][0] for p in pair_ids]
        b_ids = [release.pairs[p][1] for p in pair_ids]
        in_sequence = np.array(
            [canonical_sequence_name(release.frames[a].sequence) == canonical_sequence_name(release.frames[b].sequence)
             for a, b in zip(a_ids, b_ids)],
            dtype=bool,
        )
        disagreements += sum(flag != (p in release.listed_in_sequence) for p, flag in zip(pair_ids, in_sequence))
        poses_a, poses_b = _pair_poses(amass_root, release.frames, a_ids, b_ids, in_sequence,
                                       source=release.id_map_file, heading=heading)
        writer.write_pairs(split, np.asarray(pair_ids), np.asarray(a_ids), np.asarray(b_ids), poses_a, poses_b,
                           in_sequence)
        extra = release.paraphrases if (paraphrases and split == "train") else {}
        items = [
            TextItem(p, release.auto.get(p, []), release.human.get(p, []) + extra.get(p, []))
            for p in pair_ids
            if p in release.auto or p in release.human or p in extra
        ]
        writer.write_texts("instructions", split, items)
        counts[split] = {
            "pairs": len(pair_ids),
            "in_sequence": int(in_sequence.sum()),
            "instructions": len(items),
            "human": sum(1 for p in pair_ids if p in release.human),
        }
    if disagreements:
        logger.warning("%d pairs are listed in the other in/out-of-sequence file than their AMASS paths say; "
                       "the flag written follows the paths", disagreements)
    writer.config.update(
        release_files=release.files,
        paraphrases="appended to train human texts" if paraphrases and release.paraphrases else "not imported",
        heading="A normalised; in-sequence B rotated by A's normalising rotation; out-of-sequence B normalised alone",
        heading_convention=heading,
        heading_follows=HEADING_CONVENTIONS[heading],
        subsets={
            "posefix-A": "pairs with automatic instructions (instructions[].auto)",
            "posefix-H": "pairs with a human instruction (counts.human)",
        },
    )
    return counts


def _pair_poses(
    amass_root: Path,
    frames: dict[str, AmassFrame],
    a_ids: list[str],
    b_ids: list[str],
    in_sequence: np.ndarray,
    *,
    source: Path,
    heading: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Poses A and B of M pairs, float32 (M, 22, 3) each, canonical frame, PoseFix heading rule."""
    unique = sorted(set(a_ids) | set(b_ids), key=int)
    row = {pose_id: i for i, pose_id in enumerate(unique)}
    canonical = amass_to_canonical(read_amass_frames(amass_root, [frames[p] for p in unique], source=source))
    a_idx = np.array([row[p] for p in a_ids], dtype=np.int64)
    b_idx = np.array([row[p] for p in b_ids], dtype=np.int64)
    turn_a = -heading_yaw(canonical[a_idx], heading)
    poses_a = rotate_heading(canonical[a_idx], turn_a)
    poses_b_relative = rotate_heading(canonical[b_idx], turn_a)
    poses_b_alone = normalize_heading_as(canonical[b_idx], heading)
    poses_b = np.where(in_sequence[:, None, None], poses_b_relative, poses_b_alone)
    return poses_a.astype(np.float32), poses_b.astype(np.float32)
