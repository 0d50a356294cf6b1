"""Models under test: the adapter interface, its registry, and the baselines (docs/architecture.md §7).

Each model is one module (``bench/models/<name>.py``) or subpackage (``bench/models/unipose/``)
registering a :class:`ModelAdapter` subclass with ``@register_model("<name>")``; see
``docs/adding_a_model.md``. Lookups import the modules on first use (:func:`discover_models`).
"""

from bench.models.adapter import (
    MODELS, TRAINERS, ModelAdapter, ModelContext, ModelInfo, Prediction, SampleFailure, discover_models, get_model,
    model_names, register_model, register_trainer, request_seed,
)

__all__ = [
    "MODELS", "TRAINERS", "ModelAdapter", "ModelContext", "ModelInfo", "Prediction", "SampleFailure", "discover_models",
    "get_model", "model_names", "register_model", "register_trainer", "request_seed",
]  # fmt: skip
