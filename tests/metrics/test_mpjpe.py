"""mpjpe against plain references (Horn's quaternion method for Procrustes) and hand cases."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench.errors import ConfigError, ValidationError
from bench.metrics import mpjpe
from tests.metrics.helpers import random_rotation


def horn_align(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Similarity-align one (J, 3) point set onto another with Horn's (1987) unit quaternions:
    an independent derivation of the optimal proper rotation (no SVD, no reflection fix)."""
    mx, my = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mx, y - my
    s = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            s[a, b] = sum(xc[j, a] * yc[j, b] for j in range(len(x)))
    (sxx, sxy, sxz), (syx, syy, syz), (szx, szy, szz) = s
    n = np.array([
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ])
    w, v = np.linalg.eigh(n)
    q0, qx, qy, qz = v[:, np.argmax(w)]
    rot = np.array([
        [q0**2 + qx**2 - qy**2 - qz**2, 2 * (qx * qy - q0 * qz), 2 * (qx * qz + q0 * qy)],
        [2 * (qy * qx + q0 * qz), q0**2 - qx**2 + qy**2 - qz**2, 2 * (qy * qz - q0 * qx)],
        [2 * (qz * qx - q0 * qy), 2 * (qz * qy + q0 * qx), q0**2 - qx**2 - qy**2 + qz**2],
    ])
    rotated = [rot @ p for p in xc]
    var = sum(float(p @ p) for p in xc)
    scale = sum(float(r @ t) for r, t in zip(rotated, yc)) / var if var > 0 else 0.0
    return np.array([scale * r + my for r in rotated])


def reference_mpjpe(pred, gt, align, root=0):
    out = []
    for p, g in zip(pred, gt):
        if align == "root":
            idx = [root] if isinstance(root, int) else list(root)
            p = p - p[idx].mean(axis=0)
            g = g - g[idx].mean(axis=0)
        elif align == "procrustes":
            p = horn_align(p, g)
        dists = [np.sqrt(sum((a - b) ** 2 for a, b in zip(pj, gj))) for pj, gj in zip(p, g)]
        out.append(1000.0 * sum(dists) / len(dists))
    return np.array(out)


def poses(seed: int, n: int = 16, joints: int = 22) -> tuple[np.ndarray, np.ndarray]:
    """Random ground truth (metres, body-sized) and a noisy prediction of it."""
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=0.4, size=(n, joints, 3))
    pred = gt + rng.normal(scale=0.05, size=gt.shape) + rng.normal(scale=0.1, size=(n, 1, 3))
    return pred, gt


@pytest.mark.parametrize(
    ("align", "root"), [("none", 0), ("root", 0), ("root", [1, 2]), ("procrustes", 0)]
)
def test_matches_reference(align, root):
    pred, gt = poses(0)
    got = mpjpe(pred, gt, align=align, root=root)
    assert got.shape == (16,) and got.dtype == np.float64
    np.testing.assert_allclose(got, reference_mpjpe(pred, gt, align, root), rtol=1e-10, atol=1e-9)


def test_alignments_order_as_expected():
    pred, gt = poses(1)
    none, rooted, pa = (mpjpe(pred, gt, align=a).mean() for a in ("none", "root", "procrustes"))
    assert pa < rooted and pa < none and pa > 0


def test_procrustes_recovers_a_similarity_transform():
    rng = np.random.default_rng(2)
    gt = rng.normal(scale=0.5, size=(8, 24, 3))
    pred = np.empty_like(gt)
    for i in range(8):
        rot, scale, shift = random_rotation(rng, 3), rng.uniform(0.3, 3.0), rng.normal(size=3)
        pred[i] = scale * gt[i] @ rot.T + shift
    assert mpjpe(pred, gt, align="none").min() > 10.0
    assert mpjpe(pred, gt, align="procrustes").max() < 1e-9


