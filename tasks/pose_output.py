"""The pose-output family: ``text2pose``, ``spg``, ``poseedit``, ``image2pose``, ``rpe``.

Metrics (docs/protocols.md), each computed by its measure in ``bench.metrics``:

- MPJPE / PA-MPJPE in millimetres on a named joint set of the configured body model (``skeleton``
  by default), with the alignment named in each metric: ``none`` (global orientation counts),
  ``root`` (pelvis joint subtracted from prediction and ground truth), ``procrustes`` (similarity
  Procrustes: scale, rotation, translation) — ``bench.metrics.mpjpe``.
- R^T2P / R^P2T top-k: full-gallery retrieval recall between the ground-truth texts and the
  predicted poses through the pose-text evaluator (``bench.metrics.topk_recall``).
- FID between predicted and ground-truth pose embeddings of the same evaluator (``bench.metrics.fid``).
- Diversity (T2M) of the answers beside the ground truth's, and their gap (``bench.metrics.diversity``).

Predictions are float32 (22, 3) axis-angle poses in the frame of the task's ground truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bench.errors import DataError
from bench.metrics.measure import MeasureInput
from tasks.base import Prediction, Task
from tasks.context import ScoringContext
from tasks.pins import DIVERSITY_SEED
from tasks.spec import MetricSpec

if TYPE_CHECKING:
    from bench.data import Dataset

RECALL_KS = (5, 10, 20)


def retrieval_metrics(evaluator_id: str) -> tuple[MetricSpec, ...]:
    """R^T2P and R^P2T top-5/10/20 over the full test gallery."""
    specs = []
    for query, name, what in (("text", "t2p", "text → predicted pose"), ("pose", "p2t", "predicted pose → text")):
        for k in RECALL_KS:
            specs.append(MetricSpec(
                name=f"recall_{name}_top{k}", measure="topk_recall", direction="higher", unit="%",
                protocol="full-gallery", k=k, query=query, evaluator=evaluator_id,
                description=f"{what} retrieval: share of queries whose partner ranks in the top {k} of the "
                "whole test set",
            ))  # fmt: skip
    return tuple(specs)


def near_duplicate_metrics(evaluator_id: str) -> tuple[MetricSpec, ...]:
    """The ``tmr`` variant: R^T2P and R^P2T top-5/10/20 counting near-duplicate texts as correct
    (``bench.metrics.near_duplicates``)."""
    specs = []
    for query, name, what in (("text", "t2p", "text → predicted pose"), ("pose", "p2t", "predicted pose → text")):
        for k in RECALL_KS:
            specs.append(MetricSpec(
                name=f"recall_nd_{name}_top{k}", measure="near_duplicate_recall", direction="higher", unit="%",
                protocol="tmr-threshold", k=k, query=query, evaluator=evaluator_id, variant="tmr",
                description=f"{what} retrieval over the whole test set, a retrieval counting as correct when its "
                "text is a near-duplicate of the query's own (TMR's protocol, sentence cosine >= 0.95)",
            ))  # fmt: skip
    return tuple(specs)


def pose_error_metrics(joint_set: str, alignment: str) -> tuple[MetricSpec, ...]:
    """MPJPE with ``alignment`` (``none`` or ``root``) and PA-MPJPE, both in mm on ``joint_set``."""
    how = "without alignment" if alignment == "none" else "after subtracting the pelvis joint"
    return (
        MetricSpec("mpjpe_mm", "mpjpe", "lower", "mm", "joints", f"mean per-joint position error on {joint_set} {how}",
                   joint_set=joint_set, alignment=alignment),
        MetricSpec("pa_mpjpe_mm", "mpjpe", "lower", "mm", "joints",
                   f"mean per-joint position error on {joint_set} after similarity Procrustes alignment",
                   joint_set=joint_set, alignment="procrustes"),
    )  # fmt: skip


def diversity_metrics(evaluator_id: str) -> tuple[MetricSpec, ...]:
    """T2M diversity of the answers and its gap to the ground truth's figure (``bench.metrics.diversity``)."""
    return (
        MetricSpec("diversity", "diversity", "higher", "1", "t2m", "mean evaluator-embedding distance of 300 seeded "
                   "random pairs of answers; read it beside the ground truth's figure (in its protocol): far below "
                   "it means collapsed answers, and above it is no better", evaluator=evaluator_id,
                   seed=DIVERSITY_SEED),
        MetricSpec("diversity_gap", "diversity_gap", "lower", "1", "t2m", "distance between the answers' diversity "
                   "and the ground truth's, over the same 300 pairs", evaluator=evaluator_id, seed=DIVERSITY_SEED),
    )  # fmt: skip


