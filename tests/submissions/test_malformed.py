"""Malformed bundles: each defect is rejected by `bench score` and `bench validate` with exit code 2
and a specific one-line message, and the results store is left byte-for-byte unchanged."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import submissions.validate as validate_module
from bench.store import ResultsStore
from submissions.limits import DEFAULT_LIMITS, BundleLimits
from tasks import get_task
from tests.cli_helpers import run_bench
from tests.store.runs import make_run
from tests.submissions.bundles import jsonl_text, meta_for, write_bundle, zip_bundle

Base = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Defect:
    name: str
    make: Callable[[Path, Base], Path]
    """Writes the defective bundle under the given folder and returns its path."""
    expect: tuple[str, ...]
    """Fragments the one-line error must contain (file, field, sample id, reason)."""
    limits: BundleLimits | None = None


# ----- builders ------------------------------------------------------------------------------------


def valid(tmp: Path, base: Base, **kwargs: Any) -> Path:
    return write_bundle(tmp / "bundle", base, **kwargs)


def edit_lines(task: str, edit: Callable[[list[str]], list[str]]) -> Callable[[Path, Base], Path]:
    def make(tmp: Path, base: Base) -> Path:
        root = valid(tmp, base)
        path = root / f"{task}.jsonl"
        path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
        return root

    return make


def set_line(task: str, index: int, line: str) -> Callable[[Path, Base], Path]:
    return edit_lines(task, lambda lines: lines[:index] + [line] + lines[index + 1 :])


def first_id(base: Base, task: str, index: int = 0) -> str:
    return list(base[task])[index]


def pose_line(base: Base, first_value: str, rows: int = 22, row_len: int = 3) -> str:
    sample_id = first_id(base, "text2pose")
    row = ", ".join(["0.0"] * row_len)
    pose = ", ".join([f"[{first_value}, 0.0, 0.0]"] + [f"[{row}]"] * (rows - 1))
    return f'{{"id": {json.dumps(sample_id)}, "pose": [{pose}]}}'


def pose_line_for(value: str) -> Callable[[Path, Base], Path]:
    return lambda tmp, base: set_line("text2pose", 0, pose_line(base, value))(tmp, base)


def text_line(text: Any, index: int = 0) -> Callable[[Path, Base], Path]:
    def make(tmp: Path, base: Base) -> Path:
        line = json.dumps({"id": first_id(base, "pose2text", index), "text": text})
        return set_line("pose2text", index, line)(tmp, base)

    return make


def with_meta(**changes: Any) -> Callable[[Path, Base], Path]:
    def make(tmp: Path, base: Base) -> Path:
        meta = meta_for(list(base))
        for key, value in changes.items():
            if value is DELETE:
                del meta[key]
            else:
                meta[key] = value
        return valid(tmp, base, meta=meta)

    return make


DELETE = object()
VERSIONS = {task: get_task(task).spec.version for task in ("pose2text", "text2pose")}
"""The current versions of the bundle's tasks (a defect changes one thing only)."""


def write_file(name: str, content: bytes | Callable[[Base], bytes]) -> Callable[[Path, Base], Path]:
    def make(tmp: Path, base: Base) -> Path:
        root = valid(tmp, base)
        (root / name).write_bytes(content(base) if callable(content) else content)
        return root

    return make


def replace_file(old: str, name: str, content: Callable[[Path, Base], None]) -> Callable[[Path, Base], Path]:
    def make(tmp: Path, base: Base) -> Path:
        root = valid(tmp, base)
        (root / old).unlink()
        content(root / name, base)
        return root

    return make


def npz_file(**arrays: Callable[[Base], np.ndarray]) -> Callable[[Path, Base], None]:
    def write(path: Path, base: Base) -> None:
        with open(path, "wb") as handle:
            np.savez(handle, **{k: f(base) for k, f in arrays.items()})

    return write


def ids_of(base: Base) -> np.ndarray:
    return np.array(list(base["text2pose"]), dtype=str)


def poses_of(base: Base) -> np.ndarray:
    return np.stack(list(base["text2pose"].values())).astype(np.float32)


def zipped(members: Callable[[Path, Base], list[tuple[zipfile.ZipInfo | str, bytes]]]) -> Callable[[Path, Base], Path]:
    def make(tmp: Path, base: Base) -> Path:
        root = valid(tmp, base)
        out = tmp / "bundle.zip"
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.iterdir()):
                archive.write(path, path.name)
            for info, data in members(root, base):
                archive.writestr(info, data)
        return out

    return make


