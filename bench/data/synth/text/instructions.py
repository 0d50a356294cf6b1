"""Automatic pair instructions (A → B), the PoseFix way (docs/peers.md#posefix-instruction-pipeline).

For each pair: paircodes and super-paircodes (what changes) → selection (super-paircodes kept, others
skipped with probability 0.15 in the skip versions, largest changes first up to
:data:`MAX_PAIRCODES`) → pose-B posecodes with "absolute" categories that differ from A and concern a
changed body part or one downstream of it (at most :data:`MAX_POSE_B_CODES`) → aggregation (entity by
direction, symmetry, interpretation/subject; distances kept apart) → kinematic order → imperative
templates, "should / must / needs to be" for pose-B states, transitions (" while " switches to the
gerund) → a leading rotation sentence when B's heading differs from A's.

Versions, after PoseFix: ``pfA`` (default), ``pfB`` (random skip), ``pfC`` (skip + simplified).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bench.data.synth.text.captions import render_phrase as render_state_phrase
from bench.data.synth.text.captions import select_codes
from bench.data.synth.text.paircodes import (
    PAIR_TABLE,
    PAIRCODES,
    SUPER_PAIRCODES,
    Paircodes,
    pair_joints,
    paircodes_from_joints,
)
from bench.data.synth.text.posecode_aggregation import (
    KINEMATIC_TREE,
    Code,
    Phrase,
    aggregate_entities,
    aggregate_symmetry,
    group_phrases,
    kinematic_order,
)
from bench.data.synth.text.posecode_defs import POSECODES, SUPER_POSECODES
from bench.data.synth.text.posecode_operators import ROTATION_BINNING, is_ignored
from bench.data.synth.text.posecode_pair_templates import BODY_OBJECTS, PAIR_TEMPLATES, ROTATION_SENTENCES
from bench.data.synth.text.posecode_render import choose, choose_weighted, join_list, part_phrase, postprocess, realize
from bench.data.synth.text.posecodes import POSE_TABLE
from bench.errors import DataError

logger = logging.getLogger(__name__)

SKIP_PROBABILITY = 0.15
MAX_PAIRCODES = 8
MAX_POSE_B_CODES = 3
AGGREGATION_PROBABILITY = 0.95
DETERMINERS = ("the", "your", "their")
DETERMINER_PROBS = (0.3, 0.5, 0.2)
TRANSITIONS = (" while ", ", ", ". ", " and ", " then ")
_NOT_GROUPED = frozenset({"pair_super", "pair_super_torso"})
_STATE_MODES = ("should", "must", "need")


@dataclass(frozen=True)
class InstructionVersion:
    name: str
    skip: bool
    simplified: bool


VERSIONS: tuple[InstructionVersion, ...] = (
    InstructionVersion("pfA", skip=False, simplified=False),
    InstructionVersion("pfB", skip=True, simplified=False),
    InstructionVersion("pfC", skip=True, simplified=True),
)


def _descendants() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}

    def visit(node: str) -> set[str]:
        if node not in out:
            found = {node}
            for child in KINEMATIC_TREE.get(node, []):
                found |= visit(child)
            out[node] = found
        return out[node]

    visit("body")
    return out


_DOWNSTREAM = _descendants()


def _nodes(side: str | None, part: str) -> list[str]:
    if side == "both":
        return [f"left_{part}", f"right_{part}"]
    return [f"{side}_{part}" if side else part]


def _signed_bins(op: str, interp: str) -> int:
    """Bins between ``interp`` and the operator's "ignored" bin (sign = direction); 0 for codes
    without an ordered binning (super-paircodes)."""
    if op not in _FIRST_COLUMN:
        return 0
    cats = PAIR_TABLE.operators[_FIRST_COLUMN[op]].binning.categories
    switch = next(i for i, c in enumerate(cats) if is_ignored(c))
    return cats.index(interp) - switch


def _same_direction(op: str, a: str, b: str) -> bool:
    if op not in _FIRST_COLUMN:
        return a == b
    return bool(np.sign(_signed_bins(op, a)) == np.sign(_signed_bins(op, b)))


def _stronger(op: str, a: str, b: str) -> str:
    return a if abs(_signed_bins(op, a)) >= abs(_signed_bins(op, b)) else b


_FIRST_COLUMN = {spec.operator: k for k, spec in reversed(list(enumerate(PAIRCODES)))}


def select_paircodes(codes: Paircodes, i: int, rng: np.random.Generator, skip: bool) -> list[Code]:
    """The change codes one instruction describes for pair ``i``."""
    items = [(int(k), 2 if codes.eligibility[i, k] == 2 else 1, abs(int(codes.magnitude[i, k])))
             for k in np.flatnonzero(codes.eligibility[i])]
    items += [(-1 - int(s), 2, 9) for s in np.flatnonzero(codes.supers[i])]
    if skip and items:
        kept = [it for it, u in zip(items, rng.random(len(items)), strict=True) if it[1] == 2 or u >= SKIP_PROBABILITY]
        items = kept or items
    ties = rng.random(len(items))
    order = sorted(range(len(items)), key=lambda j: (-items[j][1], -items[j][2], ties[j]))
    out = []
    for j in order[:MAX_PAIRCODES]:
        k = items[j][0]
        if k < 0:
            sp = SUPER_PAIRCODES[-1 - k]
            op = "pair_super_torso" if sp.other is not None else "pair_super"
            other = sp.other or (None, None)
            out.append(Code(op, sp.interp, sp.subject[0], sp.subject[1], other[0], other[1]))
        else:
            spec = PAIRCODES[k]
            out.append(Code(spec.operator, PAIR_TABLE.category_name(k, int(codes.categories[i, k])),
                            spec.subject[0], spec.subject[1]))
    return out


def _subject_matrix(subjects: list[tuple[str | None, str]]) -> np.ndarray:
    """bool (len(subjects), len(_NODE_INDEX)): the body nodes each subject names."""
    out = np.zeros((len(subjects), len(_NODE_INDEX)), dtype=bool)
    for k, subject in enumerate(subjects):
        for node in _nodes(*subject):
            if node in _NODE_INDEX:
                out[k, _NODE_INDEX[node]] = True
    return out


_NODE_INDEX = {node: i for i, node in enumerate(_DOWNSTREAM)}
_POSECODE_NODES = _subject_matrix([s.subject for s in POSECODES])
_SUPER_NODES = _subject_matrix([s.subject for s in SUPER_POSECODES])


def select_pose_b_codes(codes: Paircodes, i: int, changes: list[Code], rng: np.random.Generator,
                        skip: bool) -> list[Code]:
    """Absolute posecodes of B that differ from A, concern a changed part or one downstream, and are
    not already implied by a produced super-paircode."""
    reach = np.zeros(len(_NODE_INDEX), dtype=bool)
    for c in changes:
        for node in _nodes(c.side1, c.part1):
            reach[[_NODE_INDEX[n] for n in _DOWNSTREAM.get(node, ()) if n in _NODE_INDEX]] = True
    a, b = codes.posecodes_a, codes.posecodes_b
    mask = b.absolute[i] & (b.categories[i] != a.categories[i]) & (_POSECODE_NODES @ reach)
    for s in np.flatnonzero(codes.supers[i]):  # states already implied by a super-paircode (support-II)
        if SUPER_PAIRCODES[s].pose == "b":
            mask[POSE_TABLE.index[SUPER_PAIRCODES[s].pose_key]] = False
    supers = b.supers[i] & ~a.supers[i] & (_SUPER_NODES @ reach)
    eligibility = b.eligibility[i] if skip else np.minimum(b.eligibility[i], 1) * 2
    return select_codes(b.categories[i], eligibility, supers, rng, ripple=False, max_codes=MAX_POSE_B_CODES,
                        absolute_only=mask)


def _aggregate(changes: list[Code], states: list[Code], rng: np.random.Generator, simplified: bool) -> list[Phrase]:
    if simplified:
        phrases = [Phrase.of(c) for c in changes]
    else:
        changes = aggregate_entities(changes, rng, AGGREGATION_PROBABILITY, _same_direction, _stronger)
        changes = aggregate_symmetry(changes, rng, AGGREGATION_PROBABILITY)
        phrases = group_phrases(changes, rng, AGGREGATION_PROBABILITY, exclude_ops=_NOT_GROUPED)
    phrases += [Phrase.of(c) for c in states]
    return kinematic_order(phrases, rng)


class _StateVoice:
    """Adapter giving the caption renderer the instruction's determiner."""

    def __init__(self, det: str) -> None:
        self.det = det

    def body(self, rng: np.random.Generator, start: bool) -> tuple[str, bool]:
        return choose(rng, BODY_OBJECTS).format(det=self.det), False

    def part(self, side: str | None, part: str, rng: np.random.Generator) -> tuple[str, bool]:
        return part_phrase(side, part, self.det, rng)


