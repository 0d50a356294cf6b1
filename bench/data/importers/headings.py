"""The names of the heading conventions the importers offer, and the peer function each follows.

Kept apart from :mod:`.frames` (which computes them and needs the body models) so that the command
line can list them without importing torch.
"""

from __future__ import annotations

from bench.errors import ConfigError

POSESCRIPT_EULER = "posescript-euler-zyx"
"""PoseScript's heading rule: the ZYX Euler z angle of the z-up root is zeroed."""
SWING_TWIST = "swing-twist-y"
"""The twist about +y of the canonical root is removed (:func:`bench.body.normalize_heading`)."""
HEADING_CONVENTIONS: dict[str, str] = {
    POSESCRIPT_EULER: "naver/posescript src/text2pose/utils.py::get_pose_data_from_file (rotvec_to_eulerangles, "
                      "Euler z of the z-up root set to 0); PoseFix pairs: data.py::PoseFix.get_poses_AB",
    SWING_TWIST: "PoseBench bench/body/pose_transforms.py::normalize_heading (twist about y of the y-up root)",
}
"""Heading convention name -> the peer file and function it follows (recorded in the manifest)."""


def check_heading_convention(name: str) -> str:
    """``name`` if it is a key of :data:`HEADING_CONVENTIONS`, else a ConfigError (exit 2) listing them."""
    if name not in HEADING_CONVENTIONS:
        raise ConfigError(f"unknown heading convention {name!r}; known: {sorted(HEADING_CONVENTIONS)}",
                          field="heading")
    return name
