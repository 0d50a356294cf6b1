"""``bench evaluators import posescript``: released PoseScript/PoseFix retrieval checkpoints (random
weights in the release layout, ``posescript_release.py``) become evaluators whose embeddings equal an
independent forward pass of the release network; the checkpoint is never fully unpickled."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.errors import CheckpointError
from bench.hashing import sha256_file
from retrieval_models import load_evaluator
from retrieval_models.posescript.release import import_release
from tests.cli_helpers import run_bench
from tests.retrieval_models.posescript_release import (
    distilbert_state,
    reference_pair_embedding,
    reference_pose_embedding,
    reference_text_embedding,
    release_state_dict,
    to_zup_padded,
    write_release_checkpoint,
)
from tests.retrieval_models.test_word_embeddings import _tiny_distilbert

LATENT = 32
TEXTS = ["The left knee is bent.", "Raise the right arm above the head, then lean the torso far to the left "
         "while keeping both legs straight and the feet together.", "Squat."]  # fmt: skip


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("text") / "distilbert-base-uncased"
    _tiny_distilbert(folder, seed=0)
    return folder


def _poses(seed: int, n: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.6, (n, 22, 3)).astype(np.float32)


def _release(tmp_path: Path, text_model: Path, kind: str, joints: int | None = 52) -> tuple[Path, dict]:
    state = release_state_dict(kind, distilbert_state(text_model), LATENT, joints or 52, seed=1)
    path = tmp_path / f"{kind}-checkpoint_best.pth"
    write_release_checkpoint(path, state, LATENT, joints)
    return path, state


@pytest.mark.parametrize(("kind", "joints"), [("pose-text", 52), ("pair-text", 52), ("pose-text", None),
                                              ("pose-text", 22)])  # fmt: skip
def test_embeddings_equal_the_release_network(tmp_path: Path, text_model: Path, kind: str, joints: int | None) -> None:
    checkpoint, state = _release(tmp_path, text_model, kind, joints)
    imported = import_release(checkpoint, text_model, tmp_path / "evaluators", "released")
    evaluator = load_evaluator("released", [tmp_path / "evaluators"], text_model=text_model)
    assert evaluator.sha256 == imported.sha256 == sha256_file(checkpoint)  # the release file's hash
    assert evaluator.kind == kind and evaluator.dim == LATENT

    width = joints or 52  # a checkpoint without num_body_joints is the peer's default, 52
    a, b = _poses(0), _poses(1)
    if kind == "pose-text":
        got = evaluator.embed_poses(a)
        want = reference_pose_embedding(state, to_zup_padded(a.astype(np.float64), width))
    else:
        got = evaluator.embed_pairs(a, b)
        want = reference_pair_embedding(state, to_zup_padded(a.astype(np.float64), width),
                                        to_zup_padded(b.astype(np.float64), width))  # fmt: skip
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5, rtol=0)

    texts = evaluator.embed_texts(TEXTS)  # different lengths padded together in one chunk
    for text, row in zip(TEXTS, texts, strict=True):
        ids = evaluator.words.encode([text], 512)[0]
        np.testing.assert_allclose(row, reference_text_embedding(state, text_model, ids).numpy(), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(evaluator.embed_texts(TEXTS[1:2]), texts[1:2])  # alone = in company


def test_card_records_the_release(tmp_path: Path, text_model: Path) -> None:
    checkpoint, _ = _release(tmp_path, text_model, "pair-text")
    import_release(checkpoint, text_model, tmp_path, "posefix-ret")
    card = json.loads((tmp_path / "posefix-ret.json").read_text())
    assert card["network"] == "posescript" and card["kind"] == "pair-text"
    assert card["release"] == {"file": checkpoint.name, "sha256": sha256_file(checkpoint), "epoch": 199,
                               "args": {"text_encoder_name": "distilbertUncased", "transformer_topping": "avgp",
                                        "latentD": LATENT, "model": "PoseText", "lr": 2e-4, "epochs": 200,
                                        "seed": 1, "num_body_joints": 52}}  # fmt: skip
    assert card["architecture"]["num_body_joints"] == 52 and card["sha256"] == sha256_file(tmp_path / "posefix-ret.safetensors")
    assert card["pose_input"]["hands"] == "zeros (PoseScript data.py::T_POSE)"


@pytest.mark.parametrize("suffix", [".pt", ".npy"])
def test_a_hand_pose_fills_the_hand_joints(tmp_path: Path, text_model: Path, suffix: str) -> None:
    checkpoint, state = _release(tmp_path, text_model, "pose-text")
    hands = np.random.default_rng(5).normal(0.0, 0.3, (1, 90)).astype(np.float32)  # UniPose's file: one row of 90
    hand_file = tmp_path / f"default_hand_pose{suffix}"
    torch.save(torch.from_numpy(hands), hand_file) if suffix == ".pt" else np.save(hand_file, hands)
    evaluator = import_release(checkpoint, text_model, tmp_path / "ev", "with-hands", hand_pose=hand_file)
    poses = _poses(2)
    want = reference_pose_embedding(state, to_zup_padded(poses.astype(np.float64), 52, hands))
    np.testing.assert_allclose(evaluator.embed_poses(poses), want.numpy(), atol=1e-5, rtol=0)
    reloaded = load_evaluator("with-hands", [tmp_path / "ev"], text_model=text_model)
    np.testing.assert_array_equal(reloaded.embed_poses(poses), evaluator.embed_poses(poses))
    assert reloaded.card["pose_input"]["hands"] == {"file": hand_file.name, "sha256": sha256_file(hand_file)}

    np.save(tmp_path / "short.npy", hands[:, :89])
    with pytest.raises(CheckpointError, match="hand pose has 89 values; the pose encoder's joints 22-51 need 90"):
        import_release(checkpoint, text_model, tmp_path / "bad", hand_pose=tmp_path / "short.npy")
    assert not (tmp_path / "bad").exists()


class _Hostile:
    def __reduce__(self):  # what a malicious checkpoint does: run a command when unpickled
        return (os.system, (f"touch {_Hostile.marker}",))

    marker = ""


def test_a_hostile_pickle_is_refused_unread(tmp_path: Path, text_model: Path) -> None:
    _Hostile.marker = str(tmp_path / "pwned")
    path = tmp_path / "hostile.pth"
    torch.save({"epoch": 1, "model": {}, "args": _Hostile()}, path)
    with pytest.raises(CheckpointError, match=r"needs posix\.system, which is not on PoseBench's allow-list"):
        import_release(path, text_model, tmp_path / "out")
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out").exists()


def test_an_unlisted_type_in_args_is_named(tmp_path: Path, text_model: Path) -> None:
    checkpoint, state = _release(tmp_path, text_model, "pose-text")
    torch.save({"epoch": 1, "model": state, "args": argparse.Namespace(text_encoder_name="distilbertUncased",
                                                                       cache=Path("/x"))}, checkpoint)  # fmt: skip
    with pytest.raises(CheckpointError, match=r"needs pathlib\.\w*Path"):
        import_release(checkpoint, text_model, tmp_path / "out")


@pytest.mark.parametrize(("change", "message"), [
    ({"text_encoder_name": "glovebigru_vocPSA2H2"}, "text encoder 'glovebigru_vocPSA2H2' is not supported"),
    ({"transformer_topping": "augtokens"}, "transformer topping 'augtokens' is not supported"),
    ({"latentD": "512"}, "expected a positive integer"),
])  # fmt: skip
def test_unsupported_configurations(tmp_path: Path, text_model: Path, change: dict, message: str) -> None:
    checkpoint, state = _release(tmp_path, text_model, "pose-text")
    args = argparse.Namespace(text_encoder_name="distilbertUncased", transformer_topping="avgp", latentD=LATENT)
    torch.save({"model": state, "args": argparse.Namespace(**{**vars(args), **change})}, checkpoint)
    with pytest.raises(CheckpointError, match=message):
        import_release(checkpoint, text_model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_another_distilbert_folder_is_refused(tmp_path: Path, text_model: Path) -> None:
    checkpoint, _ = _release(tmp_path, text_model, "pose-text")
    other = tmp_path / "other-distilbert"
    _tiny_distilbert(other, seed=1)
    with pytest.raises(CheckpointError, match="DistilBERT word embeddings differ from the text-model folder's"):
        import_release(checkpoint, other, tmp_path / "out")


def test_a_missing_tensor_is_named(tmp_path: Path, text_model: Path) -> None:
    state = release_state_dict("pose-text", distilbert_state(text_model), LATENT, 52, seed=1)
    del state["pose_encoder.encoder.7.weight"]
    path = tmp_path / "ckpt.pth"
    write_release_checkpoint(path, state, LATENT, 52)
    with pytest.raises(CheckpointError, match=r"missing \['items\.fc3\.weight'\]"):
        import_release(path, text_model, tmp_path / "out")


def test_cli_import_then_eval(tmp_path: Path, text_model: Path, bench_home: Path) -> None:
    checkpoint, _ = _release(tmp_path, text_model, "pose-text")
    missing = run_bench("evaluators", "import", "posescript", str(checkpoint))
    assert missing.exit_code == 2 and "--text-model" in missing.stderr
    absent = run_bench("evaluators", "import", "posescript", str(tmp_path / "nope.pth"), "--text-model", str(text_model))
    assert absent.exit_code != 0 and "nope.pth" in absent.stderr and len(absent.stderr.strip().splitlines()) == 1
    (tmp_path / "garbage.pth").write_bytes(bytes(range(256)) * 4)
    garbage = run_bench("evaluators", "import", "posescript", str(tmp_path / "garbage.pth"), "--text-model", str(text_model))
    assert garbage.exit_code != 0 and "not a torch checkpoint" in garbage.stderr
    assert "weights_only` set to `False`" not in garbage.stderr and not (bench_home / "evaluators").exists()

    done = run_bench("evaluators", "import", "posescript", str(checkpoint), "--text-model", str(text_model), "--json")
    assert done.exit_code == 0, done.stderr
    summary = json.loads(done.stdout)
    sha = sha256_file(checkpoint)
    assert summary["name"] == f"posescript-posetext-{sha[:12]}" and summary["release_sha256"] == sha
    listed = run_bench("evaluators", "list", "--json")
    assert any(row["id"] == summary["name"] and row["present"] == "ok" for row in json.loads(listed.stdout))
