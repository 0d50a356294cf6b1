"""Left/right text flipping, PoseScript's rules (docs/peers.md#posescript-retrieval-training)."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval_models.text_flip import COUNTER_CLOCKWISE, SIDE_SWAPS, flip_text, is_flippable


def flip(text: str, seed: int = 0) -> str | None:
    return flip_text(text, np.random.default_rng(seed))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the right hand", "the left hand"),
        ("the left hand", "the right hand"),
        ("left and right", "right and left"),
        ("Right arm up.", "Left arm up."),
        ("RIGHT arm", "LEFT arm"),
        ("Left", "Right"),
        ("turn rightward", "turn leftward"),
        ("moving leftwards", "moving rightwards"),
        ("raise the right-hand side", "raise the left-hand side"),
        ("a left-handed throw", "a right-handed throw"),
        ("the righthand", "the lefthand"),
        ("right-facing and left-side", "left-facing and right-side"),
        ("right-looking, left-most", "left-looking, right-most"),
        ("rightwardly", "leftwardly"),
        ("lefts and rights", "rights and lefts"),
        ("backward-right then front-left", "backward-left then front-right"),
        ("to the top-right", "to the top-left"),
        ("Front-Right", "Front-Left"),
    ],
)
def test_side_words_swap(text: str, expected: str) -> None:
    assert flip(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # previous word is/are/it's/isn't/aren't/not/be: "right" means correct/directly
        ("the hand is right above the head", "the hand is right above the head"),
        ("hands are right there, left foot forward", "hands are right there, right foot forward"),
        ("it's right", "it's right"),
        ("It’s right", "It’s right"),
        ("that isn't right", "that isn't right"),
        ("they aren't right", "they aren't right"),
        ("not right", "not right"),
        ("should be right in front", "should be right in front"),
        # next word angle(s)
        ("a right angle at the left elbow", "a right angle at the right elbow"),
        ("two right angles", "two right angles"),
        # next word a preposition and no determiner before
        ("right above the head", "right above the head"),
        ("hands right behind the back", "hands right behind the back"),
        ("feet right next to each other", "feet right next to each other"),
        ("right at the hip", "right at the hip"),
        ("right between the knees", "right between the knees"),
        # ... unless a determiner precedes "right"
        ("the right above", "the left above"),
        ("your right in front", "your left in front"),
        ("their right behind", "their left behind"),
        ("his right across", "his left across"),
        ("an right by", "an left by"),
        # punctuation between "right" and the preposition breaks the rule
        ("lean right, above all", "lean left, above all"),
        # prepositions not in the list do not trigger it
        ("turn right towards the wall", "turn left towards the wall"),
        ("right knee", "left knee"),
    ],
)
def test_right_exceptions(text: str, expected: str) -> None:
    assert flip(text) == expected


def test_left_has_no_exceptions() -> None:
    assert flip("the hand is left above the head") == "the hand is right above the head"
    assert flip("left angle") == "right angle"


@pytest.mark.parametrize("text", ["at three o'clock", "like a clock hand", "along the x-axis", "O'CLOCK", "o’clock"])
def test_not_flippable(text: str) -> None:
    assert not is_flippable(text)
    assert flip(text) is None


def test_clockwise_substring_does_not_block() -> None:
    assert is_flippable("rotate clockwise")
    assert is_flippable("a clockwork toy")


def test_clockwise_to_counter_variants_seeded() -> None:
    outputs = {flip("rotate clockwise to the right", seed) for seed in range(60)}
    assert outputs == {f"rotate {word} to the left" for word in COUNTER_CLOCKWISE}
    assert flip("turn clockwise", 5) == flip("turn clockwise", 5)


@pytest.mark.parametrize("word", COUNTER_CLOCKWISE)
def test_counter_variants_to_clockwise(word: str) -> None:
    assert flip(f"spin {word}") == "spin clockwise"
    assert flip(f"Spin {word.capitalize()}.") == "Spin Clockwise."


def test_swap_table_is_an_involution() -> None:
    assert all(SIDE_SWAPS[SIDE_SWAPS[w]] == w for w in SIDE_SWAPS)
    assert all(("right" in w) != ("right" in SIDE_SWAPS[w]) for w in SIDE_SWAPS)


def test_compounds_outside_the_table_stay() -> None:
    assert flip("upper-left corner, rightmost") == "upper-left corner, rightmost"
    assert flip("outright") == "outright"


def test_layout_and_punctuation_kept() -> None:
    text = "  The LEFT knee  is bent;\nthe right one (straight) is right\tbelow it!  "
    assert flip(text) == "  The RIGHT knee  is bent;\nthe left one (straight) is right\tbelow it!  "


def test_double_flip_restores_side_words() -> None:
    text = "Bend the left knee, raise your right arm rightwards and look to the top-left."
    once = flip(text)
    assert once == "Bend the right knee, raise your left arm leftwards and look to the top-right."
    assert flip(once) == text


def test_empty_and_unrelated_text() -> None:
    assert flip("") == ""
    assert flip("Sit down with straight arms.") == "Sit down with straight arms."


def test_rng_only_used_for_clockwise() -> None:
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    flip_text("left right leftwards", rng)
    assert rng.bit_generator.state == state
    flip_text("clockwise and clockwise", rng)
    assert rng.bit_generator.state != state
