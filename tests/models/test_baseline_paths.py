"""The task paths of the trainable baselines that the sanity ordering in test_baselines.py does not
run: the regressor's ``rpe`` (oracle box), ``image2text`` and ``imagediff`` (captioner on its
estimates), and nn-retrieval's ``spg`` and ``poseedit`` (nearest training neighbour). Each runs
through the runner (``bench.runner.generate``, a few samples, shipped checkpoints) and every answer
is recomputed here from the dataset and the model's parts, so a wrong box, a swapped image pair, a
wrong input text, a wrong gallery or a lost edit fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bench.config import load_config
from bench.models import request_seed
from bench.prediction_cache import PredictionCache
from bench.runner import generate, load_adapter
from tasks import get_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LIMIT = 4


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """No user models: the shipped checkpoints (``BenchConfig.shipped_models_dir``) are found."""
    return load_config(env={"BENCH_HOME": str(tmp_path_factory.mktemp("paths_home"))})


def _run(name: str, tasks: list[str], dataset: Any, config: Any, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Answers by task and sample id of the first LIMIT samples, through ``generate``; none failed."""
    adapter, settings = load_adapter(name, config, dataset)
    with PredictionCache(tmp_path / "cache") as cache:
        run = generate(adapter, name, dataset, tasks, cache, limit=LIMIT, batch_size=32, options=settings)
    assert not run.not_supported and not run.skipped, run.summary()
    for task_id in tasks:
        result = run.tasks[task_id]
        assert not result.failures, (task_id, result.failures)
        assert sorted(result.predictions) == sorted(get_task(task_id).sample_ids(dataset, LIMIT))
        assert result.computed == LIMIT
    return {task_id: run.tasks[task_id].predictions for task_id in tasks}


def _first_reference(texts: Any) -> str:
    return texts.human[0] if texts.human else texts.auto[0]


# ----- regressor -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def regressor_answers(small_dataset: Any, config: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run("regressor", ["rpe", "image2text", "imagediff"], small_dataset, config,
                tmp_path_factory.mktemp("regressor_paths"))  # fmt: skip


@pytest.fixture(scope="module")
def regressor(config: Any) -> Any:
    from bench.models.regressor import load_regressor

    model, _ = load_regressor(config.shipped_models_dir / "regressor.safetensors")
    return model


def test_regressor_rpe_estimates_the_person_in_the_target_box(regressor_answers: dict[str, Any], small_dataset: Any,
                                                              regressor: Any) -> None:  # fmt: skip
    """The answer is the network on the crop around the referred person's box, not another person's."""
    from bench.models.regressor import crop_box

    answers = regressor_answers["rpe"]
    items = {item.id: item for item in small_dataset.rpe("test")}
    for sample_id, pose in answers.items():
        pose = np.asarray(pose)
        assert pose.shape == (22, 3) and pose.dtype == np.float32 and np.isfinite(pose).all()
        item = items[sample_id]
        scene = small_dataset.listed_image(item.image)
        crops = [crop_box(scene, box) for box in item.boxes]
        estimates = [regressor.predict_poses(crop[None])[0] for crop in crops]
        np.testing.assert_allclose(pose, estimates[item.target], atol=1e-4, err_msg=sample_id)
        for j, other in enumerate(estimates):
            if j != item.target:
                assert np.abs(other - pose).max() > 1e-2, (sample_id, j)
        # not the whole scene either
        assert np.abs(regressor.predict_poses(scene[None])[0] - pose).max() > 1e-2, sample_id


def test_regressor_image2text_captions_its_heading_normalised_estimate(
    regressor_answers: dict[str, Any], small_dataset: Any, regressor: Any
) -> None:
    from bench.body import normalize_heading
    from bench.models.captioner import describe_pose

    answers = regressor_answers["image2text"]
    requests = sorted(get_task("image2text").build_requests(small_dataset, LIMIT), key=lambda r: r.id)
    renders = small_dataset.renders("test")
    row = {str(i): k for k, i in enumerate(renders.ids.tolist())}
    images = np.stack([renders.image(row[r.id]) for r in requests])
    canonical = normalize_heading(torch.as_tensor(regressor.predict_poses(images))).numpy()
    for request, pose in zip(requests, canonical, strict=True):
        text = answers[request.id]
        assert isinstance(text, str) and text.strip()
        assert text == describe_pose(pose, request_seed(0, "image2text", request.id)), request.id


