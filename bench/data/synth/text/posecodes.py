"""Posecodes: categorical descriptions of a pose's geometry, after PoseScript
(docs/peers.md#posescript-posecode-operators, docs/peers.md#posescript-posecode-selection-and-text).

A :class:`CodeTable` compiles a list of code definitions once (joint indices grouped by operator,
padded thresholds, eligibility table) so that a whole batch is measured and binned with a few numpy
calls. The same class evaluates the PoseFix pair codes (:mod:`bench.data.synth.text.paircodes`).

Dimension letters: N poses, E extended joints, K codes, S super-codes, T thresholds, C categories.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bench.data.synth.text.posecode_defs import POSECODES, SUPER_POSECODES, CodeSpec, SuperSpec
from bench.data.synth.text.posecode_joints import JOINT_INDEX, pose_joints
from bench.data.synth.text.posecode_operators import POSE_OPERATORS, Operator, categorize
from bench.errors import InternalError

logger = logging.getLogger(__name__)


class CodeTable:
    """A compiled set of code definitions.

    Args:
        specs: the code definitions, in column order.
        operators: operator name → :class:`Operator` for every ``spec.operator``.
    """

    def __init__(self, specs: tuple[CodeSpec, ...], operators: dict[str, Operator]) -> None:
        self.specs = specs
        self.operators = [operators[s.operator] for s in specs]
        self.index = {s.key: k for k, s in enumerate(specs)}
        self._groups: list[tuple[Operator, np.ndarray, np.ndarray]] = []
        by_op: dict[str, list[int]] = {}
        for k, spec in enumerate(specs):
            by_op.setdefault(spec.operator, []).append(k)
        for name, cols in by_op.items():
            op = operators[name]
            idx = np.array([[JOINT_INDEX[j] for j in specs[k].joints] for k in cols], dtype=np.int64)
            self._groups.append((op, np.asarray(cols), idx.reshape(len(cols), op.arity)))
        n_thr = max(len(op.binning.thresholds) for op in self.operators)
        self.thresholds = np.full((len(specs), n_thr), np.inf)
        self.noise = np.array([op.binning.noise for op in self.operators])
        n_cat = n_thr + 1
        self.eligibility_table = np.zeros((len(specs), n_cat), dtype=np.int8)
        self.absolute_table = np.zeros((len(specs), n_cat), dtype=bool)
        for k, (spec, op) in enumerate(zip(specs, self.operators, strict=True)):
            thr = op.binning.thresholds
            self.thresholds[k, : len(thr)] = thr
            self.eligibility_table[k, : len(spec.eligibility)] = spec.eligibility
            for cat in spec.absolute:
                self.absolute_table[k, op.binning.index(cat)] = True

    def __len__(self) -> int:
        return len(self.specs)

    def values(self, joints_m: np.ndarray) -> np.ndarray:
        """Raw measurements, float64 (N, K), from extended joints (N, E, 3) in metres."""
        out = np.empty((joints_m.shape[0], len(self.specs)))
        for op, cols, idx in self._groups:
            out[:, cols] = op.values(joints_m, idx)
        return out

    def categorize(self, values: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """Bin (N, K) values into int8 (N, K) categories; ``rng`` adds the per-operator noise."""
        return categorize(values, self.thresholds, self.noise, rng)

    def eligibility(self, categories: np.ndarray) -> np.ndarray:
        """int8 (N, K): 0 not described alone, 1 acceptable, 2 rare."""
        cols = np.arange(len(self.specs))[None, :]
        return self.eligibility_table[cols, categories]

    def is_absolute(self, categories: np.ndarray) -> np.ndarray:
        """bool (N, K): the category is in the code's absolute list."""
        cols = np.arange(len(self.specs))[None, :]
        return self.absolute_table[cols, categories]

    def category_name(self, k: int, category: int) -> str:
        return self.operators[k].binning.categories[category]

    def category_index(self, key: str, category: str) -> tuple[int, int]:
        """(column, category index) of a code key and category name."""
        if key not in self.index:
            raise InternalError(f"unknown code {key!r}")
        k = self.index[key]
        return k, self.operators[k].binning.index(category)


