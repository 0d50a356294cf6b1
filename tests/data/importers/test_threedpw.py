"""``bench data import 3dpw``: restricted unpickling, camera-frame poses, person crops, errors."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bench.data import load_dataset, verify_dataset
from bench.data.importers.safe_pickle import UnsafePickleError, load_restricted_pickle
from bench.data.importers.threedpw import square_box
from tests.cli_helpers import CliResult
from tests.data.importers.fixtures import (
    CAMERA_ROTATION,
    FRAME_IDS_60HZ,
    PERSON_COLOURS,
    background,
    build_3dpw,
    write_3dpw_pickle,
)

ImportCli = Callable[..., CliResult]


class _Exploit:
    """Pickles to a call of os.system: must never run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("numpy_module", [b"numpy._core.multiarray", b"numpy.core.multiarray"])
def test_restricted_unpickler_round_trips_arrays(tmp_path: Path, numpy_module: bytes) -> None:
    """Files written by numpy 1.x (and the official Python 2 ones) name ``numpy.core.multiarray``."""
    data = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [np.int64(3), "x", (1, 2)], "c": {1, 2},
            "d": np.array([True, False])}
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2).replace(b"numpy._core.multiarray", numpy_module))
    loaded = load_restricted_pickle(path)
    np.testing.assert_array_equal(loaded["a"], data["a"])
    assert loaded["b"] == data["b"] and loaded["c"] == {1, 2} and loaded["d"].dtype == bool


@pytest.mark.parametrize("protocol", [2, 5])
def test_restricted_unpickler_refuses_code(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"poses": _Exploit(marker)}, protocol=protocol))
    with pytest.raises(UnsafePickleError, match="system"):
        load_restricted_pickle(path)
    assert not marker.exists()


def test_square_box() -> None:
    x0, y0, side = square_box(np.array([[10.0, 20.0], [30.0, 60.0]]), margin=0.25)
    assert (x0, y0, side) == (-10, 10, 60)  # 40 px tall box x 1.5, centred on (20, 40)


@pytest.fixture
def threedpw(tmp_path: Path):
    root = tmp_path / "3DPW"
    return root, build_3dpw(root)


