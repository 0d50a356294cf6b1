"""``bench data import posefix``: pairs, the in-sequence relative heading, instructions, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bench.data import load_dataset, verify_dataset
from tests.cli_helpers import CliResult
from tests.data.importers.fixtures import (
    PAIR_SPLITS,
    PAIRS,
    POSE_FRAMES,
    ZUP_TO_YUP,
    AmassTruth,
    posescript_root,
    posescript_turn,
)

ImportCli = Callable[..., CliResult]


def _canonical_root(truth: AmassTruth, pose_id: int) -> Rotation:
    """The fake frame's root in the y-up frame, heading kept."""
    return ZUP_TO_YUP * Rotation.from_rotvec(truth.root[POSE_FRAMES[pose_id]])


@pytest.fixture
def imported(import_cli: ImportCli, amass: tuple[Path, AmassTruth], posefix_release: Path, tmp_path: Path):
    root, truth = amass
    out = tmp_path / "posefix"
    result = import_cli("posefix", "--release", posefix_release, "--amass", root, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    return load_dataset(out, tmp_path), truth, json.loads(result.stdout)


def test_pairs_and_heading_rule(imported) -> None:
    ds, truth, summary = imported
    assert verify_dataset(ds.root) == []
    assert summary["counts"]["train"]["pairs"] == 4 and summary["counts"]["train"]["in_sequence"] == 2
    assert ds.manifest["config"]["heading_convention"] == "posescript-euler-zyx"
    for split, (inside, outside) in PAIR_SPLITS.items():
        pairs = ds.pairs(split)
        assert pairs.ids.tolist() == [str(p) for p in sorted(inside + outside)]
        for k, pair_id in enumerate(pairs.ids.tolist()):
            a, b = PAIRS[int(pair_id)]
            assert (pairs.a_ids[k], pairs.b_ids[k]) == (str(a), str(b))
            assert bool(pairs.in_sequence[k]) == (int(pair_id) in inside)
            np.testing.assert_allclose(pairs.poses_a[k, 1:], truth.body[POSE_FRAMES[a]], atol=1e-5)
            np.testing.assert_allclose(pairs.poses_b[k, 1:], truth.body[POSE_FRAMES[b]], atol=1e-5)
            root_a = _canonical_root(truth, a)
            root_b = _canonical_root(truth, b)
            zup = {p: truth.root[POSE_FRAMES[p]] for p in (a, b)}
            got_a = Rotation.from_rotvec(pairs.poses_a[k, 0].astype(np.float64))
            # A alone: PoseScript's heading rule (Euler z of the z-up root set to 0)
            np.testing.assert_allclose(got_a.as_matrix(), posescript_root(zup[a]).as_matrix(), atol=1e-5)
            got_b = Rotation.from_rotvec(pairs.poses_b[k, 0].astype(np.float64))
            if int(pair_id) in inside:
                # B keeps its heading relative to A: B's z-up root is turned by A's Rz(-θz), so A⁻¹·B is unchanged.
                want = ZUP_TO_YUP * posescript_turn(zup[a]) * Rotation.from_rotvec(zup[b])
                relative = got_a.inv() * got_b
                np.testing.assert_allclose(relative.as_matrix(), (root_a.inv() * root_b).as_matrix(), atol=1e-5)
            else:
                want = posescript_root(zup[b])  # normalised independently
            np.testing.assert_allclose(got_b.as_matrix(), want.as_matrix(), atol=1e-5)


def test_in_sequence_b_is_not_heading_normalised(imported) -> None:
    """Guards against a vacuous relative-heading check: the in-sequence B really carries a yaw."""
    ds, truth, _ = imported
    pairs = ds.pairs("test")
    k = pairs.ids.tolist().index("5")
    forward = Rotation.from_rotvec(pairs.poses_b[k, 0].astype(np.float64)).apply([0.0, 0.0, 1.0])
    a, b = PAIRS[5]
    turn = truth.heading[POSE_FRAMES[b]] - truth.heading[POSE_FRAMES[a]]
    assert abs(np.sin(turn)) > 0.05
    np.testing.assert_allclose(np.arctan2(forward[0], forward[2]), np.arctan2(np.sin(turn), np.cos(turn)), atol=1e-4)


def test_instructions_and_paraphrases(imported) -> None:
    ds, _, _ = imported
    train = ds.instructions("train")
    assert train["0"].human == ["raise your arm", "lift your arm"]  # paraphrase appended on train
    assert train["0"].auto == ["auto 0 a", "auto 0 b", "auto 0 c"]
    test = ds.instructions("test")
    assert test["5"].human == ["bend", "bend more"]  # never on test
    assert test["4"].human == ["turn"]
    assert ds.manifest["splits"]["test"]["counts"]["human"] == 2


def test_no_paraphrases_flag(import_cli: ImportCli, amass: tuple[Path, AmassTruth], posefix_release: Path,
                             tmp_path: Path) -> None:
    root, _ = amass
    out = tmp_path / "pf"
    result = import_cli("posefix", "--release", posefix_release, "--amass", root, "--out", out, "--no-paraphrases")
    assert result.exit_code == 0, result.stderr
    assert load_dataset(out, tmp_path).instructions("train")["0"].human == ["raise your arm"]


def _edit(path: Path, change: Callable[[object], object]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


ERROR_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing pair map": (lambda rel: (rel / "pair_id_2_pose_ids.json").unlink(), "no pair map file"),
    "missing split file": (lambda rel: (rel / "val_out_sequence_pair_ids.json").unlink(), "no val out-sequence"),
    "missing id map": (lambda rel: (rel / "ids_2_dataset_sequence_and_frame_index_100k.json").unlink(),
                       "no pose-id map file"),
    "pose id without pose": (lambda rel: _edit(rel / "pair_id_2_pose_ids.json", lambda d: d + [[1, 500]]),
                             "pose id 500 has no entry"),
    "pair id not in the map": (lambda rel: _edit(rel / "test_out_sequence_pair_ids.json", lambda d: d + [77]),
                               "pair id is not in pair_id_2_pose_ids.json"),
    "pair in two split files": (lambda rel: _edit(rel / "val_in_sequence_pair_ids.json", lambda d: d + [0]),
                                "also listed in train_in_sequence_pair_ids.json"),
    "instruction id not in the map": (
        lambda rel: _edit(rel / "posefix_human_6157.json", lambda d: {**d, "99": "x"}),
        "id is not in pair_id_2_pose_ids.json",
    ),
    "malformed pair": (lambda rel: _edit(rel / "pair_id_2_pose_ids.json", lambda d: d + [[1, 2, 3]]),
                       "expected [pose_A_id, pose_B_id]"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_release_errors(case: str, import_cli: ImportCli, amass: tuple[Path, AmassTruth], posefix_release: Path,
                        tmp_path: Path) -> None:
    root, _ = amass
    corrupt, message = ERROR_CASES[case]
    corrupt(posefix_release)
    result = import_cli("posefix", "--release", posefix_release, "--amass", root, "--out", tmp_path / "o")
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "o").exists()


def test_id_map_option(import_cli: ImportCli, amass: tuple[Path, AmassTruth], posefix_release: Path,
                       tmp_path: Path) -> None:
    root, _ = amass
    id_map = tmp_path / "elsewhere.json"
    (posefix_release / "ids_2_dataset_sequence_and_frame_index_100k.json").rename(id_map)
    result = import_cli("posefix", "--release", posefix_release, "--amass", root, "--id-map", id_map,
                        "--out", tmp_path / "o")
    assert result.exit_code == 0, result.stderr


def test_swing_twist_heading_option(amass: tuple[Path, AmassTruth], posefix_release: Path, tmp_path: Path) -> None:
    """``heading="swing-twist-y"`` keeps the former convention, by name; it differs on the rolled pose A of pair 6."""
    from bench.body import normalize_heading
    from bench.data.importers.pipeline import import_posefix_dataset

    root, truth = amass
    summary = import_posefix_dataset(posefix_release, root, tmp_path / "pf", heading="swing-twist-y")
    ds = load_dataset(summary["path"], tmp_path)
    assert ds.manifest["config"]["heading_convention"] == "swing-twist-y"
    pairs = ds.pairs("val")
    k = pairs.ids.tolist().index("6")
    a = PAIRS[6][0]
    canonical = np.zeros((1, 22, 3))
    canonical[0, 0] = _canonical_root(truth, a).as_rotvec()
    want = Rotation.from_rotvec(normalize_heading(canonical)[0, 0])
    got = Rotation.from_rotvec(pairs.poses_a[k, 0].astype(np.float64))
    np.testing.assert_allclose(got.as_matrix(), want.as_matrix(), atol=1e-5)
    assert (got.inv() * posescript_root(truth.root[POSE_FRAMES[a]])).magnitude() > np.radians(10)
