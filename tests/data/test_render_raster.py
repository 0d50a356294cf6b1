"""The ray caster against brute force: marching rays through the shapes' implicit definitions."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.synth.images.primitives import Primitives
from bench.data.synth.images.raster import cast

SIZE, FOCAL, CX, CY = 64, 80.0, 32.0, 32.0


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def _one_cone(a, b, ra, rb, lmap) -> Primitives:
    return Primitives(cone_a=np.array([a], np.float32), cone_b=np.array([b], np.float32),
                      cone_ra=np.array([ra], np.float32), cone_rb=np.array([rb], np.float32),
                      cone_map=np.array([lmap], np.float32), cone_material=np.zeros(1, np.int16),
                      cone_owner=np.zeros(1, np.int16))


def _cone_gap(points: np.ndarray, a, b, ra, rb, lmap) -> np.ndarray:
    """min over the axis of |L p - centre(s)| - radius(s): <= 0 inside the mapped round cone."""
    la, lb = lmap @ np.asarray(a, np.float64), lmap @ np.asarray(b, np.float64)
    s = np.linspace(0.0, 1.0, 801)
    centres = la + s[:, None] * (lb - la)
    radii = ra + s * (rb - ra)
    q = points @ lmap.T
    return (np.linalg.norm(q[:, None, :] - centres[None], axis=-1) - radii).min(axis=1)


def _ellipsoid_gap(points: np.ndarray, centre, inv) -> np.ndarray:
    return np.linalg.norm((points - centre) @ np.asarray(inv, np.float64).T, axis=-1) - 1.0


def _first_hit(gap, ray: np.ndarray, t0: float, t1: float, step: float = 2e-3) -> float:
    """Smallest t in [t0, t1] with gap(t * ray) <= 0 (march, then bisect); inf if none."""
    ts = np.arange(t0, t1, step)
    inside = gap(ts[:, None] * ray) <= 0
    if not inside.any():
        return np.inf
    k = int(np.argmax(inside))
    lo, hi = (ts[k - 1] if k else t0), ts[k]
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if gap(mid * ray[None])[0] <= 0 else (mid, hi)
    return hi


def _check(prims: Primitives, gap, rng: np.random.Generator, near: float, far: float) -> None:
    hits = cast(prims, SIZE, FOCAL, CX, CY, supersample=2)
    edge_pixels = set(hits.edges.tolist())
    covered = np.argwhere(hits.material >= 0)
    empty = np.argwhere(hits.material < 0)
    assert len(covered) > 30 and len(empty) > 30
    picks = np.concatenate([covered[rng.choice(len(covered), 25, replace=False)],
                            empty[rng.choice(len(empty), 10, replace=False)]])
    for row, col in picks:
        ray = np.array([(col + 0.5 - CX) / FOCAL, (row + 0.5 - CY) / FOCAL, 1.0])
        expected = _first_hit(gap, ray, near, far)
        got = float(hits.depth[row, col])
        if np.isinf(expected):
            # A miss, up to rays that only graze the surface within the march step.
            assert np.isinf(got) or gap((got * ray)[None])[0] > -1e-3, (row, col, got)
            continue
        assert abs(got - expected) < 2e-3, (row, col, got, expected)
        if row * SIZE + col in edge_pixels:
            continue  # silhouette pixels keep their normals in the sub-samples
        # The normal is the implicit function's gradient direction.
        p = got * ray
        eps = 1e-4
        grad = np.array([(gap((p + e)[None])[0] - gap((p - e)[None])[0]) / (2 * eps) for e in np.eye(3) * eps])
        grad /= np.linalg.norm(grad)
        assert float(grad @ hits.normal[row, col]) > 0.995, (row, col)


@pytest.mark.parametrize("seed", range(3))
def test_round_cones_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.array([-0.15, -0.1, 1.6]) + rng.normal(0, 0.03, 3)
    b = np.array([0.15, 0.12, 1.9]) + rng.normal(0, 0.03, 3)
    ra, rb = 0.09, [0.05, 0.09, 0.04][seed]  # tapered, capsule, strongly tapered
    lmap = np.eye(3) if seed != 2 else np.diag([1.0, 1 / 0.7, 1 / 0.6]) @ _rotation(rng).T  # an elliptical one
    prims = _one_cone(a, b, ra, rb, lmap)
    _check(prims, lambda p: _cone_gap(p, a, b, ra, rb, lmap), rng, 1.2, 2.4)


@pytest.mark.parametrize("seed", range(2))
def test_ellipsoids_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(10 + seed)
    centre = np.array([0.05, -0.03, 1.5]) + rng.normal(0, 0.03, 3)
    inv = np.diag(1.0 / np.array([0.2, 0.08, 0.12])) @ _rotation(rng).T
    prims = Primitives(ell_center=np.array([centre], np.float32), ell_inv=np.array([inv], np.float32),
                       ell_material=np.zeros(1, np.int16), ell_owner=np.zeros(1, np.int16))
    _check(prims, lambda p: _ellipsoid_gap(p, centre, inv), rng, 1.0, 2.0)


def test_nearer_primitive_wins_and_edges_are_antialiased() -> None:
    near = _one_cone([-0.3, 0.0, 1.5], [0.3, 0.0, 1.5], 0.05, 0.05, np.eye(3))
    far = Primitives(ell_center=np.array([[0.0, 0.0, 2.5]], np.float32),
                     ell_inv=np.array([np.eye(3) / 0.4], np.float32), ell_material=np.ones(1, np.int16),
                     ell_owner=np.ones(1, np.int16))
    hits = cast(Primitives.concat([far, near]), SIZE, FOCAL, CX, CY, supersample=2)
    assert hits.material[32, 32] == 0 and hits.owner[32, 32] == 0  # the bar in front of the ball
    assert hits.material[20, 32] == 1
    # Pixels on the bar's silhouette carry sub-samples of both primitives.
    mixed = [(hits.edge_material[k] == 0).any() and (hits.edge_material[k] == 1).any() for k in range(len(hits.edges))]
    assert sum(mixed) > 10
