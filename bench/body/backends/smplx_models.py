"""The ``smpl`` and ``smplh`` body models: a user's chumpy-free SMPL / SMPL-H file through smplx.

Shape is the template (all betas zero); SMPL-H hands are flat (zero hand pose, zero hand mean).

- ``joints``: forward kinematics (``bench.body.kinematics``) on the file's rest joints
  ``J_regressor @ v_template`` and kinematic tree. With zero betas this is exactly the kinematic
  joints smplx returns (its pose blend shapes move vertices, not joints), with no mesh to skin and
  none of smplx's extra vertex-picked joints: J = 24 (smpl) or 52 (smplh).
- ``vertices``: smplx's linear blend skinning, in chunks of ``VERTEX_CHUNK`` poses. smplx always
  appends joints picked by SMPL vertex index (nose, toes, fingertips...); for meshes smaller than
  SMPL's those indices do not exist, so they are pointed at vertex 0 (and never returned).

Frame: the file's own (for real SMPL files y up, the pelvis about 0.2 m below the origin at rest);
joints and vertices share it.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.body.joints import NUM_POSE_JOINTS
from bench.body.kinematics import forward_kinematics
from bench.body.model import BODY_MODELS, BodyModel
from bench.body.model_files import TREES, load_model_arrays, resolve_model_file
from bench.hashing import sha256_file
from bench.errors import BodyModelError

logger = logging.getLogger(__name__)

VERTEX_CHUNK = 512
"""Poses per smplx forward pass in ``vertices()`` (bounds memory: ~0.5 MB per pose for SMPL)."""

SMPL_NUM_VERTICES = 6890
_HAND_POSE_DIM = 45


class SmplxBodyModel(BodyModel):
    """SMPL (J = 24) or SMPL-H (J = 52) from a user file; see the module docstring."""

    def __init__(self, path: Path | None, model_type: str) -> None:
        if path is None:
            raise BodyModelError(
                f"the {model_type} body model needs a model file or folder (BENCH_BODY_MODELS or --body-models)",
                field="body_models",
            )
        self.name = model_type
        self.joint_names, self.parents = TREES[model_type]
        self.file = resolve_model_file(path, model_type)
        arrays = load_model_arrays(self.file, model_type)
        self.sha256 = sha256_file(self.file)
        self.faces = arrays["f"]
        self.faces.setflags(write=False)
        self.rest_joints = arrays["J_regressor"] @ arrays["v_template"]
        """float64 ``(J, 3)`` rest joint positions (zero betas), metres, the file's frame."""
        self._rest = torch.from_numpy(self.rest_joints.copy())
        self._num_vertices = len(arrays["v_template"])
        self._layer = self._build_layer(arrays)

    def _build_layer(self, arrays: dict[str, np.ndarray]) -> torch.nn.Module:
        import smplx
        from smplx.utils import Struct

        struct = dict(arrays)
        if self.name == "smplh":  # unused with use_pca=False, flat_hand_mean=True; files need not have them
            for side in "lr":
                struct[f"hands_components{side}"] = np.zeros((_HAND_POSE_DIM, _HAND_POSE_DIM))
                struct[f"hands_mean{side}"] = np.zeros(_HAND_POSE_DIM)
        options: dict[str, Any] = dict(
            model_path=str(self.file),
            data_struct=Struct(**struct),
            num_betas=arrays["shapedirs"].shape[-1],
            create_betas=False,
            create_global_orient=False,
            create_body_pose=False,
            create_transl=False,
        )
        if self._num_vertices < SMPL_NUM_VERTICES:
            options["vertex_ids"] = _VertexIdsAtZero()
        if self.name == "smplh":
            options.update(
                use_pca=False, flat_hand_mean=True, create_left_hand_pose=False, create_right_hand_pose=False
            )
        chatter = io.StringIO()
        try:
            with contextlib.redirect_stdout(chatter):
                layer = (smplx.SMPLH if self.name == "smplh" else smplx.SMPL)(**options)
        except Exception as exc:  # noqa: BLE001 - smplx's own checks on the arrays
            reason = f"{type(exc).__name__}: {exc}"
            raise BodyModelError(f"smplx cannot build an {self.name} model ({reason})", file=self.file) from None
        if chatter.getvalue().strip():
            logger.debug("smplx: %s", chatter.getvalue().strip())
        return layer.eval()

    @property
    def description(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "file": str(self.file),
            "sha256": self.sha256,
            "num_joints": self.num_joints,
            "num_vertices": self._num_vertices,
            "num_faces": len(self.faces),
            "betas": "zero",
            "hands": "flat" if self.name == "smplh" else "none",
        }

    def _joints(self, poses: torch.Tensor) -> torch.Tensor:
        return forward_kinematics(poses, self._rest, self.parents)

    def _vertices(self, poses: torch.Tensor) -> torch.Tensor:
        if len(poses) == 0:
            return poses.new_zeros((0, self._num_vertices, 3))
        layer = self._layer.to(poses.device)
        num_betas = layer.shapedirs.shape[-1]
        chunks = []
        for chunk in poses.split(VERTEX_CHUNK):
            n = chunk.shape[0]
            flat = chunk.to(torch.float32).reshape(n, 3 * NUM_POSE_JOINTS)
            zeros = flat.new_zeros
            inputs = dict(betas=zeros(n, num_betas), global_orient=flat[:, :3])
            if self.name == "smplh":
                hands = zeros(n, _HAND_POSE_DIM)
                inputs.update(body_pose=flat[:, 3:], left_hand_pose=hands, right_hand_pose=hands)
            else:  # SMPL's body pose also rotates the two hand joints: identity
                inputs.update(body_pose=torch.cat([flat[:, 3:], zeros(n, 6)], dim=1))
            chunks.append(layer(**inputs).vertices)
        return torch.cat(chunks).to(poses.dtype)


class _VertexIdsAtZero(dict):
    """smplx ``vertex_ids`` for small meshes: every extra keypoint name maps to vertex 0."""

    def __missing__(self, key: str) -> int:
        return 0


@BODY_MODELS.register("smpl")
def _smpl(path: Path | None) -> SmplxBodyModel:
    return SmplxBodyModel(path, "smpl")


@BODY_MODELS.register("smplh")
def _smplh(path: Path | None) -> SmplxBodyModel:
    return SmplxBodyModel(path, "smplh")
