"""The pose-output family: ``text2pose``, ``spg``, ``poseedit``, ``image2pose``, ``rpe``.

Metrics (docs/protocols.md):

- MPJPE / PA-MPJPE in millimetres on a named joint set of the configured body model (``skeleton``
  by default), with the alignment named in each metric: ``none`` (global orientation counts),
  ``root`` (pelvis joint subtracted from prediction and ground truth), ``procrustes`` (similarity
  Procrustes: scale, rotation, translation).
- R^T2P / R^P2T top-k: full-gallery retrieval recall between the ground-truth texts and the
  predicted poses through the pose-text evaluator (``bench.metrics.topk_recall``).
- FID between predicted and ground-truth pose embeddings of the same evaluator.

Predictions are float32 (22, 3) axis-angle poses in the frame of the task's ground truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bench.errors import DataError, InternalError
from tasks.base import Measured, Measurements, Prediction, Task, timed
from tasks.context import ScoringContext
from tasks.spec import MetricSpec

if TYPE_CHECKING:
    from bench.data import Dataset
    from bench.metrics import TopKRecall

RECALL_KS = (5, 10, 20)
PELVIS = 0
"""Index of the pelvis among the body model's joints (SMPL order)."""
MIN_FID_SAMPLES = 2


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

    def _measure(self, items: PoseItems, predictions: list[Prediction], ctx: ScoringContext,
                 metrics: tuple[MetricSpec, ...], timings: dict[str, float]) -> Measurements:  # fmt: skip
        poses = np.ascontiguousarray(np.stack([np.asarray(p) for p in predictions]), dtype=np.float32)
        measured: dict[str, Measured] = {}
        skipped: dict[str, str] = {}
        errors = [m for m in metrics if m.measure == "mpjpe"]
        if errors:
            measured.update(_pose_errors(items, poses, ctx, errors, timings))
        embedded = [m for m in metrics if m.measure in ("topk_recall", "fid")]
        if embedded:
            evaluator_id = str(self.spec.evaluator_id)
            with timed(timings, "embed_predictions"):
                predicted = ctx.embed_poses(evaluator_id, poses)
            recall = [m for m in embedded if m.measure == "topk_recall"]
            if recall:
                measured.update(self._recall(items, predicted, ctx, recall, skipped, timings))
            for spec in (m for m in embedded if m.measure == "fid"):
                if len(poses) < MIN_FID_SAMPLES:
                    skipped[spec.name] = f"needs at least {MIN_FID_SAMPLES} samples, got {len(poses)}"
                    continue
                with timed(timings, "embed_ground_truth"):
                    real = ctx.embed_poses(evaluator_id, items.targets)
                with timed(timings, "fid"):
                    measured[spec.name] = _fid(predicted, real)
        return measured, skipped

    def _recall(self, items: PoseItems, predicted: np.ndarray, ctx: ScoringContext, specs: list[MetricSpec],
                skipped: dict[str, str], timings: dict[str, float]) -> dict[str, Measured]:  # fmt: skip
        from bench.metrics import topk_recall

        if items.retrieval_texts is None:
            raise InternalError(f"task {self.spec.id} has retrieval metrics but no retrieval texts")
        n = len(items.ids)
        usable = [m for m in specs if int(m.k or 0) <= n]
        for m in specs:
            if m not in usable:
                skipped[m.name] = f"needs a gallery of at least {m.k} samples, got {n}"
        if not usable:
            return {}
        with timed(timings, "embed_ground_truth"):
            texts = ctx.embed_texts(str(self.spec.evaluator_id), items.retrieval_texts)
        with timed(timings, "topk_recall"):
            result = topk_recall(texts, predicted, ks=tuple(sorted({int(m.k or 0) for m in usable})))
        return {m.name: recall_measured(result, m) for m in usable}


def _pose_errors(items: PoseItems, poses: np.ndarray, ctx: ScoringContext, specs: list[MetricSpec],
                 timings: dict[str, float]) -> dict[str, Measured]:  # fmt: skip
    """MPJPE-type errors in mm, per sample, through the configured body model."""
    from bench.body import joint_indices
    from bench.metrics import mpjpe

    with timed(timings, "joints"):
        predicted_m, target_m = ctx.joints_m(poses), ctx.joints_m(items.targets)
    out: dict[str, Measured] = {}
    with timed(timings, "mpjpe"):
        for spec in specs:
            joints = joint_indices(str(spec.joint_set))
            pred, gt = predicted_m, target_m
            if spec.alignment == "root":
                pred, gt = pred - pred[:, PELVIS : PELVIS + 1], gt - gt[:, PELVIS : PELVIS + 1]
            align = "procrustes" if spec.alignment == "procrustes" else "none"
            per_sample = np.asarray(mpjpe(pred[:, joints], gt[:, joints], align=align), dtype=np.float64)
            facts = {"root_joint": "pelvis" if spec.alignment == "root" else None, "joint_indices": joints}
            out[spec.name] = Measured(value=float(per_sample.mean()), per_sample=per_sample, facts=facts)
    return out


def _fid(predicted: np.ndarray, real: np.ndarray) -> Measured:
    from bench.metrics import fid

    result = fid(predicted, real)
    facts = {"eps_used": result.eps_used, "max_imag": result.max_imag, "warnings": list(result.warnings),
             "dim": result.dim, "n_pred": result.n_pred, "n_real": result.n_real}  # fmt: skip
    return Measured(value=float(result.value), n=result.n_pred, facts=facts)


def recall_measured(result: TopKRecall, spec: MetricSpec) -> Measured:
    """One top-k recall of a ``topk_recall(texts, poses)`` result: ``query="text"`` reads the
    text → pose direction (``a2b``), ``query="pose"`` the pose → text one (``b2a``)."""
    direction = "a2b" if spec.query == "text" else "b2a"
    ranks = result.a2b_ranks if direction == "a2b" else result.b2a_ranks
    per_query = (np.asarray(ranks) < int(spec.k or 0)).astype(np.float64) * 100.0
    facts = {"gallery_size": result.n, "chance": 100.0 * int(spec.k or 0) / result.n}
    return Measured(value=result.values[f"{direction}_R@{spec.k}"], per_sample=per_query, facts=facts)