def test_import_writes_crops_and_camera_frame_poses(import_cli: ImportCli, threedpw, tmp_path: Path) -> None:
    root, truth = threedpw
    out = tmp_path / "3dpw_out"
    result = import_cli("3dpw", "--root", root, "--split", "test", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    counts = json.loads(result.stdout)["counts"]["test"]
    assert counts["renders"] == 7 and counts["skipped_invalid_camera"] == 1

    assert verify_dataset(out) == []
    renders = load_dataset(out, tmp_path).renders("test")
    expected_ids = [f"{truth.sequence}_{k}_{f:05d}" for f in range(4) for k in range(2) if truth.valid[k, f]]
    assert renders.ids.tolist() == expected_ids  # numbered by image (= frame index), not by img_frame_ids
    assert f"{truth.sequence}_1_00002" not in renders.ids.tolist()  # invalid camera pose skipped
    r_cam = CAMERA_ROTATION.as_matrix()
    for i, render_id in enumerate(expected_ids):
        k, f = int(render_id.split("_")[-2]), int(render_id.split("_")[-1])
        pose = truth.poses[k, f, :66].reshape(22, 3)
        want_root = r_cam @ Rotation.from_rotvec(pose[0]).as_matrix()
        got_root = Rotation.from_rotvec(renders.poses_camera[i, 0].astype(np.float64)).as_matrix()
        np.testing.assert_allclose(got_root, want_root, atol=1e-5)
        np.testing.assert_allclose(renders.poses_camera[i, 1:], pose[1:], atol=1e-6)
        image = renders.image(i)
        assert image.shape == (224, 224, 3) and image.dtype == np.uint8
        centre = image[100:124, 100:124].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(centre, PERSON_COLOURS[k], atol=25)  # the crop shows the right person
        corner = image[:8, :8].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(corner, background(f), atol=12)  # ... cut from frame f's own image
    camera = np.load(out / "renders" / "test.npz", allow_pickle=False)
    assert camera["camera"].shape == (7, 7) and camera["betas"].shape == (7, 10)
    people = np.array([int(i.split("_")[-2]) for i in expected_ids])
    assert np.all((camera["camera"][:, 4] < 0) == (people == 0))  # pelvis: person 0 left of the axis
    np.testing.assert_allclose(camera["camera"][:, 6], 4.0, atol=0.11)  # 4 m in front of the camera


def test_stride_keeps_every_nth_frame(import_cli: ImportCli, threedpw, tmp_path: Path) -> None:
    root, truth = threedpw
    out = tmp_path / "o"
    result = import_cli("3dpw", "--root", root, "--split", "test", "--stride", "2", "--out", out)
    assert result.exit_code == 0, result.stderr
    ids = load_dataset(out, tmp_path).renders("test").ids.tolist()
    assert ids == [f"{truth.sequence}_{k}_{f:05d}" for f in (0, 2) for k in (0, 1) if truth.valid[k, f]]


def _rewrite(root: Path, change: Callable[[dict], None]) -> None:
    path = next((root / "sequenceFiles" / "test").glob("*.pkl"))
    data = load_restricted_pickle(path)
    change(data)
    write_3dpw_pickle(path, data)


def test_fixture_is_a_python2_latin1_pickle(threedpw) -> None:
    """The fixture is as the peers' loaders read the release: latin-1 byte strings, 60 Hz frame ids."""
    root, truth = threedpw
    path = next((root / "sequenceFiles" / "test").glob("*.pkl"))
    with pytest.raises(UnicodeDecodeError):  # Python 2 byte strings: unreadable without encoding='latin1'
        pickle.loads(path.read_bytes())  # our own fixture file, never user data
    data = load_restricted_pickle(path)
    assert isinstance(data["sequence"], np.ndarray) and data["sequence"].ndim == 0
    assert data["img_frame_ids"].tolist() == FRAME_IDS_60HZ.tolist() != list(range(truth.frames))
    assert sorted(p.name for p in (root / "imageFiles" / truth.sequence).iterdir()) == [
        f"image_{f:05d}.jpg" for f in range(truth.frames)]


@pytest.mark.parametrize(
    "value",
    [np.array("courtyard_fake_00"), np.array(b"courtyard_fake_00"), "courtyard_fake_00", np.str_("courtyard_fake_00")],
    ids=["0-d str array", "0-d bytes array", "str", "numpy str"],
)
def test_sequence_name_as_string_or_0d_array(value: object, import_cli: ImportCli, threedpw, tmp_path: Path) -> None:
    """mmhuman3d reads the name as ``str(data['sequence'])``: a 0-d numpy string array is as good as a str."""
    root, truth = threedpw
    _rewrite(root, lambda d: d.__setitem__("sequence", value))
    out = tmp_path / "o"
    result = import_cli("3dpw", "--root", root, "--split", "test", "--out", out)
    assert result.exit_code == 0, result.stderr
    ids = load_dataset(out, tmp_path).renders("test").ids.tolist()
    assert ids[0] == f"{truth.sequence}_0_00000" and all(i.startswith("courtyard_fake_00_") for i in ids)


ERROR_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "poses not (F, 72)": (lambda r: _rewrite(r, lambda d: d["poses"].__setitem__(0, d["poses"][0][:, :69])),
                          "field 'poses'"),
    "missing field": (lambda r: _rewrite(r, lambda d: d.pop("cam_poses")), "field 'cam_poses': missing field"),
    "cam_poses shape": (lambda r: _rewrite(r, lambda d: d.__setitem__("cam_poses", d["cam_poses"][:, :3])),
                        "field 'cam_poses'"),
    "missing image": (lambda r: next((r / "imageFiles").rglob("image_00002.jpg")).unlink(),
                      "image file does not exist"),
    "bad sequence name": (lambda r: _rewrite(r, lambda d: d.__setitem__("sequence", np.array(["a", "b"]))),
                          "bad sequence name"),
    "no sequence files": (lambda r: next((r / "sequenceFiles" / "test").glob("*.pkl")).unlink(),
                          "no 3DPW sequence files"),
    "unsafe pickle": (lambda r: next((r / "sequenceFiles" / "test").glob("*.pkl")).write_bytes(
        pickle.dumps({"poses": _Exploit(r / "pwned")}, protocol=2)), "refusing to load global"),
    "duplicate sequence name": (lambda r: (r / "sequenceFiles/test/zz_copy.pkl").write_bytes(
        next((r / "sequenceFiles" / "test").glob("*.pkl")).read_bytes()), "is used by another file"),
    "no joints and no body model": (lambda r: _rewrite(r, lambda d: d.pop("jointPositions")),
                                    "no jointPositions and no body model"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors(case: str, import_cli: ImportCli, threedpw, tmp_path: Path) -> None:
    root, _ = threedpw
    corrupt, message = ERROR_CASES[case]
    corrupt(root)
    result = import_cli("3dpw", "--root", root, "--split", "test", "--out", tmp_path / "o")
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (root / "pwned").exists() and not (tmp_path / "o").exists()
