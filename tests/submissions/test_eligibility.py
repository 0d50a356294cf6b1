"""Leaderboard eligibility (``submissions.score_bundle``): a complete run on the pinned data with the
pinned evaluators and the built-in body model is eligible; each way of leaving the protocol gives
exactly its own reason: ``--limit``, another body model, a dataset no task version pins, a
dataset whose test split differs from the pinned hash, an evaluator other than the pinned one
(another id, or the pinned id with other weights)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.config import load_config
from submissions import RunResult, score_bundle
from tasks import get_task
from tasks.pins import POSETEXT_EVALUATOR
from tests.submissions.bundles import write_bundle

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TASKS = ("text2pose", "image2pose")
"""One task with an evaluator (the pose-text one) and one scored on joints only; no METEOR needed.
Cases whose reason has nothing to do with evaluators score ``image2pose`` alone (no embeddings, no FID)."""


def _ground_truth(dataset: Any, tasks: tuple[str, ...] = TASKS) -> dict[str, dict[str, Any]]:
    return {t: get_task(t).reference_predictions(dataset, "ceiling") for t in tasks}


def _score(dataset: Any, folder: Path, *, env: dict[str, str] | None = None, tasks: tuple[str, ...] = TASKS,
           limit: int | None = None, evaluators: Any = None) -> RunResult:  # fmt: skip
    """Score the ground truth of ``tasks`` on ``dataset`` with ``score_bundle`` (library API);
    ``evaluators``: substitutes for pinned ids (None: the pinned checkpoints, loaded by score_bundle)."""
    predictions = _ground_truth(dataset, tasks)
    if limit is not None:
        predictions = {t: dict(list(p.items())[:limit]) for t, p in predictions.items()}
    bundle = write_bundle(folder / "bundle", predictions)
    config = load_config(env={"BENCH_HOME": str(folder / "home"), **(env or {})})
    return score_bundle(bundle, config, open_data=lambda _: dataset, limit=limit, evaluators=evaluators)


def _only_reason(result: RunResult, pattern: str) -> str:
    assert not result.eligible, result.ineligible_reasons
    assert len(result.ineligible_reasons) == 1, result.ineligible_reasons
    reason = result.ineligible_reasons[0]
    assert re.search(pattern, reason), reason
    return reason


def _copy_dataset(synth_small: Path, target: Path) -> Path:
    """A writable copy of synth-small (the session copy is read-only)."""
    shutil.copytree(synth_small, target)
    for path in target.rglob("*"):
        if path.is_file():
            path.chmod(0o644)
    return target


def test_complete_pinned_run_is_eligible(synth_dataset: Any, tmp_path: Path) -> None:
    """No evaluator substitutes: ``score_bundle`` loads the pinned checkpoints itself."""
    result = _score(synth_dataset, tmp_path)
    assert result.eligible and result.ineligible_reasons == ()
    assert result.data_name == "synth-small" and result.settings["body_model"]["name"] == "skeleton"
    text2pose = result.tasks["text2pose"]
    assert text2pose.evaluator_id == POSETEXT_EVALUATOR
    assert text2pose.evaluator_sha256 == get_task("text2pose").spec.evaluator_sha256
    assert result.to_dict()["eligible"] is True


def test_limit_is_a_reason(synth_dataset: Any, tmp_path: Path) -> None:
    result = _score(synth_dataset, tmp_path, limit=40, tasks=("image2pose",))
    _only_reason(result, r"--limit 40")
    assert result.tasks["image2pose"].n == 40


def test_body_model_is_a_reason(synth_dataset: Any, tmp_path: Path, tiny_smpl_dir: Path) -> None:
    result = _score(synth_dataset, tmp_path, env={"BENCH_BODY_MODELS": str(tiny_smpl_dir)}, tasks=("image2pose",))
    _only_reason(result, r"body model 'smpl'.*'skeleton'")
    assert result.settings["body_model"]["name"] == "smpl"


def test_unpinned_dataset_is_a_reason(synth_small: Path, tmp_path: Path) -> None:
    """Same files, same split hashes, but a dataset key (``synth-custom``) no task version pins."""
    from bench.data import load_dataset

    copy = _copy_dataset(synth_small, tmp_path / "synth-custom")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["variant"] = "custom"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    dataset = load_dataset(copy, tmp_path)
    result = _score(dataset, tmp_path, tasks=("image2pose",))
    _only_reason(result, r"image2pose: dataset 'synth-custom' is not pinned")


def test_changed_test_split_is_a_reason(synth_small: Path, tmp_path: Path) -> None:
    """A consistent copy (manifest re-hashed, ``verify_dataset`` clean) whose test split has one
    changed SPG description: the split hash no longer equals the pinned one."""
    from bench.data import load_dataset, split_hash, verify_dataset
    from bench.hashing import sha256_file

    copy = _copy_dataset(synth_small, tmp_path / "synth-small")
    spg = copy / "spg" / "test.jsonl"
    rows = [json.loads(line) for line in spg.read_text(encoding="utf-8").splitlines()]
    rows[0]["description"] = "someone waiting for a bus"
    spg.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["spg/test.jsonl"] = sha256_file(spg)
    manifest["splits"]["test"]["hash"] = split_hash(manifest["files"], "test")
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert verify_dataset(copy) == []
    dataset = load_dataset(copy, tmp_path)
    result = _score(dataset, tmp_path, tasks=("image2pose",))
    _only_reason(result, r"image2pose: synth-small/test hash [0-9a-f]{12} differs from the pinned [0-9a-f]{12}")


def test_another_evaluator_is_a_reason(synth_dataset: Any, tmp_path: Path) -> None:
    """A different checkpoint in the pinned evaluator's place (the shipped nn-retrieval pose-text
    model, same architecture, other weights and name)."""
    config = load_config(env={"BENCH_HOME": str(tmp_path / "home")})
    other = config.shipped_models_dir / "nn-retrieval-posetext.safetensors"
    result = _score(synth_dataset, tmp_path, evaluators={POSETEXT_EVALUATOR: other})
    _only_reason(result, r"text2pose: evaluator nn-retrieval-posetext \([0-9a-f]{12}\) is not the pinned "
                 + re.escape(POSETEXT_EVALUATOR))


def test_pinned_id_with_other_weights_is_a_reason(synth_dataset: Any, tmp_path: Path) -> None:
    """A checkpoint named like the pinned one whose weights differ (one bias nudged): the id matches,
    the SHA-256 does not."""
    import torch

    from retrieval_models import EVALUATORS, load_evaluator, save_evaluator

    shipped = load_config(env={"BENCH_HOME": str(tmp_path / "home")}).shipped_evaluators_dir
    fake = load_evaluator(POSETEXT_EVALUATOR, [shipped])  # a private copy to modify
    with torch.no_grad():
        next(p for name, p in fake.model.named_parameters() if name.endswith("bias")).add_(1e-3)
    path = tmp_path / "copy" / f"{POSETEXT_EVALUATOR}.safetensors"
    sha = save_evaluator(fake.model, fake.words, path, dict(fake.card))
    assert sha != EVALUATORS.get(POSETEXT_EVALUATOR).sha256 and fake.sha256 == EVALUATORS.get(POSETEXT_EVALUATOR).sha256
    result = _score(synth_dataset, tmp_path, evaluators={POSETEXT_EVALUATOR: path})
    pinned_id = re.escape(POSETEXT_EVALUATOR)
    _only_reason(result, rf"text2pose: evaluator {pinned_id} \({sha[:12]}\) is not the pinned {pinned_id}")
