"""Reconstruction losses of the pose tokenizer (UniPose ``PoseVQLoss``,
``docs/peers.md#unipose-tokenizer-training``).

``total = w_rot·L_rot + w_joints·L_joints + w_verts·L_verts + w_commit·L_commit`` (20 / 100 / 100 / 1):

- ``L_rot``: MSE between predicted and ground-truth rotation matrices of the 22 pose rows (mean
  over 22 × 9 entries).
- ``L_joints``: MSE between predicted and ground-truth joint positions of ``body22`` (joints 0–21),
  metres, from the configured body model (the built-in ``skeleton`` by default, SMPL-H in the
  paper). Poses are posed with zero translation and, for SMPL backends, zero shape.
- ``L_verts``: area-weighted MSE over the mesh vertices: each vertex's weight is the sum, over its
  incident faces, of the face area in the zero pose, min–max normalised to [0, 1]; the loss is the
  mean of weight × squared difference over vertices and x, y, z. Only for body models with a mesh
  (``smpl``, ``smplh``); the ``skeleton`` has none, so the term is absent there and the card says so.
- ``L_commit``: the quantiser's commitment MSE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bench.body import BodyModel, JOINT_SETS, matrix_to_axis_angle
from bench.errors import InternalError

__all__ = ["LossWeights", "LossTerms", "ReconstructionLoss", "vertex_area_weights"]


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (UniPose's 20 / 100 / 100 / 1)."""

    rot: float = 20.0
    """Rotation-matrix MSE."""
    joints: float = 100.0
    """body22 joint-position MSE, metres²."""
    verts: float = 100.0
    """Area-weighted vertex MSE, metres² (only with a mesh body model)."""
    commit: float = 1.0
    """Commitment MSE."""


@dataclass
class LossTerms:
    """One loss evaluation; ``verts`` is None without a mesh."""

    total: torch.Tensor
    rot: torch.Tensor
    joints: torch.Tensor
    verts: torch.Tensor | None
    commit: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        """The terms as plain floats (for logs and the training history)."""
        values = {"total": self.total, "rot": self.rot, "joints": self.joints, "commit": self.commit}
        if self.verts is not None:
            values["verts"] = self.verts
        return {name: float(value.detach()) for name, value in values.items()}


def vertex_area_weights(body_model: BodyModel) -> torch.Tensor:
    """float32 ``(V,)`` per-vertex weights: the summed min–max-normalised zero-pose areas of incident faces."""
    if body_model.faces is None:
        raise InternalError(f"the {body_model.name!r} body model has no mesh", field="body_model")
    rest = np.asarray(body_model.vertices(np.zeros((1, 22, 3), dtype=np.float64))[0])
    faces = np.asarray(body_model.faces, dtype=np.int64)
    corners = rest[faces]  # (F, 3 corners, 3)
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=-1)
    span = area.max() - area.min()
    area = (area - area.min()) / span if span > 0 else np.ones_like(area)
    weights = np.zeros(rest.shape[0], dtype=np.float64)
    np.add.at(weights, faces.reshape(-1), np.repeat(area, 3))
    return torch.from_numpy(weights.astype(np.float32))


class ReconstructionLoss:
    """The weighted tokenizer loss for one body model (module docstring)."""

    def __init__(self, body_model: BodyModel, weights: LossWeights) -> None:
        self.body_model = body_model
        self.weights = weights
        self.joint_rows = list(JOINT_SETS["body22"])
        self.vertex_weights = vertex_area_weights(body_model) if body_model.has_mesh and weights.verts > 0 else None

    def __call__(
        self,
        pred_matrices: torch.Tensor,
        gt_matrices: torch.Tensor,
        gt_poses: torch.Tensor,
        commit_loss: torch.Tensor,
    ) -> LossTerms:
        """Loss terms.

        Args:
            pred_matrices: float ``(B, 22, 3, 3)`` decoded rotations (gradients flow back).
            gt_matrices: float ``(B, 22, 3, 3)`` ground-truth rotations.
            gt_poses: float ``(B, 22, 3)`` the same ground truth as axis-angle, radians.
            commit_loss: the quantiser's scalar commitment loss.
        """
        pred_poses = matrix_to_axis_angle(pred_matrices)
        rot = F.mse_loss(pred_matrices, gt_matrices)
        with torch.no_grad():
            gt_joints = self.body_model.joints(gt_poses)[:, self.joint_rows]
        joints = F.mse_loss(self.body_model.joints(pred_poses)[:, self.joint_rows], gt_joints)
        verts = None
        total = self.weights.rot * rot + self.weights.joints * joints + self.weights.commit * commit_loss
        if self.vertex_weights is not None:
            with torch.no_grad():
                gt_verts = self.body_model.vertices(gt_poses)
            weight = self.vertex_weights.to(device=gt_verts.device, dtype=gt_verts.dtype)[None, :, None]
            verts = (weight * (self.body_model.vertices(pred_poses) - gt_verts).pow(2)).mean()
            total = total + self.weights.verts * verts
        return LossTerms(total=total, rot=rot, joints=joints, verts=verts, commit=commit_loss)
