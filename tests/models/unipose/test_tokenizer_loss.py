"""Tokenizer reconstruction loss: weights, joint term through the body model, area-weighted vertices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.body import axis_angle_to_matrix, load_body_model
from bench.models.unipose.tokenizer_loss import LossWeights, ReconstructionLoss, vertex_area_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _pair(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    gt = 0.4 * torch.randn(4, 22, 3, generator=gen)
    return gt, gt + 0.1 * torch.randn(4, 22, 3, generator=gen)


def test_perfect_reconstruction_costs_only_the_commitment() -> None:
    loss = ReconstructionLoss(load_body_model("skeleton"), LossWeights())
    gt, _ = _pair()
    terms = loss(axis_angle_to_matrix(gt), axis_angle_to_matrix(gt), gt, torch.tensor(0.25))
    assert float(terms.rot) == 0.0 and float(terms.joints) < 1e-10
    assert terms.verts is None  # the skeleton has no mesh
    assert float(terms.total) == pytest.approx(0.25, abs=1e-8)


def test_terms_and_weights_against_a_direct_computation() -> None:
    body = load_body_model("skeleton")
    weights = LossWeights(rot=3.0, joints=7.0, verts=100.0, commit=0.5)
    gt, pred = _pair(1)
    pred_matrices = axis_angle_to_matrix(pred).requires_grad_(True)
    terms = ReconstructionLoss(body, weights)(pred_matrices, axis_angle_to_matrix(gt), gt, torch.tensor(2.0))
    rot = ((axis_angle_to_matrix(pred) - axis_angle_to_matrix(gt)) ** 2).mean()
    joints = ((body.joints(pred)[:, :22] - body.joints(gt)[:, :22]) ** 2).mean()
    assert float(terms.rot.detach()) == pytest.approx(float(rot), rel=1e-5)
    assert float(terms.joints.detach()) == pytest.approx(float(joints), rel=1e-4)
    assert float(terms.total.detach()) == pytest.approx(3.0 * float(rot) + 7.0 * float(joints) + 1.0, rel=1e-4)
    terms.total.backward()  # gradients reach the predicted rotations through forward kinematics
    assert pred_matrices.grad is not None and pred_matrices.grad.abs().sum() > 0
    assert set(terms.as_floats()) == {"total", "rot", "joints", "commit"}


def test_area_weighted_vertex_term_with_a_mesh_body_model(tiny_smpl_dir: Path) -> None:
    body = load_body_model("smpl", tiny_smpl_dir)
    weights = vertex_area_weights(body)
    faces = np.asarray(body.faces)
    assert weights.shape == (body.vertices(np.zeros((1, 22, 3))).shape[1],)
    incident = np.bincount(faces.reshape(-1), minlength=len(weights))
    assert (weights.numpy() >= 0).all() and (weights.numpy() <= incident + 1e-6).all()
    assert float(weights.max()) > 0
    gt, pred = _pair(2)
    terms = ReconstructionLoss(body, LossWeights())(axis_angle_to_matrix(pred), axis_angle_to_matrix(gt), gt, torch.tensor(0.0))
    expected = (weights[None, :, None] * (body.vertices(pred) - body.vertices(gt)) ** 2).mean()
    assert terms.verts is not None and float(terms.verts) == pytest.approx(float(expected), rel=1e-4)
    assert "verts" in terms.as_floats()
    expected_total = 20 * float(terms.rot) + 100 * float(terms.joints) + 100 * float(expected)
    assert float(terms.total) == pytest.approx(expected_total, rel=1e-4)


def test_area_weights_follow_face_areas() -> None:
    class TwoTriangles:
        """A stand-in mesh: one unit right triangle and one twice as large, sharing vertex 0."""

        name = "two-triangles"
        faces = np.array([[0, 1, 2], [0, 3, 4]])

        def vertices(self, poses: np.ndarray) -> np.ndarray:
            return np.array([[[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0], [0, 2, 0]]], dtype=np.float64)

    weights = vertex_area_weights(TwoTriangles())  # areas 0.5 and 2 → min-max normalised 0 and 1
    assert torch.allclose(weights, torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0]))
