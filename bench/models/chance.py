"""``chance``: a random training caption, instruction or pose per request (seeded per request)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.models.adapter import ModelAdapter, ModelContext, ModelInfo, Prediction, SampleFailure, register_model
from bench.models.train_pool import text_component, train_poses, train_texts
from tasks import get_task, task_ids
from tasks.spec import Request


@register_model("chance")
class Chance(ModelAdapter):
    """Text tasks: a uniformly drawn training text of the task's kind (captions for pose and image
    description, instructions for pose and image differences). Pose tasks: a uniformly drawn training
    pose (its canonical, heading-normalised root orientation). Each draw uses the request's seed."""

    info = ModelInfo(name="chance", version="1.0", description="a random training caption or pose (seeded)",
                     training_data=("<dataset>/train",))  # fmt: skip
    tasks = tuple(task_ids())

    def __init__(self, ctx: ModelContext) -> None:
        self.dataset = ctx.dataset
        self._texts: dict[str, list[str]] = {}
        self._poses: np.ndarray | None = None

    @classmethod
    def load(cls, ctx: ModelContext) -> Chance:
        return cls(ctx)

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        if not requests:
            return []
        if get_task(requests[0].task).spec.output_kind == "text":
            component = text_component(requests[0].task)
            if component not in self._texts:
                self._texts[component] = train_texts(self.dataset, component)[1]
            pool = self._texts[component]
            return [pool[int(np.random.default_rng(seed).integers(len(pool)))] for seed in seeds]
        if self._poses is None:
            self._poses = train_poses(self.dataset)
        return [self._poses[int(np.random.default_rng(seed).integers(len(self._poses)))].copy() for seed in seeds]
