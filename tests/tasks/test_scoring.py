"""Scoring all nine tasks end to end on the small synth dataset with tiny trained evaluators:
ground truth scores the evaluator ceilings, random predictions score chance, and numbers do not
depend on reruns, batch size, file order, zip/directory or JSONL/NPZ."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.config import load_config
from bench.store import ResultsStore
from bench.metrics import r_precision, topk_recall
from submissions import RunResult, score_bundle
from tasks import get_task, task_ids
from tasks.text_output import reference_texts
from tests.store.runs import make_run
from tests.submissions.bundles import meta_for, write_bundle, zip_bundle

TEXT_TASKS = ("pose2text", "posediff", "image2text", "imagediff")
CHANCE_LEVELS = {1: 3.125, 2: 6.25, 3: 9.375}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def evaluators(tiny_evaluators: Any, synth_small: Path) -> dict[str, Any]:
    """Pinned evaluator id → the tiny evaluator (trained on synth_small) standing in for it."""
    trained = tiny_evaluators(synth_small)
    return {"posetext-synth-v1": trained["pose-text"], "pairtext-synth-v1": trained["pair-text"]}


@pytest.fixture(scope="module")
def tiny_posetext_checkpoint(evaluators: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pose-text evaluator as a checkpoint file (for ``bench score --evaluator ID=FILE``)."""
    from retrieval_models import save_evaluator

    ev = evaluators["posetext-synth-v1"]
    path = tmp_path_factory.mktemp("checkpoints") / "tiny-posetext.safetensors"
    save_evaluator(ev.model, ev.words, path, {})
    return path


@pytest.fixture(scope="module")
def score(tmp_path_factory: pytest.TempPathFactory, synth_dataset: Any, evaluators: dict[str, Any]) -> Any:
    """``score(predictions, name, **kwargs) -> RunResult``: write a bundle and score it (library API)."""
    config = load_config(env={"BENCH_HOME": str(tmp_path_factory.mktemp("home"))})
    root = tmp_path_factory.mktemp("bundles")

    def run(predictions: dict[str, dict[str, Any]], name: str, *, pose_format: str = "jsonl",
            **kwargs: Any) -> RunResult:  # fmt: skip
        bundle = write_bundle(root / name, predictions, pose_format=pose_format)
        kwargs.setdefault("evaluators", evaluators)
        return score_bundle(bundle, config, open_data=lambda _: synth_dataset, **kwargs)

    run.config = config  # type: ignore[attr-defined]
    run.root = root  # type: ignore[attr-defined]
    return run