def test_regressor_imagediff_describes_a_to_b(regressor_answers: dict[str, Any], small_dataset: Any,
                                              regressor: Any) -> None:  # fmt: skip
    """The instruction turns image A's estimate into image B's (in A's heading frame); swapping the
    images gives other instructions."""
    from bench.models.captioner import describe_difference, heading_frame

    answers = regressor_answers["imagediff"]
    items = {item.id: item for item in small_dataset.render_pairs("test")}
    ids = sorted(answers)
    a = regressor.predict_poses(np.stack([small_dataset.listed_image(items[i].image_a) for i in ids]))
    b = regressor.predict_poses(np.stack([small_dataset.listed_image(items[i].image_b) for i in ids]))
    swapped = 0
    for sample_id, pose_a, pose_b in zip(ids, a, b, strict=True):
        seed = request_seed(0, "imagediff", sample_id)
        text = answers[sample_id]
        assert isinstance(text, str) and text.strip()
        assert text == describe_difference(*heading_frame(pose_a, pose_b), seed), sample_id
        swapped += text != describe_difference(*heading_frame(pose_b, pose_a), seed)
    assert swapped >= LIMIT // 2


# ----- nn-retrieval --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nn_answers(small_dataset: Any, config: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run("nn-retrieval", ["spg", "poseedit"], small_dataset, config, tmp_path_factory.mktemp("nn_paths"))


def _nn_model(config: Any, kind: str) -> Any:
    from retrieval_models import load_evaluator

    return load_evaluator(f"nn-retrieval-{kind}", [config.shipped_models_dir])


def test_nn_retrieval_spg_returns_the_training_pose_nearest_to_the_description(
    nn_answers: dict[str, Any], small_dataset: Any, config: Any
) -> None:
    answers = nn_answers["spg"]
    items = {item.id: item for item in small_dataset.spg("test")}
    train = small_dataset.poses("train").poses
    model = _nn_model(config, "posetext")
    ids = sorted(answers)
    scores = model.embed_texts([items[i].description for i in ids]) @ model.embed_poses(train).T
    for sample_id, best in zip(ids, np.argmax(scores, axis=1), strict=True):
        assert np.array_equal(np.asarray(answers[sample_id]), train[best]), sample_id


def test_nn_retrieval_poseedit_applies_the_nearest_training_edit_to_pose_a(
    nn_answers: dict[str, Any], small_dataset: Any, config: Any
) -> None:
    from bench.models.nn_retrieval import apply_edit

    answers = nn_answers["poseedit"]
    test_pairs, instructions = small_dataset.pairs("test"), small_dataset.instructions("test")
    row = {str(i): k for k, i in enumerate(test_pairs.ids.tolist())}
    train = small_dataset.pairs("train")
    model = _nn_model(config, "pairtext")
    ids = sorted(answers)
    queries = model.embed_texts([_first_reference(instructions[i]) for i in ids])
    best = np.argmax(queries @ model.embed_pairs(train.poses_a, train.poses_b).T, axis=1)
    for sample_id, k in zip(ids, best, strict=True):
        pose_a = test_pairs.poses_a[row[sample_id]]
        answer = np.asarray(answers[sample_id])
        assert answer.shape == (22, 3) and answer.dtype == np.float32
        np.testing.assert_allclose(answer, apply_edit(pose_a, train.poses_a[k], train.poses_b[k]), atol=1e-5,
                                   err_msg=sample_id)  # fmt: skip
        assert np.abs(answer - pose_a).max() > 1e-3, sample_id  # an edit was applied
