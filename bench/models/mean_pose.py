"""``mean-pose``: the rotation mean of the training poses, answered for every pose task."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from bench.body import axis_angle_to_matrix, matrix_to_axis_angle
from bench.models.adapter import ModelAdapter, ModelContext, ModelInfo, Prediction, SampleFailure, register_model
from bench.models.train_pool import train_poses
from tasks import get_task, task_ids
from tasks.spec import Request


def rotation_mean(poses: np.ndarray) -> np.ndarray:
    """Per-joint chordal L2 mean of rotations: the average rotation matrix projected to SO(3).

    Args:
        poses: float32 (N, J, 3) axis-angle, N >= 1.

    Returns:
        float32 (J, 3) axis-angle: for each joint the rotation closest (Frobenius) to the mean
        matrix, found by SVD ``U diag(1, 1, det(U V^T)) V^T``.

    >>> rotation_mean(np.array([[[0.0, 0.0, 0.5]], [[0.0, 0.0, 1.5]]], np.float32)).round(4).tolist()
    [[0.0, 0.0, 1.0]]
    """
    matrices = axis_angle_to_matrix(torch.as_tensor(np.asarray(poses, dtype=np.float64)))
    mean = matrices.mean(dim=0)
    u, _, vt = torch.linalg.svd(mean)
    fix = torch.ones(mean.shape[:-1], dtype=mean.dtype)
    fix[..., -1] = torch.sign(torch.linalg.det(u @ vt))
    projected = u @ torch.diag_embed(fix) @ vt
    return matrix_to_axis_angle(projected).numpy().astype(np.float32)


@register_model("mean-pose")
class MeanPose(ModelAdapter):
    """Every pose task answered with the rotation mean (:func:`rotation_mean`) of the training poses."""

    info = ModelInfo(name="mean-pose", version="1.0", description="the rotation mean of the training poses",
                     training_data=("<dataset>/train",))  # fmt: skip
    tasks = tuple(t for t in task_ids() if get_task(t).spec.output_kind == "pose")

    def __init__(self, mean: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)

    @classmethod
    def load(cls, ctx: ModelContext) -> MeanPose:
        return cls(rotation_mean(train_poses(ctx.dataset)))

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        return [self.mean.copy() for _ in requests]
