"""Reading PoseBench datasets (schema version 1, ``docs/architecture.md`` §3), lazily and checked.

``load_dataset`` reads only the manifest. Each component of a split is read on first use, after its
file's SHA-256 has been checked against the manifest, and validated (keys, dtypes, shapes, unique
ids, references between files); any problem is a :class:`~bench.errors.DataError` naming the file,
field and sample id. Images are checked the same way when they are opened.

Dimension letters: N poses, M pairs, R renders; poses are axis-angle float32 (22, 3), SMPL order.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.data.manifest import COMPONENTS, read_manifest
from bench.hashing import sha256_file
from bench.errors import DataError, NotFoundError

logger = logging.getLogger(__name__)

IMAGE_SIZE = 224
"""Renders and RPE scenes are IMAGE_SIZE x IMAGE_SIZE RGB."""
_FILES = {"poses": "npz", "captions": "jsonl", "pairs": "npz", "instructions": "jsonl", "renders": "npz",
          "render_pairs": "jsonl", "rpe": "jsonl", "spg": "jsonl"}  # fmt: skip


@dataclass(frozen=True)
class PoseSet:
    """Poses of one split."""

    ids: np.ndarray
    """<U (N,) pose ids."""
    poses: np.ndarray
    """float32 (N, 22, 3) axis-angle, heading-normalised."""
    archetype: np.ndarray | None = None
    """<U (N,) activity archetype (synthetic data), else None."""
    sequence: np.ndarray | None = None
    """<U (N,) id of the sequence a pose comes from, when known; poses of one sequence are related."""

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Texts:
    """The descriptions of one item."""

    auto: list[str]
    """Automatic texts."""
    human: list[str]
    """Human-written texts (may be empty)."""


@dataclass(frozen=True)
class PairSet:
    """Pose pairs of one split; the instruction of a pair says how to go from A to B."""

    ids: np.ndarray
    """<U (M,) pair ids."""
    a_ids: np.ndarray
    """<U (M,) pose id of A."""
    b_ids: np.ndarray
    """<U (M,) pose id of B."""
    poses_a: np.ndarray
    """float32 (M, 22, 3), heading-normalised."""
    poses_b: np.ndarray
    """float32 (M, 22, 3); in-sequence pairs keep B's heading relative to A."""
    in_sequence: np.ndarray
    """bool (M,) A and B come from the same sequence."""

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class RenderSet:
    """Single-person renders of one split."""

    ids: np.ndarray
    """<U (R,) render ids."""
    pose_ids: np.ndarray
    """<U (R,) id of the rendered pose."""
    poses_camera: np.ndarray
    """float32 (R, 22, 3): the pose with its root expressed in the camera frame (image2pose target)."""
    camera: np.ndarray
    """float32 (R, k) camera parameters, as documented by the builder in the manifest config."""
    paths: list[Path]
    """Absolute paths of the R images."""
    hashes: tuple[str, ...]
    """Manifest SHA-256 of each image."""

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, i: int) -> np.ndarray:
        """Render ``i`` as uint8 (224, 224, 3), checked against the manifest."""
        return read_image(self.paths[i], self.hashes[i])


@dataclass(frozen=True)
class RenderPair:
    """Two renders of a pose pair (imagediff)."""

    id: str
    pair_id: str
    image_a: Path
    image_b: Path


@dataclass(frozen=True)
class RpeItem:
    """A multi-person scene with a referring question whose answer is one person's pose."""

    id: str
    image: Path
    question: str
    target: int
    """Index into ``boxes`` / ``pose_ids`` of the person meant."""
    boxes: list[list[float]]
    """Per person [x0, y0, x1, y1], pixels."""
    pose_ids: list[str]
    poses_camera: np.ndarray
    """float32 (22, 3): the target's pose, root in the camera frame (the ``poses_camera`` row of
    ``rpe/<split>.npz``)."""


@dataclass(frozen=True)
class SpgItem:
    """An implicit description (``someone who just scored a goal``) of a pose."""

    id: str
    pose_id: str
    description: str
    archetype: str


