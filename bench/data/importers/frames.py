"""Frame conventions of imported poses: the one place where importers rotate roots.

PoseBench's canonical frame (architecture §1) is SMPL's own: **y up, a zero root faces +z, the body's
left is +x**. Imported data arrives in other frames:

- **AMASS** (PoseScript, PoseFix) is **z-up**: an upright body has a root of about Rx(+90°) and faces
  −y. :func:`amass_to_canonical` re-expresses the root in the y-up frame, ``root ← Rx(−90°) · root``
  (a world point (x, y, z) of AMASS becomes (x, z, −y)); only the root changes, the 21 body joints are
  relative rotations. Afterwards an upright AMASS pose has a root close to the identity.
- **3DPW** poses are rotated into the **camera frame** for the image→pose target,
  ``root ← R_cam · root`` with ``R_cam`` the world→camera rotation (see :mod:`.threedpw`).

Heading normalisation (yaw about y removed, pitch and roll kept, in the canonical frame) is
:func:`bench.body.normalize_heading`; PoseFix keeps an in-sequence B's heading relative to A with
:func:`bench.body.rotate_heading` by A's ``-heading_angle``.

All poses are axis-angle ``(N, 22, 3)`` in radians; rotation matrices act on column vectors.
"""

from __future__ import annotations

import numpy as np

from bench.body import axis_angle_to_matrix, matrix_to_axis_angle

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
