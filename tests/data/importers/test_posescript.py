"""``bench data import posescript`` on fake V2 and V1 releases, through the CLI and load_dataset."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bench.body import normalize_heading
from bench.data import load_dataset, verify_dataset
from bench.data.importers.pipeline import import_posescript_dataset
from tests.cli_helpers import CliResult
from tests.data.importers.fixtures import (
    POSE_FRAMES,
    SPLIT_IDS,
    ZUP_TO_YUP,
    AmassTruth,
    build_posescript_v0,
    build_posescript_v1,
    posescript_root,
)

ImportCli = Callable[..., CliResult]


ROLLED_IDS = (2, 13)
"""Pose ids of the fake frames with a lying, rolled root (fixtures.ROLLED)."""


def _check_pose(got: np.ndarray, truth: AmassTruth, pose_id: int) -> None:
    """A written pose is the AMASS frame with PoseScript's heading rule, in the y-up frame; body unchanged."""
    key = POSE_FRAMES[pose_id]
    want_root = posescript_root(truth.root[key]).as_matrix()
    got_root = Rotation.from_rotvec(got[0].astype(np.float64)).as_matrix()
    np.testing.assert_allclose(got_root, want_root, atol=1e-5)
    np.testing.assert_allclose(got[1:], truth.body[key], atol=1e-5)
    if key in truth.tilt:  # upright frames: root = Rx(tilt)
        np.testing.assert_allclose(got[0], [truth.tilt[key], 0.0, 0.0], atol=1e-5)


