"""PoseBench-Synth: procedurally generated poses, captions, pair instructions, renders and scenes.

:func:`build_synth` writes a complete dataset folder (see ``docs/architecture.md`` §3); the pieces
live in three sub-packages by concern and a few modules that join them:

* ``poses``: the archetype library, anatomical joint limits and the pose generator;
* ``text``: posecodes and captions, paircodes and instructions, implicit (spg) descriptions;
* ``images``: the mannequin renderer, cameras, looks and backdrops, multi-person rpe scenes;
* ``pairs`` (pose-pair mining, from poses and their codes), ``build`` (the orchestrator),
  ``pinned`` (pinned split hashes), ``stats`` (quality report) and ``contact_sheet`` (previews).
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_synth"]


def __getattr__(name: str) -> Any:
    # The builder pulls in the renderer and the caption pipeline; import it only when asked for.
    if name == "build_synth":
        from bench.data.synth.build import build_synth

        return build_synth
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
