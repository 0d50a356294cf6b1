"""Mean per-joint position error, with no, root or similarity-Procrustes alignment.

Dimensions: ``N`` samples, ``J`` joints, 3 coordinates. Inputs are joint positions in **metres**
(any float dtype, computed in float64), both in the same frame and the same joint set; the output is
the per-sample mean Euclidean joint error in **millimetres**. The joint set, the root and the
alignment are the caller's protocol choices and are never inferred from shapes.

Alignments:

``"none"``
    Raw positions (PoseScript/UniPose text-to-pose and editing: orientation errors count).
``"root"``
    The root of each pose is subtracted from that pose: joint ``root``, or the mean of the joints
    listed in ``root`` (e.g. the two hips for a hip-midpoint pelvis). The root is taken among all
    ``J`` joints, before ``joints`` selects the evaluated subset, so a root outside the subset works
    (the pelvis for ``lsp14``).
``"procrustes"`` (PA-MPJPE)
    Per sample, the similarity transform ``s·R·x + t`` (scale, proper rotation with the reflection
    fix ``det R = +1``, translation) that best maps the predicted joints onto the ground truth in
    the least-squares sense (Umeyama 1991; HMR2's ``batch_compute_similarity_transform``), then the
    error. A prediction whose joints all coincide gets ``s = 0`` (it maps to the ground-truth
    centroid). ``root`` is not used; the transform is fitted on the evaluated ``joints`` only.

The module also registers the ``mpjpe`` measure: task-level MPJPE / PA-MPJPE through the scoring
context's body model, on the metric's joint set, with its alignment (``root`` means the pelvis).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from bench.errors import ConfigError, ValidationError
from bench.metrics._checks import as_float64
from bench.metrics.measure import Measured, MeasureInput, Measurements, register_measure

if TYPE_CHECKING:
    from tasks.spec import MetricSpec

ALIGNMENTS = ("none", "root", "procrustes")
"""The alignments a pose error can use (module doc)."""
PELVIS = 0
"""Index of the pelvis among the body model's joints (SMPL order): the root of ``root`` alignment
in task metrics."""


def mpjpe(
    pred_m: ArrayLike,
    gt_m: ArrayLike,
    *,
    align: str,
    root: int | Sequence[int] = 0,
    joints: Sequence[int] | None = None,
) -> np.ndarray:
    """Per-sample MPJPE in millimetres.

    Args:
        pred_m: ``(N, J, 3)`` predicted joints, metres.
        gt_m: ``(N, J, 3)`` ground-truth joints, metres, same frame and joint order.
        align: ``"none"``, ``"root"`` or ``"procrustes"`` (module doc).
        root: for ``align="root"``: a joint index, or a sequence of joint indices whose mean is the
            root, among all ``J`` joints. Ignored by the other alignments.
        joints: indices of the joints evaluated (a joint set); default all ``J``.

    Returns:
        float64 ``(N,)``: mean over joints of the Euclidean error, mm. Average it (or bootstrap it)
        for the reported MPJPE.

    Raises:
        ValidationError: shapes that are not ``(N, J, 3)`` and equal, or non-finite values.
        ConfigError: unknown ``align``; ``root`` out of range or empty.

    >>> gt = np.zeros((1, 2, 3)); pred = gt + [0.0, 0.0, 0.01]
    >>> mpjpe(pred, gt, align="none").round(9).tolist(), mpjpe(pred, gt, align="root").tolist()
    ([10.0], [0.0])
    """
    pred = as_float64(pred_m, "pred_m", ndim=3)
    gt = as_float64(gt_m, "gt_m", ndim=3)
    if pred.shape != gt.shape:
        raise ValidationError(
            f"shape {pred.shape} != ground-truth shape {gt.shape}", field="pred_m"
        )
    if pred.shape[2] != 3 or pred.shape[1] == 0:
        raise ValidationError(
            f"expected (N, J, 3) joints with J >= 1, got {pred.shape}", field="pred_m"
        )
    if align == "root":
        roots = _root_indices(root, pred.shape[1])
        pred = pred - pred[:, roots].mean(axis=1, keepdims=True)
        gt = gt - gt[:, roots].mean(axis=1, keepdims=True)
    if joints is not None:
        subset = _joint_subset(joints, pred.shape[1])
        pred, gt = pred[:, subset], gt[:, subset]
    if align == "procrustes":
        pred = procrustes_align(pred, gt)
    elif align not in ("none", "root"):
        raise ConfigError(
            f"unknown alignment {align!r}; known: {', '.join(ALIGNMENTS)}", field="align"
        )
    return 1000.0 * np.linalg.norm(pred - gt, axis=2).mean(axis=1)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``pred`` mapped onto ``gt`` by each sample's least-squares similarity transform.

    Args:
        pred: float64 ``(N, J, 3)``.
        gt: float64 ``(N, J, 3)``.

    Returns:
        float64 ``(N, J, 3)``: ``s_n · R_n · pred[n, j] + t_n`` with ``det R_n = +1``, ``s_n >= 0``.
    """
    mu_pred = pred.mean(axis=1, keepdims=True)
    mu_gt = gt.mean(axis=1, keepdims=True)
    x = pred - mu_pred
    y = gt - mu_gt
    cross = np.einsum("nji,njk->nik", y, x)  # (N, 3, 3): sum_j y_j x_j^T
    u, sing, vt = np.linalg.svd(cross)
    sign = np.sign(np.linalg.det(u @ vt))
    sign[sign == 0] = 1.0
    fix = np.ones_like(sing)
    fix[:, 2] = sign  # flip the weakest axis when the best orthogonal map is a reflection
    rot = np.einsum("nij,nj,njk->nik", u, fix, vt)  # U diag(1, 1, sign) V^T
    var_pred = np.einsum("nji,nji->n", x, x)
    scale = np.divide(
        (sing * fix).sum(axis=1), var_pred, out=np.zeros_like(var_pred), where=var_pred > 0
    )
    return scale[:, None, None] * np.einsum("nik,njk->nji", rot, x) + mu_gt


