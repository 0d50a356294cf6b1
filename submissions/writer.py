"""Write a submission bundle (``bench run``, baselines, benchmarks): ``meta.json`` plus one file per task.

Text tasks are written as ``<task>.jsonl`` (``{"id", "text"}`` lines), pose tasks as ``<task>.npz``
(``ids`` <U, ``poses`` float32 (N, 22, 3)) or JSONL. The folder is written next to its final
place and renamed into it, so an interrupted write leaves no half bundle behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bench import __version__ as BENCH_VERSION
from bench.errors import UserError
from bench.staging import staged_folder
from submissions.meta import META_FILE
from tasks import get_task
from tasks.base import Prediction
from tasks.spec import POSE_SHAPE


def bundle_meta(model_name: str, model_version: str, tasks: Iterable[str], *, licence: str,
                parameter_count: int | None = None, training_data: Iterable[str] = (), code_link: str | None = None,
                data: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A ``meta.json`` object with this bench's version and the current versions of ``tasks``."""
    meta: dict[str, Any] = {
        "model_name": model_name, "model_version": model_version, "parameter_count": parameter_count,
        "training_data": list(training_data), "code_link": code_link, "licence": licence,
        "bench_version": BENCH_VERSION, "task_versions": {t: get_task(t).spec.version for t in sorted(tasks)},
    }  # fmt: skip
    if data is not None:
        meta["data"] = data
    return meta


def write_bundle(root: str | Path, meta: Mapping[str, Any], predictions: Mapping[str, Mapping[str, Prediction]],
                 *, pose_format: str = "npz", overwrite: bool = False) -> Path:  # fmt: skip
    """Write a directory bundle at ``root`` and return it.

    Args:
        root: the bundle folder to create.
        meta: the ``meta.json`` object (see :func:`bundle_meta`).
        predictions: task id → {sample id → text, or (22, 3) axis-angle pose}.
        pose_format: ``npz`` or ``jsonl`` for pose tasks.
        overwrite: replace an existing folder at ``root``.
    """
    root = Path(root)
    if pose_format not in ("npz", "jsonl"):
        raise UserError(f"pose format must be 'npz' or 'jsonl', got {pose_format!r}", field="pose_format")
    with staged_folder(root, overwrite=overwrite, exists_message="bundle folder already exists") as staging:
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        for task_id, preds in predictions.items():
            kind = get_task(task_id).spec.output_kind
            if kind == "pose" and pose_format == "npz":
                arrays = [np.asarray(p, dtype=np.float32) for p in preds.values()]
                poses = np.stack(arrays) if arrays else np.zeros((0, *POSE_SHAPE), np.float32)
                with open(staging / f"{task_id}.npz", "wb") as handle:
                    np.savez(handle, ids=np.array(list(preds), dtype=str), poses=poses)
            else:
                with open(staging / f"{task_id}.jsonl", "w", encoding="utf-8") as handle:
                    for sample_id, value in preds.items():
                        record = {"id": sample_id, "text": value} if kind == "text" else {
                            "id": sample_id, "pose": np.asarray(value, dtype=np.float32).tolist()}  # fmt: skip
                        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return root
