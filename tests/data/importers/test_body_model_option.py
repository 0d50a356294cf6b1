"""``--body-models``: a bad path fails fast; a tiny SMPL-H / SMPL model checks the frame or gives crop joints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bench.data import load_dataset
from bench.data.importers.safe_pickle import load_restricted_pickle
from tests.body.tiny_smpl import TINY_PELVIS, smpl_model_arrays, write_smpl_model
from tests.cli_helpers import CliResult
from tests.data.importers.fixtures import AmassTruth, build_3dpw, write_3dpw_pickle

ImportCli = Callable[..., CliResult]


@pytest.mark.parametrize("command", ["posescript", "posefix", "3dpw"])
def test_bad_body_model_path_is_one_line_exit_2(command: str, import_cli: ImportCli, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_models"
    sources = ["--root", tmp_path] if command == "3dpw" else ["--release", tmp_path, "--amass", tmp_path]
    result = import_cli(command, *sources, "--body-models", missing, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "no_such_models" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_corrupt_body_model_file_is_exit_2(import_cli: ImportCli, amass: tuple[Path, AmassTruth],
                                           posescript_release: Path, tmp_path: Path) -> None:
    model = tmp_path / "models" / "smplh" / "SMPLH_NEUTRAL.npz"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"not a zip file")
    result = import_cli("posescript", "--release", posescript_release, "--amass", amass[0],
                        "--body-models", tmp_path / "models", "--out", tmp_path / "o")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "o").exists()


def test_smplh_model_checks_the_imported_frame(import_cli: ImportCli, amass: tuple[Path, AmassTruth],
                                               posescript_release: Path, tmp_path: Path) -> None:
    models = write_smpl_model(tmp_path / "models", smpl_model_arrays("smplh"), model_type="smplh")
    out = tmp_path / "ps"
    result = import_cli("posescript", "--release", posescript_release, "--amass", amass[0], "--body-models", models,
                        "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["body_model"] == "smplh"
    check = load_dataset(out, tmp_path).manifest["config"]["frame_check"]
    assert check["upright_fraction"] == {"test": 1.0, "train": 1.0, "val": 1.0}  # every fake frame stands upright


def test_3dpw_crop_joints_from_the_body_model(import_cli: ImportCli, tmp_path: Path) -> None:
    """Without jointPositions the crop joints come from the model (mean shape) + trans."""
    root = tmp_path / "3DPW"
    build_3dpw(root)
    reference = tmp_path / "with_joints"
    assert import_cli("3dpw", "--root", root, "--split", "test", "--out", reference).exit_code == 0

    path = next((root / "sequenceFiles" / "test").glob("*.pkl"))
    data = load_restricted_pickle(path)
    # Put the model's pelvis (at TINY_PELVIS for a zero translation) where jointPositions had it.
    data["trans"] = [j.reshape(-1, 24, 3)[:, 0] - TINY_PELVIS for j in data.pop("jointPositions")]
    write_3dpw_pickle(path, data)
    models = write_smpl_model(tmp_path / "models", smpl_model_arrays("smpl"), model_type="smpl")
    out = tmp_path / "from_model"
    result = import_cli("3dpw", "--root", root, "--split", "test", "--body-models", models, "--out", out)
    assert result.exit_code == 0, result.stderr
    got = np.load(out / "renders" / "test.npz", allow_pickle=False)
    want = np.load(reference / "renders" / "test.npz", allow_pickle=False)
    assert got["ids"].tolist() == want["ids"].tolist()
    np.testing.assert_allclose(got["camera"][:, 4:], want["camera"][:, 4:], atol=1e-4)  # same pelvis in camera
    np.testing.assert_allclose(got["poses_camera"], want["poses_camera"], atol=1e-6)