def _root_indices(root: int | Sequence[int], n_joints: int) -> np.ndarray:
    """``root`` as a non-empty int array of joint indices in ``[0, J)``."""
    indices = np.atleast_1d(np.asarray(root))
    if indices.size == 0 or indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise ConfigError(
            f"root must be a joint index or a non-empty list of them, got {root!r}", field="root"
        )
    bad = indices[(indices < 0) | (indices >= n_joints)]
    if bad.size:
        raise ConfigError(f"root joint {int(bad[0])} is outside [0, {n_joints})", field="root")
    return indices


def _joint_subset(joints: Sequence[int], n_joints: int) -> np.ndarray:
    """``joints`` as a non-empty int array of distinct indices in ``[0, J)``."""
    indices = np.asarray(joints)
    if indices.ndim != 1 or indices.size == 0 or not np.issubdtype(indices.dtype, np.integer):
        raise ConfigError(f"joints must be a non-empty list of joint indices, got {joints!r}", field="joints")
    if len(set(indices.tolist())) != indices.size or indices.min() < 0 or indices.max() >= n_joints:
        raise ConfigError(f"joints must be distinct indices in [0, {n_joints}), got {joints!r}", field="joints")
    return indices


@register_measure("mpjpe", output_kinds=("pose",), protocols=("joints",), requires=("joint_set", "alignment"))
def measure_pose_errors(inputs: MeasureInput, specs: Sequence[MetricSpec]) -> Measurements:
    """MPJPE-type errors in mm per sample, through the scoring context's body model: each metric on
    its joint set (``bench.body.JOINT_SETS``) with its alignment (``root``: the pelvis joint)."""
    from bench.body import joint_indices

    ctx = inputs.ctx
    with inputs.timed("joints"):
        predicted_m, target_m = ctx.joints_m(inputs.need("poses")), ctx.joints_m(inputs.need("targets"))
    out: dict[str, Measured] = {}
    with inputs.timed("mpjpe"):
        for spec in specs:
            subset = joint_indices(str(spec.joint_set))
            per_sample = mpjpe(predicted_m, target_m, align=str(spec.alignment), root=PELVIS, joints=subset)
            facts = {"root_joint": "pelvis" if spec.alignment == "root" else None, "joint_indices": subset}
            out[spec.name] = Measured(value=float(per_sample.mean()), per_sample=per_sample, facts=facts)
    return out, {}
