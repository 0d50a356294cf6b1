"""The dataset schema, reading API, manifests and verification (bench.data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.data import load_dataset, read_manifest, split_hash, verify_dataset, write_manifest
from bench.data.manifest import file_split, write_jsonl_atomic, write_npz_atomic
from bench.hashing import sha256_file
from bench.errors import DataError, NotFoundError


def _pose(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.normal(0, 0.3, (n, 22, 3)).astype(np.float32)


def _png(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((224, 224, 3), value, np.uint8)).save(path)


def make_dataset(root: Path) -> Path:
    """A tiny but complete schema-1 dataset written with the manifest writers."""
    rng = np.random.default_rng(0)
    ids = np.array(["p0", "p1", "p2", "p3"])
    poses = _pose(rng, 4)
    write_npz_atomic(root / "poses/test.npz", {"ids": ids, "poses": poses, "archetype": np.array(["a", "a", "b", "b"]),
                                                "sequence": np.array(["s0", "s0", "s1", "s1"])})  # fmt: skip
    write_npz_atomic(root / "poses/train.npz", {"ids": np.array(["t0"]), "poses": _pose(rng, 1)})
    write_jsonl_atomic(root / "captions/test.jsonl", [{"id": i, "auto": [f"text {i}", "more"], "human": []} for i in ids])
    write_npz_atomic(root / "pairs/test.npz", {"ids": np.array(["q0", "q1"]), "a_ids": ids[:2], "b_ids": ids[2:],
                                                "poses_a": poses[:2], "poses_b": poses[2:],
                                                "in_sequence": np.array([True, False])})  # fmt: skip
    write_jsonl_atomic(root / "instructions/test.jsonl", [{"id": "q0", "auto": ["raise it"], "human": ["lift"]},
                                                          {"id": "q1", "auto": ["lower it"], "human": []}])  # fmt: skip
    write_npz_atomic(root / "renders/test.npz", {"ids": np.array(["r0", "r1"]), "pose_ids": ids[:2],
                                                  "poses_camera": poses[:2], "camera": np.ones((2, 5), np.float32)})  # fmt: skip
    _png(root / "renders/test/r0.png", 10)
    _png(root / "renders/test/r1.png", 200)
    _png(root / "render_pairs/test/rp0_a.png", 30)
    _png(root / "render_pairs/test/rp0_b.png", 60)
    write_jsonl_atomic(root / "render_pairs/test.jsonl", [{"id": "rp0", "pair_id": "q0", "image_a": "render_pairs/test/rp0_a.png",
                                                           "image_b": "render_pairs/test/rp0_b.png"}])  # fmt: skip
    _png(root / "rpe/test/s0.png", 90)
    write_jsonl_atomic(root / "rpe/test.jsonl", [{"id": "s0", "image": "rpe/test/s0.png", "question": "Who waves?",
                                                  "target": 1, "boxes": [[0, 0, 10, 10], [20, 0, 40, 30]],
                                                  "pose_ids": ["p0", "p1"]}])  # fmt: skip
    write_npz_atomic(root / "rpe/test.npz", {"ids": np.array(["s0"]), "poses_camera": poses[1:2]})
    write_jsonl_atomic(root / "spg/test.jsonl", [{"id": "g0", "pose_id": "p2", "description": "someone who just scored",
                                                  "archetype": "b"}])  # fmt: skip
    write_manifest(root, name="tiny", version="1.0", variant="test", description="test fixture", config={"seed": 0},
                   counts={"test": {"poses": 4}, "train": {"poses": 1}})  # fmt: skip
    return root


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "tiny")


def test_round_trip_of_every_component(tiny: Path):
    ds = load_dataset("tiny", tiny.parent)
    assert (ds.name, ds.version, ds.splits) == ("tiny", "1.0", ["test", "train"])
    poses = ds.poses("test")
    assert poses.poses.dtype == np.float32 and poses.poses.shape == (4, 22, 3) and list(poses.ids) == ["p0", "p1", "p2", "p3"]
    assert list(poses.archetype) == ["a", "a", "b", "b"] and list(poses.sequence) == ["s0", "s0", "s1", "s1"]
    assert ds.poses("train").archetype is None
    assert ds.captions("test")["p1"].auto == ["text p1", "more"]
    pairs = ds.pairs("test")
    np.testing.assert_array_equal(pairs.poses_b, poses.poses[2:])
    assert pairs.in_sequence.tolist() == [True, False]
    assert ds.instructions("test")["q0"].human == ["lift"]
    renders = ds.renders("test")
    assert renders.image(1).shape == (224, 224, 3) and renders.image(1).dtype == np.uint8 and renders.image(1)[0, 0, 0] == 200
    assert renders.paths[0] == tiny / "renders/test/r0.png" and renders.camera.shape == (2, 5)
    (pair,) = ds.render_pairs("test")
    assert pair.pair_id == "q0" and pair.image_b == tiny / "render_pairs/test/rp0_b.png"
    (scene,) = ds.rpe("test")
    assert scene.target == 1 and scene.pose_ids == ["p0", "p1"]
    np.testing.assert_array_equal(scene.poses_camera, poses.poses[1])
    (spg,) = ds.spg("test")
    assert (spg.pose_id, spg.archetype) == ("p2", "b")
    assert ds.has("renders", "test") and not ds.has("renders", "train")
    assert ds.poses("test") is ds.poses("test")  # cached


def test_listed_image_is_checked_against_the_manifest(tiny: Path):
    ds = load_dataset("tiny", tiny.parent)
    (pair,) = ds.render_pairs("test")
    assert ds.listed_image(pair.image_a)[0, 0, 0] == 30
    _png(tiny / "render_pairs/test/stray.png", 0)
    for unlisted in (tiny / "render_pairs/test/stray.png", tiny.parent / "elsewhere.png"):
        with pytest.raises(DataError, match="not listed"):
            ds.listed_image(unlisted)
    _png(pair.image_b, 61)
    with pytest.raises(DataError, match="SHA-256"):
        ds.listed_image(pair.image_b)


def test_split_hash_covers_exactly_the_split_files(tiny: Path):
    manifest = read_manifest(tiny)
    files = manifest["files"]
    assert file_split("renders/test/r0.png") == "test" and file_split("poses/train.npz") == "train"
    assert file_split("README.md") is None
    assert load_dataset(tiny, tiny.parent).split_hash("test") == split_hash(files, "test") == manifest["splits"]["test"]["hash"]
    changed = dict(files, **{"poses/train.npz": "0" * 64})
    assert split_hash(changed, "test") == split_hash(files, "test")
    assert split_hash(changed, "train") != split_hash(files, "train")
    assert split_hash(dict(files, **{"renders/test/r9.png": "1" * 64}), "test") != split_hash(files, "test")
    assert manifest["splits"]["test"]["counts"] == {"poses": 4}


def test_verify_accepts_an_intact_dataset_and_names_a_tampered_file(tiny: Path):
    assert verify_dataset(tiny) == []
    with open(tiny / "renders/test/r1.png", "ab") as handle:
        handle.write(b"x")
    (problem,) = verify_dataset(tiny)
    assert "renders/test/r1.png" in problem and "SHA-256" in problem and "\n" not in problem


def test_verify_reports_missing_and_unlisted_files(tiny: Path):
    (tiny / "captions/test.jsonl").unlink()
    (tiny / "poses/extra.npz").write_bytes(b"")
    problems = verify_dataset(tiny)
    assert any("captions/test.jsonl" in p and "missing" in p for p in problems)
    assert any("poses/extra.npz" in p and "not listed" in p for p in problems)


def test_missing_manifest_means_an_incomplete_dataset(tmp_path: Path):
    (tmp_path / "half").mkdir()
    with pytest.raises(DataError, match=r"half/manifest.json: no manifest.json \(an interrupted build"):
        load_dataset("half", tmp_path)
    assert "manifest.json" in verify_dataset(tmp_path / "half")[0]


def test_unknown_dataset_lists_what_exists(tiny: Path):
    with pytest.raises(NotFoundError, match="found: tiny"):
        load_dataset("synth-small", tiny.parent)


def test_tampered_file_is_rejected_on_load(tiny: Path):
    write_npz_atomic(tiny / "poses/test.npz", {"ids": np.array(["x"]), "poses": np.zeros((1, 22, 3), np.float32)})
    with pytest.raises(DataError, match=r"poses/test.npz: SHA-256 differs from manifest.json"):
        load_dataset(tiny, tiny.parent).poses("test")


def _rewrite(tiny: Path, rel: str, arrays: dict | None = None, rows: list | None = None, text: str | None = None) -> None:
    """Replace a file and re-sign the manifest, so only the schema checks can catch it."""
    if arrays is not None:
        write_npz_atomic(tiny / rel, arrays)
    if rows is not None:
        write_jsonl_atomic(tiny / rel, rows)
    if text is not None:
        (tiny / rel).write_text(text)
    manifest = read_manifest(tiny)
    manifest["files"][rel] = sha256_file(tiny / rel)
    (tiny / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"ids": np.array(["a", "b"]), "poses": np.zeros((2, 21, 3), np.float32)}, "field 'poses': expected dtype kind 'f' and shape"),
        ({"ids": np.array(["a", "a"]), "poses": np.zeros((2, 22, 3), np.float32)}, "sample 'a': field 'ids': duplicate id"),
        ({"ids": np.array(["a"]), "poses": np.zeros((2, 22, 3), np.float32)}, "field 'poses': has 2 rows, expected 1"),
        ({"poses": np.zeros((1, 22, 3), np.float32)}, "field 'ids': missing array"),
        ({"ids": np.array(["a"]), "poses": np.full((1, 22, 3), np.nan, np.float32)}, "sample 'a': field 'poses': non-finite"),
    ],
)
def test_schema_errors_name_file_field_and_sample(tiny: Path, arrays: dict, message: str):
    _rewrite(tiny, "poses/test.npz", arrays=arrays)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(tiny, tiny.parent).poses("test")
    assert "poses/test.npz" in str(info.value) and "\n" not in str(info.value)


def test_object_arrays_are_refused_without_unpickling(tiny: Path):
    _rewrite(tiny, "poses/test.npz", arrays={"ids": np.array(["a"], dtype=object), "poses": np.zeros((1, 22, 3), np.float32)})
    with pytest.raises(DataError, match="not a readable npz"):
        load_dataset(tiny, tiny.parent).poses("test")


def test_jsonl_errors_name_line_field_and_sample(tiny: Path):
    _rewrite(tiny, "captions/test.jsonl", rows=[{"id": "p0", "auto": "not a list", "human": []}])
    with pytest.raises(DataError, match=r"captions/test.jsonl: sample 'p0': field 'auto': line 1: missing or wrong type"):
        load_dataset(tiny, tiny.parent).captions("test")
    _rewrite(tiny, "captions/test.jsonl", text='{"id": "p0", "auto": [], "human": []}\n{oops\n')
    with pytest.raises(DataError, match="line 2: not valid JSON"):
        load_dataset(tiny, tiny.parent).captions("test")


def test_rpe_target_must_index_the_boxes(tiny: Path):
    _rewrite(tiny, "rpe/test.jsonl", rows=[{"id": "s0", "image": "rpe/test/s0.png", "question": "q", "target": 2,
                                            "boxes": [[0, 0, 1, 1]], "pose_ids": ["p0"]}])  # fmt: skip
    with pytest.raises(DataError, match="field 'target'"):
        load_dataset(tiny, tiny.parent).rpe("test")


def test_corrupt_image_is_named(tiny: Path):
    _rewrite(tiny, "renders/test/r0.png", text="not a png")
    with pytest.raises(DataError, match=r"renders/test/r0.png: not a readable image"):
        load_dataset(tiny, tiny.parent).renders("test").image(0)


def test_unknown_split_and_component(tiny: Path):
    ds = load_dataset(tiny, tiny.parent)
    with pytest.raises(NotFoundError, match="no split 'val'"):
        ds.poses("val")
    with pytest.raises(NotFoundError, match="has no pairs for split 'train'"):
        ds.pairs("train")
    with pytest.raises(NotFoundError, match="unknown dataset component"):
        ds.has("meshes", "test")


def test_npz_writer_is_byte_deterministic(tmp_path: Path):
    arrays = {"ids": np.array(["a", "b"]), "poses": np.arange(132, dtype=np.float32).reshape(2, 22, 3)}
    write_npz_atomic(tmp_path / "a.npz", arrays)
    write_npz_atomic(tmp_path / "b.npz", arrays)
    assert sha256_file(tmp_path / "a.npz") == sha256_file(tmp_path / "b.npz")
    assert not list(tmp_path.glob(".*.tmp"))
