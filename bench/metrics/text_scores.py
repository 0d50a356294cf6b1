"""BLEU-1..4, ROUGE-L and METEOR 1.5 of generated texts against all their references.

The scorers are pycocoevalcap's, called directly (never ``COCOEvalCap.evaluate``, which builds
SPICE and downloads CoreNLP; never SPICE): the Stanford PTB tokenizer (lower-cases, drops
punctuation), ``Bleu(4)`` (corpus BLEU with the closest-reference brevity rule; per-item values use
its 1e-9 / 1e-15 smoothing), ``Rouge`` (ROUGE-L, β = 1.2, best reference; corpus = mean of items)
and ``Meteor`` (METEOR 1.5 jar, ``-l en -norm``; corpus = the jar's aggregate). Values are
fractions in ``[0, 1]``; callers scale by 100 for reports. These are not the HF ``evaluate`` /
NLTK numbers PoseScript and UniPose report: never put both in one column.

Text handling: every run of whitespace (newlines included) becomes one space before tokenizing,
and ``|||`` (METEOR's field separator) is removed after it, for hypotheses and references alike.
References that are empty after tokenization (e.g. "...") are dropped; an item left without one is
an error. An empty prediction scores 0 on every metric and still counts in the corpus values.

Java: the tokenizer runs one short ``java`` process per call. METEOR runs in the process's one
long-lived JVM (:mod:`bench.metrics.meteor_process`: pycocoevalcap's jar and protocol, pipelined),
in a background thread while BLEU and ROUGE-L are computed here, so the JVM and Python use two
cores at once. A missing ``java`` or a JVM that dies or stops answering raises an error; scores are
never silently 0.

The module also registers the ``bleu4``, ``rouge_l`` and ``meteor`` measures, computed together
(group ``coco-caption``) from a text task's answers and all references of each sample.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from bench.errors import DataError, InternalError, ValidationError
from bench.metrics.measure import Measured, MeasureInput, Measurements, register_measure
from bench.metrics.meteor_process import abort_meteor, meteor_scores, require_java, start_meteor

if TYPE_CHECKING:
    from tasks.spec import MetricSpec

PER_ITEM_KEYS = ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "meteor")


@dataclass(frozen=True, eq=False)
class TextScores:
    """Corpus and per-item text scores, fractions in ``[0, 1]``."""

    bleu4: float
    """Corpus BLEU-4."""
    rouge_l: float
    """Corpus ROUGE-L: the mean of the per-item values."""
    meteor: float
    """Corpus METEOR 1.5 (the jar's aggregate over all items' statistics)."""
    bleu: tuple[float, float, float, float]
    """Corpus BLEU-1, -2, -3, -4."""
    ids: tuple[str, ...]
    """Item ids, sorted; the order of every ``per_item`` array."""
    per_item: dict[str, np.ndarray]
    """``{"bleu1".."bleu4", "rouge_l", "meteor"}`` → float64 ``(n,)`` sentence-level scores."""
    n: int
    """Number of items."""
    signature: str
    """Implementation, tokenizer, options, version and references per item, for the record."""


def text_scores(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    *,
    meteor_timeout_s: float = 600.0,
) -> TextScores:
    """Score one prediction per id against all references of that id.

    Args:
        predictions: ``{id: generated text}``.
        references: ``{id: [reference text, ...]}`` with the same ids, at least one each.
        meteor_timeout_s: the METEOR JVM is killed (and an error raised) if one call takes longer,
            JVM start-up included.

    Raises:
        ValidationError: ids that differ between the two dicts (naming one), non-str keys or texts.
        DataError: an id without a usable reference.
        NotFoundError: no ``java`` on PATH.
        InternalError: the tokenizer output does not line up, or the METEOR JVM died / timed out.
    """
    ids = _matched_ids(predictions, references)
    require_java()
    tokenized = _tokenize(predictions, references, ids)
    hyps = {i: [tokenized["hyp", i][0]] for i in ids}
    refs = {i: [r for r in tokenized["ref", i] if r] for i in ids}
    for i in ids:
        if not refs[i]:
            raise DataError(
                "no reference has any word after tokenization", sample_id=i, field="references"
            )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="meteor") as pool:
        meteor_job = pool.submit(meteor_scores, [refs[i] for i in ids], [hyps[i][0] for i in ids], meteor_timeout_s)
        try:
            bleu, bleu_items = Bleu(4).compute_score(refs, hyps, verbose=0)
            rouge, rouge_items = Rouge().compute_score(refs, hyps)
        except BaseException:  # e.g. Ctrl-C: do not wait for METEOR to finish
            abort_meteor()
            raise
        meteor, meteor_items = meteor_job.result()
    per_item = dict(zip(PER_ITEM_KEYS, [*bleu_items, rouge_items, meteor_items]))
    per_item = {k: np.asarray(v, dtype=np.float64) for k, v in per_item.items()}
    for values in per_item.values():
        values.flags.writeable = False
    return TextScores(
        bleu4=float(bleu[3]),
        rouge_l=float(rouge),
        meteor=float(meteor),
        bleu=tuple(float(b) for b in bleu),
        ids=ids,
        per_item=per_item,
        n=len(ids),
        signature=_signature([len(refs[i]) for i in ids]),
    )


def _matched_ids(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> tuple[str, ...]:
    """Sorted ids after checking keys, key sets and value types."""
    for name, mapping in (("predictions", predictions), ("references", references)):
        bad = [k for k in mapping if not isinstance(k, str)]
        if bad:
            raise ValidationError(
                f"ids must be str, got {type(bad[0]).__name__}", sample_id=str(bad[0]), field=name
            )
    missing = sorted(set(references) - set(predictions))
    if missing:
        raise ValidationError(
            f"no prediction for this id ({len(missing)} of {len(references)} missing)",
            sample_id=missing[0],
            field="predictions",
        )
    extra = sorted(set(predictions) - set(references))
    if extra:
        raise ValidationError(
            f"prediction for an id without references ({len(extra)} such ids)",
            sample_id=extra[0],
            field="predictions",
        )
    if not predictions:
        raise ValidationError("no predictions to score", field="predictions")
    ids = tuple(sorted(predictions))
    for i in ids:
        if not isinstance(predictions[i], str):
            raise ValidationError(
                f"prediction is {type(predictions[i]).__name__}, not str",
                sample_id=i,
                field="predictions",
            )
        refs = references[i]
        if isinstance(refs, str) or not isinstance(refs, Sequence) or not refs:
            raise DataError(
                "references must be a non-empty list of str", sample_id=i, field="references"
            )
        if not all(isinstance(r, str) for r in refs):
            raise DataError("references must all be str", sample_id=i, field="references")
    return ids


def _tokenize(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]], ids: tuple[str, ...]
) -> dict[tuple[str, str], list[str]]:
    """One PTBTokenizer run over hypotheses and references: ``{("hyp"|"ref", id): [tokens]}``."""
    captions = {("hyp", i): [" ".join(predictions[i].split())] for i in ids}
    captions.update({("ref", i): [" ".join(r.split()) for r in references[i]] for i in ids})
    tokenized = PTBTokenizer().tokenize(
        {key: [{"caption": c} for c in texts] for key, texts in captions.items()}
    )
    out = {}
    for key, texts in captions.items():
        got = tokenized.get(key, [])
        if len(got) != len(texts):
            raise InternalError(
                f"PTBTokenizer returned {len(got)} texts for {len(texts)} (did java fail?)",
                sample_id=key[1],
                field="predictions" if key[0] == "hyp" else "references",
            )
        out[key] = [" ".join(t.replace("|||", " ").split()) for t in got]
    return out


def _signature(n_refs: list[int]) -> str:
    """sacreBLEU-style record of how the scores were made."""
    low, high = min(n_refs), max(n_refs)
    refs = str(low) if low == high else f"var({low}-{high})"
    version = importlib.metadata.version("pycocoevalcap")
    return (
        f"pycocoevalcap:{version}|tok:ptb-corenlp-3.4.1,lc,nopunct|bleu:4,closest"
        f"|rouge:L,beta1.2|meteor:1.5,en,norm|nrefs:{refs}"
    )


def measure_text_scores(inputs: MeasureInput, specs: Sequence[MetricSpec]) -> Measurements:
    """BLEU-4, ROUGE-L and METEOR (×100) against all references, with sentence-level values per item.

    ROUGE-L's corpus value is the mean of its per-item values, so it gets a bootstrap CI; corpus
    BLEU-4 and METEOR aggregate n-gram / alignment statistics instead, so they get none (their
    per-item values are kept with the samples).
    """
    ids, texts, references = inputs.ids, inputs.need("texts"), inputs.need("references")
    with inputs.timed("text_scores"):
        scores = text_scores(dict(zip(ids, texts, strict=True)),
                             {i: list(refs) for i, refs in zip(ids, references, strict=True)})  # fmt: skip
    position = {sample_id: k for k, sample_id in enumerate(scores.ids)}
    order = np.array([position[i] for i in ids], dtype=np.int64)
    facts = {"signature": scores.signature, "scale": 100}
    out: dict[str, Measured] = {}
    for spec in specs:
        per_item = np.asarray(scores.per_item[spec.measure], dtype=np.float64)[order] * 100.0
        out[spec.name] = Measured(value=100.0 * float(getattr(scores, spec.measure)), per_sample=per_item,
                                  ci_from_samples=spec.measure == "rouge_l", facts=facts)  # fmt: skip
    return out, {}


for _name in ("bleu4", "rouge_l", "meteor"):
    register_measure(_name, output_kinds=("text",), protocols=("coco-caption",), group="coco-caption",
                     prepare=start_meteor)(measure_text_scores)  # fmt: skip
