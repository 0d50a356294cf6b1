"""The pinned evaluators: ids that tasks refer to, each with its checkpoint file name and SHA-256.

The checkpoints live in ``retrieval_models/checkpoints/`` (``BenchConfig.shipped_evaluators_dir``).
They are trained on the full synth dataset by ``bench evaluators train`` (see
``retrieval_models/checkpoints/README.md``); until a trained file is committed its ``sha256`` is
None ("pending") and loading the id reports the missing checkpoint. Pin a file by copying it and
its card into ``checkpoints/`` and setting ``sha256`` below to the value ``bench evaluators list``
prints. Changing a pinned file means a new id (``-v2``), never a new hash under an old id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.errors import InternalError
from bench.registry import Registry

__all__ = ["PinnedEvaluator", "EVALUATORS", "SHA256_PATTERN"]

SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PinnedEvaluator:
    """One pinned evaluator."""

    id: str
    """The name tasks use, e.g. ``posetext-synth-v1``."""
    kind: str
    """``"pose-text"`` or ``"pair-text"``."""
    filename: str
    """The checkpoint file, looked up in the evaluator search folders; its card is ``<stem>.json``."""
    sha256: str | None
    """SHA-256 of the checkpoint file; None while the trained file is not committed yet."""
    data: str
    """The dataset it is trained on (``load_dataset`` name)."""
    description: str
    """One line for ``bench evaluators list``."""

    def __post_init__(self) -> None:
        if self.kind not in ("pose-text", "pair-text"):
            raise InternalError(f"pinned evaluator {self.id!r}: unknown kind {self.kind!r}")
        if self.sha256 is not None and not SHA256_PATTERN.fullmatch(self.sha256):
            raise InternalError(f"pinned evaluator {self.id!r}: sha256 must be 64 lower-case hex digits")
        if not self.filename.endswith(".safetensors"):
            raise InternalError(f"pinned evaluator {self.id!r}: filename must end with .safetensors")


EVALUATORS: Registry[PinnedEvaluator] = Registry("evaluator")

for _entry in (
    PinnedEvaluator(
        id="posetext-synth-v1",
        kind="pose-text",
        filename="posetext-synth-v1.safetensors",
        sha256="9743513b5900a60fe2f6ac29003e373900654fb390efcd02ea8658324501f0db",
        data="synth-full",
        description="pose-text retrieval, trained on synth-full (auto captions, then human where present)",
    ),
    PinnedEvaluator(
        id="pairtext-synth-v1",
        kind="pair-text",
        filename="pairtext-synth-v1.safetensors",
        sha256="77d2b16a3b04ce486cf339b8482544476d81841e61eadd554a323fc256fbad44",
        data="synth-full",
        description="pose-pair-text retrieval, trained on synth-full pairs and instructions",
    ),
):
    EVALUATORS.add(_entry.id, _entry)
