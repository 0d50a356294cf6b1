"""Automatic pose captions from posecodes, the PoseScript way
(docs/peers.md#posescript-posecode-selection-and-text).

For each pose: posecodes with noise → selection (rare codes kept, others skipped with probability
0.15, at most :data:`MAX_CODES`) → optional ripple effects → aggregation (entity, symmetry, side
reversal, interpretation/subject) → random kinematic-tree order → templates, determiners and
transitions → post-processing. Captions of one pose come in several versions, after PoseScript's
V2 set:

* ``N7`` skip + transitive and statistical ripple effects;
* ``N6`` skip + a leading sentence naming the activity of the pose's archetype;
* ``N2`` skip + simplified (no aggregation, no implicit objects).

Left and right are the body's own (its left is +x).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bench.data.synth.text.posecode_activities import activity_phrases
from bench.data.synth.text.posecode_aggregation import (
    Code,
    Phrase,
    aggregate_entities,
    aggregate_symmetry,
    group_phrases,
    kinematic_order,
    reverse_sides,
)
from bench.data.synth.text.posecode_defs import POSECODES, SUPER_POSECODES
from bench.data.synth.text.posecode_joints import pose_joints
from bench.data.synth.text.posecode_render import (
    choose,
    choose_weighted,
    join_list,
    part_phrase,
    postprocess,
    realize,
)
from bench.data.synth.text.posecode_ripple import apply_ripples
from bench.data.synth.text.posecode_templates import (
    ACTIVITY_SENTENCES,
    BODY_SUBJECTS,
    CAPTION_TEMPLATES,
    IMPLICIT_OBJECT,
)
from bench.data.synth.text.posecodes import POSE_TABLE, posecodes_from_joints
from bench.errors import DataError

logger = logging.getLogger(__name__)

#: Probability of dropping a non-rare code (PoseScript's PROP_SKIP_POSECODES).
SKIP_PROBABILITY = 0.15
#: Most codes kept per caption (rare codes first); keeps captions readable and distinctive.
MAX_CODES = 12
#: Probability of each aggregation step.
AGGREGATION_PROBABILITY = 0.95
DETERMINERS = ("the", "their", "his", "her")
DETERMINER_PROBS = (0.5, 0.3, 0.1, 0.1)
TRANSITIONS = (" while ", ", ", ". ", " and ", " with ")
_SYMMETRIC_OPS = frozenset({"distance"})
_BE_PREFIX = "{s} {be} "


@dataclass(frozen=True)
class CaptionVersion:
    """Flags of one caption version."""

    name: str
    ripple: bool
    activity: bool
    simplified: bool


VERSIONS: tuple[CaptionVersion, ...] = (
    CaptionVersion("N7", ripple=True, activity=False, simplified=False),
    CaptionVersion("N6", ripple=False, activity=True, simplified=False),
    CaptionVersion("N2", ripple=False, activity=False, simplified=True),
)


def select_codes(categories: np.ndarray, eligibility: np.ndarray, supers: np.ndarray, rng: np.random.Generator,
                 *, ripple: bool, max_codes: int = MAX_CODES, absolute_only: np.ndarray | None = None) -> list[Code]:
    """The codes one text describes for one pose.

    Args:
        categories, eligibility: int8 (K,) one pose's posecodes.
        supers: bool (S,) produced super-posecodes.
        rng: draws the skips and the cap.
        ripple: apply the transitive and statistical ripple effects.
        max_codes: cap (rare codes are kept first).
        absolute_only: bool (K,) when given, only these posecodes (and absolute super-posecodes)
            are candidates (pose-B codes of an instruction).
    """
    cols = np.flatnonzero(eligibility if absolute_only is None else eligibility * absolute_only)
    items = [(int(k), int(categories[k]), int(eligibility[k])) for k in cols]
    if ripple:
        items = apply_ripples(items, categories)
    for s in np.flatnonzero(supers):
        spec = SUPER_POSECODES[s]
        if absolute_only is None or spec.absolute:
            items.append((-1 - int(s), 0, 2 if spec.rare else 1))
    if not items:
        return []
    keep = [it for it, u in zip(items, rng.random(len(items)), strict=True) if it[2] == 2 or u >= SKIP_PROBABILITY]
    if not keep:
        keep = items
    if len(keep) > max_codes:
        rare = [it for it in keep if it[2] == 2]
        rest = [it for it in keep if it[2] != 2]
        order = rng.permutation(len(rest))
        rare = [rare[i] for i in sorted(rng.permutation(len(rare))[:max_codes])]
        keep = rare + [rest[i] for i in sorted(order[: max(0, max_codes - len(rare))])]
    return [_to_code(k, c) for k, c, _ in keep]


def _to_code(k: int, category: int) -> Code:
    if k < 0:
        spec = SUPER_POSECODES[-1 - k]
        other = spec.other or (None, None)
        return Code(spec.operator, spec.interp, spec.subject[0], spec.subject[1], other[0], other[1])
    spec = POSECODES[k]
    other = spec.other or (None, None)
    return Code(spec.operator, POSE_TABLE.category_name(k, category), spec.subject[0], spec.subject[1],
                other[0], other[1])


def aggregate(codes: list[Code], rng: np.random.Generator, simplified: bool) -> list[Phrase]:
    """Caption aggregation (PoseScript's steps 1, 2, 4, 5: entity, symmetry, side reversal,
    interpretation/subject grouping) and kinematic ordering."""
    if not simplified:
        codes = aggregate_entities(codes, rng, AGGREGATION_PROBABILITY)
        codes = aggregate_symmetry(codes, rng, AGGREGATION_PROBABILITY)
    codes = reverse_sides(codes, rng, _SYMMETRIC_OPS)
    if simplified:
        phrases = [Phrase.of(c) for c in codes]
    else:
        phrases = group_phrases(codes, rng, AGGREGATION_PROBABILITY)
    return kinematic_order(phrases, rng)


class _Voice:
    """Determiner and subject style chosen once per caption."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.det = choose_weighted(rng, DETERMINERS, DETERMINER_PROBS)
        self.style = self.det if self.det in ("his", "her") else "neutral"

    def body(self, rng: np.random.Generator, start: bool) -> tuple[str, bool]:
        word = choose(rng, BODY_SUBJECTS[self.style]["start" if start else "mid"])
        return word, word.lower() == "they"

    def part(self, side: str | None, part: str, rng: np.random.Generator) -> tuple[str, bool]:
        return part_phrase(side, part, self.det, rng)


