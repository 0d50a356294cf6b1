"""text_scores: known values, plain BLEU / ROUGE-L references, text handling, Java failures.

METEOR runs in the module's one JVM per process (7–30 s to start, paid once by whichever test
first needs it).
"""

from __future__ import annotations

import importlib
import math
from collections import Counter

import numpy as np
import pytest

from bench.errors import DataError, NotFoundError, ValidationError
from bench.metrics import text_scores

module = importlib.import_module("bench.metrics.text_scores")

# Already lower-case and unpunctuated, so the PTB tokenizer leaves them unchanged.
REFS = {
    "p1": ["a person walks forward then turns left", "someone walks and turns to the left"],
    "p2": ["the person raises both arms above the head", "arms up over the head"],
    "p3": ["the person is sitting on the ground with legs crossed"],
    "p4": ["a person kneels on the right knee", "kneeling on one knee"],
}
PREDS = {
    "p1": "a person walks forward and turns left",
    "p2": "the person raises the left arm above the head",
    "p3": "sitting on the ground",
    "p4": "",
}


def reference_bleu(preds, refs, n=4):
    """Corpus and per-item BLEU as pycocoevalcap defines it: closest reference length (shorter
    on ties), clipped counts, 1e-15 / 1e-9 smoothing, brevity penalty exp(1 - r/c) if c < r."""
    tiny, small = 1e-15, 1e-9
    totals = {"test": 0, "ref": 0, "guess": [0] * n, "correct": [0] * n}
    per_item = [[] for _ in range(n)]
    for key in sorted(preds):
        words = preds[key].split()
        ref_words = [r.split() for r in refs[key]]
        reflen = min((abs(len(r) - len(words)), len(r)) for r in ref_words)[1]
        guess, correct = [], []
        for m in range(1, n + 1):
            grams = Counter(tuple(words[i : i + m]) for i in range(len(words) - m + 1))
            max_ref = Counter()
            for r in ref_words:
                for g, c in Counter(tuple(r[i : i + m]) for i in range(len(r) - m + 1)).items():
                    max_ref[g] = max(max_ref[g], c)
            guess.append(max(0, len(words) - m + 1))
            correct.append(sum(min(c, max_ref[g]) for g, c in grams.items()))
        totals["test"] += len(words)
        totals["ref"] += reflen
        for m in range(n):
            totals["guess"][m] += guess[m]
            totals["correct"][m] += correct[m]
        product = 1.0
        for m in range(n):
            product *= (correct[m] + tiny) / (guess[m] + small)
            per_item[m].append(product ** (1 / (m + 1)))
        ratio = (len(words) + tiny) / (reflen + small)
        if ratio < 1:
            for m in range(n):
                per_item[m][-1] *= math.exp(1 - 1 / ratio)
    corpus, product = [], 1.0
    for m in range(n):
        product *= (totals["correct"][m] + tiny) / (totals["guess"][m] + small)
        corpus.append(product ** (1 / (m + 1)))
    ratio = (totals["test"] + tiny) / (totals["ref"] + small)
    if ratio < 1:
        corpus = [b * math.exp(1 - 1 / ratio) for b in corpus]
    return corpus, per_item


def reference_rouge_l(pred, refs, beta=1.2):
    """ROUGE-L with pycocoevalcap's rule: best precision and best recall over references."""

    def lcs(a, b):
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                same = a[i - 1] == b[j - 1]
                best = max(table[i - 1][j], table[i][j - 1])
                table[i][j] = table[i - 1][j - 1] + 1 if same else best
        return table[-1][-1]

    cand = pred.split(" ")
    prec = max(lcs(r.split(" "), cand) / len(cand) for r in refs)
    rec = max(lcs(r.split(" "), cand) / len(r.split(" ")) for r in refs)
    return 0.0 if prec == 0 or rec == 0 else (1 + beta**2) * prec * rec / (rec + beta**2 * prec)


def test_env_probe_example():
    """A worked example whose numbers come from calling pycocoevalcap 1.2's PTB tokenizer, ``Bleu``,
    ``Rouge`` and ``Meteor`` directly, as PoseBench does (docs/peers.md#libraries); the name recalls
    the environment check that first produced them."""
    res = text_scores(
        {"0": "A person walks forward and turns left."},
        {"0": ["A man walks forward, then turns left.", "Someone walks and turns to the left."]},
    )
    assert res.bleu[0] == pytest.approx(0.857, abs=1e-3)
    assert res.bleu[1] == pytest.approx(0.655, abs=1e-3)
    assert res.bleu4 == res.bleu[3] and res.bleu[3] < 1e-4
    assert res.rouge_l == pytest.approx(0.714, abs=1e-3)
    assert res.meteor == pytest.approx(0.4102, abs=1e-4)
    assert res.ids == ("0",) and res.n == 1
    assert res.signature.startswith("pycocoevalcap:1.2|tok:ptb")
    assert res.signature.endswith("|nrefs:2")


