"""Primitives of the mannequin renderer: ellipsoids and (linearly mapped) round cones.

Dimension letters: ``E`` ellipsoids, ``C`` round cones. Any rigid frame works (world or camera);
:meth:`Primitives.transformed` moves a set between frames.

- ellipsoid ``k``: the points ``p`` with ``|M_k (p - c_k)| <= 1``; ``c`` float32 (E, 3) metres,
  ``M`` float32 (E, 3, 3) (the inverse of ``axes @ diag(semi_axes)``, so its rows are orthogonal);
- round cone ``k``: the convex hull of the spheres ``(a_k, ra_k)`` and ``(b_k, rb_k)`` (a capsule
  when ``ra == rb``), seen through a linear map ``L_k``: the points ``p`` with ``L_k p`` inside the
  hull of ``(L_k a_k, ra_k)`` and ``(L_k b_k, rb_k)``. An orthonormal ``L`` gives a plain round
  cone; a scaling in the segment's frame gives one with an elliptical cross-section (the torso).
  Either way ``L``'s rows are orthogonal (``diag(1 / scale) @ frame^T``).
  ``a``, ``b`` float32 (C, 3) metres, ``ra``, ``rb`` float32 (C,), ``L`` float32 (C, 3, 3).

Each primitive carries a material index (shading) and an owner index (the figure it belongs to).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.errors import InternalError
from bench.fixed_order import inverse3, matmul, matvec, norm


@dataclass
class Primitives:
    """A scene's primitives in one frame (world or camera); see the module docstring for shapes."""

    ell_center: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    ell_inv: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 3), np.float32))
    ell_material: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int16))
    ell_owner: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int16))
    cone_a: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    cone_b: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    cone_ra: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    cone_rb: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    cone_map: np.ndarray = field(default_factory=lambda: np.zeros((0, 3, 3), np.float32))
    cone_material: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int16))
    cone_owner: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int16))

    def transformed(self, rotation: np.ndarray, translation: np.ndarray) -> Primitives:
        """The same primitives under ``p -> rotation @ p + translation`` (rotation (3, 3) orthonormal)."""
        r = np.asarray(rotation, np.float32)
        t = np.asarray(translation, np.float32)
        return Primitives(
            ell_center=matvec(r, self.ell_center) + t,
            ell_inv=matmul(self.ell_inv, r.T),  # M' (p' - c') = M r^T r (p - c)
            ell_material=self.ell_material,
            ell_owner=self.ell_owner,
            cone_a=matvec(r, self.cone_a) + t,
            cone_b=matvec(r, self.cone_b) + t,
            cone_ra=self.cone_ra,
            cone_rb=self.cone_rb,
            cone_map=matmul(self.cone_map, r.T),  # L' p' = L r^T p' + const: the constant cancels out
            cone_material=self.cone_material,
            cone_owner=self.cone_owner,
        )

    def lowest_y(self) -> float:
        """The smallest y coordinate of any primitive's surface (metres, in this frame)."""
        lows = []
        if len(self.ell_center):
            # The ellipsoid is c + A u with |u| <= 1 and A = inv(M); its lowest y is c_y - |A[1, :]|.
            span = norm(inverse3(self.ell_inv.astype(np.float64))[:, 1, :])
            lows.append(self.ell_center[:, 1] - span)
        if len(self.cone_a):
            # End caps are ellipsoids c + r inv(L) u; the hull's lowest point is on one of them.
            span = norm(inverse3(self.cone_map.astype(np.float64))[:, 1, :])
            lows.append(np.minimum(self.cone_a[:, 1] - self.cone_ra * span, self.cone_b[:, 1] - self.cone_rb * span))
        if not lows:
            raise InternalError("no primitives to measure", field="primitives")
        return float(np.concatenate(lows).min())

    def bounding_spheres(self) -> tuple[np.ndarray, np.ndarray]:
        """A sphere around each primitive (ellipsoids, then each cone's two end spheres, whose hull
        bounds the cone): centres float64 (N, 3), radii float64 (N,)."""
        # An ellipsoid's largest semi-axis is 1 / the smallest singular value of its M; M's rows
        # are orthogonal (M = diag(1 / semi-axes) R^T), so that is its shortest row.
        ell_r = 1.0 / norm(self.ell_inv.astype(np.float64)).min(-1, initial=np.inf)
        stretch = 1.0 / norm(self.cone_map.astype(np.float64)).min(-1, initial=np.inf)
        centres = np.concatenate([self.ell_center, self.cone_a, self.cone_b]).astype(np.float64)
        radii = np.concatenate([ell_r, self.cone_ra * stretch, self.cone_rb * stretch]).astype(np.float64)
        return centres, radii

    def owned_by(self, owner: int) -> Primitives:
        """The primitives of one figure."""
        ell, cone = self.ell_owner == owner, self.cone_owner == owner
        return Primitives(**{name: getattr(self, name)[ell if name.startswith("ell_") else cone]
                             for name in Primitives.__dataclass_fields__})

    @staticmethod
    def concat(parts: list[Primitives]) -> Primitives:
        """All primitives of ``parts`` in one set (owners and materials are kept as given)."""
        names = [f for f in Primitives.__dataclass_fields__]
        return Primitives(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


def sphere_boxes(center: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Bounds of ``x / z`` and ``y / z`` over axis-aligned boxes around spheres: (N, 4) x0, y0, x1, y1.

    ``x / z`` is monotone in ``x`` and ``z`` separately for ``z > 0``, so its extremes over the box
    ``[c - r, c + r]`` lie at corners: a conservative bound of the projected sphere. Spheres reaching
    behind ``z = 0.05`` get an unbounded box.
    """
    zs = np.stack([center[:, 2] - radius, center[:, 2] + radius], axis=1)  # (N, 2)
    out = np.empty((len(center), 4), np.float64)
    for axis in (0, 1):
        lo = center[:, axis] - radius
        hi = center[:, axis] + radius
        corners = np.stack([lo[:, None] / zs, hi[:, None] / zs], axis=1).reshape(len(center), 4)
        out[:, axis] = corners.min(axis=1)
        out[:, axis + 2] = corners.max(axis=1)
    behind = zs[:, 0] < 0.05
    out[behind] = (-np.inf, -np.inf, np.inf, np.inf)
    return out


def sphere_bounds(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Union of the conservative projected boxes of camera-frame spheres: (4,) x0, y0, x1, y1 in
    normalised image coordinates (``x / z``, ``y / z``); infinite if any sphere reaches behind."""
    boxes = sphere_boxes(np.asarray(centres, np.float64), np.asarray(radii, np.float64))
    return np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])
