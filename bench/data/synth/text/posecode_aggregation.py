"""Aggregation and ordering of codes before they become text, after PoseScript and PoseFix
(docs/peers.md#posescript-posecode-selection-and-text, docs/peers.md#posefix-instruction-pipeline).

Captions (posecodes) and instructions (paircodes) share this machinery; they differ only in how two
interpretations count as "the same" for entity aggregation (identical category for posecodes, same
direction for paircodes) and in which operators are kept out of the interpretation/subject
grouping.

A :class:`Code` is one described fact about one or two body parts; aggregation turns a list of
codes into :class:`Phrase` s (several subjects sharing one predicate, or one subject with several
predicates), and :func:`kinematic_order` orders phrases by a random depth-first walk over the body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Part = tuple[str | None, str]


class Code(NamedTuple):
    """One fact: ``op`` (template family) and ``interp`` (category) about part 1, maybe vs part 2.

    Sides are "left", "right", None (un-sided) or "both" (a symmetric pair)."""

    op: str
    interp: str
    side1: str | None
    part1: str
    side2: str | None = None
    part2: str | None = None


class Predicate(NamedTuple):
    op: str
    interp: str
    side2: str | None
    part2: str | None


class Phrase(NamedTuple):
    """What one clause says: every subject takes every predicate."""

    subjects: tuple[Part, ...]
    predicates: tuple[Predicate, ...]

    @staticmethod
    def of(code: Code) -> Phrase:
        return Phrase(((code.side1, code.part1),), (Predicate(code.op, code.interp, code.side2, code.part2),))


#: Pairs of parts that make up a larger entity (PoseScript's aggregation step 1; its later additions,
#: such as belly + chest, join parts that these codes never name).
ENTITIES: dict[frozenset[str], str] = {
    frozenset(("wrist", "elbow")): "arm",
    frozenset(("hand", "elbow")): "arm",
    frozenset(("forearm", "upperarm")): "arm",
    frozenset(("ankle", "knee")): "leg",
    frozenset(("foot", "knee")): "leg",
    frozenset(("shin", "thigh")): "leg",
}

#: Order relations and their opposites (side reversal, transitive ripple).
OPPOSITE: dict[str, str] = {"above": "below", "below": "above", "front": "behind", "behind": "front",
                            "at_left": "at_right", "at_right": "at_left"}

SameInterp = Callable[[str, str, str], bool]
MergeInterp = Callable[[str, str, str], str]


def _identical(op: str, a: str, b: str) -> bool:
    return a == b


def _first(op: str, a: str, b: str) -> str:
    return a


def aggregate_entities(codes: list[Code], rng: np.random.Generator, prob: float = 0.95,
                       same: SameInterp = _identical, merge: MergeInterp = _first) -> list[Code]:
    """Merge two codes whose subjects form an entity (left elbow + left hand → left arm) and whose
    second parts are equal or also form an entity; each merge happens with probability ``prob``."""
    codes = list(codes)
    i = 0
    while i < len(codes):
        a = codes[i]
        for j in range(i + 1, len(codes)):
            b = codes[j]
            if a.op != b.op or a.side1 != b.side1 or a.side2 != b.side2 or not same(a.op, a.interp, b.interp):
                continue
            entity = ENTITIES.get(frozenset((a.part1, b.part1)))
            if entity is None:
                continue
            if a.part2 == b.part2:
                part2 = a.part2
            elif a.part2 is not None and b.part2 is not None and frozenset((a.part2, b.part2)) in ENTITIES:
                part2 = ENTITIES[frozenset((a.part2, b.part2))]
            else:
                continue
            if rng.random() < prob:
                codes[i] = a = Code(a.op, merge(a.op, a.interp, b.interp), a.side1, entity, a.side2, part2)
                del codes[j]
                break
        else:
            i += 1
            continue
    return codes


def aggregate_symmetry(codes: list[Code], rng: np.random.Generator, prob: float = 0.95) -> list[Code]:
    """Merge left/right twins (same operator, part, interpretation and second part) into one code
    about both sides ("the hands"); differing second sides become "both" as well."""
    codes = list(codes)
    i = 0
    while i < len(codes):
        a = codes[i]
        merged = False
        if a.side1 in ("left", "right"):
            for j in range(i + 1, len(codes)):
                b = codes[j]
                if (b.side1 in ("left", "right") and b.side1 != a.side1 and a.op == b.op and a.part1 == b.part1
                        and a.interp == b.interp and a.part2 == b.part2 and rng.random() < prob):
                    side2 = a.side2 if a.side2 == b.side2 else "both"
                    codes[i] = Code(a.op, a.interp, "both", a.part1, side2, a.part2)
                    del codes[j]
                    merged = True
                    break
        if not merged:
            i += 1
    return codes


def reverse_sides(codes: list[Code], rng: np.random.Generator, symmetric_ops: frozenset[str]) -> list[Code]:
    """For codes relating the two sides of the same part (left hand vs right hand): swap the sides
    and take the opposite relation with probability 0.5; for the symmetric operators (distances),
    use a single plural subject ("the hands are close") with probability 0.5."""
    out = []
    for c in codes:
        if c.part1 == c.part2 and {c.side1, c.side2} == {"left", "right"}:
            if c.op in symmetric_ops:
                if rng.random() < 0.5:
                    c = Code(c.op, c.interp, "both", c.part1)
            elif c.interp in OPPOSITE and rng.random() < 0.5:
                c = Code(c.op, OPPOSITE[c.interp], c.side2, c.part2, c.side1, c.part1)
        out.append(c)
    return out


def group_phrases(codes: list[Code], rng: np.random.Generator, prob: float = 0.95,
                  exclude_ops: frozenset[str] = frozenset()) -> list[Phrase]:
    """Interpretation-based (several subjects, one predicate) and subject-based (one subject,
    several predicates) aggregation. Groups are tried in random order, each code is used once and
    each group is applied with probability ``prob``; leftover codes become one-code phrases."""
    by_interp: dict[tuple, list[int]] = {}
    by_subject: dict[tuple, list[int]] = {}
    for k, c in enumerate(codes):
        if c.op in exclude_ops:
            continue
        by_interp.setdefault((c.op, c.interp, c.side2, c.part2), []).append(k)
        by_subject.setdefault((c.side1, c.part1), []).append(k)
    groups = [("interp", m) for m in by_interp.values() if len(m) > 1]
    groups += [("subject", m) for m in by_subject.values() if len(m) > 1]
    order = rng.permutation(len(groups)) if groups else []
    used: set[int] = set()
    phrases: list[tuple[int, Phrase]] = []
    for g in order:
        kind, members = groups[g]
        free = [k for k in members if k not in used]
        if len(free) < 2 or rng.random() >= prob:
            continue
        used.update(free)
        if kind == "interp":
            c = codes[free[0]]
            subjects = tuple((codes[k].side1, codes[k].part1) for k in free)
            phrases.append((free[0], Phrase(subjects, (Predicate(c.op, c.interp, c.side2, c.part2),))))
        else:
            c = codes[free[0]]
            preds = tuple(Predicate(codes[k].op, codes[k].interp, codes[k].side2, codes[k].part2) for k in free)
            phrases.append((free[0], Phrase(((c.side1, c.part1),), preds)))
    phrases += [(k, Phrase.of(c)) for k, c in enumerate(codes) if k not in used]
    phrases.sort(key=lambda kp: kp[0])
    return [p for _, p in phrases]


def _tree() -> dict[str, list[str]]:
    tree = {"body": ["neck", "torso"], "neck": ["head"],
            "torso": ["pelvis", "left_shoulder", "right_shoulder", "left_hip", "right_hip"]}
    for s in ("left", "right"):
        arm = ["shoulder", "arm", "upperarm", "elbow", "forearm", "wrist", "hand"]
        leg = ["hip", "leg", "thigh", "knee", "shin", "ankle", "foot"]
        for chain in (arm, leg):
            for parent, child in zip(chain, chain[1:], strict=False):
                tree[f"{s}_{parent}"] = [f"{s}_{child}"]
    return tree


KINEMATIC_TREE: dict[str, list[str]] = _tree()


def _flat_subtrees() -> dict[str, list[str]]:
    """Depth-first node lists of the subtrees that never branch (their walk order is fixed)."""
    flat: dict[str, list[str]] = {}

    def visit(node: str) -> list[str] | None:
        children = KINEMATIC_TREE.get(node, [])
        below = [visit(child) for child in children]
        if len(children) <= 1 and all(b is not None for b in below):
            flat[node] = [node] + [n for b in below for n in b]  # type: ignore[union-attr]
            return flat[node]
        return None

    visit("body")
    return flat


_FLAT_SUBTREES = _flat_subtrees()


def walk_ranks(rng: np.random.Generator) -> dict[str, int]:
    """Rank of each body node in a random depth-first walk from "body" (children shuffled)."""
    order: list[str] = []

    def visit(node: str) -> None:
        if node in _FLAT_SUBTREES:
            order.extend(_FLAT_SUBTREES[node])
            return
        order.append(node)
        children = KINEMATIC_TREE[node]
        for i in rng.permutation(len(children)):
            visit(children[i])

    visit("body")
    return {node: i for i, node in enumerate(order)}


def _node_rank(part: Part, ranks: dict[str, int]) -> int:
    side, name = part
    if side == "both":
        return min(ranks.get(f"left_{name}", 0), ranks.get(f"right_{name}", 0))
    return ranks.get(f"{side}_{name}" if side else name, 0)


def kinematic_order(phrases: list[Phrase], rng: np.random.Generator) -> list[Phrase]:
    """Phrases sorted by the walk rank of their first-visited subject (random tie-break)."""
    ranks = walk_ranks(rng)
    ties = rng.random(len(phrases))
    keyed = [(min(_node_rank(p, ranks) for p in ph.subjects), ties[i], i) for i, ph in enumerate(phrases)]
    return [phrases[i] for _, _, i in sorted(keyed)]