@pytest.fixture(scope="module")
def clean():
    """The scores of PREDS against REFS, computed once for this file."""
    return text_scores(PREDS, REFS)


def test_bleu_and_rouge_match_references_with_empty_prediction(clean):
    res = clean
    corpus, per_item = reference_bleu(PREDS, REFS)
    assert res.bleu == pytest.approx(tuple(corpus), rel=1e-12, abs=1e-15)
    for m in range(4):
        got = res.per_item[f"bleu{m + 1}"]
        np.testing.assert_allclose(got, per_item[m], rtol=1e-12, atol=1e-15)
    rouge = [reference_rouge_l(PREDS[k], REFS[k]) for k in sorted(PREDS)]
    np.testing.assert_allclose(res.per_item["rouge_l"], rouge, rtol=1e-12)
    assert res.rouge_l == pytest.approx(np.mean(rouge), rel=1e-12)
    # the empty prediction scores 0 everywhere but still counts in the corpus scores
    assert [float(res.per_item[k][3]) for k in module.PER_ITEM_KEYS] == [0.0] * 6
    assert 0 < res.meteor < 1 and (res.per_item["meteor"][:3] > 0.1).all()
    assert res.per_item["rouge_l"][0] > res.per_item["rouge_l"][2] > 0
    assert res.signature.endswith("nrefs:var(1-2)")


def test_case_punctuation_newlines_and_order_do_not_matter(clean):
    messy_preds = dict(PREDS, p1="A person walks\nforward, and turns LEFT.")
    messy_preds["p3"] = "Sitting\r\n on the ground!"
    messy_refs = dict(REFS)
    messy_refs["p2"] = ["The person raises both arms above the head.", "Arms up,\nover the head"]
    # also in reverse insertion order: results are keyed and sorted by id
    messy = text_scores(dict(reversed(messy_preds.items())), dict(reversed(messy_refs.items())))
    assert messy.ids == clean.ids == ("p1", "p2", "p3", "p4")
    for key in module.PER_ITEM_KEYS:
        np.testing.assert_array_equal(messy.per_item[key], clean.per_item[key])
    assert (messy.bleu, messy.rouge_l, messy.meteor) == (clean.bleu, clean.rouge_l, clean.meteor)


def test_per_item_scores_do_not_depend_on_the_batch(clean):
    full = clean
    halves = [
        text_scores({k: PREDS[k] for k in part}, {k: REFS[k] for k in part})
        for part in (("p1", "p3"), ("p2", "p4"))
    ]
    for key in module.PER_ITEM_KEYS:
        split = dict(zip(halves[0].ids, halves[0].per_item[key]))
        split.update(zip(halves[1].ids, halves[1].per_item[key]))
        np.testing.assert_allclose([split[k] for k in full.ids], full.per_item[key], rtol=1e-12)
    assert halves[0].bleu4 != full.bleu4  # corpus BLEU pools n-gram counts: it does depend


def test_separator_in_text_and_reference_without_words():
    res = text_scores(
        {"a": "a man walks ||| left"}, {"a": ["a man walks left", "...", "a man ||| walks"]}
    )
    assert res.signature.endswith("nrefs:2")  # "..." has no words after tokenization
    assert 0 < res.meteor <= 1 and np.isfinite(res.per_item["meteor"]).all()
    with pytest.raises(DataError, match="no reference has any word"):
        text_scores({"a": "a man walks"}, {"a": ["...", "!"]})


@pytest.mark.parametrize(
    ("preds", "refs", "error", "text"),
    [
        ({"a": "x"}, {"a": ["x"], "b": ["y"]}, ValidationError, "sample 'b'.*no prediction"),
        ({"a": "x", "c": "z"}, {"a": ["x"]}, ValidationError, "sample 'c'.*id without references"),
        ({}, {}, ValidationError, "no predictions"),
        ({"a": None}, {"a": ["x"]}, ValidationError, "sample 'a'.*prediction is NoneType"),
        ({1: "x"}, {1: ["x"]}, ValidationError, "ids must be str"),
        ({"a": "x"}, {"a": []}, DataError, "sample 'a': field 'references': references must"),
        ({"a": "x"}, {"a": "x"}, DataError, "non-empty list of str"),
        ({"a": "x"}, {"a": ["x", 3]}, DataError, "references must all be str"),
    ],
)
def test_input_errors(preds, refs, error, text):
    with pytest.raises(error, match=text):
        text_scores(preds, refs)


def test_missing_java_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NotFoundError, match="java was not found"):
        text_scores({"a": "x"}, {"a": ["x"]})
