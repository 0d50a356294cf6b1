"""Evaluator files: save/load round trip, SHA-256 verification, missing and corrupt files, pinned ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.errors import CheckpointError
from bench.hashing import sha256_file
from retrieval_models import EVALUATORS, load_evaluator, save_evaluator
from retrieval_models.pinned import PinnedEvaluator
from tests.retrieval_models.conftest import tiny_evaluator

TEXTS = ["The left knee is bent.", "Both arms are raised above the head and the right leg is straight."]


@pytest.fixture
def saved(words, tmp_path: Path) -> tuple[Path, str, np.ndarray, np.ndarray]:
    ev = tiny_evaluator(words, "pose-text", seed=5)
    path = tmp_path / "ev.safetensors"
    sha = save_evaluator(ev.model, words, path, {"seed": 5, "metrics": {}})
    poses = np.random.default_rng(0).normal(0, 0.3, (3, 22, 3)).astype(np.float32)
    return path, sha, ev.embed_texts(TEXTS), ev.embed_poses(poses)


def test_round_trip_gives_identical_embeddings(saved) -> None:
    path, sha, texts, poses = saved
    assert sha == sha256_file(path)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == sha and card["kind"] == "pose-text" and card["seed"] == 5
    assert card["text_model"]["source"] == "all-MiniLM-L6-v2" and card["architecture"]["text_hidden"] == 32
    for name, dirs in (("ev", [path.parent]), (str(path), [])):
        ev = load_evaluator(name, dirs, expected_sha256=sha)
        assert (ev.id, ev.sha256, ev.kind) == ("ev", sha, "pose-text")
        assert ev.card["sha256"] == sha
        assert np.array_equal(ev.embed_texts(TEXTS), texts)
        pose_rows = np.random.default_rng(0).normal(0, 0.3, (3, 22, 3)).astype(np.float32)
        assert np.array_equal(ev.embed_poses(pose_rows), poses)


def test_saving_twice_gives_the_same_bytes(words, tmp_path: Path) -> None:
    ev = tiny_evaluator(words, "pair-text", seed=1)
    first = save_evaluator(ev.model, words, tmp_path / "a.safetensors", {})
    second = save_evaluator(ev.model, words, tmp_path / "b.safetensors", {})
    assert first == second


def test_search_order_and_missing(saved, tmp_path: Path) -> None:
    path, sha, *_ = saved
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_evaluator("ev", [empty, path.parent]).sha256 == sha
    with pytest.raises(CheckpointError, match=r"'nope' is missing: no nope\.safetensors in"):
        load_evaluator("nope", [empty, path.parent])


def test_sha_mismatch(saved) -> None:
    path, sha, *_ = saved
    wrong = ("0" if sha[0] != "0" else "1") + sha[1:]
    with pytest.raises(CheckpointError, match="SHA-256 mismatch") as info:
        load_evaluator("ev", [path.parent], expected_sha256=wrong)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="64 lower-case hex"):
        load_evaluator("ev", [path.parent], expected_sha256="abc")


def test_modified_weights_fail_the_card_hash(saved) -> None:
    path, *_ = saved
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # flip bits inside the last tensor
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="card records SHA-256"):
        load_evaluator("ev", [path.parent])


def test_corrupt_file(saved) -> None:
    path, *_ = saved
    path.write_bytes(b"\x00\x01 not a safetensors file")
    card = json.loads(path.with_suffix(".json").read_text())
    card["sha256"] = sha256_file(path)
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="corrupt safetensors"):
        load_evaluator("ev", [path.parent])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.pop("format"), "not a posebench-evaluator/1 card"),
        (lambda c: c.update(kind="image-text"), "unknown kind"),
        (lambda c: c["architecture"].update(text_hidden=48), "do not fit the card's architecture"),
        (lambda c: c["architecture"].update(colour="red"), "unknown architecture fields"),
        (lambda c: c["text_model"].update(table_sha256="f" * 64), "differ from the ones it was trained with"),
        (lambda c: c["text_model"].update(source="local:distilbert"), "configure it as text_model"),
        (lambda c: c.pop("text_model"), "bad text_model entry"),
        (lambda c: c.update(skeleton_rest_sha256="0" * 64), "skeleton's rest joints differ"),
    ],
)
def test_bad_cards(saved, edit, message: str) -> None:
    path, *_ = saved
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text())
    edit(card)
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match=message):
        load_evaluator("ev", [path.parent])


def test_missing_card(saved) -> None:
    path, *_ = saved
    path.with_suffix(".json").unlink()
    with pytest.raises(CheckpointError, match="missing evaluator card"):
        load_evaluator("ev", [path.parent])


def test_pinned_registry_entries() -> None:
    assert {"posetext-synth-v1", "pairtext-synth-v1"} <= set(EVALUATORS.names())
    assert EVALUATORS.get("posetext-synth-v1").kind == "pose-text"
    assert EVALUATORS.get("pairtext-synth-v1").filename == "pairtext-synth-v1.safetensors"
    with pytest.raises(Exception, match="did you mean 'posetext-synth-v1'"):
        EVALUATORS.get("posetext-synth-v2")


def test_pinned_id_reports_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="'posetext-synth-v1' is missing.*bench evaluators train pose-text"):
        load_evaluator("posetext-synth-v1", [tmp_path])


def test_pinned_id_without_pinned_hash(saved) -> None:
    path, sha, *_ = saved
    path.rename(path.parent / "posetext-synth-v1.safetensors")
    path.with_suffix(".json").rename(path.parent / "posetext-synth-v1.json")
    if EVALUATORS.get("posetext-synth-v1").sha256 is None:
        with pytest.raises(CheckpointError, match="no pinned SHA-256 yet"):
            load_evaluator("posetext-synth-v1", [path.parent])
    ev = load_evaluator("posetext-synth-v1", [path.parent], expected_sha256=sha)
    assert ev.id == "posetext-synth-v1"


def test_pinned_entry_validation() -> None:
    with pytest.raises(Exception, match="64 lower-case hex"):
        PinnedEvaluator("x", "pose-text", "x.safetensors", "ABC", "synth-full", "")
    with pytest.raises(Exception, match="unknown kind"):
        PinnedEvaluator("x", "image-text", "x.safetensors", None, "synth-full", "")
