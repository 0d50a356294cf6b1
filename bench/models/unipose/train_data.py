"""UniPose training samples from one split of a PoseBench dataset (read through ``bench.data``).

Dimensions: ``N`` poses, ``M`` pairs, ``R`` renders, ``T`` tokens per pose. Every pose the model
sees is encoded once by the frozen pose tokenizer (``(·, T)`` int64 codes) when the data is built.

Items per task (indices into the tables below):

* ``pose2text`` / ``text2pose``: poses with at least one caption;
* ``posediff`` / ``poseedit``: pairs with at least one instruction (A → B);
* ``image2text``: renders whose pose has a caption; ``image2pose``: every render (the target is the
  camera-frame pose ``poses_camera``);
* ``imagediff``: pairs whose two poses both have a render (the synth train split has no render
  pairs; the two renders use independent cameras and styles, unlike the test render pairs).

Captions: the automatic ones with the pretraining templates (one drawn per sample), the human ones
when an item has any with the instruction templates (else the automatic ones).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from bench.data import Dataset, RenderSet, Texts
from bench.errors import DataError
from bench.models.unipose.serialization import Encoded, SequenceCodec, Slots
from bench.models.unipose.templates import ANSWERS, INSTRUCTIONS, PRETRAIN, template_for
from bench.progress import progress

logger = logging.getLogger(__name__)

__all__ = ["TrainingData", "build_training_data", "encode_poses", "training_texts"]

ENCODE_BATCH = 256


def encode_poses(tokenizer: torch.nn.Module, poses: np.ndarray, desc: str = "pose codes") -> np.ndarray:
    """int64 ``(n, T)`` codes of float32 ``(n, 22, 3)`` axis-angle poses, in fixed-size chunks."""
    chunks = [tokenizer.encode(poses[i : i + ENCODE_BATCH]).cpu().numpy()
              for i in progress(range(0, len(poses), ENCODE_BATCH), desc, total=-(-len(poses) // ENCODE_BATCH))]  # fmt: skip
    return np.concatenate(chunks).astype(np.int64) if chunks else np.zeros((0, tokenizer.tokens_per_pose), np.int64)


@dataclass
class TrainingData:
    """The training material of one split."""

    pose_codes: np.ndarray
    """int64 (N, T)."""
    pose_captions: list[Texts]
    """Per pose row (empty Texts when the pose has no caption)."""
    pair_codes: tuple[np.ndarray, np.ndarray]
    """int64 (M, T) codes of A and of B."""
    pair_instructions: list[Texts]
    render_codes: np.ndarray
    """int64 (R, T) codes of the camera-frame poses."""
    render_pose_rows: np.ndarray
    """int64 (R,) pose row of each render."""
    image_pairs: np.ndarray
    """int64 (P, 3): pair index, render of A, render of B."""
    items: dict[str, np.ndarray]
    """Task → int64 item indices (pose rows, pair indices, render indices or image-pair rows)."""
    renders: RenderSet | None
    """The split's renders (images are read on demand)."""

    def sample(self, task: str, index: int, templates: str, rng: np.random.Generator,
               codec: SequenceCodec) -> tuple[Encoded, list[int]]:  # fmt: skip
        """One training sequence of ``task`` for item ``index`` and the render indices of its images."""
        user = template_for(task, "pretrain" if templates == "pretrain" else "instruct", rng)
        images: list[int] = []
        if task in ("pose2text", "text2pose"):
            slots = Slots(caption=_pick(self.pose_captions[index], templates, rng), pose_a=self.pose_codes[index])
        elif task in ("posediff", "poseedit"):
            slots = Slots(caption=_pick(self.pair_instructions[index], templates, rng),
                          pose_a=self.pair_codes[0][index], pose_b=self.pair_codes[1][index])  # fmt: skip
        elif task in ("image2text", "image2pose"):
            images = [int(index)]
            caption = _pick(self.pose_captions[self.render_pose_rows[index]], templates, rng) if task == "image2text" else None
            slots = Slots(caption=caption, pose_a=self.render_codes[index], images=1)
        elif task == "imagediff":
            pair, render_a, render_b = (int(v) for v in self.image_pairs[index])
            images = [render_a, render_b]
            slots = Slots(caption=_pick(self.pair_instructions[pair], templates, rng), images=2)
        else:
            raise DataError(f"no training data for task {task!r}", field="tasks")
        return codec.encode(user, ANSWERS[task], slots), images


