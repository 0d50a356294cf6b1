"""The built-in ``skeleton`` body model: forward kinematics on the SMPL 24-joint tree.

Rest offsets come from open anthropometry (``bench.body.anthropometry``), never from SMPL files.
Rest pose: T-pose, 1.70 m, y up, facing +z, the body's left at +x, pelvis at the origin, feet
about 0.92 m below it. No mesh. The hands (joints 22, 23) have identity local rotation.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from bench.body.anthropometry import DRILLIS_CONTINI, SKELETON_HEIGHT_M, rest_joints_sha256, skeleton_rest_joints
from bench.body.joints import JOINT_NAMES, SMPL_PARENTS
from bench.body.kinematics import forward_kinematics
from bench.body.model import BODY_MODELS, BodyModel

logger = logging.getLogger(__name__)

SKELETON_VERSION = 1
"""Bumped whenever the rest offsets change (joint positions, hence metrics, would change)."""


@BODY_MODELS.register("skeleton")
class SkeletonBodyModel(BodyModel):
    """Forward kinematics with the anthropometric rest skeleton; J = 24 SMPL joints."""

    name = "skeleton"
    joint_names = JOINT_NAMES
    parents = SMPL_PARENTS

    def __init__(self, path: Path | None = None) -> None:
        if path is not None:
            logger.debug("the skeleton body model needs no file; ignoring %s", path)
        self.rest_joints = skeleton_rest_joints()
        """float64 ``(24, 3)`` rest joint positions, metres, pelvis at the origin."""
        self.rest_joints.setflags(write=False)
        self._rest = torch.from_numpy(self.rest_joints.copy())

    @property
    def description(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "version": SKELETON_VERSION,
            "num_joints": self.num_joints,
            "height_m": SKELETON_HEIGHT_M,
            "proportions": "Drillis & Contini 1966 (Winter 2009, Fig. 4.1)",
            "proportion_keys": sorted(DRILLIS_CONTINI),
            "rest_sha256": rest_joints_sha256(self.rest_joints),
        }

    def _joints(self, poses: torch.Tensor) -> torch.Tensor:
        return forward_kinematics(poses, self._rest, self.parents)
