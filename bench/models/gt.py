"""``gt``: the ground truth of every task, i.e. the ceiling as measured through the evaluators."""

from __future__ import annotations

from collections.abc import Sequence

from bench.models.adapter import ModelAdapter, ModelContext, ModelInfo, Prediction, SampleFailure, register_model
from tasks import get_task, task_ids
from tasks.spec import Request


@register_model("gt")
class GroundTruth(ModelAdapter):
    """Answers each request with its task's ceiling prediction (``Task.reference_predictions``):
    the reference text or the target pose. Its scores are the ceiling of the normalised scale."""

    info = ModelInfo(name="gt", version="1.0", description="ground truth through the evaluators (the ceiling)")
    tasks = tuple(task_ids())

    def __init__(self, ctx: ModelContext) -> None:
        self.dataset = ctx.dataset
        self._answers: dict[str, dict[str, Prediction]] = {}

    @classmethod
    def load(cls, ctx: ModelContext) -> GroundTruth:
        return cls(ctx)

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        out: list[Prediction | SampleFailure] = []
        for request in requests:
            if request.task not in self._answers:
                self._answers[request.task] = get_task(request.task).reference_predictions(self.dataset, "ceiling")
            answer = self._answers[request.task].get(request.id)
            out.append(SampleFailure("no ground truth for this sample id") if answer is None else answer)
        return out
