"""Export a task's requests, so a model that runs outside PoseBench can answer them (``bench tasks export``).

The export folder holds, per task, ``<task>.jsonl`` with one request a line::

    {"id": "test_00012", "task": "text2pose", "instruction": "Generate the 3D body pose ...",
     "answer": "pose", "inputs": {"text": "The person bends the left knee ..."}}

- ``inputs`` holds exactly the request's inputs (``Request.inputs``): ``text`` (str); ``pose``,
  ``pose_a``, ``pose_b`` (22 × 3 axis-angle rows in radians, SMPL order, y up, each value the exact
  float32 the model would get); ``image``, ``image_a``, ``image_b`` (the path of a 224 × 224 RGB
  PNG, relative to the export folder, pixel-identical to the array a model adapter gets);
- ``instruction`` is the task's description (``TaskSpec.description``), what a model is asked;
- ``answer`` is ``text`` or ``pose``: what the bundle's line for this id must hold
  (``docs/submission_format.md``).

Images are stored once under ``images/<first 16 hex of their SHA-256>.png``. ``export.json`` records
the dataset, each task's version, split hash and sample count, and the bench version. The folder is
written beside its final place and renamed into it: an interrupted export leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench import __version__ as BENCH_VERSION
from bench.staging import staged_folder
from tasks.base import Task, dataset_key
from tasks.spec import Request

if TYPE_CHECKING:
    from bench.data import Dataset

EXPORT_FILE = "export.json"
IMAGE_DIR = "images"
IMAGE_INPUTS = ("image", "image_a", "image_b")
POSE_INPUTS = ("pose", "pose_a", "pose_b")


def export_tasks(tasks: Sequence[Task], dataset: Dataset, out: str | Path, *, limit: int | None = None,
                 overwrite: bool = False) -> dict[str, Any]:  # fmt: skip
    """Write the requests of ``tasks`` on ``dataset`` into the folder ``out``.

    Args:
        limit: only the first ``limit`` samples of each task (a bundle of them is scored with the
            same ``--limit``).
        overwrite: replace an existing ``out``.

    Returns:
        The ``export.json`` record.

    Raises:
        UserError: ``out`` exists (without ``overwrite``); DataError: the dataset lacks a task's data.
    """
    record: dict[str, Any] = {"bench_version": BENCH_VERSION, "data": dataset_key(dataset), "limit": limit, "tasks": {}}
    exists = "export folder already exists (pass --overwrite to replace it)"
    with staged_folder(out, overwrite=overwrite, exists_message=exists) as staging:
        (staging / IMAGE_DIR).mkdir()
        for task in tasks:
            spec = task.spec
            requests = task.build_requests(dataset, limit)
            with open(staging / f"{spec.id}.jsonl", "w", encoding="utf-8") as handle:
                for request in requests:
                    handle.write(json.dumps(request_record(request, spec.description, spec.output_kind, staging),
                                            ensure_ascii=False) + "\n")  # fmt: skip
            record["tasks"][spec.id] = {"version": spec.version, "split": spec.split, "samples": len(requests),
                                        "data_hash": dataset.split_hash(spec.split), "answer": spec.output_kind}  # fmt: skip
        (staging / EXPORT_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def request_record(request: Request, instruction: str, answer: str, folder: Path) -> dict[str, Any]:
    """One JSONL line (module docstring); image inputs are written into ``folder/images``."""
    inputs: dict[str, Any] = {}
    for key, value in request.inputs.items():
        if key in IMAGE_INPUTS:
            inputs[key] = _write_image(np.asarray(value), folder)
        elif key in POSE_INPUTS:
            inputs[key] = np.asarray(value, dtype=np.float32).tolist()
        else:
            inputs[key] = str(value)
    return {"id": request.id, "task": request.task, "instruction": instruction, "answer": answer, "inputs": inputs}


def _write_image(image: np.ndarray, folder: Path) -> str:
    """Save uint8 (H, W, 3) as a lossless PNG named by its pixel hash; returns the relative path."""
    from PIL import Image

    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    digest = hashlib.sha256(repr(pixels.shape).encode() + pixels.tobytes()).hexdigest()[:16]
    relpath = f"{IMAGE_DIR}/{digest}.png"
    if not (folder / relpath).exists():
        buffer = BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=6)
        (folder / relpath).write_bytes(buffer.getvalue())
    return relpath
