"""Dataset manifests: file hashing, split hashes, atomic writes and ``verify_dataset``.

A dataset folder (schema version 1, ``docs/architecture.md`` §3) holds ``manifest.json`` listing
every other file with its SHA-256. A file belongs to split ``s`` when its path is
``<component>/<s>.<ext>`` or lies under ``<component>/<s>/``. The *split hash* is the SHA-256 of
the lines ``"<relpath>\\t<sha256>\\n"`` of that split's files, sorted by relpath (POSIX separators):
it changes when any file of the split changes, is added or removed, and nothing else.

Writers here are atomic (write a temporary sibling, then ``os.replace``), and the manifest is
written last, so a folder without ``manifest.json`` is an interrupted build, never a dataset.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from bench.errors import DataError
from bench.hashing import sha256_bytes, sha256_file

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
COMPONENTS = ("poses", "captions", "pairs", "instructions", "renders", "render_pairs", "rpe", "spg")
"""Dataset components, in the order of the schema."""
_REQUIRED_KEYS = ("schema_version", "name", "version", "variant", "description", "config", "files", "splits")


def file_split(relpath: str) -> str | None:
    """The split a dataset file belongs to (``poses/test.npz`` -> ``test``), None for other files."""
    parts = PurePosixPath(relpath).parts
    if len(parts) == 2 and parts[0] in COMPONENTS:
        return PurePosixPath(parts[1]).stem
    if len(parts) > 2 and parts[0] in COMPONENTS:
        return parts[1]
    return None


def split_hash(files: Mapping[str, str], split: str) -> str:
    """SHA-256 over the sorted ``(relpath, sha256)`` of the files of ``split`` (see module docstring)."""
    lines = "".join(f"{rel}\t{sha}\n" for rel, sha in sorted(files.items()) if file_split(rel) == split)
    return sha256_bytes(lines.encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary sibling and a rename."""
    _atomic_write(Path(path), data)


def write_npz_atomic(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Save arrays as an uncompressed ``.npz`` whose bytes depend only on the arrays (fixed zip times)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.ascontiguousarray(value) for key, value in arrays.items()})
    _atomic_write(Path(path), buffer.getvalue())


def write_jsonl_atomic(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object per line, keys in the given order, UTF-8, ``\\n`` line ends."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    _atomic_write(Path(path), text.encode("utf-8"))


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Indented JSON with a trailing newline."""
    _atomic_write(Path(path), (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def dataset_files(root: Path) -> list[str]:
    """Relpaths (POSIX) of every regular file under ``root`` except the manifest and hidden temp files."""
    root = Path(root)
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel != MANIFEST and not any(part.startswith(".") for part in PurePosixPath(rel).parts):
            found.append(rel)
    return sorted(found)


def write_manifest(
    root: Path,
    *,
    name: str,
    version: str,
    variant: str,
    description: str,
    config: Mapping[str, Any],
    counts: Mapping[str, Mapping[str, int]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Hash every file under ``root`` and write ``manifest.json`` (last, atomically).

    Args:
        counts: split -> component -> number of items, stored under ``splits[split]["counts"]``.
        extra: more top-level keys (e.g. the build's rejection statistics).

    Returns:
        The manifest written.
    """
    root = Path(root)
    files = {rel: sha256_file(root / rel) for rel in dataset_files(root)}
    splits = sorted({file_split(rel) for rel in files} - {None} | set(counts))
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "variant": variant,
        "description": description,
        "config": dict(config),
        "files": files,
        "splits": {s: {"hash": split_hash(files, s), "counts": dict(counts.get(s, {}))} for s in splits},
    }
    manifest.update(extra or {})
    write_json_atomic(root / MANIFEST, manifest)
    return manifest


def read_manifest(root: Path) -> dict[str, Any]:
    """Load and check ``root/manifest.json``; DataError naming the file when missing or malformed."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        hint = " (an interrupted build? rebuild it)" if Path(root).is_dir() else ""
        raise DataError(f"no {MANIFEST}{hint}", file=path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", file=path) from None
    if not isinstance(manifest, dict):
        raise DataError("expected a JSON object", file=path)
    for key in _REQUIRED_KEYS:
        if key not in manifest:
            raise DataError("missing key", file=path, field=key)
    if manifest["schema_version"] != SCHEMA_VERSION:
        raise DataError(f"schema version {manifest['schema_version']!r}, this PoseBench reads {SCHEMA_VERSION}",
                        file=path, field="schema_version")  # fmt: skip
    if not isinstance(manifest["files"], dict) or not isinstance(manifest["splits"], dict):
        raise DataError("'files' and 'splits' must be objects", file=path)
    return manifest


def verify_dataset(root: Path) -> list[str]:
    """Re-hash every file of a dataset against its manifest.

    Returns:
        One-line problems, files in sorted order (missing, modified, unlisted files, stale split
        hashes); empty when the dataset is intact. A missing or malformed manifest is one problem.
    """
    root = Path(root)
    try:
        manifest = read_manifest(root)
    except DataError as exc:
        return [str(exc)]
    listed: dict[str, str] = manifest["files"]
    problems = []
    present = set(dataset_files(root))
    for rel in sorted(set(listed) | present):
        path = root / rel
        if rel not in present:
            problems.append(f"{path}: listed in {MANIFEST} but missing")
        elif rel not in listed:
            problems.append(f"{path}: not listed in {MANIFEST}")
        elif sha256_file(path) != listed[rel]:
            problems.append(f"{path}: SHA-256 differs from {MANIFEST} (modified or corrupt)")
    for split, info in sorted(manifest["splits"].items()):
        if isinstance(info, dict) and info.get("hash") != split_hash(listed, split):
            problems.append(f"{root / MANIFEST}: split {split!r}: hash does not match its files")
    return problems
