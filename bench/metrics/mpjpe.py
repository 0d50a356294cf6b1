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
    listed in ``root`` (e.g. the two hips for a hip-midpoint pelvis).
``"procrustes"`` (PA-MPJPE)
    Per sample, the similarity transform ``s·R·x + t`` (scale, proper rotation with the reflection
    fix ``det R = +1``, translation) that best maps the predicted joints onto the ground truth in
    the least-squares sense (Umeyama 1991; HMR2's ``batch_compute_similarity_transform``), then the
    error. A prediction whose joints all coincide gets ``s = 0`` (it maps to the ground-truth
    centroid). ``root`` is not used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from bench.errors import ConfigError, ValidationError
from bench.metrics._checks import as_float64

ALIGNMENTS = ("none", "root", "procrustes")


def mpjpe(
    pred_m: ArrayLike,
    gt_m: ArrayLike,
    *,
    align: str,
    root: int | Sequence[int] = 0,
) -> np.ndarray:
    """Per-sample MPJPE in millimetres.

    Args:
        pred_m: ``(N, J, 3)`` predicted joints, metres.
        gt_m: ``(N, J, 3)`` ground-truth joints, metres, same frame and joint order.
        align: ``"none"``, ``"root"`` or ``"procrustes"`` (module doc).
        root: for ``align="root"``: a joint index, or a sequence of joint indices whose mean is the
            root. Ignored by the other alignments.

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
    elif align == "procrustes":
        pred = procrustes_align(pred, gt)
    elif align != "none":
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
