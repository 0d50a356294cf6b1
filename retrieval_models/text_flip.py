"""Left/right flipping of pose descriptions, the text half of the mirror augmentation.

Rules follow PoseScript's ``data_augmentations.py`` (docs/peers.md#posescript-retrieval-training),
applied at word level before tokenisation (equivalent to PoseScript's subword-id scheme):

* a text containing the word ``o'clock``, ``clock`` or ``x-axis`` is not flippable (its meaning is
  tied to an absolute frame), so :func:`flip_text` returns None for it;
* side words are swapped both ways (``right`` <-> ``left``, ``rightward(s)``, ``right-hand``, ...,
  ``top-right`` <-> ``top-left``); ``clockwise`` becomes one of the four counter-clockwise
  spellings, chosen with the caller's generator, and each of those becomes ``clockwise``;
* the word ``right`` stays when it does not mean a side: after ``is/are/it's/isn't/aren't/not/be``,
  before ``angle(s)``, and before a preposition (``above``, ``behind``, ...) unless a determiner
  (``the``, ``your``, ...) precedes it ("right above the head" stays, "the right above" flips).

A "word" is a run of letters/digits joined by inner hyphens or apostrophes (``right-hand``,
``it's``, ``counter-clockwise``); every other non-space character is a token of its own, so
"right, above" does not trigger the preposition rule. Matching is case-insensitive; replacements
copy the case pattern of the word they replace (``Right`` -> ``Left``, ``RIGHT`` -> ``LEFT``).
Compounds not in the table (``upper-left``) are left as they are, like PoseScript does.

>>> import numpy as np
>>> flip_text("The right hand is right above the left knee.", np.random.default_rng(0))
'The left hand is right above the right knee.'
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["flip_text", "is_flippable", "mentions_side", "SIDE_SWAPS", "COUNTER_CLOCKWISE"]

_PAIRS = [
    ("right", "left"),
    ("rightward", "leftward"),
    ("rightwards", "leftwards"),
    ("right-hand", "left-hand"),
    ("right-handed", "left-handed"),
    ("righthand", "lefthand"),
    ("right-facing", "left-facing"),
    ("right-side", "left-side"),
    ("right-looking", "left-looking"),
    ("right-most", "left-most"),
    ("rightwardly", "leftwardly"),
    ("rights", "lefts"),
    ("backward-right", "backward-left"),
    ("front-right", "front-left"),
    ("top-right", "top-left"),
]

SIDE_SWAPS: dict[str, str] = {**dict(_PAIRS), **{b: a for a, b in _PAIRS}}
"""Lower-case word -> its mirror word, both directions."""

COUNTER_CLOCKWISE = ("counterclockwise", "anticlockwise", "counter-clockwise", "anti-clockwise")
"""The spellings ``clockwise`` may become; each of them becomes ``clockwise``."""

_NOT_FLIPPABLE = frozenset({"o'clock", "clock", "x-axis"})
_RIGHT_KEPT_AFTER = frozenset({"is", "are", "it's", "isn't", "aren't", "not", "be"})
_RIGHT_KEPT_BEFORE = frozenset({"angle", "angles"})
_PREPOSITIONS = frozenset(
    {"about", "before", "after", "off", "between", "behind", "in", "under", "next", "below", "above",
     "across", "away", "near", "by", "at"}
)
_DETERMINERS = frozenset({"your", "their", "his", "her", "the", "a", "an", "this", "these", "those"})

_TOKEN = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*|\S")


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def _norm(word: str) -> str:
    return word.lower().replace("’", "'")


def is_flippable(text: str) -> bool:
    """False when the text mentions a clock or the x-axis (an absolute frame a mirror would break)."""
    return not any(_norm(m.group()) in _NOT_FLIPPABLE for m in _tokens(text))


def _keeps_right(words: list[str], i: int) -> bool:
    """Whether ``words[i] == "right"`` means "directly"/"correct" rather than a side."""
    prev = words[i - 1] if i > 0 else None
    nxt = words[i + 1] if i + 1 < len(words) else None
    if prev in _RIGHT_KEPT_AFTER or nxt in _RIGHT_KEPT_BEFORE:
        return True
    return nxt in _PREPOSITIONS and prev not in _DETERMINERS


def _is_side_word(words: list[str], i: int) -> bool:
    """Whether ``words[i]`` (normalised) is a side word that :func:`flip_text` swaps."""
    return words[i] in SIDE_SWAPS and not (words[i] == "right" and _keeps_right(words, i))


def mentions_side(text: str) -> bool:
    """Whether ``text`` holds a left/right side word that :func:`flip_text` would swap.

    ``clockwise`` and its counter-clockwise spellings do not count, nor does a ``right`` that means
    "directly" or "correct". The text may still be unflippable (see :func:`is_flippable`).

    >>> mentions_side("The right hand is raised."), mentions_side("The hand is right above the head.")
    (True, False)
    """
    words = [_norm(m.group()) for m in _tokens(text)]
    return any(_is_side_word(words, i) for i in range(len(words)))


def _match_case(template: str, word: str) -> str:
    """``word`` in the case pattern of ``template``, hyphen-separated part by part when they align."""
    old_parts, new_parts = template.split("-"), word.split("-")
    if len(old_parts) != len(new_parts):
        old_parts, new_parts = [template], [word]
    out = []
    for old, new in zip(old_parts, new_parts):
        if len(old) > 1 and old.isupper():
            out.append(new.upper())
        elif old[:1].isupper():
            out.append(new[:1].upper() + new[1:])
        else:
            out.append(new)
    return "-".join(out)


def flip_text(text: str, rng: np.random.Generator) -> str | None:
    """The description of the mirrored pose, or None when ``text`` is not flippable.

    Args:
        text: a pose description or a pose-pair instruction.
        rng: draws the counter-clockwise spelling (one ``integers`` call per ``clockwise``).

    Returns:
        ``text`` with side words swapped; spacing and punctuation are kept as they were.
    """
    matches = _tokens(text)
    words = [_norm(m.group()) for m in matches]
    if any(w in _NOT_FLIPPABLE for w in words):
        return None
    pieces: list[str] = []
    last = 0
    for i, (match, word) in enumerate(zip(matches, words)):
        if word == "clockwise":
            new = COUNTER_CLOCKWISE[int(rng.integers(len(COUNTER_CLOCKWISE)))]
        elif word in COUNTER_CLOCKWISE:
            new = "clockwise"
        elif _is_side_word(words, i):
            new = SIDE_SWAPS[word]
        else:
            continue
        pieces.append(text[last : match.start()])
        pieces.append(_match_case(match.group(), new))
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)