class Counting:
    """Wraps an evaluator and records every embedding call as (kind, rows, content hash)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.id, self.sha256, self.kind = inner, inner.id, inner.sha256, inner.kind
        self.calls: list[tuple[str, int, int]] = []

    def embed_texts(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.calls.append(("texts", len(texts), hash(tuple(texts))))
        return self.inner.embed_texts(texts, batch_size=batch_size)

    def embed_poses(self, poses: np.ndarray, batch_size: int = 64) -> np.ndarray:
        self.calls.append(("poses", len(poses), hash(np.asarray(poses).tobytes())))
        return self.inner.embed_poses(poses, batch_size=batch_size)


@pytest.fixture(scope="module")
def counting(evaluators: dict[str, Any]) -> Counting:
    return Counting(evaluators["posetext-synth-v1"])


@pytest.fixture(scope="module")
def gt_result(score: Any, gt_predictions: dict[str, dict[str, Any]], evaluators: dict[str, Any],
              counting: Counting) -> RunResult:  # fmt: skip
    """The ground-truth bundle of all nine tasks, scored once (pose-text embeddings counted)."""
    return score(gt_predictions, "ground-truth", evaluators={**evaluators, "posetext-synth-v1": counting})


def values(result: RunResult) -> dict[tuple[str, str], tuple[float, float | None, float | None, int]]:
    return {(t, m.name): (m.value, m.ci_low, m.ci_high, m.n) for t, r in result.tasks.items() for m in r.metrics}


# ----- ceilings ------------------------------------------------------------------------------------


def test_all_nine_tasks_scored(gt_result: RunResult) -> None:
    assert sorted(gt_result.tasks) == sorted(task_ids())
    for task_id, result in gt_result.tasks.items():
        spec = get_task(task_id).spec
        # Diversity needs more than 300 samples; synth-small's splits are smaller, so it is skipped.
        skipped = {m.name: f"needs more than 300 samples, got {result.n}" for m in spec.metrics_for()
                   if m.measure.startswith("diversity")}  # fmt: skip
        assert [m.name for m in result.metrics] == [m.name for m in spec.metrics_for() if m.name not in skipped]
        assert result.main.name == spec.main_metric and result.skipped == skipped
        assert len(result.samples) == result.n
    assert not gt_result.eligible and any("evaluator" in r for r in gt_result.ineligible_reasons)


@pytest.mark.parametrize("task_id", TEXT_TASKS)
def test_ground_truth_text_scores_the_evaluator_ceiling(task_id: str, gt_result: RunResult, synth_dataset: Any,
                                                        evaluators: dict[str, Any]) -> None:  # fmt: skip
    """R-precision of the first references equals a direct computation on evaluator embeddings."""
    task = get_task(task_id)
    items = task.items(synth_dataset)
    ev = evaluators[task.spec.evaluator_id]
    queries = ev.embed_texts([refs[0] for refs in items.references])
    keys = ev.embed_poses(items.key[0]) if len(items.key) == 1 else ev.embed_pairs(*items.key)
    expected = r_precision(queries, keys, ks=(1, 2, 3), protocol="blocks32", seed=0)
    result = gt_result.tasks[task_id]
    for k in (1, 2, 3):
        metric = result.metric(f"r_precision_top{k}")
        assert metric.value == pytest.approx(expected.values[k], abs=1e-9)
        assert metric.ci_low <= metric.value <= metric.ci_high
        assert metric.protocol["chance"] == CHANCE_LEVELS[k] and metric.protocol["seed"] == 0
    if task.spec.evaluator_id == "posetext-synth-v1":  # the tiny pose-text evaluator learnt something
        assert result.metric("r_precision_top3").ci_low > CHANCE_LEVELS[3]
    assert result.metric("bleu4").value == pytest.approx(100.0, abs=1e-3)  # the reference is among the references
    assert result.metric("bleu4").ci_low is None and "tok:ptb" in result.metric("meteor").protocol["signature"]


@pytest.mark.parametrize("task_id", ["text2pose", "spg"])
def test_ground_truth_poses_score_the_retrieval_ceiling(task_id: str, gt_result: RunResult, synth_dataset: Any,
                                                        evaluators: dict[str, Any]) -> None:  # fmt: skip
    items = get_task(task_id).items(synth_dataset)
    ev = evaluators["posetext-synth-v1"]
    expected = topk_recall(ev.embed_texts(list(items.retrieval_texts)), ev.embed_poses(items.targets), ks=(5, 10, 20))
    result = gt_result.tasks[task_id]
    for k in (5, 10, 20):
        assert result.metric(f"recall_t2p_top{k}").value == pytest.approx(expected[f"a2b_R@{k}"], abs=1e-9)
        assert result.metric(f"recall_p2t_top{k}").value == pytest.approx(expected[f"b2a_R@{k}"], abs=1e-9)
    assert result.metric("fid").value == pytest.approx(0.0, abs=1e-6) and result.metric("fid").ci_low is None


@pytest.mark.parametrize("task_id", ["text2pose", "spg", "poseedit", "image2pose", "rpe"])
def test_ground_truth_poses_have_zero_error(task_id: str, gt_result: RunResult) -> None:
    result = gt_result.tasks[task_id]
    for name in ("mpjpe_mm", "pa_mpjpe_mm"):
        metric = result.metric(name)
        assert metric.value == pytest.approx(0.0, abs=1e-3) and metric.unit == "mm"
        assert metric.protocol["body_model"] == "skeleton"
        assert all(s.metrics[name] == pytest.approx(0.0, abs=1e-3) for s in result.samples)


# ----- chance --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chance_result(score: Any, synth_dataset: Any) -> RunResult:
    """Random training captions (pose2text) and random training poses (text2pose), seeded, scored
    with the ``posescript`` R-precision variant as well."""
    predictions = {t: get_task(t).reference_predictions(synth_dataset, "chance", seed=0)
                   for t in ("pose2text", "text2pose")}  # fmt: skip
    return score(predictions, "chance", variants=("posescript",))


def test_random_training_captions_score_chance(chance_result: RunResult) -> None:
    task = chance_result.tasks["pose2text"]
    for k, level in CHANCE_LEVELS.items():
        metric = task.metric(f"r_precision_top{k}")
        assert metric.ci_low <= level <= metric.ci_high, (k, metric)
        assert metric.protocol["chance"] == level


def test_random_training_poses_score_far_below_the_ceiling(chance_result: RunResult, gt_result: RunResult) -> None:
    """Random poses retrieve clearly worse than the ground truth. (Their expected recall is k/N, but
    one draw's value is noisier than its bootstrap CI says: a few hub poses take the top ranks of
    every query, so queries are not independent; R-precision's blocks of 32 test chance exactly.)"""
    scored, ceiling = chance_result.tasks["text2pose"], gt_result.tasks["text2pose"]
    for k in (5, 10, 20):
        for direction in ("t2p", "p2t"):
            name = f"recall_{direction}_top{k}"
            assert scored.metric(name).ci_high < ceiling.metric(name).ci_low, name
            assert scored.metric(name).protocol["chance"] == pytest.approx(100.0 * k / scored.n)
    mpjpe = scored.metric("mpjpe_mm")
    assert mpjpe.value > 50.0 and mpjpe.ci_low < mpjpe.value < mpjpe.ci_high
    assert scored.metric("fid").value > ceiling.metric("fid").value + 1e-3


def test_posescript_variant_adds_metrics(chance_result: RunResult, gt_result: RunResult) -> None:
    task = chance_result.tasks["pose2text"]
    metric = task.metric("r_precision_posescript_top1")
    assert metric.protocol["protocol"] == "posescript" and metric.protocol["repetitions"] == 10
    assert CHANCE_LEVELS[1] < metric.protocol["chance"] < 3.5 and metric.n == task.n
    assert task.metric("r_precision_top1").protocol["protocol"] == "blocks32"
    assert "r_precision_posescript_top1" not in {m.name for m in gt_result.tasks["pose2text"].metrics}


# ----- determinism ---------------------------------------------------------------------------------


def test_batch_size_file_order_zip_and_npz_do_not_change_numbers(score: Any, gt_predictions: dict[str, Any],
                                                                 gt_result: RunResult, synth_dataset: Any,
                                                                 evaluators: dict[str, Any]) -> None:  # fmt: skip
    """Re-scoring the ground truth with another batch size, shuffled lines, poses as NPZ and the
    bundle zipped under a wrapping folder gives exactly the numbers of ``gt_result``."""
    subset = ("pose2text", "text2pose", "image2pose")
    shuffled = {t: dict(random.Random(5).sample(sorted(gt_predictions[t].items()), len(gt_predictions[t])))
                for t in subset}  # fmt: skip
    directory = write_bundle(score.root / "shuffled", shuffled, pose_format="npz")
    bundle = zip_bundle(directory, score.root / "shuffled.zip", prefix="my-model/")
    result = score_bundle(bundle, score.config, batch_size=7, open_data=lambda _: synth_dataset, evaluators=evaluators)
    assert values(result) == {key: v for key, v in values(gt_result).items() if key[0] in subset}
    assert result.settings["files"] == {"image2pose": "image2pose.npz", "pose2text": "pose2text.jsonl",
                                        "text2pose": "text2pose.npz"}  # fmt: skip
    assert result.settings["batch_size"] == 7 and gt_result.settings["batch_size"] == 64


# ----- limits, variants, sharing -------------------------------------------------------------------


def test_limit_scores_a_prefix_and_is_ineligible(score: Any, gt_predictions: dict[str, Any]) -> None:
    prefix = {t: dict(list(gt_predictions[t].items())[:10]) for t in ("pose2text", "text2pose")}
    result = score(prefix, "limited", limit=10, batch_size=3)
    assert result.tasks["text2pose"].n == 10 and any("--limit 10" in r for r in result.ineligible_reasons)
    assert "r_precision_top1" in result.tasks["pose2text"].skipped  # needs 32 samples
    assert "recall_t2p_top20" in result.tasks["text2pose"].skipped
    assert result.tasks["text2pose"].metric("recall_t2p_top5").n == 10


def test_ground_truth_embeddings_are_computed_once(gt_result: RunResult, counting: Any) -> None:
    """Each distinct text or pose set is embedded once per scoring call, shared across metrics and
    tasks: text2pose reuses pose2text's reference texts and poses, and predictions equal to the
    ground truth are not embedded again."""
    assert len(set(counting.calls)) == len(counting.calls)
    texts = sorted(n for kind, n, _ in counting.calls if kind == "texts")
    poses = sorted(n for kind, n, _ in counting.calls if kind == "poses")
    assert texts == [64, 128, 256] and poses == [64, 128, 256, 256]  # spg, image2text, pose2text (+ poseedit's B)


def test_per_sample_outputs_match_aggregates(gt_result: RunResult) -> None:
    result = gt_result.tasks["pose2text"]
    hits = [s.metrics["r_precision_top3"] for s in result.samples if "r_precision_top3" in s.metrics]
    top3 = result.metric("r_precision_top3")
    assert len(hits) == top3.n and np.mean(hits) == pytest.approx(top3.value)
    rouge = [s.metrics["rouge_l"] for s in result.samples]
    assert np.mean(rouge) == pytest.approx(result.metric("rouge_l").value)
    pose = gt_result.tasks["text2pose"].samples[0]
    assert np.asarray(pose.prediction).shape == (22, 3) and isinstance(result.samples[0].prediction, str)
    json.dumps(gt_result.to_dict(samples=True))  # JSON-ready


def test_chance_texts_are_training_references(synth_dataset: Any) -> None:
    pool = {t for texts in synth_dataset.captions("train").values() for t in reference_texts(texts)}
    chance = get_task("pose2text").reference_predictions(synth_dataset, "chance", seed=0, limit=20)
    assert set(chance.values()) <= pool


def test_score_cli_stores_the_run(gt_predictions: dict[str, Any], synth_small: Path, bench_home: Path,
                                  tiny_posetext_checkpoint: Path, tmp_path: Path) -> None:  # fmt: skip
    from tests.cli_helpers import run_bench

    bundle = write_bundle(tmp_path / "b", {"image2pose": gt_predictions["image2pose"], "spg": gt_predictions["spg"]},
                          meta=meta_for(["image2pose", "spg"]))  # fmt: skip
    override = f"posetext-synth-v1={tiny_posetext_checkpoint}"
    result = run_bench("-q", "score", str(bundle), "--data", str(synth_small), "--evaluator", override)
    assert result.exit_code == 0, result.stderr
    assert "pa_mpjpe_mm *" in result.stdout and "recall_t2p_top5 *" in result.stdout
    assert "stored as run 1" in result.stdout and "eligible: no" in result.stdout
    stored = json.loads(run_bench("results", "show", "1", "--json").stdout)
    assert {s["task"] for s in stored["scores"]} == {"image2pose", "spg"} and stored["status"] == "verified"
    spg = next(s for s in stored["scores"] if s["metric"] == "recall_t2p_top5")
    assert spg["evaluator_id"] == "tiny-posetext" and spg["protocol"]["evaluator_sha256"] == spg["evaluator_sha256"]
    valid = run_bench("-q", "validate", str(bundle), "--data", str(synth_small))
    assert valid.exit_code == 0 and valid.stdout.startswith("ok: ")


def test_score_cli_json_without_store(gt_predictions: dict[str, Any], synth_small: Path, bench_home: Path,
                                      tmp_path: Path) -> None:  # fmt: skip
    from tests.cli_helpers import run_bench

    bundle = write_bundle(tmp_path / "b", {"rpe": gt_predictions["rpe"]})
    result = run_bench("-q", "score", str(bundle), "--data", str(synth_small), "--json", "--no-store")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["run_id"] is None and data["tasks"]["rpe"]["metrics"][0]["name"] == "mpjpe_mm"
    assert data["data_name"] == "synth-small" and not (bench_home / "results.sqlite").exists()


def test_failed_scoring_writes_nothing(gt_predictions: dict[str, Any], synth_small: Path, bench_home: Path,
                                       tmp_path: Path) -> None:  # fmt: skip
    """A valid bundle whose scoring fails (here: a missing evaluator checkpoint) leaves the store as it was."""
    from tests.cli_helpers import run_bench
    from tests.submissions.test_malformed import store_checksum

    with ResultsStore(bench_home / "results.sqlite") as store:
        store.add_run(make_run("already-there"))
    before = store_checksum(bench_home)
    bundle = write_bundle(tmp_path / "b", {"spg": gt_predictions["spg"]})
    result = run_bench("-q", "score", str(bundle), "--data", str(synth_small), "--evaluator",
                       f"posetext-synth-v1={tmp_path / 'missing.safetensors'}")  # fmt: skip
    assert result.exit_code == 2 and "missing" in result.stderr
    assert store_checksum(bench_home) == before
