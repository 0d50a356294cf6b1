"""Surface realisation shared by captions and instructions: verb forms, noun phrases, template
filling and post-processing.

Templates are plain strings with placeholders:

* ``{s}`` the subject noun phrase, ``{o}`` the object noun phrase;
* ``{be}`` and ``{have}``, and ``{v:verb}`` for any other verb (base form), conjugated by the mode:

  ===========  ===================  ========================  ==========================
  mode         ``{be}``             ``{v:touch}``             used for
  ===========  ===================  ========================  ==========================
  ``ind``      is / are             touches / touch           captions
  ``with``     (dropped)            touching                  captions after " with "
  ``imp``      be                   touch                     instructions
  ``ger``      being                touching                  instructions after " while "
  ``should``   should be            should touch              pose-B codes in instructions
  ``must``     must be              must touch                idem
  ``need``     needs/need to be     needs/need to touch       idem
  ===========  ===================  ========================  ==========================
"""

from __future__ import annotations

import re

import numpy as np

from bench.errors import InternalError

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_DOUBLE_FINAL = frozenset({"put", "get", "sit", "set", "step", "drop"})
_SPACES = re.compile(r"\s+")
_SPACE_PUNCT = re.compile(r"\s+([,.])")
_DOUBLE_PUNCT = re.compile(r"([,.])(\s*[,.])+")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])")
_COMPOUNDS = {"upperarm": "upper arm", "lowerleg": "lower leg", "upperback": "upper back", "lowerback": "lower back"}
_PLURALS = {"foot": "feet"}

def gerund(verb: str) -> str:
    """``touch`` → ``touching``, ``move`` → ``moving``, ``put`` → ``putting``."""
    if verb == "be":
        return "being"
    if verb in _DOUBLE_FINAL:
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


def third_person(verb: str) -> str:
    """``touch`` → ``touches``, ``rest`` → ``rests``, ``have`` → ``has``, ``be`` → ``is``."""
    if verb == "be":
        return "is"
    if verb == "have":
        return "has"
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    return verb + "s"


def conjugate(verb: str, plural: bool, mode: str) -> str:
    """The form of ``verb`` (base form) for a subject of the given number in ``mode``."""
    if mode == "ind":
        if verb == "be":
            return "are" if plural else "is"
        return verb if plural else third_person(verb)
    if mode == "with":
        return "" if verb == "be" else gerund(verb)
    if mode == "imp":
        return verb
    if mode == "ger":
        return gerund(verb)
    if mode in ("should", "must"):
        return f"{mode} {verb}"
    if mode == "need":
        return f"{'need' if plural else 'needs'} to {verb}"
    raise InternalError(f"unknown verb mode {mode!r}")


def realize(template: str, *, s: str = "", o: str = "", plural: bool = False, mode: str = "ind") -> str:
    """Fill a template (see the module docstring)."""

    def sub(m: re.Match[str]) -> str:
        name, verb = m.group(1), m.group(2)
        if name == "s":
            return s
        if name == "o":
            return o
        if name in ("be", "have"):
            return conjugate(name, plural, mode)
        if name == "v" and verb:
            return conjugate(verb, plural, mode)
        raise InternalError(f"unknown placeholder {m.group(0)!r} in {template!r}")

    return _PLACEHOLDER.sub(sub, template)


def plural_noun(part: str) -> str:
    """``hand`` → ``hands``, ``foot`` → ``feet``."""
    return _PLURALS.get(part, part + "s")


def choose(rng: np.random.Generator, options: list[str] | tuple[str, ...]) -> str:
    """One option, uniformly (``rng.random()`` is several times faster than ``rng.integers``)."""
    return options[min(int(rng.random() * len(options)), len(options) - 1)]


def choose_weighted(rng: np.random.Generator, options: tuple[str, ...], probs: tuple[float, ...]) -> str:
    """One option with the given probabilities (which sum to 1)."""
    u, total = rng.random(), 0.0
    for option, p in zip(options, probs, strict=True):
        total += p
        if u < total:
            return option
    return options[-1]


def part_phrase(side: str | None, part: str, det: str, rng: np.random.Generator) -> tuple[str, bool]:
    """Noun phrase for a body part and whether it is plural.

    ``side`` is "left", "right", None (un-sided part such as the torso) or "both" (the pair).
    """
    if side == "both":
        pl = plural_noun(part)
        return (f"both {pl}" if rng.random() < 0.3 else f"{det} {pl}"), True
    if side is None:
        return f"{det} {part}", False
    return f"{det} {side} {part}", False


def join_list(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def postprocess(text: str) -> str:
    """Collapse spaces, split compound words, fix punctuation, capitalise sentence starts and end
    with a full stop."""
    for compound, words in _COMPOUNDS.items():
        text = text.replace(compound, words)
    text = _SPACES.sub(" ", text).strip()
    text = _SPACE_PUNCT.sub(r"\1", text)
    text = _DOUBLE_PUNCT.sub(r"\1", text)
    if text and text[-1] not in ".!?":
        text += "."
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)