def read_image(path: Path, expected_sha256: str | None = None) -> np.ndarray:
    """Load a dataset image as uint8 (224, 224, 3); DataError if missing, corrupt or modified."""
    if not path.is_file():
        raise DataError("image file is missing", file=path)
    if expected_sha256 is not None and sha256_file(path) != expected_sha256:
        raise DataError("SHA-256 differs from manifest.json (modified or corrupt)", file=path)
    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"not a readable image ({exc})", file=path) from None
    if array.shape != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise DataError(f"image is {array.shape}, expected ({IMAGE_SIZE}, {IMAGE_SIZE}, 3)", file=path)
    return array


def load_dataset(name_or_path: str | Path, data_dir: Path) -> Dataset:
    """Open a dataset: an existing folder path, or a name under ``data_dir`` (``synth-small``...).

    Raises:
        NotFoundError: no such folder (the message lists the datasets in ``data_dir``).
        DataError: the folder has no valid manifest.
    """
    candidate = Path(name_or_path).expanduser()
    root = candidate if candidate.is_dir() else Path(data_dir) / str(name_or_path)
    if not root.is_dir():
        known = sorted(p.name for p in Path(data_dir).iterdir() if p.is_dir()) if Path(data_dir).is_dir() else []
        raise NotFoundError(f"no dataset {str(name_or_path)!r} in {data_dir} (found: {', '.join(known) or 'none'}); "
                            "build one with `bench data build synth`")  # fmt: skip
    return Dataset(root)


