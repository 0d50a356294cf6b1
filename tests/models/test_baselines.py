"""The baselines: each one's rule, the registry and CLI listing, the doc's example, and sanity ordering."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bench.body import axis_angle_to_matrix
from bench.models import ModelContext, SampleFailure, get_model, model_names, request_seed
from bench.models.mean_pose import rotation_mean
from bench.models.nn_retrieval import TrainHalf, apply_edit
from bench.models.regressor import crop_box
from bench.prediction_cache import PredictionCache
from bench.runner import generate, load_adapter, score_and_store, write_run_bundle
from tasks import get_task
from tests.cli_helpers import run_bench

pytestmark = pytest.mark.usefixtures("one_torch_thread")
BASELINES = {"gt", "chance", "mean-pose", "copy-source", "nn-retrieval", "captioner", "regressor"}
DOC = Path(__file__).resolve().parents[2] / "docs" / "adding_a_model.md"


def _ctx(dataset: Any, model_dir: Path | None = None) -> ModelContext:
    from bench.config import load_config

    return ModelContext(load_config(env={"BENCH_HOME": "/nonexistent"}), dataset, (model_dir,) if model_dir else ())


def _requests(dataset: Any, task_id: str, n: int) -> tuple[list, list[int]]:
    requests = get_task(task_id).build_requests(dataset, n)
    return requests, [request_seed(0, task_id, r.id) for r in requests]


def test_registry_lists_every_baseline_with_metadata(bench_home: Path) -> None:
    assert BASELINES <= set(model_names())
    result = run_bench("models", "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["copy-source"]["tasks"] == ["poseedit"]
    assert rows["regressor"]["trainable"] and rows["nn-retrieval"]["trainable"] and not rows["gt"]["trainable"]
    assert run_bench("models", "train", "no-such-model").exit_code == 2


def test_rotation_mean_is_a_rotation_and_respects_symmetry() -> None:
    rng = np.random.default_rng(0)
    poses = rng.normal(scale=0.6, size=(50, 22, 3)).astype(np.float32)
    mean = rotation_mean(poses)
    matrices = axis_angle_to_matrix(torch.as_tensor(mean, dtype=torch.float64))
    np.testing.assert_allclose(matrices @ matrices.transpose(-1, -2), np.broadcast_to(np.eye(3), (22, 3, 3)), atol=1e-6)
    np.testing.assert_allclose(torch.linalg.det(matrices).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(rotation_mean(poses[:1]), poses[0], atol=1e-5)
    small = poses[:1] / np.linalg.norm(poses[:1], axis=-1, keepdims=True)  # every angle 1 rad (< pi/2)
    mirrored = np.concatenate([small, -small])  # (R + R^T) / 2 is symmetric positive definite: identity
    np.testing.assert_allclose(rotation_mean(mirrored), 0.0, atol=1e-5)


def test_apply_edit_reproduces_the_retrieved_edit() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(scale=0.5, size=(2, 22, 3)).astype(np.float32)
    np.testing.assert_allclose(apply_edit(a, a, b), b, atol=1e-5)
    np.testing.assert_allclose(apply_edit(b, a, a), b, atol=1e-5)


def test_train_half_is_disjoint_from_the_other_half(small_dataset: Any) -> None:
    one, zero = TrainHalf(small_dataset, 1), TrainHalf(small_dataset, 0)
    ids_one, ids_zero = set(one.poses("train").ids.tolist()), set(zero.poses("train").ids.tolist())
    assert ids_one.isdisjoint(ids_zero) and len(ids_one | ids_zero) == len(small_dataset.poses("train").ids)
    assert set(one.captions("train")) <= ids_one
    assert one.split_hash("train") != small_dataset.split_hash("train") == TrainHalf(small_dataset).split_hash("train").replace(
        one.split_hash("train"), small_dataset.split_hash("train"))  # fmt: skip
    assert one.poses("test").ids.tolist() == small_dataset.poses("test").ids.tolist()


def test_chance_is_seeded_per_request(small_dataset: Any) -> None:
    chance = get_model("chance").load(_ctx(small_dataset))
    for task_id in ("pose2text", "posediff", "text2pose"):
        requests, seeds = _requests(small_dataset, task_id, 12)
        first, again = chance.predict(requests, seeds), chance.predict(requests[::-1], seeds[::-1])[::-1]
        assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
        assert len({str(np.asarray(x).tobytes()) if not isinstance(x, str) else x for x in first}) > 1


def test_gt_copy_source_and_captioner_follow_their_rules(small_dataset: Any) -> None:
    requests, seeds = _requests(small_dataset, "poseedit", 5)
    truth = get_task("poseedit").reference_predictions(small_dataset, "ceiling", limit=5)
    gt = get_model("gt").load(_ctx(small_dataset)).predict(requests, seeds)
    assert all(np.array_equal(gt[i], truth[r.id]) for i, r in enumerate(requests))
    copied = get_model("copy-source").load(_ctx(small_dataset)).predict(requests, seeds)
    assert all(np.array_equal(c, r.inputs["pose_a"]) for c, r in zip(copied, requests, strict=True))
    captioner = get_model("captioner").load(_ctx(small_dataset))
    for task_id in ("pose2text", "posediff"):
        requests, seeds = _requests(small_dataset, task_id, 4)
        texts = captioner.predict(requests, seeds)
        assert all(isinstance(t, str) and t.strip() for t in texts)
        assert texts == captioner.predict(requests, seeds)


def test_crop_box_centres_and_pads() -> None:
    image = np.full((224, 224, 3), 7, np.uint8)
    crop = crop_box(image, [0.0, 0.0, 30.0, 60.0])
    assert crop.shape == (80, 80, 3)
    assert crop[0, 0].tolist() == [0, 0, 0] and crop[40, 40].tolist() == [7, 7, 7]


def test_missing_checkpoint_names_the_training_command(small_dataset: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from bench.config import BenchConfig
    from bench.errors import CheckpointError

    monkeypatch.setattr(BenchConfig, "shipped_models_dir", property(lambda self: tmp_path / "shipped"))
    with pytest.raises(CheckpointError, match="bench models train regressor"):
        get_model("regressor").load(_ctx(small_dataset, tmp_path))


def test_doc_example_runs(small_dataset: Any) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102  (our own documentation)
    assert len(blocks[0].strip().splitlines()) <= 35
    adapter = get_model("knee-rule").load(_ctx(small_dataset))
    assert adapter.supports("text2pose") and not adapter.supports("poseedit")
    requests, seeds = _requests(small_dataset, "text2pose", 8)
    answers = adapter.predict(requests, seeds)
    assert all(isinstance(a, SampleFailure) or np.asarray(a).shape == (22, 3) for a in answers)


def _main(result: Any, task_id: str) -> float:
    return next(m.value for m in result.tasks[task_id].metrics if m.is_main)


def _metric(result: Any, task_id: str, name: str) -> float:
    return next(m.value for m in result.tasks[task_id].metrics if m.name == name)


@pytest.fixture(scope="module")
def baseline_results(small_dataset: Any, tiny_model_dir: Path, evaluator_overrides: dict,
                     tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # fmt: skip
    """Every baseline run and scored (not stored) on four tasks of synth-small, once per module.

    Trainable baselines use the quick-trained checkpoints, except two entries with shipped weights:
    ``regressor (shipped)`` (image2pose only) and ``nn-retrieval (shipped)`` (text2pose only):
    ``nn-retrieval`` with its shipped retrieval models (trained on half of
    synth-full's train split, whose poses do not occur in synth-small's test split) and synth-small's
    train split as gallery. Retrieval models quick-trained on synth-small's 64 training poses cannot
    rank texts well enough for its text2pose rule to mean anything; conversely the shipped ones
    out-rank the tiny evaluators' own ground truth on pose2text, so the ordering checks keep the
    quick-trained ones.
    """
    from bench.config import load_config

    tmp_path = tmp_path_factory.mktemp("sanity")
    config = load_config(env={"BENCH_HOME": str(tmp_path / "home")})
    runs = [(name, name, [tiny_model_dir], ["pose2text", "posediff", "text2pose", "image2pose"])
            for name in ("gt", "chance", "mean-pose", "nn-retrieval", "captioner", "regressor")]  # fmt: skip
    runs.append(("nn-retrieval (shipped)", "nn-retrieval", [], ["text2pose"]))
    runs.append(("regressor (shipped)", "regressor", [], ["image2pose"]))
    results = {}
    with PredictionCache(tmp_path / "cache") as cache:
        for entry, name, model_dirs, tasks in runs:
            adapter, settings = load_adapter(name, config, small_dataset, model_dirs)
            run = generate(adapter, name, small_dataset, tasks, cache, batch_size=64, options=settings)
            bundle = write_run_bundle(run, adapter, small_dataset, tmp_path / entry.replace(" ", "_"))
            results[entry], _ = score_and_store(bundle, config, small_dataset.root, limit=None,
                                                evaluators=evaluator_overrides, store=False)  # fmt: skip
    return results


@pytest.mark.slow
def test_r_precision_ordering_on_small(baseline_results: dict[str, Any]) -> None:
    """gt ≥ every baseline ≥ chance on R-precision (within two binomial standard errors)."""
    results = baseline_results
    for task_id in ("pose2text", "posediff"):
        scores = {n: _main(r, task_id) for n, r in results.items() if task_id in r.tasks}
        assert set(scores) == {"gt", "chance", "nn-retrieval", "captioner"}, scores
        # two binomial standard errors of gt's top-1 rate: the tiny evaluators are noisy, and on synth the
        # captioner is the reference generator itself (a fresh caption of the same pose), so it ties gt
        p, n = scores["gt"] / 100.0, len(results["gt"].tasks[task_id].samples)
        slack = 200.0 * float(np.sqrt(p * (1.0 - p) / n))
        assert all(scores["gt"] + slack >= s >= scores["chance"] - slack for s in scores.values()), (task_id, scores)
    assert min(s for n, s in ((n, _main(r, "pose2text")) for n, r in results.items() if "pose2text" in r.tasks)
               if n != "chance") > _main(results["chance"], "pose2text") + 5.0  # fmt: skip


@pytest.mark.slow
def test_regressor_beats_mean_pose_on_image2pose(baseline_results: dict[str, Any], tiny_model_dir: Path) -> None:
    estimation = {n: _metric(baseline_results[n], "image2pose", "mpjpe_mm") for n in ("mean-pose", "regressor", "chance")}
    assert estimation["regressor"] < 0.6 * estimation["mean-pose"], estimation
    card = json.loads((tiny_model_dir / "regressor.json").read_text())
    assert card["val_mpjpe_mm"] > 0 and card["seed"] == 0 and len(card["sha256"]) == 64


@pytest.mark.slow
def test_shipped_regressor_beats_mean_pose_on_the_main_metric(baseline_results: dict[str, Any]) -> None:
    """PA-MPJPE (LSP-14, Procrustes) removes the camera-frame orientation that the quick regressor's
    MPJPE win above rests on: only the articulation counts. The shipped regressor (synth-full train)
    on synth-small's test renders, which it never saw."""
    pa = {n: _metric(baseline_results[n], "image2pose", "pa_mpjpe_mm") for n in ("mean-pose", "regressor (shipped)")}
    assert pa["regressor (shipped)"] < 0.85 * pa["mean-pose"], pa


@pytest.mark.slow
def test_nn_retrieval_beats_mean_pose_and_chance_on_text2pose(baseline_results: dict[str, Any]) -> None:
    mpjpe = {n: _metric(r, "text2pose", "mpjpe_mm") for n, r in baseline_results.items() if "text2pose" in r.tasks}
    assert mpjpe["nn-retrieval (shipped)"] < min(mpjpe["mean-pose"], mpjpe["chance"]), mpjpe
