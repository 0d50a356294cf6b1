"""A small vectorised ray caster for :class:`~bench.data.synth.images.primitives.Primitives`, with a z-buffer.

Everything here works in the **camera frame** (OpenCV convention: x right, y down, z forward, the
camera at the origin) and in pixels on the image plane. Pixel ``(i, j)`` (row, column) is the
square ``[j, j + 1) x [i, i + 1)``; its ray passes through its centre with direction
``d = ((j + 0.5 - cx) / f, (i + 0.5 - cy) / f, 1)``. Directions keep ``z = 1``, so a ray
parameter ``t`` *is* the depth ``z`` of the hit, in metres.

Speed comes from three things: each primitive is only tested over its projected bounding box;
intersection tests compute depth alone, folding every per-primitive constant in first (so a test is
a few dozen array operations), and normals are computed once per pixel for the primitive that won;
and only the pixels on a silhouette or a seam between primitives are supersampled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.data.synth.images.primitives import Primitives, sphere_boxes
from bench.fixed_order import dot, matmul, matvec, norm

#: Depth where no primitive is hit.
FAR = np.float32(np.inf)
_EPS = 1e-9


@dataclass
class Hits:
    """What :func:`cast` sees: one sample per pixel centre, plus ``s x s`` sub-pixel samples on
    the pixels next to a silhouette or a seam between primitives (for anti-aliasing).

    Per pixel, (H, W): ``depth`` float32 metres (``inf`` = backdrop), ``normal`` float32 (H, W, 3)
    unit vectors in the camera frame (zero on the backdrop and on edge pixels, whose normals are
    in their sub-samples), ``material``, ``owner`` and ``prim``
    (primitive index) int16, -1 on the backdrop. Edge pixels: ``edges`` (K,) flat pixel indices,
    with their sub-samples ``edge_normal`` float32 (K, s*s, 3) and ``edge_material`` int16 (K, s*s).
    """

    depth: np.ndarray
    normal: np.ndarray
    material: np.ndarray
    owner: np.ndarray
    prim: np.ndarray
    edges: np.ndarray
    edge_normal: np.ndarray
    edge_material: np.ndarray


class _Rays:
    """Ray directions ``(dx, dy, 1)`` of any shape, with the quadratic terms shared by all tests."""

    def __init__(self, dx: np.ndarray, dy: np.ndarray, terms: tuple[np.ndarray, ...] | None = None) -> None:
        self.dx, self.dy = dx, dy
        if terms is None:
            terms = (dx * dx, dx * dy, dy * dy)
            terms += (terms[0] + terms[2] + 1.0,)
        self.dx2, self.dxy, self.dy2, self.dd = terms

    def subset(self, where: tuple[slice, slice] | np.ndarray) -> _Rays:
        """The rays at ``where``: views for a pair of slices, copies for flat indices."""
        if isinstance(where, tuple):
            return _Rays(self.dx[where], self.dy[where], (self.dx2[where], self.dxy[where], self.dy2[where],
                                                          self.dd[where]))
        return _Rays(self.dx.reshape(-1)[where], self.dy.reshape(-1)[where])

    def linear(self, u: np.ndarray) -> np.ndarray:
        """``u . d``."""
        return self.dx * u[0] + self.dy * u[1] + u[2]

    def quadratic(self, q: np.ndarray | None) -> np.ndarray:
        """``d^T q d`` for a symmetric (3, 3) ``q``; None means the identity."""
        if q is None:
            return self.dd
        return (self.dx2 * q[0, 0] + self.dy2 * q[1, 1] + self.dxy * (2 * q[0, 1]) + self.dx * (2 * q[0, 2])
                + self.dy * (2 * q[1, 2]) + q[2, 2])


def _gram(m: np.ndarray) -> np.ndarray | None:
    """``m^T m`` as float64, or None where it is the identity (orthonormal ``m``)."""
    m = m.astype(np.float64)
    g = matmul(m.T, m)
    return None if np.abs(g - np.eye(3)).max() < 1e-6 else g


class _Ellipsoid:
    """``|M (p - c)| <= 1``. Along a ray ``t d``: ``a t^2 + 2 b t + c0 = 0`` with ``a = d^T A d``,
    ``A = M^T M``, ``b = -(A c) . d`` and ``c0 = c^T A c - 1``."""

    def __init__(self, centre: np.ndarray, inv: np.ndarray) -> None:
        self.centre = centre.astype(np.float64)
        self.inv = inv.astype(np.float64)
        self.gram = matmul(self.inv.T, self.inv)
        self.g = -matvec(self.gram, self.centre)
        self.c0 = float(dot(self.centre, matvec(self.gram, self.centre)) - 1.0)

    def depth(self, rays: _Rays) -> np.ndarray:
        a = rays.quadratic(self.gram)
        b = rays.linear(self.g)
        disc = b * b - a * self.c0
        t = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
        return np.where((disc > 0) & (t > 0), t, FAR)


class _RoundCone:
    """A round cone seen through ``L`` (see :mod:`primitives`). In the mapped space the ray is
    ``t L d`` and the cone is plain, between ``pa = L a`` and ``pb = L b``. With ``ba = pb - pa``,
    ``q`` a point relative to ``pa``, ``y = q . ba``, ``m0 = |ba|^2``, ``rr = ra - rb`` and
    ``d2 = m0 - rr^2``, the lateral surface (the cone tangent to both spheres) is
    ``d2 |q|^2 - y^2 + 2 ra rr y - m0 ra^2 = 0``, valid where ``0 < y - ra rr < d2`` (between the
    tangent circles). A ray entering the solid cone outside that band enters a cap sphere first,
    because the round cone is convex and lies inside the solid cone."""

    def __init__(self, a: np.ndarray, b: np.ndarray, ra: float, rb: float, lmap: np.ndarray) -> None:
        self.lmap = lmap.astype(np.float64)
        self.pa, self.pb = matvec(self.lmap, a.astype(np.float64)), matvec(self.lmap, b.astype(np.float64))
        self.ra, self.rb = float(ra), float(rb)
        self.ba = self.pb - self.pa
        self.rr = self.ra - self.rb
        self.m0 = float(dot(self.ba, self.ba))
        self.d2 = self.m0 - self.rr * self.rr
        m1 = float(dot(self.ba, -self.pa))
        m5 = float(dot(self.pa, self.pa))
        m7 = float(dot(self.pb, self.pb))
        self.gram = _gram(self.lmap)
        # Per-ray dot products in the mapped space, folded onto d: (L^T u) . d.
        self.u_ba = matvec(self.lmap.T, self.ba)
        self.u_oa = matvec(self.lmap.T, -self.pa)
        self.u_ob = matvec(self.lmap.T, -self.pb)
        self.k1_m2 = self.rr * self.ra - m1  # k1 = d2 m3 + (rr ra - m1) m2
        self.k0 = self.d2 * m5 - m1 * m1 + 2.0 * m1 * self.rr * self.ra - self.m0 * self.ra * self.ra
        self.y0 = m1 - self.ra * self.rr  # y - ra rr along the ray = y0 + t m2
        self.cap_a = m5 - self.ra * self.ra
        self.cap_b = m7 - self.rb * self.rb

    def depth(self, rays: _Rays) -> np.ndarray:
        dd = rays.quadratic(self.gram)
        m2 = rays.linear(self.u_ba)
        m3 = rays.linear(self.u_oa)
        m6 = rays.linear(self.u_ob)
        k2 = self.d2 * dd - m2 * m2
        k1 = self.d2 * m3 + self.k1_m2 * m2
        h = k1 * k1 - self.k0 * k2
        t_body = (-np.sqrt(np.maximum(h, 0.0)) - k1) / np.maximum(k2, _EPS)
        y = self.y0 + t_body * m2
        body = (h > 0) & (k2 > _EPS) & (y > 0) & (y < self.d2) & (t_body > 0)
        h1 = m3 * m3 - dd * self.cap_a
        h2 = m6 * m6 - dd * self.cap_b
        t1 = (-m3 - np.sqrt(np.maximum(h1, 0.0))) / dd
        t2 = (-m6 - np.sqrt(np.maximum(h2, 0.0))) / dd
        t1 = np.where((h1 > 0) & (t1 > 0), t1, FAR)
        t2 = np.where((h2 > 0) & (t2 > 0), t2, FAR)
        return np.where(body, t_body, np.minimum(t1, t2))


class _ZBuffer:
    """Nearest depth and primitive index over an array of rays."""

    def __init__(self, rays: _Rays) -> None:
        self.rays = rays
        self.depth = np.full(rays.dx.shape, FAR, np.float32)
        self.prim = np.full(rays.dx.shape, -1, np.int16)

    def draw(self, where: tuple[slice, slice] | np.ndarray, shape: _Ellipsoid | _RoundCone, index: int) -> None:
        """Test the rays at ``where`` (a pair of slices or flat indices) and keep the nearer hits."""
        t = shape.depth(self.rays.subset(where))
        if isinstance(where, tuple):  # slices: write through views
            zview, pview = self.depth[where], self.prim[where]
            win = t < zview
            zview[win] = t[win]
            pview[win] = index
        else:
            win = t < self.depth[where]
            self.depth[where[win]] = t[win]
            self.prim[where[win]] = index

    def normals(self, table: _NormalTable, skip: np.ndarray | None = None) -> np.ndarray:
        """Unit normals float32 (..., 3) of the winning primitives (zero where nothing was hit or
        where the boolean mask ``skip`` is set)."""
        hit_mask = self.prim >= 0
        if skip is not None:
            hit_mask &= ~skip
        hit = np.flatnonzero(hit_mask)
        t = self.depth.reshape(-1)[hit]
        q = np.stack([t * self.rays.dx.reshape(-1)[hit], t * self.rays.dy.reshape(-1)[hit], t], axis=-1)
        out = np.zeros((self.prim.size, 3), np.float32)
        out[hit] = table.normals(self.prim.reshape(-1)[hit], q)
        return out.reshape(self.prim.shape + (3,))


class _NormalTable:
    """Per-primitive constants for surface normals, gathered per hit so that all hits are done at
    once. Ellipsoid: ``A (q - c)``. Round cone, in the mapped space (``rel = L q - pa``,
    ``y = rel . ba - ra rr``): the lateral normal ``d2 rel - y ba`` between the tangent circles
    (``0 < y < d2``), else the nearer cap's ``rel`` or ``rel - ba``; mapped back by ``L^T``."""

    def __init__(self, shapes: list[_Ellipsoid | _RoundCone]) -> None:
        n = len(shapes)
        self.is_cone = np.array([isinstance(sh, _RoundCone) for sh in shapes], bool)
        self.matrix = np.zeros((n, 3, 3), np.float32)  # ellipsoid: A; cone: L
        self.point = np.zeros((n, 3), np.float32)  # ellipsoid: c; cone: pa
        self.axis = np.zeros((n, 3), np.float32)  # cone: ba
        self.scalars = np.zeros((n, 2), np.float32)  # cone: ra rr, d2
        for k, sh in enumerate(shapes):
            if isinstance(sh, _RoundCone):
                self.matrix[k], self.point[k], self.axis[k] = sh.lmap, sh.pa, sh.ba
                self.scalars[k] = (sh.ra * sh.rr, sh.d2)
            else:
                self.matrix[k], self.point[k] = sh.gram, sh.centre

    def normals(self, prim: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Unit normals (N, 3) at surface points ``q`` float32 (N, 3) of primitives ``prim`` (N,)."""
        out = np.empty(q.shape, np.float32)
        cone = self.is_cone[prim]
        ell = ~cone
        pe = prim[ell]
        out[ell] = matvec(self.matrix[pe].swapaxes(1, 2), q[ell] - self.point[pe])
        pc = prim[cone]
        lmap = self.matrix[pc]
        rel = matvec(lmap, q[cone]) - self.point[pc]
        ba = self.axis[pc]
        y = dot(rel, ba) - self.scalars[pc, 0]
        d2 = self.scalars[pc, 1]
        mapped = np.where((y <= 0)[:, None], rel,
                          np.where((y >= d2)[:, None], rel - ba, d2[:, None] * rel - y[:, None] * ba))
        out[cone] = matvec(lmap.swapaxes(1, 2), mapped)
        return out / np.maximum(norm(out), 1e-12)[:, None]


def _shapes(prims: Primitives, focal_px: float, cx: float, cy: float, size: int
            ) -> tuple[list[_Ellipsoid | _RoundCone], list[tuple[int, tuple[int, int, int, int]]], np.ndarray,
                       np.ndarray]:
    """Prepared shapes (ellipsoids first); pixel boxes to test them over, as (shape index, (row0,
    row1, col0, col1)), where a long round cone gets one box per half (the halves are round cones
    too, so each lies within the hull of its end spheres) when that saves area; materials; owners."""
    centres, radii = prims.bounding_spheres()
    n_ell, n_cone = len(prims.ell_center), len(prims.cone_a)
    stretch = radii[n_ell:n_ell + n_cone] / np.maximum(prims.cone_ra, 1e-9)
    middles = (prims.cone_a.astype(np.float64) + prims.cone_b) / 2
    boxes = sphere_boxes(np.concatenate([centres, middles]),
                         np.concatenate([radii, (prims.cone_ra + prims.cone_rb) / 2 * stretch]))
    shapes: list[_Ellipsoid | _RoundCone] = [_Ellipsoid(prims.ell_center[k], prims.ell_inv[k]) for k in range(n_ell)]
    shapes += [_RoundCone(prims.cone_a[k], prims.cone_b[k], prims.cone_ra[k], prims.cone_rb[k], prims.cone_map[k])
               for k in range(n_cone)]
    tiles = [(k, _pixel_box(boxes[k], focal_px, cx, cy, size)) for k in range(n_ell)]
    for k in range(n_cone):
        ends = boxes[[n_ell + k, n_ell + n_cone + k, n_ell + 2 * n_cone + k]]  # a, b, middle
        halves = [_pixel_box(_union(ends[[0, 2]]), focal_px, cx, cy, size),
                  _pixel_box(_union(ends[[2, 1]]), focal_px, cx, cy, size)]
        whole = _pixel_box(_union(ends[:2]), focal_px, cx, cy, size)
        if _area(whole) > 1.25 * (_area(halves[0]) + _area(halves[1])) + 200:
            tiles += [(n_ell + k, half) for half in halves]
        else:
            tiles.append((n_ell + k, whole))
    materials = np.concatenate([prims.ell_material, prims.cone_material]).astype(np.int16)
    owners = np.concatenate([prims.ell_owner, prims.cone_owner]).astype(np.int16)
    return shapes, tiles, materials, owners


def _union(boxes: np.ndarray) -> np.ndarray:
    return np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])


def _area(box: tuple[int, int, int, int]) -> int:
    return max(box[1] - box[0], 0) * max(box[3] - box[2], 0)


def _pixel_box(box: np.ndarray, focal_px: float, cx: float, cy: float, size: int) -> tuple[int, int, int, int]:
    """Normalised-image bounds -> clipped pixel ranges (row0, row1, col0, col1), one pixel of slack."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        return 0, size, 0, size
    c0, c1 = math.floor(x0 * focal_px + cx) - 1, math.ceil(x1 * focal_px + cx) + 1
    r0, r1 = math.floor(y0 * focal_px + cy) - 1, math.ceil(y1 * focal_px + cy) + 1
    return max(r0, 0), min(max(r1, 0), size), max(c0, 0), min(max(c1, 0), size)


def _lookup(table: np.ndarray, prim: np.ndarray) -> np.ndarray:
    """``table[prim]`` with -1 kept where ``prim`` is -1 (index -1 reads the appended sentinel)."""
    return np.append(table, -1).astype(np.int16)[prim]


def cast(prims: Primitives, size: int, focal_px: float, cx: float, cy: float, supersample: int = 2) -> Hits:
    """Ray-cast camera-frame primitives into a ``size x size`` image; see :class:`Hits`.

    Pass 1 traces one ray per pixel centre, each primitive only over its projected bounding box.
    Pass 2 re-traces the pixels whose primitive differs from a 4-neighbour's with ``s x s`` rays
    on a regular sub-pixel grid (``s = supersample``).
    """
    shapes, tiles, materials, owners = _shapes(prims, focal_px, cx, cy, size)
    axis = (np.arange(size, dtype=np.float32) + 0.5)
    dx, dy = np.meshgrid((axis - np.float32(cx)) / np.float32(focal_px), (axis - np.float32(cy)) / np.float32(focal_px))
    main = _ZBuffer(_Rays(dx, dy))
    for k, (r0, r1, c0, c1) in tiles:
        if r1 > r0 and c1 > c0:
            main.draw((slice(r0, r1), slice(c0, c1)), shapes[k], k)

    # Pass 2: pixels next to a change of primitive (the backdrop counts as one).
    p = main.prim
    edge = np.zeros(p.shape, bool)
    vertical, horizontal = p[:-1] != p[1:], p[:, :-1] != p[:, 1:]
    edge[:-1] |= vertical
    edge[1:] |= vertical
    edge[:, :-1] |= horizontal
    edge[:, 1:] |= horizontal
    edges = np.flatnonzero(edge)
    s = int(supersample)
    offsets = ((np.arange(s, dtype=np.float32) + 0.5) / s - 0.5) / np.float32(focal_px)
    sub = _ZBuffer(_Rays((dx.reshape(-1)[edges][:, None] + np.tile(offsets, s)).reshape(-1),
                         (dy.reshape(-1)[edges][:, None] + np.repeat(offsets, s)).reshape(-1)))
    position = np.full(edge.shape, -1, np.int64)  # each edge pixel's row in ``edges``
    position.reshape(-1)[edges] = np.arange(len(edges))
    within = np.arange(s * s)
    for k, (r0, r1, c0, c1) in tiles:
        box = position[r0:r1, c0:c1]
        found = box[box >= 0]
        if len(found):
            sub.draw((found[:, None] * (s * s) + within).reshape(-1), shapes[k], k)
    table = _NormalTable(shapes)
    return Hits(depth=main.depth, normal=main.normals(table, skip=edge), material=_lookup(materials, main.prim),
                owner=_lookup(owners, main.prim), prim=main.prim, edges=edges,
                edge_normal=sub.normals(table).reshape(-1, s * s, 3),
                edge_material=_lookup(materials, sub.prim).reshape(-1, s * s))