class SuperTable:
    """Compiled super-codes over a :class:`CodeTable`."""

    def __init__(self, supers: tuple[SuperSpec, ...], table: CodeTable) -> None:
        self.supers = supers
        self.table = table
        self._recipes = [[np.array([table.category_index(key, cat) for key, cat in recipe]) for recipe in s.recipes]
                         for s in supers]
        self._support2: list[list[tuple[int, int]]] = []
        for s in supers:
            pairs = []
            for recipe in s.recipes:
                for key, cat in recipe:
                    k, c = table.category_index(key, cat)
                    if cat in table.specs[k].support2:
                        pairs.append((k, c))
            self._support2.append(pairs)

    def produced(self, categories: np.ndarray) -> np.ndarray:
        """bool (N, S): whether each super-code holds (any recipe fully satisfied)."""
        out = np.zeros((categories.shape[0], len(self.supers)), dtype=bool)
        for s, recipes in enumerate(self._recipes):
            for req in recipes:
                out[:, s] |= (categories[:, req[:, 0]] == req[:, 1]).all(axis=1)
        return out

    def remove_support2(self, categories: np.ndarray, eligibility: np.ndarray, produced: np.ndarray) -> np.ndarray:
        """Eligibility with the support-II categories of the produced super-codes set to 0."""
        eligibility = eligibility.copy()
        for s, pairs in enumerate(self._support2):
            for k, c in pairs:
                eligibility[produced[:, s] & (categories[:, k] == c), k] = 0
        return eligibility


POSE_TABLE = CodeTable(POSECODES, POSE_OPERATORS)
POSE_SUPERS = SuperTable(SUPER_POSECODES, POSE_TABLE)


@dataclass(frozen=True)
class Posecodes:
    """Posecodes of a batch of poses."""

    categories: np.ndarray
    """int8 (N, K) category index per posecode (columns: :data:`POSECODES`)."""
    eligibility: np.ndarray
    """int8 (N, K) 0 / 1 acceptable / 2 rare, after support-II removal."""
    supers: np.ndarray
    """bool (N, S) produced super-posecodes (columns: :data:`SUPER_POSECODES`)."""
    absolute: np.ndarray
    """bool (N, K) the category is "absolute" (may describe pose B in an instruction)."""


def posecodes_from_joints(joints_m: np.ndarray, rng: np.random.Generator | None) -> Posecodes:
    """Posecodes of extended joints (N, E, 3), metres, y up; ``rng`` None means no noise."""
    categories = POSE_TABLE.categorize(POSE_TABLE.values(joints_m), rng)
    produced = POSE_SUPERS.produced(categories)
    eligibility = POSE_SUPERS.remove_support2(categories, POSE_TABLE.eligibility(categories), produced)
    return Posecodes(categories, eligibility, produced, POSE_TABLE.is_absolute(categories))


def compute_posecodes(poses: np.ndarray, rng: np.random.Generator | None = None) -> Posecodes:
    """Posecodes of axis-angle poses float32 (N, 22, 3) through the skeleton body model."""
    return posecodes_from_joints(pose_joints(poses), rng)


def posecode_frequencies(poses: np.ndarray) -> dict[str, dict[str, float]]:
    """How often each category occurs, per posecode kind, without noise (for the quality report).

    Args:
        poses: float32 (N, 22, 3) axis-angle poses.

    Returns:
        ``{kind: {category: fraction}}`` where kind is an operator name (``"angle"``,
        ``"distance"``, ``"relposX"``, …) and the fraction is over all (pose, posecode of that kind)
        entries, so each kind's fractions sum to 1; plus ``"super"``: the fraction of poses where
        each super-posecode is produced, and ``"described"``: the fraction of entries of each kind
        that are eligible for text.
    """
    codes = compute_posecodes(poses, rng=None)
    n = codes.categories.shape[0]
    out: dict[str, dict[str, float]] = {}
    described: dict[str, float] = {}
    for name, op in POSE_OPERATORS.items():
        cols = [k for k, s in enumerate(POSECODES) if s.operator == name]
        if not cols or n == 0:
            continue
        cats = codes.categories[:, cols].ravel()
        counts = np.bincount(cats, minlength=len(op.binning.categories))
        out[name] = {c: float(counts[i]) / cats.size for i, c in enumerate(op.binning.categories)}
        described[name] = float((codes.eligibility[:, cols] > 0).mean())
    out["super"] = {s.key: float(codes.supers[:, i].mean()) if n else 0.0 for i, s in enumerate(SUPER_POSECODES)}
    out["described"] = described
    return out


def count_differing_posecodes(categories_a: np.ndarray, categories_b: np.ndarray) -> np.ndarray:
    """Number of posecodes whose category differs between two poses.

    Args:
        categories_a, categories_b: int8 (..., K) posecode categories (``Posecodes.categories``),
            broadcastable against each other.

    Returns:
        int64 (...) counts in [0, K].
    """
    return (np.asarray(categories_a) != np.asarray(categories_b)).sum(axis=-1)
