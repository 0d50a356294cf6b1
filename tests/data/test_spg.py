"""Implicit (situation) descriptions for the spg task."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bench.data.synth.poses.archetypes import ARCHETYPE_NAMES
from bench.data.synth.text.posecode_activities import ACTIVITY_PHRASES
from bench.data.synth.text.spg import SPG_DESCRIPTIONS, implicit_description
from bench.errors import NotFoundError

BODY_WORDS = (
    "arm", "arms", "hand", "hands", "leg", "legs", "knee", "knees", "foot", "feet", "elbow", "elbows", "shoulder",
    "shoulders", "head", "hip", "hips", "torso", "chest", "back", "wrist", "wrists", "ankle", "ankles", "neck",
    "finger", "fingers", "toe", "toes", "thigh", "thighs", "shin", "shins", "heel", "heels", "palm", "palms", "fist",
    "fists", "face", "belly", "stomach", "waist", "spine", "body", "lap", "limb", "limbs", "forearm", "calf", "calves",
)


def test_every_archetype_has_situations_and_activity_phrases() -> None:
    assert set(SPG_DESCRIPTIONS) == set(ARCHETYPE_NAMES)
    assert set(ACTIVITY_PHRASES) == set(ARCHETYPE_NAMES)
    for name, options in SPG_DESCRIPTIONS.items():
        assert len(options) >= 3, name
        assert len(set(options)) == len(options), name


def test_descriptions_name_no_body_part() -> None:
    pattern = re.compile(r"\b(" + "|".join(BODY_WORDS) + r")\b", re.IGNORECASE)
    offending = [(name, d) for name, options in SPG_DESCRIPTIONS.items() for d in options if pattern.search(d)]
    assert offending == []
    assert pattern.search("a person with raised arms")  # the check itself can fire


def test_descriptions_are_unique_across_archetypes() -> None:
    every = [d for options in SPG_DESCRIPTIONS.values() for d in options]
    assert len(every) == len(set(every))


def test_implicit_description_draws_from_the_archetype() -> None:
    drawn = {implicit_description("celebrating", np.random.default_rng(s)) for s in range(30)}
    assert drawn == set(SPG_DESCRIPTIONS["celebrating"])
    assert implicit_description("walking", np.random.default_rng(7)) == implicit_description("walking", np.random.default_rng(7))
    with pytest.raises(NotFoundError, match="did you mean"):
        implicit_description("celebrate", np.random.default_rng(0))