def test_import_v2_writes_poses_and_captions(import_cli: ImportCli, amass: tuple[Path, AmassTruth],
                                             posescript_release: Path, bench_home: Path) -> None:
    root, truth = amass
    result = import_cli("posescript", "--release", posescript_release, "--amass", root, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"]["test"] == {"poses": 4, "captions": 4, "human": 2}
    assert summary["counts"]["train"] == {"poses": 8, "captions": 8, "human": 2}  # 7 has human text only

    ds = load_dataset("posescript", bench_home / "data")
    assert verify_dataset(ds.root) == []
    assert ds.manifest["config"]["release_version"] == "V2" and ds.version == "V2"
    assert ds.manifest["config"]["heading_convention"] == "posescript-euler-zyx"
    assert "utils.py::get_pose_data_from_file" in ds.manifest["config"]["heading_follows"]
    for split, ids in SPLIT_IDS.items():
        poses = ds.poses(split)
        assert poses.ids.tolist() == [str(i) for i in ids]
        assert poses.poses.dtype == np.float32 and poses.poses.shape == (len(ids), 22, 3)
        for row, pose_id in zip(poses.poses, ids):
            _check_pose(row, truth, pose_id)
        assert poses.sequence[0] == POSE_FRAMES[ids[0]][0].replace("BioMotionLab_NTroje/", "BMLrub/")

    captions = ds.captions("test")
    assert captions["4"].human == ["human four one", "human four two"]  # list value
    assert captions["9"].human == ["human nine"]  # string value, whitespace normalised
    assert captions["10"].human == [] and captions["10"].auto == [f"auto 10 version {v}" for v in "abc"]
    assert ds.captions("train")["7"].auto == [] and ds.captions("train")["7"].human == ["seven"]
    assert {s: ds.manifest["splits"][s]["counts"]["human"] for s in SPLIT_IDS} == {"train": 2, "val": 0, "test": 2}
    assert "posescript-H" in ds.manifest["config"]["subsets"]


def test_import_v1_naming(import_cli: ImportCli, amass: tuple[Path, AmassTruth], tmp_path: Path) -> None:
    root, truth = amass
    release = tmp_path / "v1"
    build_posescript_v1(release)
    out = tmp_path / "ps_v1"
    result = import_cli("posescript", "--release", release, "--amass", root, "--out", out)
    assert result.exit_code == 0, result.stderr
    ds = load_dataset(out, tmp_path)
    assert ds.manifest["config"]["release_version"] == "V1"
    assert ds.captions("test")["4"].auto == [f"auto {letter} 4" for letter in "ABCDEF"]
    assert ds.captions("test")["4"].human == ["human four"]
    _check_pose(ds.poses("val").poses[0], truth, 3)


@pytest.mark.parametrize(("human_file", "version"), [("human6293.json", "V1"), ("posescript_human_6293.json", "V1"),
                                                      ("human3893.json", "V0")])
def test_v0_v1_human_file_names(human_file: str, version: str, import_cli: ImportCli,
                                amass: tuple[Path, AmassTruth], tmp_path: Path) -> None:
    """V0 is human3893.json; V1's human file is human6293.json (third-party loader) or V2's posescript_human_6293."""
    root, _ = amass
    release = tmp_path / "rel"
    (build_posescript_v0 if version == "V0" else build_posescript_v1)(release)
    if human_file == "posescript_human_6293.json":
        (release / "human6293.json").rename(release / human_file)
    out = tmp_path / "ps"
    result = import_cli("posescript", "--release", release, "--amass", root, "--out", out)
    assert result.exit_code == 0, result.stderr
    ds = load_dataset(out, tmp_path)
    assert ds.manifest["config"]["release_version"] == version
    assert ds.manifest["config"]["release_files"]["human"] == human_file
    assert ds.captions("test")["4"].human == ["human four"]
    assert ds.captions("test")["4"].auto == [f"auto {letter} 4" for letter in "ABCDEF"]


def test_rolled_roots_follow_posescript_not_swing_twist(amass: tuple[Path, AmassTruth], posescript_release: Path,
                                                        tmp_path: Path) -> None:
    """Default: PoseScript's Euler-z rule; ``heading="swing-twist-y"`` keeps the old convention, by name."""
    root, truth = amass
    default = import_posescript_dataset(posescript_release, root, tmp_path / "ps")
    twist = import_posescript_dataset(posescript_release, root, tmp_path / "tw", heading="swing-twist-y")
    ds_default, ds_twist = load_dataset(default["path"], tmp_path), load_dataset(twist["path"], tmp_path)
    assert ds_twist.manifest["config"]["heading_convention"] == "swing-twist-y"
    assert ds_default.manifest["config"]["heading_convention"] == "posescript-euler-zyx"
    for split, ids in SPLIT_IDS.items():
        got, swing = ds_default.poses(split).poses, ds_twist.poses(split).poses
        for k, pose_id in enumerate(ids):
            _check_pose(got[k], truth, pose_id)
            canonical = np.zeros((1, 22, 3))
            canonical[0, 0] = (ZUP_TO_YUP * Rotation.from_rotvec(truth.root[POSE_FRAMES[pose_id]])).as_rotvec()
            want = Rotation.from_rotvec(normalize_heading(canonical)[0, 0])
            np.testing.assert_allclose(Rotation.from_rotvec(swing[k, 0].astype(np.float64)).as_matrix(),
                                       want.as_matrix(), atol=1e-5)
            apart = (Rotation.from_rotvec(got[k, 0].astype(np.float64)).inv()
                     * Rotation.from_rotvec(swing[k, 0].astype(np.float64))).magnitude()
            assert (apart > np.radians(10)) == (pose_id in ROLLED_IDS), (pose_id, np.degrees(apart))


def test_heading_option_of_the_command_line(import_cli: ImportCli, amass: tuple[Path, AmassTruth],
                                            posescript_release: Path, bench_home: Path) -> None:
    result = import_cli("posescript", "--release", posescript_release, "--amass", amass[0], "--heading", "swing-twist-y")
    assert result.exit_code == 0, result.stderr
    assert load_dataset("posescript", bench_home / "data").manifest["config"]["heading_convention"] == "swing-twist-y"
    refused = import_cli("posescript", "--release", posescript_release, "--amass", amass[0], "--heading", "yaw",
                         "--name", "other")  # fmt: skip
    assert refused.exit_code == 2 and "'yaw' is not one of" in refused.stderr


def test_unknown_heading_convention_is_exit_2_before_reading(amass: tuple[Path, AmassTruth],
                                                             posescript_release: Path, tmp_path: Path) -> None:
    from bench.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown heading convention 'yaw'"):
        import_posescript_dataset(posescript_release, amass[0], tmp_path / "ps", heading="yaw")
    assert not (tmp_path / "ps").exists()


def test_existing_dataset_needs_overwrite(import_cli: ImportCli, amass: tuple[Path, AmassTruth],
                                          posescript_release: Path, tmp_path: Path) -> None:
    root, _ = amass
    out = tmp_path / "ps"
    args = ("posescript", "--release", posescript_release, "--amass", root, "--out", out)
    assert import_cli(*args).exit_code == 0
    again = import_cli(*args)
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    first = load_dataset(out, tmp_path).manifest
    assert import_cli(*args, "--overwrite").exit_code == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or old copies left
    assert load_dataset(out, tmp_path).manifest["splits"] == first["splits"]  # byte-identical re-import


def _edit(path: Path, change: Callable[[object], object]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _set(mapping: dict, key: str, value: object) -> dict:
    mapping[key] = value
    return mapping


ID_MAP = "ids_2_dataset_sequence_and_frame_index_100k.json"
ERROR_CASES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "missing split file": (lambda rel, am: (rel / "val_ids_100k.json").unlink(), "no val split file"),
    "missing caption file": (lambda rel, am: (rel / "posescript_human_6293.json").unlink(), "no human caption file"),
    "unknown AMASS folder": (
        lambda rel, am: _edit(rel / ID_MAP, lambda d: _set(d, "3", ["AMASS", "MPI_Foo/s/x_poses.npz", 0])),
        "unknown AMASS sub-dataset folder 'MPI_Foo'",
    ),
    "missing AMASS file": (lambda rel, am: shutil.rmtree(am / "CMU"), "AMASS file not found"),
    "frame out of range": (
        lambda rel, am: _edit(rel / ID_MAP, lambda d: _set(d, "4", ["AMASS", "CMU/01/01_01_poses.npz", 99])),
        "frame index 99 out of range",
    ),
    "wrong poses shape": (
        lambda rel, am: np.savez(am / "CMU/01/01_01_poses.npz", poses=np.zeros((4, 72))),
        r"expected a float (F, 156)",
    ),
    "split id without pose": (lambda rel, am: _edit(rel / "test_ids_100k.json", lambda d: d + [99]), "has no pose"),
    "caption id not in map": (
        lambda rel, am: _edit(rel / "posescript_human_6293.json", lambda d: _set(d, "123", "x")),
        "not in the release's id map",
    ),
    "duplicate id in a split": (lambda rel, am: _edit(rel / "val_ids_100k.json", lambda d: d + [3]), "duplicate id"),
    "id in two splits": (lambda rel, am: _edit(rel / "val_ids_100k.json", lambda d: d + [0]), "also in the train"),
    "bad frame entry": (lambda rel, am: _edit(rel / ID_MAP, lambda d: _set(d, "2", ["AMASS", "CMU/x.npz"])),
                        "expected [dataset, npz path, frame index]"),
    "non-string caption": (
        lambda rel, am: _edit(rel / "posescript_auto_100k.json", lambda d: _set(d, "1", [1, 2])),
        "expected a string or a list of strings",
    ),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_release_errors_are_one_line_and_exit_2(case: str, import_cli: ImportCli, amass: tuple[Path, AmassTruth],
                                                posescript_release: Path, tmp_path: Path) -> None:
    root, _ = amass
    corrupt, message = ERROR_CASES[case]
    corrupt(posescript_release, root)
    out = tmp_path / "out"
    result = import_cli("posescript", "--release", posescript_release, "--amass", root, "--out", out)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_duplicate_key_in_json_object(import_cli: ImportCli, amass: tuple[Path, AmassTruth],
                                      posescript_release: Path, tmp_path: Path) -> None:
    root, _ = amass
    path = posescript_release / "posescript_human_6293.json"
    path.write_text('{"0": "a", "4": "b", "0": "c"}')
    result = import_cli("posescript", "--release", posescript_release, "--amass", root, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "duplicate key" in result.stderr and "'0'" in result.stderr


def test_release_rotation_is_not_in_the_written_heading(import_cli: ImportCli, amass: tuple[Path, AmassTruth],
                                                        posescript_release: Path, tmp_path: Path) -> None:
    """PoseScript's rule (Euler z of the z-up root = 0) leaves every root's left axis (body +x) in the
    vertical x–y plane, pointing to +x; upright roots also face +z."""
    root, truth = amass
    out = tmp_path / "ps"
    assert import_cli("posescript", "--release", posescript_release, "--amass", root, "--out", out).exit_code == 0
    poses = load_dataset(out, tmp_path).poses("train")
    rotations = Rotation.from_rotvec(poses.poses[:, 0].astype(np.float64))
    left = rotations.apply([1.0, 0.0, 0.0])
    np.testing.assert_allclose(left[:, 2], 0.0, atol=1e-5)
    assert np.all(left[:, 0] > 0.0)
    upright = np.array([POSE_FRAMES[int(i)] in truth.tilt for i in poses.ids])
    assert 0 < upright.sum() < len(upright)  # rolled roots are among them
    forward = rotations.apply([0.0, 0.0, 1.0])[upright]
    np.testing.assert_allclose(forward[:, 0], 0.0, atol=1e-5)
    assert np.all(forward[:, 2] > 0.9)
