"""Staged writing of one imported dataset in the schema of architecture §3.

A :class:`DatasetWriter` writes into a hidden staging folder next to the destination and moves it into
place in :meth:`DatasetWriter.commit`, after the manifest; leaving the ``with`` block on an error
deletes the staging folder, so a failed import never leaves a half-written dataset behind. File
writing, hashing and the manifest are ``bench.data.manifest``'s (deterministic npz bytes, atomic
writes); this module adds the importers' shape checks and the staging.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from PIL import Image

from bench.data.manifest import write_bytes_atomic, write_jsonl_atomic, write_manifest, write_npz_atomic
from bench.errors import DataError, InternalError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextItem:
    """One line of ``captions/<split>.jsonl`` or ``instructions/<split>.jsonl``."""

    id: str
    auto: list[str] = field(default_factory=list)
    human: list[str] = field(default_factory=list)


def _check_ids(ids: np.ndarray, what: str) -> np.ndarray:
    ids = np.asarray(ids).astype(str)
    if ids.ndim != 1 or len(set(ids.tolist())) != ids.shape[0]:
        raise InternalError(f"{what}: ids must be a 1-D array of unique strings")
    return ids


def _check_poses(poses: np.ndarray, n: int, what: str) -> np.ndarray:
    poses = np.asarray(poses, dtype=np.float32)
    if poses.shape != (n, 22, 3) or not np.all(np.isfinite(poses)):
        raise InternalError(f"{what}: expected finite float32 ({n}, 22, 3) poses, got {poses.shape}")
    return poses


class DatasetWriter:
    """Writes the files of one dataset, then its manifest, then moves it to ``root``.

    Args:
        root: the dataset folder to create.
        name, version, variant, description: manifest fields.
        overwrite: replace an existing ``root``; without it an existing non-empty folder is a DataError.
    """

    def __init__(self, root: Path, *, name: str, version: str, variant: str, description: str,
                 overwrite: bool = False) -> None:
        self.root = Path(root)
        if self.root.exists() and not overwrite and (not self.root.is_dir() or any(self.root.iterdir())):
            raise DataError("dataset folder already exists (pass --overwrite to replace it)", file=self.root)
        self.name, self.version, self.variant, self.description = name, version, variant, description
        self.overwrite = overwrite
        self.config: dict[str, Any] = {}
        """Import settings and provenance, stored as the manifest's ``config``."""
        self._staging: Path | None = None

    def __enter__(self) -> DatasetWriter:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._staging = Path(tempfile.mkdtemp(prefix=f".{self.root.name}.partial-", dir=self.root.parent))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._staging is not None and self._staging.exists():
            shutil.rmtree(self._staging, ignore_errors=True)
        self._staging = None

    @property
    def staging(self) -> Path:
        if self._staging is None:
            raise InternalError("DatasetWriter used outside its `with` block")
        return self._staging

    def _path(self, relpath: str) -> Path:
        path = self.staging / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_poses(self, split: str, ids: np.ndarray, poses: np.ndarray, sequence: np.ndarray) -> None:
        """``poses/<split>.npz``: ids <U (N,), poses float32 (N, 22, 3) canonical frame, sequence <U (N,)."""
        ids = _check_ids(ids, "poses")
        sequence = np.asarray(sequence).astype(str)
        if sequence.shape != ids.shape:
            raise InternalError("poses: sequence must have one entry per pose")
        write_npz_atomic(self._path(f"poses/{split}.npz"),
                         {"ids": ids, "poses": _check_poses(poses, len(ids), "poses"), "sequence": sequence})

    def write_pairs(self, split: str, ids: np.ndarray, a_ids: np.ndarray, b_ids: np.ndarray, poses_a: np.ndarray,
                    poses_b: np.ndarray, in_sequence: np.ndarray) -> None:
        """``pairs/<split>.npz``: ids, a_ids, b_ids <U (M,), poses_a/poses_b float32 (M, 22, 3), in_sequence bool."""
        ids = _check_ids(ids, "pairs")
        m = len(ids)
        a_ids, b_ids = np.asarray(a_ids).astype(str), np.asarray(b_ids).astype(str)
        in_sequence = np.asarray(in_sequence, dtype=bool)
        if a_ids.shape != (m,) or b_ids.shape != (m,) or in_sequence.shape != (m,):
            raise InternalError("pairs: a_ids, b_ids and in_sequence must have one entry per pair")
        write_npz_atomic(self._path(f"pairs/{split}.npz"), {
            "ids": ids, "a_ids": a_ids, "b_ids": b_ids, "poses_a": _check_poses(poses_a, m, "poses_a"),
            "poses_b": _check_poses(poses_b, m, "poses_b"), "in_sequence": in_sequence})

    def write_texts(self, component: str, split: str, items: list[TextItem]) -> None:
        """``<component>/<split>.jsonl``, one ``{"id", "auto", "human"}`` object per line."""
        if component not in ("captions", "instructions"):
            raise InternalError(f"write_texts: unknown text component {component!r}")
        _check_ids(np.asarray([item.id for item in items], dtype=str), component)
        rows = [{"id": item.id, "auto": list(item.auto), "human": list(item.human)} for item in items]
        write_jsonl_atomic(self._path(f"{component}/{split}.jsonl"), rows)

    def write_image(self, component: str, split: str, item_id: str, image: np.ndarray) -> None:
        """``<component>/<split>/<item_id>.png`` from a uint8 (224, 224, 3) RGB array."""
        if image.shape != (224, 224, 3) or image.dtype != np.uint8:
            raise InternalError(f"write_image: expected uint8 (224, 224, 3), got {image.dtype} {image.shape}")
        if os.sep in item_id or item_id.startswith("."):
            raise InternalError(f"write_image: id {item_id!r} is not a file name")
        buffer = io.BytesIO()
        Image.fromarray(image, mode="RGB").save(buffer, format="PNG", compress_level=6)
        write_bytes_atomic(self._path(f"{component}/{split}/{item_id}.png"), buffer.getvalue())

    def write_renders(self, split: str, *, ids: np.ndarray, pose_ids: np.ndarray, poses_camera: np.ndarray,
                      camera: np.ndarray, extra: Mapping[str, np.ndarray] | None = None) -> None:
        """``renders/<split>.npz``: ids, pose_ids <U (R,), poses_camera float32 (R, 22, 3), camera float32 (R, k).

        ``extra`` arrays (one row per render) are stored beside them; every id needs its PNG already.
        """
        ids = _check_ids(ids, "renders")
        r = len(ids)
        camera = np.asarray(camera, dtype=np.float32)
        if camera.ndim != 2 or camera.shape[0] != r or np.asarray(pose_ids).shape != (r,):
            raise InternalError("renders: pose_ids and camera must have one row per render")
        missing = [i for i in ids if not (self.staging / "renders" / split / f"{i}.png").is_file()]
        if missing:
            raise InternalError(f"renders: no image written for {missing[0]!r}")
        arrays = {"ids": ids, "pose_ids": np.asarray(pose_ids).astype(str),
                  "poses_camera": _check_poses(poses_camera, r, "poses_camera"), "camera": camera}
        for name, value in (extra or {}).items():
            if name in arrays or len(value) != r:
                raise InternalError(f"renders: extra array {name!r} clashes or has not one row per render")
            arrays[name] = np.asarray(value)
        write_npz_atomic(self._path(f"renders/{split}.npz"), arrays)

    def commit(self, counts: dict[str, dict[str, int]]) -> Path:
        """Write ``manifest.json`` (file hashes, split hashes, ``counts``, ``config``); move into place."""
        write_manifest(self.staging, name=self.name, version=self.version, variant=self.variant,
                       description=self.description, config=self.config, counts=counts)
        old = None
        if self.root.exists():
            if not self.overwrite and (not self.root.is_dir() or any(self.root.iterdir())):
                raise DataError("dataset folder appeared while importing", file=self.root)
            old = Path(tempfile.mkdtemp(prefix=f".{self.root.name}.old-", dir=self.root.parent)) / "dataset"
            os.replace(self.root, old)  # the old dataset stays whole until the new one is in place
        os.replace(self.staging, self.root)
        self._staging = None
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
        logger.info("wrote %s to %s", self.name, self.root)
        return self.root