class Dataset:
    """One dataset folder. Components are read on first use and cached."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.manifest: dict[str, Any] = read_manifest(self.root)
        self.name: str = str(self.manifest["name"])
        self.version: str = str(self.manifest["version"])
        self.splits: list[str] = sorted(self.manifest["splits"])
        self._cache: dict[tuple[str, str], Any] = {}

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, version={self.version!r}, root={str(self.root)!r})"

    def split_hash(self, split: str) -> str:
        """The manifest's hash of ``split`` (see ``bench.data.manifest``)."""
        self._check_split(split)
        return str(self.manifest["splits"][split]["hash"])

    def has(self, component: str, split: str) -> bool:
        """Whether the dataset holds ``component`` (one of COMPONENTS) for ``split``."""
        if component not in COMPONENTS:
            raise NotFoundError(f"unknown dataset component {component!r} (known: {', '.join(COMPONENTS)})")
        return self._relpath(component, split) in self.manifest["files"]

    def poses(self, split: str) -> PoseSet:
        return self._cached("poses", split, self._load_poses)

    def captions(self, split: str) -> dict[str, Texts]:
        return self._cached("captions", split, lambda s: self._load_texts("captions", s))

    def pairs(self, split: str) -> PairSet:
        return self._cached("pairs", split, self._load_pairs)

    def instructions(self, split: str) -> dict[str, Texts]:
        return self._cached("instructions", split, lambda s: self._load_texts("instructions", s))

    def renders(self, split: str) -> RenderSet:
        return self._cached("renders", split, self._load_renders)

    def render_pairs(self, split: str) -> list[RenderPair]:
        return self._cached("render_pairs", split, self._load_render_pairs)

    def rpe(self, split: str) -> list[RpeItem]:
        return self._cached("rpe", split, self._load_rpe)

    def spg(self, split: str) -> list[SpgItem]:
        return self._cached("spg", split, self._load_spg)

    def listed_image(self, path: Path) -> np.ndarray:
        """An image of this dataset (e.g. a :class:`RenderPair` side) as uint8 (224, 224, 3),
        checked against its manifest hash.

        Raises:
            DataError: the image is not listed in the manifest, missing, modified or unreadable.
        """
        path = Path(path)
        relpath = path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else None
        if relpath not in self.manifest["files"]:
            raise DataError("image is not listed in manifest.json", file=path)
        return read_image(path, self.manifest["files"][relpath])

    # -- helpers -------------------------------------------------------------------------------

    def _check_split(self, split: str) -> None:
        if split not in self.manifest["splits"]:
            raise NotFoundError(f"dataset {self.name!r} has no split {split!r} (has: {', '.join(self.splits)})")

    @staticmethod
    def _relpath(component: str, split: str) -> str:
        return f"{component}/{split}.{_FILES[component]}"

    def _cached(self, component: str, split: str, loader: Any) -> Any:
        key = (component, split)
        if key not in self._cache:
            self._check_split(split)
            if not self.has(component, split):
                raise NotFoundError(f"dataset {self.name!r} has no {component} for split {split!r}")
            self._cache[key] = loader(split)
        return self._cache[key]

    def _checked_path(self, relpath: str) -> Path:
        path = self.root / relpath
        if not path.is_file():
            raise DataError("file listed in manifest.json is missing", file=path)
        if sha256_file(path) != self.manifest["files"][relpath]:
            raise DataError("SHA-256 differs from manifest.json (modified or corrupt); run `bench data verify`", file=path)
        return path

    def _npz(self, component: str, split: str, spec: dict[str, tuple[str, tuple[int, ...] | None]]) -> dict[str, np.ndarray]:
        """Load an npz and check ``key -> (dtype kind, trailing shape)``; every array has the same length."""
        path = self._checked_path(self._relpath(component, split))
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"not a readable npz ({exc})", file=path) from None
        length = None
        for key, (kind, trailing) in spec.items():
            if key not in arrays:
                if kind.endswith("?"):
                    continue
                raise DataError("missing array", file=path, field=key)
            array = arrays[key]
            if array.dtype.kind != kind.rstrip("?") or (trailing is not None and array.shape[1:] != trailing):
                raise DataError(f"expected dtype kind {kind.rstrip('?')!r} and shape (n, *{trailing}), "
                                f"got {array.dtype} {array.shape}", file=path, field=key)  # fmt: skip
            if length is not None and len(array) != length:
                raise DataError(f"has {len(array)} rows, expected {length}", file=path, field=key)
            length = len(array)
        _check_unique(arrays["ids"], path)
        for key, (kind, _) in spec.items():
            if kind.startswith("f") and key in arrays:
                bad = ~np.isfinite(arrays[key]).reshape(len(arrays[key]), -1).all(axis=1)
                if bad.any():
                    raise DataError("non-finite values", file=path, field=key, sample_id=str(arrays["ids"][bad][0]))
        return arrays

    def _jsonl(self, component: str, split: str, required: dict[str, type | tuple[type, ...]]) -> list[dict[str, Any]]:
        path = self._checked_path(self._relpath(component, split))
        rows = []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DataError(f"not UTF-8 ({exc})", file=path) from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"line {number}: not valid JSON ({exc.msg})", file=path) from None
            if not isinstance(row, dict):
                raise DataError(f"line {number}: expected a JSON object", file=path)
            for key, types in required.items():
                value = row.get(key)
                if not isinstance(value, types) or isinstance(value, bool):
                    raise DataError(f"line {number}: missing or wrong type", file=path, field=key, sample_id=row.get("id"))
            rows.append(row)
        _check_unique(np.array([row["id"] for row in rows], dtype=str), path)
        return rows

    def _image_path(self, relpath: str, source: Path, sample_id: str) -> Path:
        if relpath not in self.manifest["files"]:
            raise DataError(f"image {relpath!r} is not listed in manifest.json", file=source, sample_id=sample_id)
        return self.root / relpath

    def _load_poses(self, split: str) -> PoseSet:
        arrays = self._npz("poses", split, {"ids": ("U", ()), "poses": ("f", (22, 3)), "archetype": ("U?", ()),
                                            "sequence": ("U?", ())})  # fmt: skip
        return PoseSet(arrays["ids"], arrays["poses"].astype(np.float32), arrays.get("archetype"), arrays.get("sequence"))

    def _load_texts(self, component: str, split: str) -> dict[str, Texts]:
        rows = self._jsonl(component, split, {"id": str, "auto": list, "human": list})
        path = self.root / self._relpath(component, split)
        texts = {}
        for row in rows:
            for field in ("auto", "human"):
                if not all(isinstance(t, str) for t in row[field]):
                    raise DataError("texts must be strings", file=path, field=field, sample_id=row["id"])
            texts[row["id"]] = Texts(auto=list(row["auto"]), human=list(row["human"]))
        return texts

    def _load_pairs(self, split: str) -> PairSet:
        arrays = self._npz("pairs", split, {"ids": ("U", ()), "a_ids": ("U", ()), "b_ids": ("U", ()),
                                            "poses_a": ("f", (22, 3)), "poses_b": ("f", (22, 3)),
                                            "in_sequence": ("b", ())})  # fmt: skip
        return PairSet(arrays["ids"], arrays["a_ids"], arrays["b_ids"], arrays["poses_a"].astype(np.float32),
                       arrays["poses_b"].astype(np.float32), arrays["in_sequence"])  # fmt: skip

    def _load_renders(self, split: str) -> RenderSet:
        arrays = self._npz("renders", split, {"ids": ("U", ()), "pose_ids": ("U", ()), "poses_camera": ("f", (22, 3)),
                                              "camera": ("f", None)})  # fmt: skip
        source = self.root / self._relpath("renders", split)
        paths = [self._image_path(f"renders/{split}/{rid}.png", source, str(rid)) for rid in arrays["ids"]]
        hashes = tuple(self.manifest["files"][p.relative_to(self.root).as_posix()] for p in paths)
        return RenderSet(arrays["ids"], arrays["pose_ids"], arrays["poses_camera"].astype(np.float32),
                         arrays["camera"].astype(np.float32), paths, hashes)  # fmt: skip

    def _load_render_pairs(self, split: str) -> list[RenderPair]:
        rows = self._jsonl("render_pairs", split, {"id": str, "pair_id": str, "image_a": str, "image_b": str})
        source = self.root / self._relpath("render_pairs", split)
        return [RenderPair(r["id"], r["pair_id"], self._image_path(r["image_a"], source, r["id"]),
                           self._image_path(r["image_b"], source, r["id"])) for r in rows]  # fmt: skip

    def _load_rpe(self, split: str) -> list[RpeItem]:
        rows = self._jsonl("rpe", split, {"id": str, "image": str, "question": str, "target": int, "boxes": list,
                                          "pose_ids": list})  # fmt: skip
        source = self.root / self._relpath("rpe", split)
        npz_rel = f"rpe/{split}.npz"
        if npz_rel not in self.manifest["files"]:
            raise DataError("the rpe jsonl has no companion npz in manifest.json", file=self.root / npz_rel)
        path = self._checked_path(npz_rel)
        try:
            with np.load(path, allow_pickle=False) as npz:
                ids, poses = npz["ids"], npz["poses_camera"]
        except (ValueError, OSError, KeyError, EOFError) as exc:
            raise DataError(f"not a readable rpe npz with ids and poses_camera ({exc})", file=path) from None
        if poses.shape != (len(ids), 22, 3):
            raise DataError(f"expected ({len(ids)}, 22, 3), got {poses.shape}", file=path, field="poses_camera")
        index = {str(i): k for k, i in enumerate(ids)}
        items = []
        for r in rows:
            if r["id"] not in index:
                raise DataError("scene has no target pose in the npz", file=path, sample_id=r["id"])
            if not 0 <= r["target"] < len(r["boxes"]) or len(r["boxes"]) != len(r["pose_ids"]):
                raise DataError("target is not an index into boxes / pose_ids", file=source, field="target", sample_id=r["id"])
            items.append(RpeItem(r["id"], self._image_path(r["image"], source, r["id"]), r["question"], r["target"],
                                 r["boxes"], [str(p) for p in r["pose_ids"]], poses[index[r["id"]]].astype(np.float32)))  # fmt: skip
        return items

    def _load_spg(self, split: str) -> list[SpgItem]:
        rows = self._jsonl("spg", split, {"id": str, "pose_id": str, "description": str, "archetype": str})
        return [SpgItem(r["id"], r["pose_id"], r["description"], r["archetype"]) for r in rows]


def _check_unique(ids: np.ndarray, path: Path) -> None:
    values, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise DataError("duplicate id", file=path, field="ids", sample_id=str(values[counts > 1][0]))