def _render_change(phrase: Phrase, det: str, mode: str, rng: np.random.Generator) -> str:
    nps = []
    plural = len(phrase.subjects) > 1
    for side, part in phrase.subjects:
        if part == "body":
            nps.append(choose(rng, BODY_OBJECTS).format(det=det))
        else:
            text, pl = part_phrase(side, part, det, rng)
            nps.append(text)
            plural = plural or pl
    clauses = []
    for j, pred in enumerate(phrase.predicates):
        template = choose(rng, PAIR_TEMPLATES[(pred.op, pred.interp)])
        obj = join_list(nps) if j == 0 else ("them" if plural else "it")
        clauses.append(realize(template, s=obj, mode=mode))
    return join_list(clauses)


def render_instruction(phrases: list[Phrase], rotation: str, rng: np.random.Generator) -> str:
    """Join phrases into one instruction, after the rotation sentence when the heading changes."""
    det = choose_weighted(rng, DETERMINERS, DETERMINER_PROBS)
    parts = []
    if not is_ignored(rotation):
        parts.append(choose(rng, ROTATION_SENTENCES[rotation]).replace("{them}", " them" if det == "their" else "") + " ")
    mode = "imp"
    for i, phrase in enumerate(phrases):
        transition = "" if i == 0 else choose(rng, TRANSITIONS)
        if transition == " while ":
            mode = "ger"
        elif transition != " and ":
            mode = "imp"
        if phrase.predicates[0].op.startswith("pair_"):
            clause = _render_change(phrase, det, mode, rng)
        else:
            state_mode = "ind" if mode == "ger" else choose(rng, _STATE_MODES)
            clause = render_state_phrase(phrase, _StateVoice(det), state_mode, False, rng, simplified=False)
        parts.append(transition + clause)
    return postprocess("".join(parts))


