"""Backgrounds behind the rendered figures: studio gradients, or a floor plane under a sky.

A backdrop is drawn per pixel from the camera's rays, so it moves with the camera: a "floor"
backdrop is the plane ``y = floor_y`` of the world (the figures stand on it), textured in world
coordinates and fading into haze towards the horizon, with a soft contact shadow under each figure;
above the horizon a vertical sky/wall gradient. A "studio" backdrop is an image-space gradient.
Both carry low-frequency colour noise and a fixed per-pixel grain drawn from the backdrop's seed.

Images here are float32 (H, W, 3), linear RGB in [0, 1]; H = W = the camera's image size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bench.errors import UserError
from bench.fixed_order import in_float64, matvec

BACKDROP_KINDS = ("studio", "floor")
FLOOR_PATTERNS = ("plain", "tiles", "boards")

Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Backdrop:
    """What is behind the figures.

    ``top``/``bottom``: gradient colours (studio: image top/bottom; floor: sky zenith/horizon);
    ``floor``: floor colour; ``pattern``: floor texture; ``tile_m``: its period in metres;
    ``noise``: amplitude of the smooth colour noise (0 = none); ``grain``: per-pixel noise
    standard deviation, in [0, 1] units; ``seed``: draws the noise; ``mirror``: left-right
    mirror the noise and the floor texture (for a scene mirrored about the body's x = 0 plane).
    """

    kind: str
    top: Colour
    bottom: Colour
    floor: Colour
    pattern: str = "plain"
    tile_m: float = 0.6
    noise: float = 0.05
    grain: float = 0.01
    seed: int = 0
    mirror: bool = False

    def __post_init__(self) -> None:
        if self.kind not in BACKDROP_KINDS:
            raise UserError(f"unknown backdrop kind {self.kind!r}; known: {', '.join(BACKDROP_KINDS)}", field="kind")
        if self.pattern not in FLOOR_PATTERNS:
            raise UserError(f"unknown floor pattern {self.pattern!r}; known: {', '.join(FLOOR_PATTERNS)}",
                            field="pattern")


def sample_backdrop(rng: np.random.Generator) -> Backdrop:
    """A random backdrop: 65% floor scenes, 35% studio gradients, muted random colours."""

    def colour(lo: float, hi: float, sat: float) -> Colour:
        grey = rng.uniform(lo, hi)
        tint = rng.uniform(-sat, sat, 3)
        return tuple(float(np.clip(grey + t, 0.0, 1.0)) for t in tint)

    kind = "floor" if rng.random() < 0.65 else "studio"
    top = colour(0.45, 0.95, 0.12)
    bottom = colour(0.25, 0.85, 0.12)
    return Backdrop(
        kind=kind,
        top=top,
        bottom=bottom,
        floor=colour(0.2, 0.75, 0.1),
        pattern=str(rng.choice(FLOOR_PATTERNS)),
        tile_m=float(rng.uniform(0.3, 1.2)),
        noise=float(rng.uniform(0.0, 0.08)),
        grain=float(rng.uniform(0.0, 0.02)),
        seed=int(rng.integers(2**31)),
        mirror=False,
    )


def _lattice(rng: np.random.Generator, cells: int) -> np.ndarray:
    """A ``(cells + 1, cells + 1)`` lattice of uniform values in [-1, 1] whose last row and column
    repeat the first (so it tiles)."""
    lattice = rng.uniform(-1.0, 1.0, (cells + 1, cells + 1)).astype(np.float32)
    lattice[-1, :] = lattice[0, :]
    lattice[:, -1] = lattice[:, 0]
    return lattice


def _sample_lattice(lattice: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear value noise: ``lattice`` sampled at ``(x, y)`` in cell units, wrapped."""
    cells = lattice.shape[0] - 1
    x = np.mod(x, cells)
    y = np.mod(y, cells)
    x0 = np.minimum(x.astype(np.int32), cells - 1)
    y0 = np.minimum(y.astype(np.int32), cells - 1)
    fx = x - x0
    fy = y - y0
    top = lattice[y0, x0] * (1 - fx) + lattice[y0, x0 + 1] * fx
    bottom = lattice[y0 + 1, x0] * (1 - fx) + lattice[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


@lru_cache(maxsize=16)
def _interpolation(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation from ``n_in`` samples at the centres of equal blocks of ``n_out / n_in``
    pixels to every pixel centre (clamped at the borders): lower sample index (n_out,) and weight
    of the upper one float32 (n_out,)."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.minimum(pos.astype(np.int64), n_in - 2)
    return lo, (pos - lo).astype(np.float32)


def _upsample(coarse: np.ndarray, size: int, mirror: bool = False) -> np.ndarray:
    """Bilinear upsampling of block-centre samples (h, w) to (size, size); ``mirror`` flips the
    result left-right. Elementwise only (no BLAS, whose threads thrash on a busy machine)."""
    lo, frac = _interpolation(size, coarse.shape[0])
    rows = coarse[lo] * (1.0 - frac)[:, None] + coarse[lo + 1] * frac[:, None]
    lo, frac = _interpolation(size, coarse.shape[1])
    out = rows[:, lo] * (1.0 - frac) + rows[:, lo + 1] * frac
    return out[:, ::-1] if mirror else out


_COARSE = 4  # floor noise is evaluated on a grid this many times coarser, then interpolated


def _rays(rotation: np.ndarray, focal_px: float, principal: tuple[float, float], u_px: np.ndarray,
          v_px: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World-frame directions ``R^T ((u - cx) / f, (v - cy) / f, 1)`` on the grid of image
    coordinates ``u_px`` (columns) x ``v_px`` (rows): three float32 (len(v), len(u)) arrays."""
    u = (u_px - np.float32(principal[0])) / np.float32(focal_px)
    v = (v_px - np.float32(principal[1])) / np.float32(focal_px)
    r = rotation.astype(np.float32)
    return tuple((r[0, i] * u)[None, :] + (r[1, i] * v)[:, None] + r[2, i] for i in range(3))


def _floor_hits(rays: tuple[np.ndarray, np.ndarray, np.ndarray], centre: np.ndarray, floor_y: float, mirror: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where rays from the camera ``centre`` (world) meet the floor: mask, distance along the
    (unnormalised) ray, and the world x (negated when ``mirror``) and z of the hit."""
    wx, wy, wz = rays
    height = centre[1] - np.float32(floor_y)
    down = (wy < -1e-4) & (height > 0.05)
    s = np.where(down, -height / np.where(down, wy, -1.0), 0.0).astype(np.float32)
    fx = centre[0] + s * wx
    return down, s, -fx if mirror else fx, centre[2] + s * wz


def render_backdrop(backdrop: Backdrop, rotation: np.ndarray, translation: np.ndarray, focal_px: float,
                    principal: tuple[float, float], size: int, floor_y: float,
                    shadows: np.ndarray) -> np.ndarray:
    """The backdrop seen by a camera: float32 (size, size, 3).

    rotation (3, 3) / translation (3,): world -> camera (x right, y down, z forward);
    floor_y: floor height in the world, metres; shadows: float32 (S, 4) contact shadows as world
    ``(x, z, radius_x, radius_z)`` ellipses on the floor.
    """
    rng = np.random.default_rng(backdrop.seed)
    pixels = np.arange(size, dtype=np.float32) + 0.5
    wx, wy, wz = _rays(rotation, focal_px, principal, pixels, pixels)
    length2 = wx * wx + wy * wy + wz * wz  # squared length of the (z = 1) camera rays
    # The image is w_top * top + w_bottom * bottom + w_floor * floor: three scalar fields first.
    wall = 1.0 + backdrop.noise * _upsample(_lattice(rng, 3), size, backdrop.mirror)
    if backdrop.kind == "studio":
        mix = np.broadcast_to((pixels / size)[:, None], (size, size))
    else:
        mix = 1.0 - np.clip(wy / np.sqrt(length2) / 0.6, 0.0, 1.0)
    w_bottom = mix * wall
    w_top = wall - w_bottom
    w_floor = None
    if backdrop.kind == "floor":
        centre = (-matvec(rotation.astype(np.float64).T, translation.astype(np.float64))).astype(np.float32)
        down, s, fx, fz = _floor_hits((wx, wy, wz), centre, floor_y, backdrop.mirror)
        # Floor blotches: evaluated at the centres of _COARSE-pixel blocks (mirror-symmetric), then
        # interpolated to every pixel.
        blocks = np.arange(size // _COARSE, dtype=np.float32) * _COARSE + _COARSE / 2
        _, _, bx, bz = _floor_hits(_rays(rotation, focal_px, principal, blocks, blocks), centre, floor_y,
                                   backdrop.mirror)
        period = np.float32(backdrop.tile_m)
        coarse = _sample_lattice(_lattice(rng, 16), bx / (2 * period) + 8.0, bz / (2 * period) + 8.0)
        footprint = s * s * length2 / (np.float32(focal_px) * (centre[1] - np.float32(floor_y)))
        shade = _floor_shade(backdrop, fx, fz, _upsample(coarse, size), np.maximum(footprint, 1e-6))
        for x, z, rx, rz in shadows:
            sx = -x if backdrop.mirror else x
            shade *= 1.0 - 0.45 * in_float64(np.exp, -(((fx - sx) / rx) ** 2 + ((fz - z) / rz) ** 2))
        haze = in_float64(np.exp, -s / 14.0)  # the floor fades into the horizon colour with distance
        w_floor = np.where(down, shade * haze, 0.0)
        w_bottom = np.where(down, 1.0 - haze, w_bottom)
        w_top = np.where(down, 0.0, w_top)
    # Channel by channel: broadcasting (H, W, 1) against (3,) is several times slower.
    grain = _grain(rng, size, backdrop.grain, backdrop.mirror)
    planes = []
    for c in range(3):
        plane = w_top * np.float32(backdrop.top[c]) + w_bottom * np.float32(backdrop.bottom[c]) + grain
        if w_floor is not None:
            plane += w_floor * np.float32(backdrop.floor[c])
        planes.append(plane)
    return np.clip(np.stack(planes, axis=-1), 0.0, 1.0).astype(np.float32, copy=False)


def _grain(rng: np.random.Generator, size: int, sd: float, mirror: bool) -> np.ndarray:
    """Per-pixel grey noise float32 (size, size): uniform with standard deviation ``sd``."""
    noise = (rng.random((size, size), dtype=np.float32) - np.float32(0.5)) * np.float32(sd * np.sqrt(12.0))
    return noise[:, ::-1] if mirror else noise


def _floor_shade(backdrop: Backdrop, fx: np.ndarray, fz: np.ndarray, blotch: np.ndarray, footprint: np.ndarray
                 ) -> np.ndarray:
    """Floor brightness float32 (H, W) at world points ``(fx, fz)`` (times ``backdrop.floor``);
    ``blotch`` smooth noise (H, W); ``footprint`` the size of a pixel on the floor (metres). Where
    a pattern's detail is smaller than a pixel it fades to its average brightness (no moire)."""
    period = np.float32(backdrop.tile_m)
    shade = 1.0 + backdrop.noise * 1.5 * blotch
    if backdrop.pattern == "tiles":
        # Alternate tile brightness, and grout lines within 3% of a period of a tile edge.
        a, b = fx / period, fz / period
        ia, ib = np.floor(a), np.floor(b)
        odd = (ia + ib) - 2.0 * np.floor((ia + ib) * 0.5)
        fa, fb = a - ia, b - ib
        edge = np.minimum(np.minimum(fa, 1.0 - fa), np.minimum(fb, 1.0 - fb))
        grout = edge < 0.03
        sharp_checker = np.clip(period / footprint - 1.0, 0.0, 1.0)
        sharp_grout = np.clip(0.06 * period / footprint, 0.0, 1.0)
        checker = odd * sharp_checker + 0.5 * (1.0 - sharp_checker)
        lines = grout * sharp_grout + 0.12 * (1.0 - sharp_grout)  # 12%: the grout's share of the area
        shade = shade * (1.0 - 0.1 * checker) * (1.0 - 0.2 * lines)
    elif backdrop.pattern == "boards":
        # Planks along z, period / 3 wide, each with its own brightness, and gaps between them.
        width = period / 3
        a = fx / width
        plank = np.floor(a)
        gap = np.minimum(a - plank, plank + 1.0 - a) < 0.04
        sharp_plank = np.clip(width / footprint - 1.0, 0.0, 1.0)
        sharp_gap = np.clip(0.08 * width / footprint, 0.0, 1.0)
        tone = in_float64(np.sin, plank * 12.9898) ** 2 * sharp_plank + 0.5 * (1.0 - sharp_plank)
        lines = gap * sharp_gap + 0.08 * (1.0 - sharp_gap)
        shade = shade * (0.92 + 0.08 * tone) * (1.0 - 0.18 * lines)
    return shade.astype(np.float32)
