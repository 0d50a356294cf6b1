"""The body-model interface and its loader.

A body model maps PoseBench poses, axis-angle ``(B, 22, 3)`` radians in the SMPL frame (y up, a zero
root faces +z, the body's left at +x), to joint positions ``(B, J, 3)`` in metres, and, where it has
a mesh, to vertices ``(B, V, 3)``. Backends live in ``bench/body/backends/`` (one file each) and
register a factory ``factory(path) -> BodyModel`` in ``BODY_MODELS``:

- ``skeleton`` (default, built in, no files): J = 24 SMPL joints, no mesh.
- ``smpl``: a user's SMPL file through smplx, J = 24, V = 6890 for real SMPL.
- ``smplh``: a user's SMPL-H file, J = 52 (22 body joints, then 15 per hand), hands flat.

Joint ``j`` of every backend's first 22 joints is SMPL joint ``j`` (``JOINT_SETS["body22"]``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from bench.body.joints import NUM_POSE_JOINTS
from bench.body.rotations import check_shape, to_float_tensor
from bench.errors import BodyModelError, InternalError
from bench.registry import Registry

logger = logging.getLogger(__name__)

ArrayT = TypeVar("ArrayT", torch.Tensor, np.ndarray)


class BodyModel(ABC):
    """A body model backend; instances are immutable after construction and keep no pose state."""

    name: str
    """Backend name: ``skeleton``, ``smpl`` or ``smplh``."""
    joint_names: tuple[str, ...]
    """Names of the J output joints, in output order."""
    parents: tuple[int, ...]
    """Parent of each output joint (-1 for the root), for drawing and kinematics."""
    faces: np.ndarray | None = None
    """int64 ``(F, 3)`` triangle vertex indices, or None without a mesh."""

    @property
    def num_joints(self) -> int:
        """J, the number of joints ``joints()`` returns."""
        return len(self.joint_names)

    @property
    def has_mesh(self) -> bool:
        """Whether ``vertices()`` and ``faces`` are available."""
        return self.faces is not None

    @property
    @abstractmethod
    def description(self) -> dict[str, Any]:
        """JSON-able record of what was used (backend, joint count, file hash...), stored with metrics."""

    def joints(self, poses: ArrayT) -> ArrayT:
        """Joint positions: ``(..., 22, 3)`` axis-angle poses → ``(..., J, 3)`` metres, same type and dtype.

        Numpy input comes back as numpy; tensors stay on their device. Autograd flows through.
        """
        return _map_poses(self._joints, poses)

    def vertices(self, poses: ArrayT) -> ArrayT:
        """Mesh vertices: ``(..., 22, 3)`` poses → ``(..., V, 3)`` metres, same type and dtype."""
        if not self.has_mesh:
            raise BodyModelError(f"the {self.name!r} body model has no mesh; use smpl or smplh", field="body_model")
        return _map_poses(self._vertices, poses)

    @abstractmethod
    def _joints(self, poses: torch.Tensor) -> torch.Tensor:
        """``(N, 22, 3)`` float tensor → ``(N, J, 3)`` on the same device and dtype."""

    def _vertices(self, poses: torch.Tensor) -> torch.Tensor:
        """``(N, 22, 3)`` float tensor → ``(N, V, 3)``; only backends with a mesh override this."""
        raise InternalError(f"{type(self).__name__} declares faces but does not compute vertices")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, num_joints={self.num_joints})"


def _map_poses(fn: Callable[[torch.Tensor], torch.Tensor], poses: ArrayT) -> ArrayT:
    """Apply ``fn`` ((N, 22, 3) tensor → (N, K, 3)) to ``(..., 22, 3)`` poses of either type."""
    tensor = to_float_tensor(poses, "poses")
    check_shape(tensor, (NUM_POSE_JOINTS, 3), "poses")
    lead = tensor.shape[:-2]
    out = fn(tensor.reshape(-1, NUM_POSE_JOINTS, 3))
    out = out.reshape(lead + out.shape[-2:])
    return out.numpy() if isinstance(poses, np.ndarray) else out


BodyModelFactory = Callable[[Path | None], BodyModel]

BODY_MODELS: Registry[BodyModelFactory] = Registry("body model", packages=("bench.body.backends",))
"""Backend name → ``factory(path) -> BodyModel``; filled by ``bench/body/backends/*.py``."""


def load_body_model(name: str = "skeleton", path: str | PathLike[str] | None = None) -> BodyModel:
    """Build the body model ``name`` (``skeleton``, ``smpl``, ``smplh``).

    Args:
        name: backend name; unknown names raise NotFoundError with suggestions.
        path: for ``smpl`` / ``smplh``, the user's model file (.npz or chumpy-free .pkl) or a folder in
            smplx layout (``<dir>/smpl/SMPL_NEUTRAL.npz`` ...); ignored by ``skeleton``.

    Raises:
        NotFoundError: unknown backend.
        BodyModelError: missing, unreadable or malformed model file (the message names the file).
    """
    model = BODY_MODELS.get(name)(None if path is None else Path(path).expanduser())
    logger.debug("loaded body model %r: %s", name, model.description)
    return model
