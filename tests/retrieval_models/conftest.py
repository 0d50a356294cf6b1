"""Fixtures of the retrieval-model tests: one intra-op thread, shared word embeddings, tiny data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from retrieval_models.encoders import ArchConfig
from retrieval_models.evaluator import Evaluator
from retrieval_models.model import build_model
from retrieval_models.word_embeddings import WordEmbeddings, load_word_embeddings
from tests.retrieval_models.tiny_dataset import build_tiny_dataset

TINY = ArchConfig(pose_hidden=64, pose_bottleneck=16, text_proj=32, text_hidden=32, max_tokens=48, text_pooling="max")


@pytest.fixture(scope="package", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread, and a busy shared machine does not stall on thread
    spinning. Package scope: it is in force before any of this package's module fixtures train."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def words() -> WordEmbeddings:
    """The packaged MiniLM tokenizer and 30522 x 384 table (loaded once)."""
    return load_word_embeddings()


def tiny_evaluator(words: WordEmbeddings, kind: str, seed: int = 0, arch: ArchConfig = TINY) -> Evaluator:
    """An untrained (randomly initialised) evaluator with small networks."""
    model = build_model(kind, arch, words.table, torch.Generator().manual_seed(seed))
    return Evaluator(model, words, id=f"tiny-{kind}", sha256="", card={})


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny dataset folder in the docs/architecture.md §3 layout (192/64/64 poses and pairs), built
    once per session."""
    return build_tiny_dataset(tmp_path_factory.mktemp("retrieval") / "tiny-retrieval")
