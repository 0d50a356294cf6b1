"""Training on a tiny dataset: it learns, writes a complete card, resumes exactly, and is seeded."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.data import load_dataset
from bench.errors import CheckpointError, ConfigError, DataError
from bench.hashing import sha256_file
from retrieval_models import load_evaluator, train_evaluator
from retrieval_models.quick import tiny_config
from retrieval_models.trainer import TrainConfig, plan_phases
from retrieval_models.training_data import load_retrieval_set

EPOCHS = 5


def chance_mrecall(n: int) -> float:
    """Expected mRecall (ks 1, 5, 10, both ways) of uninformative embeddings over a gallery of n."""
    return 100.0 * (1 + 5 + 10) / (3 * n)


@pytest.fixture(scope="module")
def dataset(tiny_dataset_dir: Path):
    return load_dataset(tiny_dataset_dir, tiny_dataset_dir.parent)


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory: pytest.TempPathFactory):
    """One uninterrupted pose-text run, shared by several tests."""
    out = tmp_path_factory.mktemp("uninterrupted")
    return train_evaluator(dataset, tiny_config("pose-text", seed=0, epochs=EPOCHS), out, "pt")


def test_phases_follow_the_available_texts(dataset) -> None:
    phases = plan_phases(dataset, tiny_config("pose-text"))
    assert [(p.name, p.source, p.val_source) for p in phases] == [("pretrain", "auto", "auto"), ("finetune", "human", "human")]
    no_finetune = plan_phases(dataset, replace(tiny_config("pair-text"), finetune_epochs=0))
    assert [p.name for p in no_finetune] == ["pretrain"]


def test_pose_text_learns_and_writes_a_complete_card(trained, dataset) -> None:
    assert trained.completed and trained.epochs_run == EPOCHS + 1
    card = json.loads(trained.path.with_suffix(".json").read_text())
    assert card["sha256"] == trained.sha256 == sha256_file(trained.path)
    assert card["seed"] == 0 and card["training"]["config"]["lr"] == 2e-3
    assert card["data"]["name"] == "tiny-retrieval" and card["data"]["version"] == "1.0"
    assert card["data"]["split_hashes"] == {s: dataset.split_hash(s) for s in ("train", "val", "test")}
    assert card["training_time_s"] > 0 and len(card["training"]["history"]) == EPOCHS + 1
    assert [p["name"] for p in card["training"]["phases"]] == ["pretrain", "finetune"]
    val, test = card["metrics"]["val"], card["metrics"]["test"]
    assert val["source"] == "human" and val["n"] == len(load_retrieval_set(dataset, "pose-text", "val", "human"))
    for metrics in (val, test):
        assert metrics["mRecall"] > 2 * chance_mrecall(metrics["n"]), metrics
        assert metrics["rprec_blocks32_top3"] > 2 * 100 * 3 / 32, metrics
        assert {"t2p_R@1", "p2t_R@10", "rprec_posescript_top1", "rprec_blocks32_top2"} <= set(metrics)
    pretrain = [h["val_mRecall"] for h in card["training"]["history"] if h["phase"] == "pretrain"]
    assert max(pretrain) > 2 * chance_mrecall(len(load_retrieval_set(dataset, "pose-text", "val", "auto")))
    assert not trained.path.with_name("pt.train").exists()  # the resumable state is cleaned up


def test_resumed_run_matches_the_uninterrupted_one(trained, dataset, tmp_path: Path) -> None:
    config = tiny_config("pose-text", seed=0, epochs=EPOCHS)
    first = train_evaluator(dataset, config, tmp_path, "pt", stop_after_epochs=2)
    assert not first.completed and first.epochs_run == 2 and first.path is None
    assert (tmp_path / "pt.train" / "state.json").is_file() and not (tmp_path / "pt.safetensors").exists()
    with pytest.raises(CheckpointError, match="different config"):
        train_evaluator(dataset, replace(config, lr=1e-3), tmp_path, "pt")
    second = train_evaluator(dataset, config, tmp_path, "pt", stop_after_epochs=EPOCHS - 2)  # ends at the phase boundary
    assert not second.completed
    last = train_evaluator(dataset, config, tmp_path, "pt")
    assert last.completed and last.epochs_run == 1
    assert last.sha256 == trained.sha256  # bitwise the same weights
    strip = lambda card: [{k: v for k, v in h.items() if k != "seconds"} for h in card["training"]["history"]]  # noqa: E731
    assert strip(last.card) == strip(trained.card)
    assert last.card["metrics"] == trained.card["metrics"]


def test_seed_decides_the_result(dataset, tmp_path: Path) -> None:
    # (same seed, same result: the resumed run above reproduces a separate run bitwise)
    config = replace(tiny_config("pose-text", seed=0, epochs=1), finetune_epochs=0)
    first = train_evaluator(dataset, config, tmp_path, "a")
    assert train_evaluator(dataset, config, tmp_path, "b").sha256 == first.sha256
    assert train_evaluator(dataset, replace(config, seed=1), tmp_path, "c").sha256 != first.sha256


def test_restart_discards_an_interrupted_run(dataset, tmp_path: Path) -> None:
    config = replace(tiny_config("pose-text", epochs=2), finetune_epochs=0)
    train_evaluator(dataset, config, tmp_path, "r", stop_after_epochs=1)
    result = train_evaluator(dataset, replace(config, seed=3), tmp_path, "r", restart=True)
    assert result.completed and result.epochs_run == 2 and result.card["seed"] == 3


def test_pair_text_learns(dataset, tmp_path: Path) -> None:
    result = train_evaluator(dataset, tiny_config("pair-text", seed=0, epochs=8), tmp_path, "pairs")
    for split in ("val", "test"):
        metrics = result.card["metrics"][split]
        assert metrics["mRecall"] > 1.5 * chance_mrecall(metrics["n"]), metrics
    ev = load_evaluator("pairs", [tmp_path], expected_sha256=result.sha256)
    assert ev.kind == "pair-text"


def test_config_validation() -> None:
    for bad in ({"kind": "image-text"}, {"kind": "pose-text", "batch_size": 1}, {"kind": "pose-text", "lr": 0.0},
                {"kind": "pose-text", "flip_prob": 1.5}, {"kind": "pose-text", "pretrain_epochs": 0, "finetune_epochs": 0}):  # fmt: skip
        with pytest.raises(ConfigError):
            TrainConfig(**bad)
    config = tiny_config("pair-text", seed=4)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_missing_texts_are_reported(dataset) -> None:
    with pytest.raises(DataError, match="no pose-text item of split 'val'"):
        load_retrieval_set(type("NoText", (), {"name": "x", "has": lambda s, c, sp: True,
                                                "captions": lambda s, sp: {},
                                                "poses": lambda s, sp: dataset.poses("val")})(), "pose-text", "val", "auto")  # fmt: skip
    assert np.isfinite(dataset.poses("val").poses).all()
