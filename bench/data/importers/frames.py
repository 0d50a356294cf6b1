"""Frame conventions of imported poses: the one place where importers rotate roots.

PoseBench's canonical frame (architecture §1) is SMPL's own: **y up, a zero root faces +z, the body's
left is +x**. Imported data arrives in other frames:

- **AMASS** (PoseScript, PoseFix) is **z-up**: an upright body has a root of about Rx(+90°) and faces
  −y. :func:`amass_to_canonical` re-expresses the root in the y-up frame, ``root ← Rx(−90°) · root``
  (a world point (x, y, z) of AMASS becomes (x, z, −y)); only the root changes, the 21 body joints are
  relative rotations. Afterwards an upright AMASS pose has a root close to the identity.
- **3DPW** poses are rotated into the **camera frame** for the image→pose target,
  ``root ← R_cam · root`` with ``R_cam`` the world→camera rotation (see :mod:`.threedpw`).

**Heading.** Removing a pose's heading left-multiplies its root by a turn about the vertical, ``root ←
Ry(−ψ)·root`` in the canonical frame; the conventions differ in the yaw ψ they read off the root
(:data:`.headings.HEADING_CONVENTIONS`, :func:`heading_yaw`):

- ``"posescript-euler-zyx"`` (the default for PoseScript / PoseFix data): PoseScript's own rule,
  ``naver/posescript`` ``src/text2pose/utils.py::get_pose_data_from_file`` with
  ``rotvec_to_eulerangles``: in the AMASS z-up frame the root is split as ``Rz(θz)·Ry(θy)·Rx(θx)``,
  ``θz = atan2(R[1,0], R[0,0])`` is set to 0 and the root rebuilt, which is ``root_zup ← Rz(−θz)·root_zup``
  (the ZYX split is exact for ``cos θy ≥ 0``, which its ``θy`` formula guarantees), i.e. ``ψ = θz``.
- ``"swing-twist-y"``: the twist about y of the root in the canonical frame
  (:func:`bench.body.heading_angle`, ``ψ = 2·atan2(q_y, q_w)``), removed by
  :func:`bench.body.normalize_heading`. PoseBench's own convention for its synthetic data.

The two agree for an upright root (tilt about the body's x axis only) and differ when the root is
both pitched and rolled (a body lying on its side: tens of degrees). PoseFix keeps an in-sequence B's
heading relative to A by turning B by A's ``−ψ`` (:func:`bench.body.rotate_heading`), in either
convention (``naver/posescript`` ``src/text2pose/data.py::PoseFix.get_poses_AB``).

All poses are axis-angle ``(N, 22, 3)`` in radians; rotation matrices act on column vectors.
"""

from __future__ import annotations

import numpy as np

from bench.body import axis_angle_to_matrix, heading_angle, matrix_to_axis_angle, rotate_heading
from bench.data.importers.headings import SWING_TWIST, check_heading_convention

AMASS_ZUP_TO_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
"""Rx(−90°): maps AMASS z-up world coordinates to the canonical y-up frame, (x, y, z) → (x, z, −y)."""


def premultiply_root(poses: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Poses with their root rotation left-multiplied: ``root ← rotation · root``.

    Args:
        poses: float (N, 22, 3) axis-angle, radians.
        rotation: float (3, 3) or (N, 3, 3) rotation matrices, the new frame's axes in the old frame's rows.
    Returns:
        float64 (N, 22, 3); rows 1–21 unchanged.
    """
    poses = np.asarray(poses, dtype=np.float64)
    root = axis_angle_to_matrix(poses[:, 0].copy())
    out = poses.copy()
    out[:, 0] = matrix_to_axis_angle(np.asarray(rotation, dtype=np.float64) @ root)
    return out


def amass_to_canonical(poses_zup: np.ndarray) -> np.ndarray:
    """AMASS z-up poses → canonical y-up poses: ``root ← Rx(−90°) · root``.

    Args:
        poses_zup: float (N, 22, 3) axis-angle, radians, AMASS world frame (z up).
    Returns:
        float64 (N, 22, 3), canonical frame (y up, zero root faces +z). Not heading-normalised.

    >>> upright_zup = np.zeros((1, 22, 3)); upright_zup[0, 0] = [np.pi / 2, 0.0, 0.0]
    >>> bool(np.allclose(amass_to_canonical(upright_zup), 0.0, atol=1e-7))
    True
    """
    return premultiply_root(poses_zup, AMASS_ZUP_TO_YUP)


def canonical_to_amass(poses: np.ndarray) -> np.ndarray:
    """Canonical y-up poses → AMASS z-up poses, the inverse of :func:`amass_to_canonical`:
    ``root ← Rx(+90°) · root``. What PoseScript's own networks read (an upright body has a root of
    about Rx(+90°)).

    Args:
        poses: float (N, 22, 3) axis-angle, radians, canonical frame.
    Returns:
        float64 (N, 22, 3), AMASS world frame (z up).
    """
    return premultiply_root(poses, AMASS_ZUP_TO_YUP.T)


def heading_yaw(poses: np.ndarray, convention: str) -> np.ndarray:
    """The yaw ψ about +y that ``convention`` removes from each canonical (y-up) pose.

    Args:
        poses: float (N, 22, 3) axis-angle, canonical frame.
        convention: a key of :data:`.headings.HEADING_CONVENTIONS`.
    Returns:
        float64 (N,) radians; ``rotate_heading(poses, -ψ)`` normalises the heading.
    """
    check_heading_convention(convention)
    poses = np.asarray(poses, dtype=np.float64)
    if convention == SWING_TWIST:
        return np.asarray(heading_angle(poses), dtype=np.float64)
    root_zup = AMASS_ZUP_TO_YUP.T @ axis_angle_to_matrix(poses[:, 0].copy())  # back to the AMASS z-up frame
    return np.arctan2(root_zup[:, 1, 0], root_zup[:, 0, 0])  # θz of Rz(θz)·Ry(θy)·Rx(θx); Rz(θ) there is Ry(θ) here


def normalize_heading_as(poses: np.ndarray, convention: str) -> np.ndarray:
    """Canonical poses with the heading removed by ``convention``: ``root ← Ry(−ψ)·root``.

    Returns float64 (N, 22, 3); rows 1–21 unchanged.
    """
    poses = np.asarray(poses, dtype=np.float64)
    return np.asarray(rotate_heading(poses, -heading_yaw(poses, convention)), dtype=np.float64)
