"""UniPose training: configs, training samples, stage freezing, the schedule, checkpoints and resuming.

The ``unipose_tiny`` session fixture (tests/conftest.py) has trained the ``tiny`` and ``tiny-causal``
presets end to end (three stages) on synth-small; these tests read its outputs, and re-run the
``--quick`` CLI with interruptions to check that resuming reproduces the same weights.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import bench.models.unipose.training as training
from bench.data import load_dataset
from bench.hashing import sha256_file
from bench.errors import CheckpointError, ConfigError, DataError
from bench.models.unipose.llm import IGNORE, SPAN
from bench.models.unipose.lora import LoraConfig
from bench.models.unipose.model_io import load_pose_tokenizer, load_unipose
from bench.models.unipose.serialization import Slots, pad_batch
from bench.models.unipose.templates import ANSWERS, PRETRAIN
from bench.models.unipose.train_config import TRAINED_TASKS, StageConfig, UniPoseTrainConfig, preset
from bench.models.unipose.train_data import build_training_data
from bench.models.unipose.training import stage_parameters, warmup_cosine
from tests.cli_helpers import run_bench

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_presets_and_config_round_trip() -> None:
    small = preset("small")
    assert [s.name for s in small.stages] == ["align", "visual", "instruct"]
    assert small.stages[1].trainable == ("projector",) and set(small.stages[2].tasks) == set(TRAINED_TASKS)
    assert (small.backbone.hidden_size, small.backbone.num_layers, small.backbone.num_heads) == (256, 4, 4)
    causal = preset("small-causal")
    assert not causal.mixed and causal.checkpoint_name == "unipose-small-causal-llm"
    for config in (small, preset("tiny"), causal):
        assert UniPoseTrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert small.code_slots and causal.code_slots
    old_card = {k: v for k, v in small.to_dict().items() if k != "code_slots"}
    assert not UniPoseTrainConfig.from_dict(old_card).code_slots  # cards written before the field: no slot table
    with pytest.raises(ConfigError, match="unknown"):
        preset("huge")
    with pytest.raises(ConfigError, match="tasks"):
        StageConfig("x", ("rpe",), ("llm",), "pretrain", 1, 1, 1e-3)
    with pytest.raises(ConfigError, match="LoRA"):
        small.with_changes(lora=LoraConfig())


def test_task_weights_scale_the_sampling_shares() -> None:
    items = {"pose2text": 300, "posediff": 100}
    plain = StageConfig("x", ("pose2text", "posediff"), ("llm",), "pretrain", 1, 1, 1e-3)
    assert plain.sampling_probabilities(items) == [0.75, 0.25]  # ∝ items
    weighted = StageConfig("x", ("pose2text", "posediff"), ("llm",), "pretrain", 1, 1, 1e-3, {"posediff": 3.0})
    assert weighted.sampling_probabilities(items) == [0.5, 0.5]
    assert set(preset("small").stages[2].task_weights) == {"posediff", "imagediff"}
    old_card = {k: v for k, v in preset("small").to_dict()["stages"][0].items() if k != "task_weights"}
    assert StageConfig(**old_card).task_weights == {}  # cards written before the field load unweighted
    for bad in ({"text2pose": 2.0}, {"posediff": 0.0}):
        with pytest.raises(ConfigError, match="task_weights"):
            StageConfig("x", ("pose2text", "posediff"), ("llm",), "pretrain", 1, 1, 1e-3, bad)


def test_warmup_then_cosine() -> None:
    factor = warmup_cosine(100, 0.03)  # 3 warm-up steps
    assert [round(factor(s), 4) for s in range(4)] == [0.3333, 0.6667, 1.0, 1.0]
    assert math.isclose(factor(3 + 97 // 2), 0.5, abs_tol=0.02) and factor(99) < 1e-3


def test_training_samples(unipose_tiny: Path, synth_small: Path) -> None:
    dataset = load_dataset(synth_small, synth_small.parent)
    tokenizer = load_pose_tokenizer(unipose_tiny / "unipose" / "tokenizer-tiny.safetensors")
    data = build_training_data(dataset, "train", tokenizer, TRAINED_TASKS)
    bundle = load_unipose(unipose_tiny / "unipose" / "unipose-tiny-llm.safetensors", [unipose_tiny])
    codec, layout, T = bundle.codec(), bundle.model.layout, tokenizer.tokens_per_pose
    assert len(data.items["pose2text"]) == len(dataset.poses("train")) and data.pose_codes.shape[1] == T
    assert len(data.items["image2pose"]) == len(dataset.renders("train")) and len(data.items["imagediff"]) > 0
    rng = np.random.default_rng(0)
    for task in TRAINED_TASKS:
        encoded, images = data.sample(task, int(data.items[task][0]), "instruct", rng, codec)
        assert len(images) == {"image2text": 1, "image2pose": 1, "imagediff": 2}.get(task, 0)
        assert sum(encoded.image_slots) == len(images) * bundle.image_tokens
        spans = encoded.mask.count(SPAN)
        assert spans == (T if task in ("text2pose", "image2pose", "poseedit") else 0), task
        assert encoded.labels[-1] == layout.eos_id and encoded.labels[0] == IGNORE
    first = data.sample("image2pose", 3, "pretrain", rng, codec)[0]
    span = [i for i, m in enumerate(first.mask) if m == SPAN]
    assert [first.ids[i] - layout.code_offset for i in span] == data.render_codes[3].tolist()  # camera-frame target
    with pytest.raises(DataError, match="no training items"):
        build_training_data(dataset, "test", tokenizer, ("rpe",))


def test_stages_unfreeze_only_their_parts(unipose_tiny: Path) -> None:
    bundle = load_unipose(unipose_tiny / "unipose" / "unipose-tiny-llm.safetensors", [unipose_tiny])
    model = bundle.model
    projector = {id(p) for p in model.visual.projector.parameters()}
    llm = {id(p) for p in model.lm.parameters()} | {id(model.code_slots.weight)}
    for trainable, expected in ((("projector",), projector), (("llm",), llm), (("llm", "projector"), llm | projector)):
        chosen = stage_parameters(bundle, StageConfig("s", ("text2pose",), trainable, "pretrain", 1, 1, 1e-3))
        assert {id(p) for p in chosen} == expected
        assert {id(p) for p in model.parameters() if p.requires_grad} == expected  # encoders stay frozen


def test_tiny_run_wrote_stage_checkpoints_and_a_card(unipose_tiny: Path, synth_small: Path) -> None:
    folder = unipose_tiny / "unipose"
    for k, stage in enumerate(("align", "visual", "instruct"), start=1):
        assert (folder / "work-tiny" / f"stage{k}-{stage}.safetensors").is_file()
    card = json.loads((folder / "unipose-tiny-llm.json").read_text())
    assert card["format"] == "posebench-unipose-llm/1" and card["sha256"] == sha256_file(folder / "unipose-tiny-llm.safetensors")
    dataset = load_dataset(synth_small, synth_small.parent)
    assert card["data"]["split_hash"] == dataset.split_hash("train") and card["stages_done"] == 3
    assert set(card["losses"]) == {"align", "visual", "instruct"}
    assert all(math.isfinite(v) for stage in card["losses"].values() for v in stage.values())
    assert card["pose_tokenizer"]["sha256"] == sha256_file(folder / "tokenizer-tiny.safetensors")
    assert card["text_vocab"][:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    bundle = load_unipose(folder / "unipose-tiny-llm.safetensors", [unipose_tiny])
    assert bundle.model.mixed and bundle.config == preset("tiny")


def test_damaged_checkpoints_are_refused(unipose_tiny: Path, tmp_path: Path) -> None:
    source = unipose_tiny / "unipose" / "unipose-tiny-llm"
    for suffix in (".safetensors", ".json"):
        (tmp_path / f"copy{suffix}").write_bytes(source.with_suffix(suffix).read_bytes())
    weights = tmp_path / "copy.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_unipose(weights, [unipose_tiny])


def _interrupting(after_serials: set[int]):
    """A save_snapshot that stops the run (like a kill) right after writing the given snapshots."""
    real = training.save_snapshot

    def save(folder: Path, **kwargs: object) -> None:
        real(folder, **kwargs)
        if kwargs["progress"]["serial"] in after_serials:
            raise KeyboardInterrupt

    return save


def test_cli_resumes_an_interrupted_run_to_identical_weights(unipose_tiny: Path, synth_small: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, bench_home: Path) -> None:
    out = tmp_path / "models"
    (out / "unipose").mkdir(parents=True)
    for name in ("tokenizer-tiny", "generic-encoder-small", "regressor"):
        for suffix in (".safetensors", ".json"):
            (out / "unipose" / f"{name}{suffix}").write_bytes((unipose_tiny / "unipose" / f"{name}{suffix}").read_bytes())
    args = ("models", "train", "unipose-causal", "--quick", "--data", str(synth_small), "--out", str(out))
    monkeypatch.setattr(training, "save_snapshot", _interrupting({1, 5}))  # mid align, then mid instruct
    for _ in range(2):
        stopped = run_bench(*args)
        assert stopped.exit_code != 0 and ("interrupted" in stopped.stderr or "aborted" in stopped.stderr)
    state = json.loads((out / "unipose" / "work-tiny-causal" / "state" / "state.json").read_text())
    assert state["progress"]["stage"] == 2 and state["progress"]["step"] > 0
    monkeypatch.setattr(training, "save_snapshot", _interrupting(set()))
    result = run_bench(*args)
    assert result.exit_code == 0, result.stderr
    resumed = out / "unipose" / "unipose-tiny-causal-llm.safetensors"
    assert sha256_file(resumed) == sha256_file(unipose_tiny / "unipose" / "unipose-tiny-causal-llm.safetensors")
    bad = run_bench("models", "train", "regressor", "--config", "small", "--data", str(synth_small))
    assert bad.exit_code == 2 and "no named training configurations" in bad.stderr


def test_a_snapshot_of_another_config_is_refused(unipose_tiny: Path, synth_small: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "state").mkdir(parents=True)
    source = unipose_tiny / "unipose" / "work-tiny" / "state"
    for path in source.iterdir():
        (work / "state" / path.name).write_bytes(path.read_bytes())
    dataset = load_dataset(synth_small, synth_small.parent)
    with pytest.raises(CheckpointError, match="another configuration"):
        training.train_unipose(preset("tiny").with_changes(seed=1), dataset, work, tmp_path / "x.safetensors", [unipose_tiny])


def test_loss_decreases_on_a_fixed_batch(unipose_tiny: Path) -> None:
    bundle = load_unipose(unipose_tiny / "unipose" / "unipose-tiny-llm.safetensors", [unipose_tiny])
    model, layout = bundle.model, bundle.model.layout
    codec = bundle.codec()
    sequences = [codec.encode(PRETRAIN["text2pose"], ANSWERS["text2pose"], Slots(caption="The arms are up.", pose_a=[1, 2, 3, 0]))]
    batch = pad_batch(sequences, layout.pad_id, left=False)
    params = stage_parameters(bundle, StageConfig("s", ("text2pose",), ("llm",), "pretrain", 1, 1, 1e-2))
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    model.train()
    losses = []
    for _ in range(15):
        loss = model.loss(batch.ids, batch.mask.long(), batch.labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
