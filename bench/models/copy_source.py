"""``copy-source``: pose editing answered with the unedited source pose A (the no-edit baseline)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.models.adapter import ModelAdapter, ModelInfo, Prediction, SampleFailure, register_model
from tasks.spec import Request


@register_model("copy-source")
class CopySource(ModelAdapter):
    """``poseedit``: returns the request's pose A unchanged."""

    info = ModelInfo(name="copy-source", version="1.0", description="pose editing: return pose A unchanged")
    tasks = ("poseedit",)

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        return [np.array(r.inputs["pose_a"], dtype=np.float32) for r in requests]
