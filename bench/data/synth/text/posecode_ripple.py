"""Ripple effects: removing posecodes implied by others (PoseScript's aggregation steps 0 and 3,
docs/peers.md#posescript-posecode-selection-and-text).

* Transitive: among order relations on one axis (above/below, front/behind, left/right), when
  a > b and b > c are both said, "a > c" is redundant and dropped.
* Statistical: hand-written implications "A (+ B) ⇒ C", symmetrised left/right; C is dropped when
  the premises hold in the pose's raw (un-skipped) posecodes.

Items are ``(column, category, eligibility)`` triples of one pose (columns of ``POSECODES``).
"""

from __future__ import annotations

import numpy as np

from bench.data.synth.text.posecode_defs import POSECODES
from bench.data.synth.text.posecodes import POSE_TABLE

Item = tuple[int, int, int]

_GREATER = {"above": 1, "front": 1, "at_left": 1, "below": -1, "behind": -1, "at_right": -1}


def _rules() -> list[tuple[tuple[tuple[int, int], ...], tuple[int, int]]]:
    rules = []
    for s in ("left", "right"):
        raw = [
            ([(f"relposY:{s}_wrist-neck", "above")], (f"relposY:{s}_hand-{s}_shoulder", "above")),
            ([(f"vaxis:{s}_hip-{s}_knee", "vertical"), (f"vaxis:{s}_knee-{s}_ankle", "vertical")],
             (f"angle:{s}_hip-{s}_knee-{s}_ankle", "straight")),
            ([(f"vaxis:{s}_shoulder-{s}_elbow", "vertical"), (f"vaxis:{s}_elbow-{s}_wrist", "horizontal")],
             (f"angle:{s}_shoulder-{s}_elbow-{s}_wrist", "right angle")),
            ([(f"vaxis:{s}_hip-{s}_knee", "horizontal"), (f"vaxis:{s}_knee-{s}_ankle", "vertical")],
             (f"angle:{s}_hip-{s}_knee-{s}_ankle", "right angle")),
            ([(f"relposY:{s}_foot-{s}_hip", "above")], (f"vaxis:{s}_hip-{s}_knee", "horizontal")),
        ]
        for premises, conclusion in raw:
            rules.append((tuple(POSE_TABLE.category_index(k, c) for k, c in premises),
                          POSE_TABLE.category_index(*conclusion)))
    return rules


#: (premises, conclusion), each a (column, category) pair.
STAT_RULES = _rules()


def _relation(k: int, category: int) -> tuple[int, tuple, tuple] | None:
    """(axis, greater part, lesser part) of an order relation, or None."""
    spec = POSECODES[k]
    if not spec.operator.startswith("relpos") or spec.other is None:
        return None
    sign = _GREATER.get(POSE_TABLE.category_name(k, category))
    if sign is None:
        return None
    axis = "XYZ".index(spec.operator[-1])
    a, b = (spec.subject, spec.other) if sign > 0 else (spec.other, spec.subject)
    return axis, a, b


def transitive_ripple(items: list[Item]) -> list[Item]:
    """Drop "a > c" when "a > b" and "b > c" are among the items (same axis)."""
    relations = {i: _relation(k, c) for i, (k, c, _) in enumerate(items)}
    edges = {r for r in relations.values() if r is not None}
    drop = set()
    for i, r in relations.items():
        if r is None:
            continue
        axis, a, c = r
        if any((axis, a, b) in edges and (axis, b, c) in edges for (ax, _, b) in edges if ax == axis and b not in (a, c)):
            drop.add(i)
    return [it for i, it in enumerate(items) if i not in drop]


def stat_ripple(items: list[Item], categories: np.ndarray) -> list[Item]:
    """Drop the conclusions of :data:`STAT_RULES` whose premises hold in ``categories`` (K,)."""
    drop = set()
    for premises, conclusion in STAT_RULES:
        if all(categories[k] == c for k, c in premises):
            drop.add(conclusion)
    return [it for it in items if (it[0], it[1]) not in drop]


def apply_ripples(items: list[Item], categories: np.ndarray) -> list[Item]:
    """Both ripple effects, transitive first."""
    return stat_ripple(transitive_ripple(items), categories)