def test_reflection_is_not_undone():
    rng = np.random.default_rng(3)
    gt = rng.normal(scale=0.5, size=(4, 17, 3))
    mirrored = gt * np.array([-1.0, 1.0, 1.0])  # det -1: only a reflection maps it back
    pa = mpjpe(mirrored, gt, align="procrustes")
    assert pa.min() > 50.0
    np.testing.assert_allclose(pa, reference_mpjpe(mirrored, gt, "procrustes"), rtol=1e-10)
    # A best orthogonal map that is a reflection would make this ~0: check against it.
    x = mirrored[0] - mirrored[0].mean(0)
    y = gt[0] - gt[0].mean(0)
    u, _, vt = np.linalg.svd(y.T @ x)
    assert np.linalg.det(u @ vt) < 0


def test_root_alignment_by_hand():
    gt = np.array([[[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [-0.1, 0.0, 0.0]]])
    pred = gt + np.array([0.3, 0.4, 0.0])  # a 0.5 m translation
    assert mpjpe(pred, gt, align="none").tolist() == pytest.approx([500.0])
    assert mpjpe(pred, gt, align="root", root=0).tolist() == pytest.approx([0.0])
    # move one hip: the hip midpoint moves by half of it
    pred[0, 1, 0] += 0.2
    by_mid = mpjpe(pred, gt, align="root", root=[1, 2])
    assert by_mid.tolist() == pytest.approx([1000 * (0.1 + 0.1 + 0.1) / 3])
    by_pelvis = mpjpe(pred, gt, align="root", root=0)
    assert by_pelvis.tolist() == pytest.approx([1000 * 0.2 / 3])


def test_collapsed_prediction_maps_to_centroid():
    gt = np.array([[[0.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.6, 0.0]]])
    pred = np.zeros_like(gt)  # all joints at one point: scale 0
    centroid = gt[0].mean(axis=0)
    expected = 1000 * np.linalg.norm(gt[0] - centroid, axis=1).mean()
    assert mpjpe(pred, gt, align="procrustes").tolist() == pytest.approx([expected])


def test_invariant_to_batching_order_and_dtype():
    pred, gt = poses(4, n=30)
    for align in ("none", "root", "procrustes"):
        whole = mpjpe(pred, gt, align=align)
        parts = [mpjpe(pred[s], gt[s], align=align) for s in (slice(0, 7), slice(7, 30))]
        parts = np.concatenate(parts)
        np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-9)
        perm = np.random.default_rng(5).permutation(30)
        np.testing.assert_allclose(mpjpe(pred[perm], gt[perm], align=align), whole[perm], atol=1e-9)
        single = mpjpe(pred.astype(np.float32), gt.astype(np.float32), align=align)
        np.testing.assert_allclose(single, whole, rtol=1e-5)


@pytest.mark.parametrize(
    ("pred", "kwargs", "error", "text"),
    [
        (np.zeros((2, 5, 3)), {"align": "scale"}, ConfigError, "unknown alignment 'scale'"),
        (np.zeros((2, 5, 3)), {"align": "root", "root": 5}, ConfigError, "outside [0, 5)"),
        (np.zeros((2, 5, 3)), {"align": "root", "root": []}, ConfigError, "non-empty"),
        (np.zeros((2, 4, 3)), {"align": "none"}, ValidationError, "ground-truth shape"),
        (np.zeros((2, 5)), {"align": "none"}, ValidationError, "3 dimensions"),
        (np.full((2, 5, 3), np.inf), {"align": "none"}, ValidationError, "non-finite"),
    ],
)
def test_errors(pred, kwargs, error, text):
    with pytest.raises(error, match=re.escape(text)):
        mpjpe(pred, np.zeros((2, 5, 3)), **kwargs)


def test_wrong_coordinate_count():
    with pytest.raises(ValidationError, match=re.escape("(N, J, 3)")):
        mpjpe(np.zeros((2, 5, 2)), np.zeros((2, 5, 2)), align="none")