def symlink_info() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("link.jsonl")
    info.external_attr = (0o120777 << 16)
    return info


def zip_of_valid(tmp: Path, base: Base) -> Path:
    return zip_bundle(valid(tmp, base), tmp / "bundle.zip")


def _unlink(root: Path, name: str) -> Path:
    (root / name).unlink()
    return root


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _prefix(path: Path, data: bytes) -> Path:
    path.write_bytes(data + path.read_bytes())
    return path.parent


def _dir_for(root: Path, name: str) -> Path:
    (root / name).unlink()
    (root / name).mkdir()
    return root


def _with_nan(poses: np.ndarray) -> np.ndarray:
    poses[3, 4, 1] = np.nan
    return poses


def _non_utf8(tmp: Path, base: Base) -> Path:
    root = valid(tmp, base)
    path = root / "pose2text.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"text": "', b'"text": "\xff', 1)
    path.write_bytes(b"\n".join(lines))
    return root


# ----- the defects ---------------------------------------------------------------------------------

DEFECTS = [
    Defect("truncated_json", edit_lines("pose2text", lambda ls: ls[:-1] + [ls[-1][: len(ls[-1]) // 2]]),
           ("pose2text.jsonl", "not valid JSON")),
    Defect("nan_literal_in_pose", pose_line_for("NaN"),
           ("text2pose.jsonl", "field 'line 1: pose'", "row 0: NaN is not valid JSON (non-finite numbers are invalid)")),
    Defect("infinity_literal_in_pose", pose_line_for("-Infinity"), ("text2pose.jsonl", "-Infinity is not valid JSON")),
    Defect("pose_value_beyond_float32", pose_line_for("1e39"), ("text2pose.jsonl", "line 1: pose", "non-finite value")),
    Defect("pose_with_21_rows", lambda t, b: set_line("text2pose", 0, pose_line(b, "0.0", rows=21))(t, b),
           ("text2pose.jsonl", "expected 22 rows of 3 numbers, got 21 rows")),
    Defect("pose_row_with_2_values", lambda t, b: set_line("text2pose", 0, pose_line(b, "0.0", row_len=2))(t, b),
           ("row 1: expected 3 numbers, got 2 values",)),
    Defect("pose_value_is_string", pose_line_for('"0.1"'), ("row 0: values must be numbers",)),
    Defect("missing_id", edit_lines("pose2text", lambda ls: ls[:4] + ls[5:]),
           ("pose2text.jsonl", "field 'id'", "1 of", "expected ids missing")),
    Defect("duplicate_id", edit_lines("pose2text", lambda ls: ls + [ls[0]]), ("duplicate id (first on line 1)",)),
    Defect("extra_id", edit_lines("pose2text", lambda ls: ls + ['{"id": "not-a-sample", "text": "x"}']),
           ("sample 'not-a-sample'", "1 ids not in the task's split")),
    Defect("unknown_task", replace_file("pose2text.jsonl", "pose2txt.jsonl",
                                        lambda p, b: p.write_text(jsonl_text("pose2text", b["pose2text"]))),
           ("pose2txt.jsonl", "unknown task 'pose2txt'; did you mean 'pose2text'?")),
    Defect("wrong_task_version", with_meta(task_versions={**VERSIONS, "pose2text": "0.9"}),
           ("field 'task_versions.pose2text'", "predictions made for version 0.9")),
    Defect("missing_meta", lambda t, b: _unlink(valid(t, b), "meta.json"), ("missing meta.json",)),
    Defect("meta_field_wrong_type", with_meta(parameter_count="7B"),
           ("meta.json", "field 'parameter_count'", "expected a non-negative integer or null, got str")),
    Defect("meta_missing_field", with_meta(licence=DELETE), ("field 'licence'", "missing required field")),
    Defect("meta_unknown_field", with_meta(licence=DELETE, license="MIT"),
           ("field 'license'", "unknown field; did you mean 'licence'?")),
    Defect("meta_not_json", write_file("meta.json", b"{not json"), ("meta.json", "not valid JSON")),
    Defect("meta_not_object", write_file("meta.json", b"[1, 2]"), ("meta.json", "must be a JSON object, got list")),
    Defect("meta_bench_version_newer", with_meta(bench_version="99.0.0"),
           ("field 'bench_version'", "newer than this bench")),
    Defect("meta_extra_task_version", with_meta(task_versions={**VERSIONS, "spg": get_task("spg").spec.version}),
           ("field 'task_versions.spg'", "no predictions file for it")),
    Defect("zip_entry_with_dotdot", zipped(lambda r, b: [("../evil.jsonl", b"{}")]),
           ("bundle.zip:../evil.jsonl", "'..'")),
    Defect("zip_absolute_path", zipped(lambda r, b: [("/etc/meta.json", b"{}")]), ("absolute member path",)),
    Defect("zip_symlink_member", zipped(lambda r, b: [(symlink_info(), b"/etc/passwd")]),
           ("link.jsonl", "symlink member")),
    Defect("zip_oversized_member", zip_of_valid, ("exceeds the per-file cap of 20000 bytes",),
           limits=replace(DEFAULT_LIMITS, max_file_bytes=20_000)),
    Defect("zip_bomb_ratio", zipped(lambda r, b: [("padding.jsonl", b" " * (9 << 20))]),
           ("padding.jsonl", "compression ratio", "zip bomb guard")),
    Defect("zip_too_many_members", zipped(lambda r, b: [(f"x{i}.txt", b"") for i in range(70)]),
           ("zip members; a bundle holds at most 64",)),
    Defect("zip_nested_path", zipped(lambda r, b: [("sub/dir.jsonl", b"")]), ("sub/dir.jsonl", "nested member path")),
    Defect("not_a_zip", lambda t, b: _write(t / "bundle.zip", b"PK garbage, not an archive"),
           ("not a valid zip archive",)),
    Defect("not_a_bundle_suffix", lambda t, b: _write(t / "bundle.tar", b"x"),
           ("a directory or a file ending in .zip",)),
    Defect("bundle_not_found", lambda t, b: t / "nowhere", ("bundle not found",)),
    Defect("pickled_npz", replace_file("text2pose.jsonl", "text2pose.npz",
                                       lambda p, b: p.write_bytes(pickle.dumps({"ids": [1]}))),
           ("text2pose.npz", "not an .npz (zip) archive; pickles and raw .npy files are refused")),
    Defect("object_dtype_npz", replace_file("text2pose.jsonl", "text2pose.npz",
                                            npz_file(ids=lambda b: ids_of(b).astype(object), poses=poses_of)),
           ("text2pose.npz", "field 'ids'", "object dtype (pickled objects are refused)")),
    Defect("npz_missing_ids", replace_file("text2pose.jsonl", "text2pose.npz", npz_file(poses=poses_of)),
           ("field 'ids'", "missing array 'ids'")),
    Defect("npz_length_mismatch", replace_file("text2pose.jsonl", "text2pose.npz",
                                               npz_file(ids=lambda b: ids_of(b)[:-1], poses=poses_of)),
           ("field 'poses'", "entries but poses has")),
    Defect("npz_integer_ids", replace_file("text2pose.jsonl", "text2pose.npz",
                                           npz_file(ids=lambda b: np.arange(len(b["text2pose"])), poses=poses_of)),
           ("field 'ids'", "expected a 1-D unicode string array (<U)")),
    Defect("npz_wrong_pose_shape", replace_file("text2pose.jsonl", "text2pose.npz",
                                                npz_file(ids=ids_of, poses=lambda b: np.zeros((3, 24, 3)))),
           ("field 'poses'", "expected a float array of shape (N, 22, 3)")),
    Defect("npz_extra_array", replace_file("text2pose.jsonl", "text2pose.npz",
                                           npz_file(ids=ids_of, poses=poses_of, extra=lambda b: np.zeros(3))),
           ("field 'extra'", "unexpected array")),
    Defect("npz_nan_pose", replace_file("text2pose.jsonl", "text2pose.npz",
                                        npz_file(ids=ids_of, poses=lambda b: _with_nan(poses_of(b)))),
           ("text2pose.npz", "field 'poses'", "non-finite value")),
    Defect("npz_duplicate_ids", replace_file("text2pose.jsonl", "text2pose.npz",
                                             npz_file(ids=lambda b: np.repeat(ids_of(b)[:1], len(ids_of(b))),
                                                      poses=poses_of)),
           ("field 'ids'", "duplicate id")),
    Defect("text_task_as_npz", replace_file("pose2text.jsonl", "pose2text.npz", npz_file(ids=ids_of, poses=poses_of)),
           ("pose2text.npz", "task pose2text predicts text")),
    Defect("both_jsonl_and_npz", write_file("text2pose.npz", lambda b: b""),
           ("both text2pose.jsonl and text2pose.npz",)),
    Defect("non_utf8_text", _non_utf8, ("not valid UTF-8", "line 3")),
    Defect("utf8_bom", lambda t, b: _prefix(valid(t, b) / "pose2text.jsonl", b"\xef\xbb\xbf"), ("byte-order mark",)),
    Defect("garbage_line", set_line("pose2text", 1, "hello world"), ("field 'line 2'", "not valid JSON")),
    Defect("newline_inside_caption", text_line("a man\nstands"), ("line 1: text", "newline inside the text")),
    Defect("control_char_in_caption", text_line("bell \x07 ring"), ("control character '\\x07'",)),
    Defect("caption_too_long", text_line("word " * 1000), ("text longer than 4000 characters",)),
    Defect("empty_caption", text_line("   "), ("line 1: text", "empty text")),
    Defect("non_string_text", text_line(42), ("expected a string, got int",)),
    Defect("integer_id", set_line("pose2text", 0, '{"id": 7, "text": "a pose"}'),
           ("'id' must be a non-empty string", "got int")),
    Defect("extra_key_in_line", set_line("pose2text", 0, '{"id": "x", "text": "t", "score": 1}'),
           ("expected keys 'id' and 'text' only", "unexpected ['score']")),
    Defect("duplicate_key_in_line", set_line("pose2text", 0, '{"id": "x", "id": "y", "text": "t"}'),
           ("duplicate key 'id'",)),
    Defect("line_is_array", set_line("pose2text", 0, '["id", "text"]'), ("expected a JSON object, got list",)),
    Defect("blank_line_inside", edit_lines("pose2text", lambda ls: ls[:2] + [""] + ls[2:]),
           ("field 'line 3'", "empty line")),
    Defect("empty_predictions_file", write_file("pose2text.jsonl", b""), ("pose2text.jsonl", "empty file")),
    Defect("directory_instead_of_file", lambda t, b: _dir_for(valid(t, b), "pose2text.jsonl"),
           ("pose2text.jsonl", "a directory where a bundle file is expected")),
    Defect("unexpected_file", write_file("README.md", b"hello"), ("README.md", "unexpected file")),
    Defect("no_predictions_file", lambda t, b: write_bundle(t / "bundle", {}, meta=meta_for([])),
           ("no predictions file",)),
]  # fmt: skip


# ----- the test ------------------------------------------------------------------------------------


def store_checksum(home: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(home.glob("results.sqlite*")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def filled_store(bench_home: Path) -> Path:
    with ResultsStore(bench_home / "results.sqlite") as store:
        store.add_run(make_run("already-there"))
    return bench_home


def test_there_are_many_distinct_defects() -> None:
    assert len(DEFECTS) >= 30 and len({d.name for d in DEFECTS}) == len(DEFECTS)


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_malformed_bundle_is_rejected(defect: Defect, tmp_path: Path, base_predictions: Base, synth_small: Path,
                                      filled_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if defect.limits is not None:
        monkeypatch.setattr(validate_module, "DEFAULT_LIMITS", defect.limits)
    bundle = defect.make(tmp_path, base_predictions)
    before = store_checksum(filled_store)

    scored = run_bench("-q", "score", str(bundle), "--data", str(synth_small))
    errors = [line for line in scored.stderr.splitlines() if line.startswith("error: ")]
    assert scored.exit_code == 2, scored.stderr
    assert len(errors) == 1 and scored.stdout == ""
    for fragment in defect.expect:
        assert fragment in errors[0], errors[0]
    assert store_checksum(filled_store) == before

    checked = run_bench("-q", "validate", str(bundle), "--data", str(synth_small))
    assert checked.exit_code == 2
    assert checked.stdout.startswith("problem: ") and all(f in checked.stdout.splitlines()[0] for f in defect.expect)
    assert store_checksum(filled_store) == before
