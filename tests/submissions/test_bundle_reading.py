"""Reading valid bundles and the validation report: zips with a wrapping folder, corrupt members,
symlinks, several problems at once, the problem cap, and the bundle writer."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.errors import UserError, ValidationError
from submissions import DEFAULT_LIMITS, check_bundle, validate_bundle, write_bundle as library_write_bundle
from submissions.source import open_bundle
from tests.submissions.bundles import meta_for, write_bundle, zip_bundle


def opener(dataset: Any) -> Any:
    return lambda name: dataset


def test_valid_directory_and_zip_bundles(tmp_path: Path, base_predictions: dict[str, Any], synth_dataset: Any) -> None:
    directory = write_bundle(tmp_path / "b", base_predictions, pose_format="npz")
    zips = (zip_bundle(directory, tmp_path / "b.zip"), zip_bundle(directory, tmp_path / "w.zip", prefix="wrap/"))
    for path in (directory, *zips):
        bundle = validate_bundle(path, opener(synth_dataset))
        assert bundle.files == {"pose2text": "pose2text.jsonl", "text2pose": "text2pose.npz"}
        assert list(bundle.predictions["text2pose"]) == list(base_predictions["text2pose"])
        first = next(iter(base_predictions["text2pose"]))
        assert np.array_equal(bundle.predictions["text2pose"][first], base_predictions["text2pose"][first])
        assert bundle.meta.model_name == "test-model" and bundle.limit is None


def test_corrupt_zip_member(tmp_path: Path, base_predictions: dict[str, Any], synth_dataset: Any) -> None:
    archive = zip_bundle(write_bundle(tmp_path / "b", base_predictions), tmp_path / "b.zip")
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("pose2text.jsonl")
    start = info.header_offset + 30 + len(info.filename) + 200
    data[start : start + 16] = bytes(16)
    archive.write_bytes(bytes(data))
    with pytest.raises(ValidationError, match=r"b\.zip:pose2text\.jsonl: corrupt zip member"):
        validate_bundle(archive, opener(synth_dataset))


def test_symlink_in_directory_bundle(tmp_path: Path, base_predictions: dict[str, Any]) -> None:
    root = write_bundle(tmp_path / "b", base_predictions)
    (root / "extra.jsonl").symlink_to(root / "pose2text.jsonl")
    with pytest.raises(ValidationError, match="symlinks are not allowed"):
        open_bundle(root, DEFAULT_LIMITS)


def test_several_problems_are_reported(tmp_path: Path, base_predictions: dict[str, Any], synth_dataset: Any) -> None:
    root = write_bundle(tmp_path / "b", base_predictions)
    lines = (root / "pose2text.jsonl").read_text().splitlines()
    lines[1] = "{broken"
    lines[3] = json.dumps({"id": json.loads(lines[3])["id"], "text": 5})
    (root / "pose2text.jsonl").write_text("\n".join(lines) + "\n")
    (root / "text2pose.jsonl").write_text("")
    report, bundle = check_bundle(root, opener(synth_dataset))
    assert bundle is None and [p.field for p in report.problems] == ["line 2", "line 4: text", None]
    assert report.problems[1].sample_id == json.loads(lines[3])["id"]
    with pytest.raises(ValidationError, match=r"line 2.*not valid JSON.*\(and 2 more problems\)"):
        report.raise_if_invalid()
    assert report.to_dict()["valid"] is False


def test_problem_cap(tmp_path: Path, base_predictions: dict[str, Any], synth_dataset: Any) -> None:
    root = write_bundle(tmp_path / "b", base_predictions)
    (root / "pose2text.jsonl").write_text("x\n" * 50)
    (root / "text2pose.jsonl").write_text("y\n" * 50)
    report, _ = check_bundle(root, opener(synth_dataset), limits=replace(DEFAULT_LIMITS, max_problems=7))
    assert len(report.problems) == 7 and report.truncated  # one cap for the whole bundle, files in name order
    assert [p.field for p in report.problems] == [f"line {n}" for n in range(1, 8)]
    assert {p.file.rsplit("/", 1)[-1] for p in report.problems} == {"pose2text.jsonl"}


def test_limit_expects_a_prefix(tmp_path: Path, base_predictions: dict[str, Any], synth_dataset: Any) -> None:
    prefix = {t: dict(list(p.items())[:5]) for t, p in base_predictions.items()}
    root = write_bundle(tmp_path / "b", prefix)
    assert validate_bundle(root, opener(synth_dataset), limit=5).limit == 5
    with pytest.raises(ValidationError, match="expected ids missing"):
        validate_bundle(root, opener(synth_dataset))


def test_meta_data_field_picks_the_dataset(tmp_path: Path, base_predictions: dict[str, Any],
                                           synth_dataset: Any) -> None:  # fmt: skip
    seen = []
    root = write_bundle(tmp_path / "b", base_predictions, meta=meta_for(list(base_predictions), data="synth-small"))
    validate_bundle(root, lambda name: seen.append(name) or synth_dataset)
    validate_bundle(root, lambda name: seen.append(name) or synth_dataset, data="other")
    assert seen == ["synth-small", "other"]


def test_writer_refuses_to_overwrite_and_leaves_nothing_on_failure(tmp_path: Path,
                                                                   base_predictions: dict[str, Any]) -> None:
    meta = meta_for(list(base_predictions))
    root = library_write_bundle(tmp_path / "b", meta, base_predictions)
    with pytest.raises(UserError, match="already exists"):
        library_write_bundle(root, meta, base_predictions)
    broken = {"pose2text": {"y": "t"}, "text2pose": {"x": np.zeros((21, 3)), "z": np.zeros((22, 3))}}
    with pytest.raises(ValueError):
        library_write_bundle(tmp_path / "c", meta, broken, pose_format="npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
