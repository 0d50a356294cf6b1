"""PoseScript's and PoseFix's released retrieval models as PoseBench evaluators (docs/real_data.md §6).

``bench evaluators import posescript CKPT --text-model DIR`` converts a release checkpoint
(:mod:`.release`) into an evaluator that loads like any other (``load_evaluator(name, ...)``) and
scores tasks through ``bench score --evaluator posetext-synth-v1=NAME``. The networks are in
:mod:`.network`.
"""

NETWORK = "posescript"
"""The card's ``network`` value of an imported PoseScript/PoseFix evaluator."""

__all__ = ["NETWORK"]