def _pick(texts: Texts, templates: str, rng: np.random.Generator) -> str:
    pool = texts.human if templates == "instruct" and texts.human else texts.auto
    return pool[int(rng.integers(len(pool)))]


def build_training_data(dataset: Dataset, split: str, pose_tokenizer: torch.nn.Module, tasks: Sequence[str]) -> TrainingData:
    """Read ``split`` and encode its poses. Components that ``tasks`` do not need may be missing.

    Raises:
        DataError: a component needed by one of ``tasks`` is missing or no item qualifies.
    """
    empty = Texts([], [])
    poses = dataset.poses(split)
    captions = dataset.captions(split) if dataset.has("captions", split) else {}
    pose_captions = [captions.get(str(i), empty) for i in poses.ids]
    pairs = dataset.pairs(split) if dataset.has("pairs", split) else None
    instructions = dataset.instructions(split) if pairs is not None and dataset.has("instructions", split) else {}
    renders = dataset.renders(split) if dataset.has("renders", split) else None
    row = {str(pose_id): i for i, pose_id in enumerate(poses.ids)}

    pose_codes = encode_poses(pose_tokenizer, poses.poses, f"pose codes {split}")
    n_pairs = 0 if pairs is None else len(pairs)
    pair_instructions = [instructions.get(str(i), empty) for i in pairs.ids] if pairs is not None else []
    pair_codes = ((encode_poses(pose_tokenizer, pairs.poses_a, "pose codes A"), encode_poses(pose_tokenizer, pairs.poses_b, "pose codes B"))
                  if pairs is not None else (pose_codes[:0], pose_codes[:0]))  # fmt: skip
    if renders is not None:
        render_codes = encode_poses(pose_tokenizer, renders.poses_camera, "pose codes renders")
        render_pose_rows = np.array([row[str(p)] for p in renders.pose_ids], dtype=np.int64)
        first_render = {int(r): k for k, r in reversed(list(enumerate(render_pose_rows)))}
    else:
        render_codes, render_pose_rows, first_render = pose_codes[:0], np.zeros(0, np.int64), {}
    image_pairs = np.array([(k, first_render[row[str(a)]], first_render[row[str(b)]])
                            for k, (a, b) in enumerate(zip(pairs.a_ids, pairs.b_ids, strict=True))
                            if pair_instructions[k].auto and row.get(str(a)) in first_render and row.get(str(b)) in first_render]
                           if pairs is not None else [], dtype=np.int64).reshape(-1, 3)  # fmt: skip

    captioned = np.array([i for i, t in enumerate(pose_captions) if t.auto], dtype=np.int64)
    instructed = np.array([k for k in range(n_pairs) if pair_instructions[k].auto], dtype=np.int64)
    items = {
        "pose2text": captioned, "text2pose": captioned, "posediff": instructed, "poseedit": instructed,
        "image2text": np.array([k for k, r in enumerate(render_pose_rows) if pose_captions[r].auto], dtype=np.int64),
        "image2pose": np.arange(len(render_pose_rows), dtype=np.int64), "imagediff": np.arange(len(image_pairs)),
    }  # fmt: skip
    for task in tasks:
        if len(items.get(task, ())) == 0:
            raise DataError(f"split {split!r} has no training items for task {task!r}", file=str(dataset.root), field="tasks")
    logger.info("training data %s: %s", split, ", ".join(f"{t} {len(items[t])}" for t in tasks))
    return TrainingData(pose_codes, pose_captions, pair_codes, pair_instructions, render_codes, render_pose_rows,
                        image_pairs, items, renders)  # fmt: skip


def training_texts(data: TrainingData) -> list[str]:
    """Every text the model may read or write in training, plus all templates (for the text vocabulary)."""
    texts = [t for group in (data.pose_captions, data.pair_instructions) for item in group for t in (*item.auto, *item.human)]
    return texts + list(PRETRAIN.values()) + [t for options in INSTRUCTIONS.values() for t in options]
