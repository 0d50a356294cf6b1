"""The ``unipose`` and ``unipose-causal`` adapters answer PoseBench requests of every task they support."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.config import load_config
from bench.data import load_dataset
from bench.errors import NotFoundError
from bench.models import ModelContext, SampleFailure, get_model
from bench.models.unipose.adapter import POSE_TASKS, SUPPORTED_TASKS, UniPose
from bench.models.unipose.decoding import Generation
from bench.prediction_cache import PredictionCache
from bench.runner import generate
from tasks import get_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _load(name: str, unipose_tiny: Path, synth_small: Path, **options: object) -> UniPose:
    dataset = load_dataset(synth_small, synth_small.parent)
    ctx = ModelContext(load_config(env={}), dataset, model_dirs=(unipose_tiny,), options=options)
    return get_model(name).load(ctx)


def test_answers_every_supported_task(unipose_tiny: Path, synth_small: Path) -> None:
    adapter = _load("unipose", unipose_tiny, synth_small, checkpoint="unipose-tiny-llm.safetensors", force_pose=True,
                    batch_size=2)  # fmt: skip
    dataset = load_dataset(synth_small, synth_small.parent)
    assert set(adapter.tasks) == set(SUPPORTED_TASKS) and all(adapter.supports(t) for t in SUPPORTED_TASKS)
    assert adapter.info.training_data == ("synth-small/train",) and adapter.info.parameter_count > 0
    for task in SUPPORTED_TASKS:
        requests = get_task(task).build_requests(dataset, limit=3)
        answers = adapter.predict(requests, [0] * len(requests))
        assert len(answers) == 3, task
        for answer in answers:
            if task in POSE_TASKS:  # <p> forced: the single decoding step always yields a pose
                assert isinstance(answer, np.ndarray) and answer.shape == (22, 3) and answer.dtype == np.float32, task
                assert np.isfinite(answer).all()
            else:
                assert (isinstance(answer, str) and answer.strip()) or answer == SampleFailure("no text emitted"), task


def test_causal_variant_through_the_runner(unipose_tiny: Path, synth_small: Path, tmp_path: Path) -> None:
    adapter = _load("unipose-causal", unipose_tiny, synth_small, checkpoint="unipose-tiny-causal-llm.safetensors",
                    force_pose=True)  # fmt: skip
    assert not adapter.bundle.model.mixed and adapter.info.name == "unipose-causal"
    dataset = load_dataset(synth_small, synth_small.parent)
    with PredictionCache(tmp_path) as cache:
        run = generate(adapter, "unipose-causal", dataset, ["text2pose", "poseedit"], cache, limit=4)
    for task in ("text2pose", "poseedit"):
        predictions = run.tasks[task].predictions
        assert len(predictions) == 4 and not run.tasks[task].failures
        assert all(p.shape == (22, 3) for p in predictions.values())


def test_unreadable_generations_become_sample_failures() -> None:
    class Tokenizer:
        def decode(self, codes):  # noqa: ANN001, ANN201  (stand-in pose tokenizer)
            import torch

            return torch.zeros(len(codes), 22, 3)

    adapter = UniPose.__new__(UniPose)
    adapter.bundle = type("B", (), {"pose_tokenizer": Tokenizer()})()
    out = adapter._poses([Generation(codes=[1, 2]), Generation(error="no pose emitted"),
                          Generation(error="malformed span: 3 tokens, expected 4")])  # fmt: skip
    assert isinstance(out[0], np.ndarray)
    assert out[1:] == [SampleFailure("no pose emitted"), SampleFailure("malformed span: 3 tokens, expected 4")]
    assert UniPose._texts([Generation(text="  "), Generation(text="Bend the knees.")]) == [
        SampleFailure("no text emitted"), "Bend the knees."]


def test_missing_checkpoint_is_a_clear_error(unipose_tiny: Path, synth_small: Path) -> None:
    with pytest.raises(NotFoundError, match="unipose-nope.safetensors"):
        _load("unipose", unipose_tiny, synth_small, checkpoint="unipose-nope.safetensors")


def test_shipped_small_model_answers_text2pose_and_pose2text(synth_small: Path) -> None:
    """The shipped checkpoint loads from the default folders (hashes checked) and answers without forcing."""
    dataset = load_dataset(synth_small, synth_small.parent)
    adapter = get_model("unipose").load(ModelContext(load_config(env={"BENCH_HOME": "/nonexistent"}), dataset))
    assert adapter.bundle.card["config"]["name"] == "small" and len(adapter.weights_sha256()) == 4
    poses = adapter.predict(get_task("text2pose").build_requests(dataset, limit=4), [0] * 4)
    assert all(np.asarray(p).shape == (22, 3) and np.isfinite(p).all() for p in poses)
    texts = adapter.predict(get_task("pose2text").build_requests(dataset, limit=2), [0] * 2)
    assert all(isinstance(t, str) and t.strip() for t in texts)
