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

Java: the tokenizer runs one short ``java`` process per call. METEOR runs in one long-lived JVM per
process (about 1.3 GB, 7–11 s to start): created on first use behind a lock, restarted if it has
died, closed at exit. A missing ``java`` or a JVM that dies or stops answering raises an error;
scores are never silently 0.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

from bench.errors import DataError, InternalError, NotFoundError, ValidationError

PER_ITEM_KEYS = ("bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "meteor")

_meteor_lock = threading.Lock()
_meteor: Meteor | None = None


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
    _require_java()
    tokenized = _tokenize(predictions, references, ids)
    hyps = {i: [tokenized["hyp", i][0]] for i in ids}
    refs = {i: [r for r in tokenized["ref", i] if r] for i in ids}
    for i in ids:
        if not refs[i]:
            raise DataError(
                "no reference has any word after tokenization", sample_id=i, field="references"
            )
    bleu, bleu_items = Bleu(4).compute_score(refs, hyps, verbose=0)
    rouge, rouge_items = Rouge().compute_score(refs, hyps)
    meteor, meteor_items = _meteor_scores(refs, hyps, meteor_timeout_s)
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


def _meteor_scores(
    refs: dict[str, list[str]], hyps: dict[str, list[str]], timeout_s: float
) -> tuple[float, list[float]]:
    """(corpus METEOR, per-item METEOR in ``hyps`` order) from the process's one JVM."""
    global _meteor
    with _meteor_lock:
        if _meteor is not None and _meteor.meteor_p.poll() is not None:
            _discard(_meteor)
            _meteor = None
        if _meteor is None:
            _require_java()  # before Meteor(), whose __del__ breaks when its Popen fails
            _meteor = Meteor()
        scorer = _meteor
        watchdog = threading.Timer(timeout_s, scorer.meteor_p.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            corpus, items = scorer.compute_score(refs, hyps)
        except BaseException as exc:  # also KeyboardInterrupt: unread replies would desync the JVM
            detail = _discard(scorer)
            _meteor = None
            if not isinstance(exc, (ValueError, OSError)):
                raise
            raise InternalError(
                f"METEOR 1.5 JVM died or stopped answering within {timeout_s:g} s ({exc}); {detail}"
            ) from None
        finally:
            watchdog.cancel()
    if len(items) != len(hyps) or not np.isfinite([corpus, *items]).all():
        raise InternalError(f"METEOR 1.5 returned {len(items)} scores for {len(hyps)} items")
    return float(corpus), [float(s) for s in items]


def _require_java() -> None:
    """Raise :class:`NotFoundError` unless a ``java`` executable is on PATH."""
    if shutil.which("java") is None:
        raise NotFoundError(
            "java was not found on PATH; the PTB tokenizer and METEOR 1.5 need Java 8 or newer"
        )


def _discard(scorer: Meteor) -> str:
    """Stop ``scorer``'s JVM; return a one-line summary of its exit code and stderr."""
    proc = scorer.meteor_p
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    stderr = b""
    try:
        stderr = proc.stderr.read()
    except (OSError, ValueError):
        pass
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        try:
            stream.close()
        except OSError:
            pass
    if scorer.lock.locked():  # a failed compute_score never releases it; Meteor.__del__ takes it
        scorer.lock.release()
    tail = " ".join(stderr.decode(errors="replace").split())[-300:]
    return f"java exit code {proc.returncode}, stderr: {tail or '(empty)'}"


def _close_meteor() -> None:
    """At exit: stop the METEOR JVM if one is running (waits at most 5 s for a call in flight)."""
    global _meteor
    if _meteor_lock.acquire(timeout=5.0):
        try:
            if _meteor is not None:
                _discard(_meteor)
                _meteor = None
        finally:
            _meteor_lock.release()


atexit.register(_close_meteor)


def _signature(n_refs: list[int]) -> str:
    """sacreBLEU-style record of how the scores were made."""
    low, high = min(n_refs), max(n_refs)
    refs = str(low) if low == high else f"var({low}-{high})"
    version = importlib.metadata.version("pycocoevalcap")
    return (
        f"pycocoevalcap:{version}|tok:ptb-corenlp-3.4.1,lc,nopunct|bleu:4,closest"
        f"|rouge:L,beta1.2|meteor:1.5,en,norm|nrefs:{refs}"
    )
