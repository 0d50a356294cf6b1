"""load_body_model: the skeleton, and smpl / smplh through smplx on tiny synthetic model files."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.body import JOINT_NAMES, forward_kinematics, load_body_model
from bench.body.backends import smplx_models
from bench.errors import BodyModelError, NotFoundError
from tests.body.tiny_smpl import TINY_PELVIS, smpl_model_arrays, write_smpl_model


@pytest.fixture(scope="module")
def poses() -> np.ndarray:
    return np.random.default_rng(5).normal(scale=0.4, size=(3, 22, 3)).astype(np.float32)


def smplx_reference(model: smplx_models.SmplxBodyModel, poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joints and vertices straight from the smplx module, called by hand."""
    flat = torch.from_numpy(poses).reshape(len(poses), -1)
    n = len(poses)
    inputs = dict(betas=torch.zeros(n, 10), global_orient=flat[:, :3])
    if model.name == "smpl":
        inputs["body_pose"] = torch.cat([flat[:, 3:], torch.zeros(n, 6)], dim=1)
    else:
        inputs.update(body_pose=flat[:, 3:], left_hand_pose=torch.zeros(n, 45), right_hand_pose=torch.zeros(n, 45))
    with torch.no_grad():
        out = model._layer(**inputs)
    return out.joints[:, : model.num_joints].numpy(), out.vertices.numpy()


def test_skeleton_is_the_default(poses: np.ndarray) -> None:
    model = load_body_model()
    assert (model.name, model.num_joints, model.joint_names, model.has_mesh) == ("skeleton", 24, JOINT_NAMES, False)
    assert model.description["backend"] == "skeleton" and model.description["num_joints"] == 24
    assert len(model.description["rest_sha256"]) == 64
    joints = model.joints(poses)
    assert isinstance(joints, np.ndarray) and joints.dtype == np.float32 and joints.shape == (3, 24, 3)
    np.testing.assert_allclose(joints, forward_kinematics(poses), atol=0)
    as_tensor = model.joints(torch.from_numpy(poses).double())
    assert as_tensor.dtype == torch.float64
    np.testing.assert_allclose(as_tensor.numpy(), joints, atol=1e-6)
    assert model.joints(poses[0]).shape == (24, 3)
    with pytest.raises(BodyModelError, match="no mesh"):
        model.vertices(poses)


def test_unknown_backend_suggests() -> None:
    with pytest.raises(NotFoundError, match=r"unknown body model 'smlp'; did you mean 'smpl'"):
        load_body_model("smlp")