def _implicit_key(op: str, interp: str, side1: str | None, side2: str | None, part2: str) -> tuple[str, str, str]:
    if op == "relposX" and side1 == side2 and side1 in ("left", "right"):
        direction = interp[3:]  # at_left -> left
        return op, ("outward" if direction == side1 else "across"), part2
    return op, interp, part2


def _template(op: str, interp: str, side1: str | None, side2: str | None, part2: str | None,
              rng: np.random.Generator, simplified: bool) -> tuple[str, bool]:
    """A template for a predicate and whether it takes an object."""
    if part2 is not None and not simplified:
        implicit = IMPLICIT_OBJECT.get(_implicit_key(op, interp, side1, side2, part2))
        if implicit and rng.random() < 0.5:
            return choose(rng, implicit).replace("{dir}", interp[3:]), False
    entry = CAPTION_TEMPLATES[(op, interp)]
    if part2 is not None and entry["two"]:
        return choose(rng, entry["two"]), True
    return choose(rng, entry["one"] or entry["two"]), part2 is not None


def _object(subject: tuple[str | None, str], side2: str | None, part2: str, voice: _Voice,
            rng: np.random.Generator) -> str:
    side1, part1 = subject
    if part1 == part2 and {side1, side2} == {"left", "right"}:
        u = rng.random()
        if u < 0.2:
            return "the other"
        if u < 0.4:
            return f"the {side2} one" if u < 0.3 else "the other one"
    return voice.part(side2, part2, rng)[0]


