"""Reading the JSON files of the PoseScript / PoseFix releases, with one-line errors.

The releases are plain JSON (no pickles). Every reader here names the file, the field and the sample
id of the first problem it finds, raising :class:`~bench.errors.NotFoundError` for a missing file and
:class:`~bench.errors.DataError` for anything malformed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.errors import DataError, NotFoundError

logger = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "val", "test")
"""PoseBench split names, in writing order."""


def find_file(folder: Path, candidates: Sequence[str], *, what: str) -> Path:
    """The first of ``candidates`` (file names, newest release naming first) present in ``folder``.

    Raises NotFoundError naming the folder and every accepted name when none exists.
    """
    if not folder.is_dir():
        raise NotFoundError("release folder does not exist", file=folder)
    for name in candidates:
        path = folder / name
        if path.is_file():
            return path
    raise NotFoundError(f"no {what} file; expected one of {list(candidates)}", file=folder)


def read_json(path: Path) -> Any:
    """Parse one JSON file; NotFoundError when missing, DataError when it is not valid UTF-8 JSON."""
    if not path.is_file():
        raise NotFoundError("file does not exist", file=path)
    try:
        with path.open("r", encoding="utf-8") as handle:
            return json.load(handle, object_pairs_hook=_unique_keys(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid JSON ({exc})", file=path) from None


def _unique_keys(path: Path) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """A ``json`` object hook that rejects a key written twice (``json`` would keep the last silently)."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise DataError("duplicate key in a JSON object", file=path, sample_id=key)
            result[key] = value
        return result

    return hook


def parse_int_id(value: Any, *, file: Path, field: str) -> str:
    """A release id (int, or a string of digits) as its canonical decimal string, e.g. ``7 -> "7"``."""
    if isinstance(value, bool):
        raise DataError(f"expected an integer id, got {value!r}", file=file, field=field)
    if isinstance(value, int):
        if value < 0:
            raise DataError(f"negative id {value}", file=file, field=field, sample_id=value)
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return str(int(value.strip()))
    raise DataError(f"expected an integer id, got {value!r}", file=file, field=field)


def read_id_list(path: Path, *, field: str) -> list[str]:
    """A JSON list of integer ids (a split file) as canonical strings; duplicates are a DataError."""
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(f"expected a JSON list of ids, got {type(data).__name__}", file=path, field=field)
    ids = [parse_int_id(value, file=path, field=field) for value in data]
    reject_duplicates(ids, file=path, field=field)
    return ids


def reject_duplicates(ids: Iterable[str], *, file: Path, field: str) -> None:
    """DataError naming the first id that occurs twice."""
    seen: set[str] = set()
    for sample_id in ids:
        if sample_id in seen:
            raise DataError("duplicate id", file=file, field=field, sample_id=sample_id)
        seen.add(sample_id)


def read_text_map(path: Path, *, field: str) -> dict[str, list[str]]:
    """``{id: text}`` or ``{id: [texts]}`` (both occur in the releases) as ``{id: [texts]}``.

    Ids are canonicalised with :func:`parse_int_id`; whitespace runs (newlines included) become one
    space; blank texts are dropped, and an item left without any text is dropped too. A non-string
    text is a DataError naming the id.
    """
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"expected a JSON object {{id: text}}, got {type(data).__name__}", file=path, field=field)
    texts: dict[str, list[str]] = {}
    for key, value in data.items():
        sample_id = parse_int_id(key, file=path, field=field)
        if sample_id in texts:
            raise DataError("duplicate id", file=path, field=field, sample_id=sample_id)
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(text, str) for text in values):
            raise DataError("expected a string or a list of strings", file=path, field=field, sample_id=sample_id)
        kept = [" ".join(text.split()) for text in values if text.strip()]
        if kept:
            texts[sample_id] = kept
    return texts


def check_known_ids(texts: dict[str, Any], known: Iterable[str] | dict[str, Any], *, file: Path, field: str,
                    known_name: str = "the release's id map") -> None:
    """DataError naming the first id of ``texts`` that is not in ``known`` (described as ``known_name``)."""
    known_set = known if isinstance(known, dict) else set(known)
    for sample_id in texts:
        if sample_id not in known_set:
            raise DataError(f"id is not in {known_name}", file=file, field=field, sample_id=sample_id)


def merge_texts(*sources: dict[str, list[str]]) -> dict[str, list[str]]:
    """Concatenate the text lists of several ``{id: [texts]}`` maps, in argument order."""
    merged: dict[str, list[str]] = {}
    for source in sources:
        for sample_id, texts in source.items():
            merged.setdefault(sample_id, []).extend(texts)
    return merged