@pytest.mark.parametrize("fmt", ["npz", "pkl"])
@pytest.mark.parametrize("layout", ["folder", "file"])
def test_smpl_backend_matches_smplx(tmp_path: Path, poses: np.ndarray, fmt: str, layout: str) -> None:
    path = write_smpl_model(tmp_path, smpl_model_arrays("smpl"), fmt=fmt, layout=layout)
    model = load_body_model("smpl", path)
    assert (model.name, model.num_joints, model.faces.shape) == ("smpl", 24, (192, 3))
    joints, vertices = model.joints(poses), model.vertices(poses)
    ref_joints, ref_vertices = smplx_reference(model, poses)
    np.testing.assert_allclose(joints, ref_joints, atol=2e-6)
    np.testing.assert_allclose(vertices, ref_vertices, atol=2e-6)
    # The tiny model's rest joints are the skeleton's, lifted: same kinematics, shifted frame.
    np.testing.assert_allclose(joints, forward_kinematics(poses) + TINY_PELVIS, atol=2e-6)
    file = path if layout == "file" else path / "smpl" / f"SMPL_NEUTRAL.{fmt}"
    description = model.description
    assert description["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert (description["file"], description["num_joints"], description["num_vertices"]) == (str(file), 24, 144)


def test_smplh_backend(tiny_smpl_dir: Path, poses: np.ndarray) -> None:
    model = load_body_model("smplh", tiny_smpl_dir)
    assert model.num_joints == 52 and model.joint_names[22] == "left_index1" and model.parents[22] == 20
    joints = model.joints(torch.from_numpy(poses))
    ref_joints, ref_vertices = smplx_reference(model, poses)
    np.testing.assert_allclose(joints.numpy(), ref_joints, atol=2e-6)
    np.testing.assert_allclose(model.vertices(poses), ref_vertices, atol=2e-6)
    smpl = load_body_model("smpl", tiny_smpl_dir)
    np.testing.assert_allclose(joints[:, :22].numpy(), smpl.joints(poses)[:, :22], atol=2e-6)


def test_vertices_in_chunks(tiny_smpl_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_body_model("smpl", tiny_smpl_dir)
    batch = np.random.default_rng(2).normal(scale=0.3, size=(5, 22, 3))
    whole = model.vertices(batch)
    monkeypatch.setattr(smplx_models, "VERTEX_CHUNK", 2)
    chunked = model.vertices(batch)
    assert chunked.dtype == np.float64
    np.testing.assert_allclose(chunked, whole, atol=1e-6)  # float32 BLAS blocking differs with the batch
    assert model.vertices(np.zeros((0, 22, 3))).shape == (0, 144, 3)


def test_sparse_regressor_in_pickle(tmp_path: Path, poses: np.ndarray) -> None:
    scipy_sparse = pytest.importorskip("scipy.sparse")
    arrays = smpl_model_arrays("smpl")
    dense = load_body_model("smpl", write_smpl_model(tmp_path / "dense", arrays, layout="file")).joints(poses)
    for protocol in (0, 2, 5):
        for kind in (scipy_sparse.csc_matrix, scipy_sparse.csr_matrix):
            sparse = dict(arrays, J_regressor=kind(arrays["J_regressor"]))
            file = tmp_path / f"sparse_{protocol}_{kind.__name__}.pkl"
            file.write_bytes(pickle.dumps(sparse, protocol=protocol))
            np.testing.assert_allclose(load_body_model("smpl", file).joints(poses), dense, atol=1e-7)


def _touch(path: str) -> None:
    Path(path).touch()


class _Exploit:
    """Unpickling this calls ``_touch(marker)``, like a malicious file calling os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (_touch, (str(self.marker),))


def _chumpy_pickle() -> bytes:
    """A protocol-2 pickle naming chumpy's array class, as real SMPL .pkl files do."""
    return b"\x80\x02}q\x00X\x01\x00\x00\x00vq\x01cchumpy.ch\nCh\nq\x02)\x81q\x03s."


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    arrays = smpl_model_arrays("smpl")
    cases: dict[str, tuple[Path, str]] = {}

    def add(name: str, content: bytes, pattern: str) -> None:
        (tmp_path / name).write_bytes(content)
        cases[name] = (tmp_path / name, pattern)

    add("corrupt.npz", b"PK\x03\x04 definitely not a zip", "cannot read as .npz")
    add("truncated.pkl", pickle.dumps(arrays, protocol=2)[:500], "cannot read as a chumpy-free SMPL pickle")
    add("model.json", b"{}", "unsupported body model format '.json'")
    add("chumpy.pkl", _chumpy_pickle(), "chumpy objects .*chumpy-free .npz")
    add("list.pkl", pickle.dumps([1, 2]), "expected a pickled dict")
    np.savez(tmp_path / "nokeys.npz", v_template=arrays["v_template"])
    cases["nokeys.npz"] = (tmp_path / "nokeys.npz", "field 'shapedirs': missing shapedirs, posedirs")
    np.savez(tmp_path / "objects.npz", **dict(arrays, f=np.array([{"x": 1}], dtype=object)))
    cases["objects.npz"] = (tmp_path / "objects.npz", "pickled Python objects")
    np.savez(tmp_path / "badfaces.npz", **dict(arrays, f=arrays["f"] + 1000))
    cases["badfaces.npz"] = (tmp_path / "badfaces.npz", "field 'f'")
    np.savez(tmp_path / "nan.npz", **dict(arrays, v_template=arrays["v_template"] * np.nan))
    cases["nan.npz"] = (tmp_path / "nan.npz", "field 'v_template': contains NaN")
    tree = arrays["kintree_table"].copy()
    tree[0, 5] = 3
    np.savez(tmp_path / "tree.npz", **dict(arrays, kintree_table=tree))
    cases["tree.npz"] = (tmp_path / "tree.npz", "kinematic tree differs")
    np.savez(tmp_path / "smplh.npz", **smpl_model_arrays("smplh"))
    cases["smplh.npz"] = (tmp_path / "smplh.npz", "has 52 joints, smpl needs 24; is it an SMPLH file")
    return cases


def test_bad_model_files_give_one_line_errors(tmp_path: Path) -> None:
    for name, (file, pattern) in _bad_files(tmp_path).items():
        with pytest.raises(BodyModelError, match=pattern) as info:
            load_body_model("smpl", file)
        message = str(info.value)
        assert "\n" not in message and message.startswith(str(file)), name


def test_pickle_globals_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    file = tmp_path / "evil.pkl"
    file.write_bytes(pickle.dumps({"v_template": _Exploit(marker)}, protocol=2))
    with pytest.raises(BodyModelError, match=r"global tests\.body\.test_body_models\._touch is not allowed"):
        load_body_model("smpl", file)
    assert not marker.exists()


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(BodyModelError, match="not found"):
        load_body_model("smpl", tmp_path / "nowhere.npz")
    with pytest.raises(BodyModelError, match=r"no SMPLH_NEUTRAL.npz or SMPLH_NEUTRAL.pkl .*smplh/ subfolder"):
        load_body_model("smplh", tmp_path)
    with pytest.raises(BodyModelError, match="needs a model file or folder"):
        load_body_model("smpl")
