"""Evaluator throughput: texts/s, poses/s, pairs/s through the embedding API, and training epoch time.

Run from the repository root::

    python benchmarks/evaluators.py [--data synth-full] [--threads 1] [--clock cpu|wall] [--arch default|tiny]

Texts are the train captions (pose-text) and instructions (pair-text) of ``--data`` (a dataset name
under BENCH_HOME/data or a folder) when given; otherwise seeded pseudo-captions of
``--text-tokens`` WordPiece tokens (default 85, the mean of synth captions; instructions ~33).
Networks are randomly initialised: speed does not depend on the weights.

Rows: ``embed_texts`` (N texts), ``embed_poses`` / ``embed_pairs`` (N items), and ``train`` (one
epoch over ``--train-samples`` items with the default batch size, symBBC, flips at p = 0.5), from
which the epoch time on ``--epoch-samples`` items (synth-full train: 20000) and the time of the
default schedule (``TrainConfig`` epochs plus one val pass per epoch) are extrapolated. Each figure
is the median of ``--repeats`` runs. ``--clock cpu`` (process CPU time) makes single-thread figures
robust to a busy shared machine; wall time with ``--threads 2`` is what a quiet 2-core machine sees.
The load average is printed because a shared machine's load changes wall-clock figures several-fold.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.config import load_config  # noqa: E402
from retrieval_models.encoders import ArchConfig  # noqa: E402
from retrieval_models.evaluator import Evaluator  # noqa: E402
from retrieval_models.model import build_model  # noqa: E402
from retrieval_models.quick import TINY_ARCH  # noqa: E402
from retrieval_models.trainer import Phase, TrainConfig, make_optimizer, train_epoch  # noqa: E402
from retrieval_models.training_data import RetrievalSet, load_retrieval_set  # noqa: E402
from retrieval_models.word_embeddings import WordEmbeddings, load_word_embeddings  # noqa: E402

_VOCAB = ("the left right knee elbow hand foot arm leg shoulder hip is are bent straight raised slightly "
          "above below behind in front of their torso head and while with apart close together a bit").split()  # fmt: skip


def pseudo_texts(n: int, tokens: int, words: WordEmbeddings, rng: np.random.Generator) -> list[str]:
    """``n`` seeded word salads of about ``tokens`` WordPiece ids each ([CLS] and [SEP] included)."""
    texts = []
    for _ in range(n):
        count = max(1, int(rng.normal(tokens, tokens * 0.15)) - 3)
        texts.append(" ".join(rng.choice(_VOCAB, size=count)) + ".")
    return texts


def median_seconds(fn: Callable[[], object], repeats: int, clock: Callable[[], float]) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def make_set(kind: str, texts: list[str], n: int, rng: np.random.Generator) -> RetrievalSet:
    shape = (n, 22, 3) if kind == "pose-text" else (n, 2, 22, 3)
    items = rng.normal(0, 0.3, size=shape).astype(np.float32)
    return RetrievalSet(kind, "train", "auto", np.array([str(i) for i in range(n)]), items,
                        [[texts[i % len(texts)]] for i in range(n)])  # fmt: skip


@click.command()
@click.option("--data", help="Dataset (name or folder) whose train texts to use.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["pose-text", "pair-text"]),
              default=("pose-text", "pair-text"), show_default=True)  # fmt: skip
@click.option("--arch", type=click.Choice(["default", "tiny"]), default="default", show_default=True)
@click.option("--threads", type=int, default=1, show_default=True)
@click.option("--clock", type=click.Choice(["cpu", "wall"]), default="cpu", show_default=True)
@click.option("--repeats", type=int, default=3, show_default=True)
@click.option("--n", "n_items", type=int, default=512, show_default=True, help="Texts and items embedded per run.")
@click.option("--text-tokens", type=int, default=85, show_default=True)
@click.option("--train-samples", type=int, default=1024, show_default=True)
@click.option("--epoch-samples", type=int, default=20000, show_default=True)
@click.option("--val-samples", type=int, default=1000, show_default=True)
def main(data: str | None, kinds: tuple[str, ...], arch: str, threads: int, clock: str, repeats: int, n_items: int,
         text_tokens: int, train_samples: int, epoch_samples: int, val_samples: int) -> None:  # fmt: skip
    torch.set_num_threads(threads)
    tick = time.process_time if clock == "cpu" else time.perf_counter
    words = load_word_embeddings()
    dataset = None
    if data:
        from bench.data import load_dataset

        dataset = load_dataset(data, load_config().data_dir)
    click.echo(f"threads {threads}, clock {clock}, load average {os.getloadavg()[0]:.2f}, arch {arch}, "
               f"torch {torch.__version__}")  # fmt: skip
    rng = np.random.default_rng(0)
    for kind in kinds:
        config = TrainConfig(kind=kind)
        config = replace(config, arch=TINY_ARCH if arch == "tiny" else ArchConfig())
        if dataset is not None:
            texts = [t for entry in load_retrieval_set(dataset, kind, "train", "auto").texts for t in entry]
            texts = [texts[i] for i in rng.permutation(len(texts))[: max(n_items, train_samples)]]
        else:
            texts = pseudo_texts(max(n_items, train_samples), text_tokens if kind == "pose-text" else 33, words, rng)
        lengths = [len(ids) for ids in words.encode(texts, config.arch.max_tokens)]
        model = build_model(kind, config.arch, words.table, torch.Generator().manual_seed(0))
        model.set_dropout_generator(torch.Generator().manual_seed(1))
        evaluator = Evaluator(model, words, id=kind, sha256="", card={})
        sample = make_set(kind, texts, n_items, rng)
        t_texts = median_seconds(lambda: evaluator.embed_texts(texts[:n_items]), repeats, tick)
        if kind == "pose-text":
            t_items = median_seconds(lambda: evaluator.embed_poses(sample.items), repeats, tick)
        else:
            t_items = median_seconds(lambda: evaluator.embed_pairs(sample.items[:, 0], sample.items[:, 1]), repeats, tick)
        train_set = make_set(kind, texts, train_samples, rng)
        phase = Phase("pretrain", "auto", "auto", config.pretrain_epochs, config.batch_size, config.lr)
        optimizer, _ = make_optimizer(model, phase, config)
        t_train = median_seconds(lambda: train_epoch(model, optimizer, train_set, config.batch_size, rng, words, config,
                                                     "benchmark"), repeats, tick)  # fmt: skip
        per_sample = t_train / (train_samples // config.batch_size * config.batch_size)
        val_s = val_samples * (t_texts + t_items) / n_items
        epoch_s = per_sample * epoch_samples + val_s
        total_s = epoch_s * config.pretrain_epochs
        item = "poses" if kind == "pose-text" else "pairs"
        click.echo(f"\n{kind}: texts of {np.mean(lengths):.0f} tokens on average (max {max(lengths)})")
        click.echo(f"  embed_texts   {n_items / t_texts:9.0f} texts/s")
        click.echo(f"  embed_{item}   {n_items / t_items:9.0f} {item}/s")
        click.echo(f"  train         {1 / per_sample:9.0f} samples/s (batch {config.batch_size})")
        click.echo(f"  epoch of {epoch_samples} + val {val_samples}: {epoch_s:7.1f} s;  "
                   f"{config.pretrain_epochs} epochs: {total_s / 60:6.1f} min")  # fmt: skip


if __name__ == "__main__":
    main()
