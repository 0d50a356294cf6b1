"""AMASS frame reading, folder-name mapping and the z-up → y-up conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bench.body import load_body_model, normalize_heading
from bench.data.importers.amass import (
    AMASS_FOLDER_NAMES,
    AmassFrame,
    canonical_sequence_name,
    read_amass_frames,
    resolve_amass_path,
)
from bench.data.importers.frames import amass_to_canonical
from bench.errors import DataError, NotFoundError
from tests.data.importers.fixtures import SEQUENCES, AmassTruth, zup_root


def test_folder_table_covers_the_19_posescript_subdatasets() -> None:
    assert len(AMASS_FOLDER_NAMES) == 19
    assert AMASS_FOLDER_NAMES["BioMotionLab_NTroje"] == "BMLrub"
    assert AMASS_FOLDER_NAMES["MPI_Limits"] == "PosePrior"
    assert len(set(AMASS_FOLDER_NAMES.values())) == 19


@pytest.mark.parametrize(("disk", "release", "_"), SEQUENCES)
def test_release_paths_resolve_under_either_folder_name(amass: tuple[Path, AmassTruth], disk: str, release: str,
                                                         _: int) -> None:
    root, _truth = amass
    assert resolve_amass_path(root, release, source=Path("ids.json"), sample_id="0") == root / disk


@pytest.mark.parametrize("disk_folder", ["MPI_Limits", "PosePrior", "MPI_Limits_PosePrior"])
@pytest.mark.parametrize("release_folder", ["MPI_Limits", "PosePrior"])
def test_mpi_limits_under_each_of_its_names(tmp_path: Path, disk_folder: str, release_folder: str) -> None:
    """Loaders rename MPI_Limits to PosePrior; PoseScript's README writes it MPI_Limits_PosePrior."""
    _write(tmp_path / disk_folder / "03099" / "op2_poses.npz", poses=np.zeros((2, 156)))
    path = resolve_amass_path(tmp_path, f"{release_folder}/03099/op2_poses.npz", source=Path("ids.json"), sample_id="3")
    assert path == tmp_path / disk_folder / "03099" / "op2_poses.npz"
    assert canonical_sequence_name(f"{release_folder}/03099/op2_poses.npz") == "PosePrior/03099/op2_poses.npz"


def test_unknown_folder_is_a_data_error_naming_it(amass: tuple[Path, AmassTruth]) -> None:
    root, _ = amass
    with pytest.raises(DataError, match="unknown AMASS sub-dataset folder 'GRAB_new'") as info:
        resolve_amass_path(root, "GRAB_new/s1/x_poses.npz", source=Path("ids.json"), sample_id="7")
    assert "ids.json" in str(info.value) and "'7'" in str(info.value)


def test_missing_file_and_escaping_path(amass: tuple[Path, AmassTruth]) -> None:
    root, _ = amass
    with pytest.raises(NotFoundError, match="BMLrub"):
        resolve_amass_path(root, "BioMotionLab_NTroje/none/x_poses.npz", source=Path("ids.json"), sample_id="1")
    with pytest.raises(DataError, match="not a relative"):
        resolve_amass_path(root, "CMU/../../etc/x.npz", source=Path("ids.json"), sample_id="1")


def test_canonical_sequence_name_identifies_old_and_new_names() -> None:
    assert canonical_sequence_name("MPI_HDM05/bk/a_poses.npz") == canonical_sequence_name("HDM05/bk/a_poses.npz")
    assert canonical_sequence_name("MPI_HDM05/bk/a_poses.npz") != canonical_sequence_name("HDM05/bk/b_poses.npz")


def test_read_frames_returns_body_rows_in_request_order(amass: tuple[Path, AmassTruth]) -> None:
    root, truth = amass
    wanted = [(SEQUENCES[2][1], 3), (SEQUENCES[0][1], 0), (SEQUENCES[2][1], 1)]
    frames = [AmassFrame(str(i), path, f) for i, (path, f) in enumerate(wanted)]
    poses = read_amass_frames(root, frames, source=Path("ids.json"))
    assert poses.shape == (3, 22, 3)
    for row, key in zip(poses, wanted):
        np.testing.assert_allclose(row[1:], truth.body[key])
        np.testing.assert_allclose(row[0], truth.root[key])


def _write(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    ("arrays", "frame", "message"),
    [
        ({"poses": np.zeros((4, 150))}, 0, r"expected a float \(F, 156\)"),
        ({"poses": np.zeros((4, 52, 3))}, 0, r"expected a float \(F, 156\)"),
        ({"trans": np.zeros((4, 3))}, 0, "no 'poses' array"),
        ({"poses": np.zeros((4, 156))}, 4, "frame index 4 out of range"),
        ({"poses": np.full((4, 156), np.nan)}, 1, "non-finite"),
    ],
)
def test_bad_npz_contents(tmp_path: Path, arrays: dict[str, np.ndarray], frame: int, message: str) -> None:
    _write(tmp_path / "CMU" / "01" / "bad_poses.npz", **arrays)
    with pytest.raises(DataError, match=message) as info:
        read_amass_frames(tmp_path, [AmassFrame("42", "CMU/01/bad_poses.npz", frame)], source=Path("ids.json"))
    assert "'42'" in str(info.value) and "bad_poses.npz" in str(info.value) and "\n" not in str(info.value)


def test_object_arrays_are_not_unpickled(tmp_path: Path) -> None:
    _write(tmp_path / "CMU" / "01" / "obj_poses.npz", poses=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="not a readable AMASS npz"):
        read_amass_frames(tmp_path, [AmassFrame("1", "CMU/01/obj_poses.npz", 0)], source=Path("ids.json"))


def test_zup_to_yup_on_known_poses() -> None:
    heading, tilt = 0.7, 0.25
    poses = np.zeros((2, 22, 3))
    poses[0, 0] = zup_root(0.0, 0.0)  # upright in AMASS: Rx(+90°), facing -y
    poses[1, 0] = zup_root(heading, tilt)
    canonical = amass_to_canonical(poses)
    np.testing.assert_allclose(canonical[0], 0.0, atol=1e-9)  # upright facing +z = the zero root
    expected = Rotation.from_euler("y", heading) * Rotation.from_euler("x", tilt)  # Rx(-90)·Rz(θ)·Rx(90) = Ry(θ)
    np.testing.assert_allclose(Rotation.from_rotvec(canonical[1, 0]).as_matrix(), expected.as_matrix(), atol=1e-9)
    normalised = normalize_heading(canonical)
    np.testing.assert_allclose(normalised[1, 0], [tilt, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(normalised[:, 1:], poses[:, 1:])  # body joints are relative: unchanged


def test_canonical_pose_stands_up_and_faces_forward() -> None:
    """Through the built-in skeleton: after conversion the head is above the pelvis and the left hip at +x."""
    poses = np.zeros((1, 22, 3))
    poses[0, 0] = zup_root(1.2, 0.0)
    normalised = normalize_heading(amass_to_canonical(poses))
    joints = load_body_model("skeleton").joints(normalised.astype(np.float32))[0]
    assert joints[15, 1] - joints[0, 1] > 0.3  # head above pelvis (y up)
    assert joints[1, 0] > joints[0, 0] > joints[2, 0]  # left hip at +x, right hip at -x
