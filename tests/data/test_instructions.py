"""Paircodes and pair instructions on planted pairs: the instruction talks about what changed, on
the right side, and turns the right way."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench.body import mirror_pose, rotate_heading
from bench.data.synth.text.instructions import instruct_pairs
from bench.data.synth.text.paircodes import PAIR_TABLE, SUPER_PAIRCODES, compute_paircodes
from bench.errors import DataError
from tests.data.test_posecodes import L_KNEE, arms_down, bend_knee, raise_right_arm

ARM = r"(arm|hand|elbow|forearm|upper arm)"
LEG = r"(leg|knee|foot|feet|thigh|shin|ankle)"


def subjects_only(text: str) -> str:
    """The text without second body parts of relations ("... close to your right knee")."""
    return re.sub(r"\b(to|near|from|than|of|with|over|above|below) (the|your|their) (left|right) [a-z ]*?(knee|foot|hand)\b",
                  "", text.lower())


def instructions(poses_a: np.ndarray, poses_b: np.ndarray, copies: int = 5) -> list[str]:
    """Instructions for ``copies`` copies of each pair (one batch)."""
    a, b = np.repeat(poses_a, copies, axis=0), np.repeat(poses_b, copies, axis=0)
    return [t for texts in instruct_pairs(a, b, np.random.default_rng(0)) for t in texts]


def mirrored(poses: np.ndarray) -> np.ndarray:
    return np.asarray(mirror_pose(poses), dtype=np.float32)


def test_raising_the_right_arm_mentions_only_the_right_arm() -> None:
    a, b = arms_down(), raise_right_arm(arms_down())
    texts = [t.lower() for t in instructions(a, b)]
    assert all(re.search(rf"right {ARM}", t) for t in texts)
    assert not any(re.search(rf"left {ARM}", t) or re.search(rf"left {LEG}", t) for t in texts)
    assert not any(re.search(LEG, t) for t in texts)
    flipped = [t.lower() for t in instructions(mirrored(a), mirrored(b))]
    assert all(re.search(rf"left {ARM}", t) for t in flipped)
    assert not any(re.search(rf"right {ARM}", t) for t in flipped)


def test_straightening_the_left_knee() -> None:
    a, b = bend_knee(arms_down(), L_KNEE, 90), arms_down()
    texts = [subjects_only(t) for t in instructions(a, b)]
    verbs = r"(straighten|extend|stretch)( out)? (the|your|their) left leg|(straighten|bend|open) (the|your|their) left knee"
    assert sum(bool(re.search(verbs, t)) for t in texts) >= len(texts) * 0.7
    assert not any(re.search(rf"right (leg|knee|{ARM})", t) or re.search(rf"left {ARM}", t) for t in texts)
    codes = compute_paircodes(a, b, None)
    straighten = [s.key for s in SUPER_PAIRCODES].index("straighten_left_leg")
    assert codes.supers[0, straighten]
    k = PAIR_TABLE.index["pair_angle:left_hip-left_knee-left_ankle"]
    assert PAIR_TABLE.category_name(k, int(codes.categories[0, k])) == "bent much less"
    assert codes.eligibility[0, k] == 0  # replaced by the super-paircode


def test_paircode_directions() -> None:
    a, b = arms_down(), raise_right_arm(arms_down())
    codes = compute_paircodes(a, b, None)
    for key, expected in (("pair_posY:right_hand", "higher"), ("pair_posY:left_hand", "ignored_py"),
                          ("pair_posY:right_elbow", "higher")):
        k = PAIR_TABLE.index[key]
        assert PAIR_TABLE.category_name(k, int(codes.categories[0, k])) == expected
    back = compute_paircodes(b, a, None)
    k = PAIR_TABLE.index["pair_posY:right_hand"]
    assert PAIR_TABLE.category_name(k, int(back.categories[0, k])) == "lower"


@pytest.mark.parametrize(("turn_deg", "side"), [(90.0, "left"), (-90.0, "right")])
def test_heading_change_gives_a_rotation_sentence(turn_deg: float, side: str) -> None:
    a = bend_knee(arms_down(), L_KNEE, 20)
    b = np.asarray(rotate_heading(bend_knee(arms_down(), L_KNEE, 20), np.radians(turn_deg)), dtype=np.float32)
    other = "right" if side == "left" else "left"
    for text in instructions(a, b, 3):
        first = text.split(".")[0].lower()
        assert first.startswith(("turn", "rotate", "make a quarter turn"))
        assert side in first and other not in first and ("quarter" in first or "90" in first)
    for text in instructions(a, a.copy(), 3):
        assert not text.lower().startswith(("turn", "rotate", "make a"))


def test_three_instructions_deterministic_and_clean() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(0.0, 0.35, size=(20, 22, 3)).astype(np.float32)
    b = (a + rng.normal(0.0, 0.35, size=a.shape)).astype(np.float32)
    first = instruct_pairs(a, b, np.random.default_rng(1))
    assert first == instruct_pairs(a, b, np.random.default_rng(1))
    assert first != instruct_pairs(a, b, np.random.default_rng(2))
    assert sum(len(set(texts)) == 3 for texts in first) >= 18
    for texts in first:
        assert len(texts) == 3
        for t in texts:
            assert t[0].isupper() and t.endswith(".")
            assert "{" not in t and "  " not in t and "_" not in t and "ignored" not in t


def test_input_validation() -> None:
    with pytest.raises(DataError):
        instruct_pairs(arms_down(2), arms_down(3), np.random.default_rng(0))
    with pytest.raises(DataError):
        instruct_pairs(arms_down(1), arms_down(1), np.random.default_rng(0), n=0)
