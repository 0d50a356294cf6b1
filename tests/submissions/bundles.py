"""Writing submission bundles for tests: valid ones through the library writer, plus raw helpers
for building defective ones."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from submissions import bundle_meta, write_bundle as library_write_bundle
from tasks import get_task


def meta_for(tasks: list[str], **overrides: Any) -> dict[str, Any]:
    """A valid meta.json object for predictions of ``tasks``, with ``overrides`` applied."""
    meta = bundle_meta("test-model", "1.0", tasks, licence="CC-BY-4.0", parameter_count=1234,
                       training_data=["synth-train"])  # fmt: skip
    meta.update(overrides)
    return meta


def jsonl_text(task_id: str, predictions: Mapping[str, Any]) -> str:
    """The JSONL file of ``predictions`` (texts, or (22, 3) poses)."""
    key = "text" if get_task(task_id).spec.output_kind == "text" else "pose"
    lines = [json.dumps({"id": i, key: v if key == "text" else np.asarray(v, dtype=np.float32).tolist()})
             for i, v in predictions.items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_bundle(root: Path, predictions: Mapping[str, Mapping[str, Any]], *, pose_format: str = "jsonl",
                 meta: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """A valid directory bundle of ``predictions`` (pose tasks as JSONL unless ``pose_format="npz"``)."""
    return library_write_bundle(root, meta if meta is not None else meta_for(list(predictions)), predictions,
                                pose_format=pose_format)  # fmt: skip


def zip_bundle(directory: Path, out: Path, *, prefix: str = "") -> Path:
    """Zip a directory bundle (deflated), optionally under a wrapping folder ``prefix``."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.iterdir()):
            archive.write(path, prefix + path.name)
    return out