def fid_metric(evaluator_id: str) -> MetricSpec:
    """FID between predicted and ground-truth pose embeddings."""
    return MetricSpec("fid", "fid", "lower", "1", "frechet", "Fréchet distance between Gaussians fitted to predicted "
                      "and ground-truth pose embeddings", evaluator=evaluator_id)  # fmt: skip


@dataclass(frozen=True)
class PoseItems:
    """Ground truth of a pose-output task, one entry per sample, in dataset order."""

    ids: tuple[str, ...]
    """Sample ids."""
    targets: np.ndarray
    """float32 (N, 22, 3) ground-truth axis-angle poses, in the frame predictions must use."""
    retrieval_texts: tuple[str, ...] | None
    """The text matched with each target for R^T2P / R^P2T (None for tasks without retrieval metrics)."""
    source_index: np.ndarray
    """int64 (N,) positions in the full split (for :meth:`request_inputs`)."""
    inputs: Callable[[int], dict[str, np.ndarray | str]]
    """Request inputs of the sample at a full-split position (decodes images on demand)."""

    def take(self, index: np.ndarray) -> PoseItems:
        """The samples at ``index`` (positions in this object), in that order."""
        index = np.asarray(index, dtype=np.int64)
        texts = None if self.retrieval_texts is None else tuple(self.retrieval_texts[i] for i in index)
        ids = tuple(self.ids[i] for i in index)
        return PoseItems(ids, self.targets[index], texts, self.source_index[index], self.inputs)

    def request_inputs(self, i: int) -> dict[str, np.ndarray | str]:
        return self.inputs(int(self.source_index[i]))


def make_pose_items(ids: list[str], targets: np.ndarray, retrieval_texts: list[str] | None,
                    inputs: Callable[[int], dict[str, np.ndarray | str]]) -> PoseItems:  # fmt: skip
    """Build :class:`PoseItems` (targets converted to contiguous float32)."""
    targets = np.ascontiguousarray(targets, dtype=np.float32)
    texts = None if retrieval_texts is None else tuple(retrieval_texts)
    return PoseItems(tuple(ids), targets, texts, np.arange(len(ids), dtype=np.int64), inputs)


class PoseOutputTask(Task):
    """Shared scoring of the pose-output tasks; a task supplies ``spec`` and ``_items``."""

    def _chance_poses(self, dataset: Dataset, items: PoseItems, rng: np.random.Generator) -> np.ndarray:
        """Chance baseline: training poses drawn uniformly without replacement (with replacement only
        when the pool is smaller than the split), seeded. Without replacement, no two predictions are
        the same pose, whose identical embeddings would tie and push retrieval below k/N."""
        if not dataset.has("poses", "train"):
            raise DataError(f"no training poses to draw the chance baseline of {self.spec.id} from",
                            file=str(dataset.root))  # fmt: skip
        pool = dataset.poses("train").poses
        picks = rng.choice(len(pool), size=len(items.ids), replace=len(pool) < len(items.ids))
        return np.asarray(pool[picks], dtype=np.float32)

    def _reference(self, dataset: Dataset, items: PoseItems, which: str, rng: np.random.Generator) -> list[Prediction]:
        poses = items.targets if which == "ceiling" else self._chance_poses(dataset, items, rng)
        return [np.array(p, dtype=np.float32) for p in poses]

    def _prediction_record(self, prediction: Prediction) -> list[list[float]]:
        return np.asarray(prediction, dtype=np.float32).tolist()

    def _measure_input(self, items: PoseItems, predictions: list[Prediction], ctx: ScoringContext,
                       timings: dict[str, float]) -> MeasureInput:  # fmt: skip
        poses = np.ascontiguousarray(np.stack([np.asarray(p) for p in predictions]), dtype=np.float32)
        return MeasureInput(task=self.spec.id, evaluator_id=self.spec.evaluator_id, ids=items.ids, ctx=ctx,
                            timings=timings, poses=poses, targets=items.targets,
                            retrieval_texts=items.retrieval_texts)  # fmt: skip
