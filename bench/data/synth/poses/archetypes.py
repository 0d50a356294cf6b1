"""The PoseBench-Synth archetype library: named activities the pose generator samples from.

Each :class:`~bench.data.synth.poses.archetypes_spec.Archetype` is written in anatomical joint angles with
ranges and named, smoothly varying parameters (the language is documented in ``archetypes_spec``;
the angles and their limits in ``limits``). The library lives in three files by family:
``archetypes_upright`` (standing, gestures, reaching, bending, walking, running),
``archetypes_floor`` (sitting, kneeling, squatting, lunging, lying, crawling, floor exercise and
yoga) and ``archetypes_action`` (sports, dancing, celebrating, standing yoga, jumping, diving,
climbing, handstand). Other modules key on :data:`ARCHETYPE_NAMES` (captions, implicit SPG
descriptions); the names are part of the dataset version: renaming one changes the data.
"""

from __future__ import annotations

import difflib

from bench.data.synth.poses.archetypes_action import ACTION
from bench.data.synth.poses.archetypes_floor import FLOOR
from bench.data.synth.poses.archetypes_spec import SUPPORT_GROUPS, Archetype
from bench.data.synth.poses.archetypes_upright import UPRIGHT
from bench.errors import InternalError, NotFoundError

__all__ = ["ARCHETYPES", "ARCHETYPE_NAMES", "SUPPORT_GROUPS", "Archetype", "get_archetype"]


def _collect() -> dict[str, Archetype]:
    library: dict[str, Archetype] = {}
    for archetype in (*UPRIGHT, *FLOOR, *ACTION):
        if archetype.name in library:
            raise InternalError(f"duplicate archetype name {archetype.name!r}")
        library[archetype.name] = archetype
    return library


ARCHETYPES: dict[str, Archetype] = _collect()
"""Every archetype by name, in library order (the order the generator cycles through them)."""

ARCHETYPE_NAMES: tuple[str, ...] = tuple(ARCHETYPES)
"""The archetype names, in library order."""

def get_archetype(name: str) -> Archetype:
    """The archetype called ``name``; an unknown name raises NotFoundError with suggestions."""
    if name in ARCHETYPES:
        return ARCHETYPES[name]
    close = difflib.get_close_matches(name, ARCHETYPE_NAMES, n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise NotFoundError(f"unknown archetype {name!r}{hint}", field="archetype")
