"""Near-duplicate-aware recall (TMR's threshold protocol): the relation, the recall, the sentence
model and its cache, and the ``tmr`` variant of a pose task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.errors import ValidationError
from bench.metrics import near_duplicates as nd
from bench.metrics import topk_recall
from bench.metrics.near_duplicates import near_duplicate_recall, near_duplicates, sentence_embeddings
from tests.metrics.helpers import unit_rows

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rows(*cosines_to_first: float) -> np.ndarray:
    """Unit 2-d rows: the first (1, 0), then one per cosine to it."""
    angles = np.arccos(np.array([1.0, *cosines_to_first]))
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_threshold_is_inclusive_and_left_right_words_must_match() -> None:
    texts = ["arms up", "arms raised", "left arm up", "right arm up", "arms down"]
    emb = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    emb[1] = [0.95, np.sqrt(1 - 0.95**2), 0]  # cosine exactly 0.95 with "arms up"
    result = near_duplicates(emb, texts, threshold=0.95)
    expected = np.eye(5, dtype=bool)
    expected[0, 1] = expected[1, 0] = True
    assert np.array_equal(result.matrix, expected)
    assert (result.pairs, result.queries_with_duplicates, result.side_refused) == (1, 2, 1)
    assert result.boundary_margin == pytest.approx(0.0, abs=1e-12)


def test_margin_counts_only_pairs_the_threshold_decides() -> None:
    emb = _rows(0.9, 0.96)  # "c left" is closer to the threshold, but its sides decide, not the threshold
    result = near_duplicates(emb, ["a", "b", "c left"], threshold=0.95)
    assert result.pairs == 0 and result.side_refused == 2 and result.boundary_margin == pytest.approx(0.05)


def test_without_near_duplicates_it_is_plain_full_gallery_recall() -> None:
    rng = np.random.default_rng(0)
    texts, items = unit_rows(rng, 60, 16), unit_rows(rng, 60, 16)
    items = (items + 2.0 * texts) / np.linalg.norm(items + 2.0 * texts, axis=1, keepdims=True)
    ours = near_duplicate_recall(texts, items, np.eye(60, dtype=bool), ks=(1, 5, 10))
    plain = topk_recall(texts, items, ks=(1, 5, 10))
    assert np.array_equal(ours.a2b_ranks, plain.a2b_ranks) and np.array_equal(ours.b2a_ranks, plain.b2a_ranks)
    assert all(ours.values[key] == plain.values[key] for key in ours.values)
    assert ours.chance == {k: pytest.approx(100.0 * k / 60) for k in (1, 5, 10)}


def test_a_near_duplicate_ranked_first_is_a_hit_both_ways() -> None:
    # Text 0 and text 1 are near-duplicates; pose 1 matches text 0 best, pose 0 matches nothing well.
    # Score of text i and pose j: items[j, i]. Ties with the best correct score count against it.
    texts = np.eye(4)
    items = np.array([[0.0, 0, 0, 1.0], [1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, 0.6, 0, 0.8]])
    same = np.eye(4, dtype=bool)
    same[0, 1] = same[1, 0] = True
    with_dups = near_duplicate_recall(texts, items, same, ks=(1,))
    without = near_duplicate_recall(texts, items, np.eye(4, dtype=bool), ks=(1,))
    assert with_dups.a2b_ranks.tolist() == [0, 2, 0, 1] and without.a2b_ranks.tolist() == [3, 3, 0, 1]
    assert with_dups.values["a2b_R@1"] == 50.0 and without.values["a2b_R@1"] == 25.0
    # Pose 1 queries the texts: text 0 (a near-duplicate of its own text 1) ranks first.
    assert with_dups.b2a_ranks[1] == 0 and without.b2a_ranks[1] == 3
    # Chance of a random ranking with 2 correct items among 4 (queries 0, 1) or 1 (queries 2, 3).
    assert with_dups.chance[1] == pytest.approx(100.0 * (0.5 + 0.5 + 0.25 + 0.25) / 4)


def test_relation_must_be_square_with_a_true_diagonal() -> None:
    e = np.eye(3)
    with pytest.raises(ValidationError, match="True diagonal"):
        near_duplicate_recall(e, e, np.zeros((3, 3), dtype=bool), ks=(1,))


def test_sentence_model_scores_paraphrases_and_mirrors_as_the_docs_say(tmp_path: Path) -> None:
    pairs = [("a person walks forward.", "a person is walking forwards"),
             ("the person raises their left arm", "the person raises their right arm"),
             ("a person kneels on the ground", "a person squats down")]  # fmt: skip
    emb = sentence_embeddings([t for pair in pairs for t in pair])
    assert emb.dtype == np.float32 and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    cosines = [float(emb[2 * i] @ emb[2 * i + 1]) for i in range(3)]
    assert cosines[0] >= nd.THRESHOLD and cosines[1] >= nd.THRESHOLD and cosines[2] < 0.8
    relation = near_duplicates(emb, [t for pair in pairs for t in pair])
    assert relation.pairs == 1 and relation.side_refused == 1  # the mirror pair is refused by its sides


def test_embeddings_are_cached_by_model_and_texts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["the left knee is bent", "both arms are raised"]
    first = sentence_embeddings(texts, tmp_path)
    files = list((tmp_path / "sentence-embeddings").iterdir())
    assert len(files) == 1 and files[0].name.startswith(nd.sentence_model_sha256()[:16])

    def no_model(_: list[str]) -> np.ndarray:
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(nd, "_embed", no_model)
    assert np.array_equal(sentence_embeddings(texts, tmp_path), first)
    with pytest.raises(AssertionError, match="cache was not used"):
        sentence_embeddings([*texts, "another text"], tmp_path)


def test_tmr_variant_of_text2pose_on_synth_small(tiny_evaluators: Any, synth_small: Path, tmp_path: Path) -> None:
    from bench.body import load_body_model
    from bench.data import load_dataset
    from tasks import ScoringContext, get_task

    dataset = load_dataset(synth_small, synth_small.parent)
    ctx = ScoringContext({"posetext-synth-v1": tiny_evaluators(synth_small)["pose-text"]},
                         load_body_model("skeleton"), variants=frozenset({"tmr"}), cache_dir=tmp_path)  # fmt: skip
    task = get_task("text2pose")
    result = task.score(task.reference_predictions(dataset, "chance", seed=1), dataset, ctx)
    values = {m.name: m for m in result.metrics}
    facts = values["recall_nd_t2p_top5"].protocol
    assert facts["variant"] == "tmr" and facts["threshold"] == 0.95 and facts["gallery_size"] == 256
    assert facts["near_duplicate_pairs"] == 0 and facts["side_refused_pairs"] > 0
    # No near-duplicates in synth-small's test captions: the variant equals the plain recall.
    for direction in ("t2p", "p2t"):
        for k in (5, 10, 20):
            assert values[f"recall_nd_{direction}_top{k}"].value == values[f"recall_{direction}_top{k}"].value
    assert "near_duplicates" in result.timings_s
