"""Models under test: the adapter interface, its registry, and the baselines (docs/architecture.md §7).

Each model is one module (``bench/models/<name>.py``) or subpackage (``bench/models/unipose/``)
registering a :class:`ModelAdapter` subclass with ``@register_model("<name>")``; installed packages
add theirs through the ``posebench.models`` entry points, and ``bench run --include PATH`` a file
(``bench.models.plugins``; ``docs/adding_a_model.md``). Lookups import them on first use
(:func:`discover_models`).
"""

from bench.models.adapter import (
    MODELS, TRAINERS, ModelAdapter, ModelContext, ModelInfo, Prediction, SampleFailure, answer_settings,
    register_model, register_trainer, request_seed,
)
from bench.models.plugins import discover_models, get_model, include, model_names, model_origin, plugin_errors

__all__ = [
    "MODELS", "TRAINERS", "ModelAdapter", "ModelContext", "ModelInfo", "Prediction", "SampleFailure", "answer_settings",
    "discover_models", "get_model", "include", "model_names", "model_origin", "plugin_errors", "register_model",
    "register_trainer", "request_seed",
]  # fmt: skip