def render_phrase(phrase: Phrase, voice: _Voice, mode: str, start: bool, rng: np.random.Generator,
                  simplified: bool) -> str:
    """One clause: subjects, then each predicate (later ones chained with "and")."""
    nps = []
    plural = len(phrase.subjects) > 1
    for side, part in phrase.subjects:
        if part == "body":
            text, pl = voice.body(rng, start and not nps)
        else:
            text, pl = voice.part(side, part, rng)
        nps.append(text)
        plural = plural or pl
    subject = join_list(nps)
    clauses = []
    chained_be = False
    for i, pred in enumerate(phrase.predicates):
        side1 = phrase.subjects[0][0] if len(phrase.subjects) == 1 else None
        template, takes_object = _template(pred.op, pred.interp, side1, pred.side2, pred.part2, rng, simplified)
        obj = _object(phrase.subjects[0], pred.side2, pred.part2, voice, rng) if takes_object else ""
        if i == 0:
            clauses.append(realize(template, s=subject, o=obj, plural=plural, mode=mode))
            chained_be = template.startswith(_BE_PREFIX)
        elif chained_be and template.startswith(_BE_PREFIX):
            clauses.append(realize(template[len(_BE_PREFIX):], o=obj, plural=plural, mode=mode))
        else:
            pronoun = "they" if plural else "it"
            clauses.append(realize(template, s=pronoun, o=obj, plural=plural, mode=mode))
    return join_list(clauses)


def render_caption(phrases: list[Phrase], rng: np.random.Generator, *, simplified: bool,
                   activity: str | None = None) -> str:
    """Join the phrases into a caption, with an optional leading activity sentence."""
    voice = _Voice(rng)
    parts: list[str] = []
    if activity is not None:
        subject, plural = voice.body(rng, start=True)
        sentence = choose(rng, ACTIVITY_SENTENCES).replace("{a}", activity)
        parts.append(realize(sentence, s=subject, plural=plural) + " ")
    mode, previous = "ind", ""
    for i, phrase in enumerate(phrases):
        transition = "" if i == 0 else choose(rng, TRANSITIONS)
        if transition == previous and transition in (" with ", " while "):
            transition = choose(rng, (", ", ". ", " and "))
        previous = transition
        if transition == " with ":
            mode = "with"
        elif transition != " and ":
            mode = "ind"
        start = i == 0 or transition == ". "
        parts.append(transition + render_phrase(phrase, voice, mode, start, rng, simplified))
    return postprocess("".join(parts))


def caption_from_codes(categories: np.ndarray, eligibility: np.ndarray, supers: np.ndarray,
                       archetype: str | None, version: CaptionVersion, rng: np.random.Generator) -> str:
    """One caption of one pose in one version (knee and elbow angles are always eligible, so there
    is always something to say)."""
    codes = select_codes(categories, eligibility, supers, rng, ripple=version.ripple)
    phrases = aggregate(codes, rng, version.simplified)
    activity = None
    if version.activity and archetype is not None:
        activity = choose(rng, activity_phrases(archetype))
    return render_caption(phrases, rng, simplified=version.simplified, activity=activity)


def caption_poses(poses: np.ndarray, archetypes: list[str] | None, rng: np.random.Generator,
                  n_captions: int = 3) -> list[list[str]]:
    """Automatic captions for a batch of poses.

    Args:
        poses: float32 (N, 22, 3) axis-angle poses (SMPL order, y up, heading-normalised).
        archetypes: N archetype names (their activity may be named in ``N6`` captions), or None.
        rng: the only source of randomness (noise, skips, aggregation, wording).
        n_captions: captions per pose, versions ``N7, N6, N2`` in turn.

    Returns:
        N lists of ``n_captions`` strings. Each caption draws its own posecode noise.
    """
    poses = np.asarray(poses, dtype=np.float32)
    if archetypes is not None and len(archetypes) != len(poses):
        raise DataError(f"{len(archetypes)} archetypes for {len(poses)} poses", field="archetypes")
    if n_captions < 1:
        raise DataError(f"n_captions must be >= 1, got {n_captions}", field="n_captions")
    joints = pose_joints(poses)
    out: list[list[str]] = [[] for _ in range(len(poses))]
    for c in range(n_captions):
        version = VERSIONS[c % len(VERSIONS)]
        codes = posecodes_from_joints(joints, rng)
        for i in range(len(poses)):
            arch = archetypes[i] if archetypes is not None else None
            out[i].append(caption_from_codes(codes.categories[i], codes.eligibility[i], codes.supers[i], arch,
                                             version, rng))
    return out