def instruction_from_codes(codes: Paircodes, i: int, version: InstructionVersion, rng: np.random.Generator) -> str:
    """One instruction for pair ``i`` of ``codes`` in one version."""
    changes = select_paircodes(codes, i, rng, version.skip)
    states = select_pose_b_codes(codes, i, changes, rng, version.skip)
    phrases = _aggregate(changes, states, rng, version.simplified)
    rotation = ROTATION_BINNING.categories[int(codes.rotation[i])]
    if not phrases:
        if is_ignored(rotation):
            return "Keep the pose almost the same, with only small adjustments."
        return render_instruction([], rotation, rng)
    return render_instruction(phrases, rotation, rng)


def instruct_pairs(poses_a: np.ndarray, poses_b: np.ndarray, rng: np.random.Generator, n: int = 3) -> list[list[str]]:
    """Automatic instructions turning each pose A into its pose B.

    Args:
        poses_a: float32 (M, 22, 3) axis-angle, heading-normalised.
        poses_b: float32 (M, 22, 3) axis-angle; for in-sequence pairs expressed in A's heading frame
            (a heading change gives a rotation sentence such as "Turn a quarter to the left.").
        rng: the only source of randomness.
        n: instructions per pair, versions ``pfA, pfB, pfC`` in turn.

    Returns:
        M lists of ``n`` strings.
    """
    if n < 1:
        raise DataError(f"n must be >= 1, got {n}", field="n")
    joints_a, joints_b, rotation_deg = pair_joints(poses_a, poses_b)
    out: list[list[str]] = [[] for _ in range(len(joints_a))]
    for v in range(n):
        version = VERSIONS[v % len(VERSIONS)]
        codes = paircodes_from_joints(joints_a, joints_b, rotation_deg, rng)
        for i in range(len(joints_a)):
            out[i].append(instruction_from_codes(codes, i, version, rng))
    return out
