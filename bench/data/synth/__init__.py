"""PoseBench-Synth: procedurally generated poses, captions, pair instructions, renders and scenes.

:func:`build_synth` writes a complete dataset folder (see ``docs/architecture.md`` §3); the pieces
live in one module each: archetypes/limits/poses (pose generator), posecodes/captions (automatic
descriptions), paircodes/instructions/pairs (pose pairs and modifier texts), render/scenes (images),
spg (implicit descriptions), build (orchestrator), pinned (pinned split hashes), stats (quality report).
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
