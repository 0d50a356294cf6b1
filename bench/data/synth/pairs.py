"""Pose-pair mining for the comparative (PoseFix-style) data (docs/peers.md#posefix-pair-mining).

Pairs are similar poses that still differ in several posecodes. Without a retrieval model:

* similarity = MPJPE between the two poses' skeleton joints (22 body joints, each pose
  heading-normalised, pelvis at the origin, millimetres);
* difference = the number of posecodes whose noise-free category differs
  (:func:`~bench.data.synth.text.posecodes.count_differing_posecodes`), plus the number of paircodes an
  instruction would describe (:func:`~bench.data.synth.text.paircodes.count_changes`; PoseFix's
  ">15 / >20 differing posecodes" serves the same purpose: every pair has something to say).

Bounds (:class:`MiningBounds`), set on the synthetic generator's 4-frame sequences, whose
consecutive frames are only 14–43 mm apart (5th–95th percentile) and whose nearest pose in another
sequence is 24–89 mm away:

* in-sequence (same sequence id, A before B in the input order): MPJPE in [30, 250] mm, ≥ 6
  differing posecodes, ≥ 2 described changes; among a sequence's valid pairs the smallest frame gap
  wins, as in PoseFix;
* out-of-sequence (different sequence ids): MPJPE in [40, 250] mm, ≥ 10 differing posecodes, ≥ 3
  described changes; poses B are visited in random order, A is drawn among the 3 most similar valid
  candidates of the :data:`CANDIDATES_PER_POSE` nearest, favouring the least used.

Each pose is used at most ``max_uses`` times as A and ``max_uses`` times as B; mining first allows
one use per role and relaxes up to ``max_uses`` only when too few pairs were found. When a split
cannot give enough in-sequence pairs, the rest are mined out of sequence (logged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from bench.data.synth.text.paircodes import PAIR_TABLE, count_changes
from bench.data.synth.text.posecode_joints import pose_joints
from bench.data.synth.text.posecodes import count_differing_posecodes, posecodes_from_joints
from bench.errors import DataError
from bench.fixed_order import GridDistances

logger = logging.getLogger(__name__)

#: Nearest neighbours (by joint distance) examined per pose B out of sequence.
CANDIDATES_PER_POSE = 48
_CHUNK = 512
_DISTANCE_QUANTUM_M = 1e-4
"""Joint coordinates are rounded to this (metres) for nearest-neighbour search (exact integer arithmetic)."""


@dataclass(frozen=True)
class MiningBounds:
    """Similarity constraints of a pair (see the module docstring)."""

    min_mpjpe_mm: float
    max_mpjpe_mm: float
    min_differing_posecodes: int
    min_changes: int
    """Least number of paircodes that an instruction would describe (:func:`count_changes`)."""


IN_SEQUENCE = MiningBounds(30.0, 250.0, 6, 2)
OUT_OF_SEQUENCE = MiningBounds(40.0, 250.0, 10, 3)


@dataclass(frozen=True)
class _Features:
    joints: np.ndarray  # float64 (N, 22, 3) metres
    codes: np.ndarray  # int8 (N, K) noise-free posecode categories
    pair_values: np.ndarray  # float64 (N, Kp) paircode measurements

    def valid(self, a: np.ndarray, b: np.ndarray, bounds: MiningBounds) -> np.ndarray:
        """bool mask of the pairs (a[i], b[i]) that meet ``bounds``."""
        mpjpe = np.linalg.norm(self.joints[a] - self.joints[b], axis=-1).mean(axis=-1) * 1000.0
        ok = (mpjpe >= bounds.min_mpjpe_mm) & (mpjpe <= bounds.max_mpjpe_mm)
        ok &= count_differing_posecodes(self.codes[a], self.codes[b]) >= bounds.min_differing_posecodes
        ok[ok] = count_changes(self.pair_values[a[ok]], self.pair_values[b[ok]]) >= bounds.min_changes
        return ok


class _Usage:
    def __init__(self, n: int) -> None:
        self.as_a = np.zeros(n, dtype=np.int64)
        self.as_b = np.zeros(n, dtype=np.int64)

    def free(self, a: int, b: int, cap: int) -> bool:
        return self.as_a[a] < cap and self.as_b[b] < cap

    def take(self, a: int, b: int) -> None:
        self.as_a[a] += 1
        self.as_b[b] += 1


def _in_sequence_candidates(features: _Features, sequence_ids: np.ndarray, rng: np.random.Generator,
                            bounds: MiningBounds) -> list[tuple[int, int]]:
    """Valid (a, b) pairs within each sequence, a before b, ordered by gap then at random."""
    order = np.argsort(sequence_ids, kind="stable")
    starts = np.flatnonzero(np.r_[True, sequence_ids[order][1:] != sequence_ids[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    firsts, seconds, gaps = [], [], []
    for s, e in zip(starts, ends, strict=True):
        members = order[s:e]
        i, j = np.triu_indices(len(members), k=1)
        firsts.append(members[i])
        seconds.append(members[j])
        gaps.append(j - i)
    if not firsts:
        return []
    a, b, gap = np.concatenate(firsts), np.concatenate(seconds), np.concatenate(gaps)
    ok = features.valid(a, b, bounds)
    a, b, gap = a[ok], b[ok], gap[ok]
    ranked = np.lexsort((rng.random(len(a)), gap))
    return [(int(a[k]), int(b[k])) for k in ranked]


def _nearest(joints_flat: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices (Q, k) of the k nearest poses (Euclidean on flattened joints, rounded to 0.1 mm) of
    each query, nearest first, ties by index: exact integer distances, so the same on any CPU."""
    n = len(joints_flat)
    distances = GridDistances(joints_flat, _DISTANCE_QUANTUM_M)
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), _CHUNK):
        q = queries[start : start + _CHUNK]
        d = distances.from_rows(q)
        if float(d.max(initial=0.0)) * n + n >= 2.0**53:
            raise DataError("pose distances too large to rank exactly; are the joints in metres?", field="joints")
        key = d * n + np.arange(n)  # unique integers: the k nearest are one set on any sorting kernel
        key[np.arange(len(q)), q] = np.inf
        part = np.argpartition(key, k - 1, axis=1)[:, :k]
        rows = np.arange(len(q))[:, None]
        out[start : start + len(q)] = part[rows, np.argsort(key[rows, part], axis=1)]
    return out


def _mine_out_of_sequence(features: _Features, sequence_ids: np.ndarray, rng: np.random.Generator, n_wanted: int,
                          usage: _Usage, cap: int, taken: set[tuple[int, int]],
                          bounds: MiningBounds) -> list[tuple[int, int]]:
    n = len(features.joints)
    k = min(CANDIDATES_PER_POSE, n - 1)
    if k < 1 or n_wanted <= 0:
        return []
    flat = features.joints.reshape(n, -1).astype(np.float32)
    visit = rng.permutation(n)
    visit = visit[usage.as_b[visit] < cap]
    found: list[tuple[int, int]] = []
    for start in range(0, len(visit), _CHUNK):
        bs = visit[start : start + _CHUNK]
        neighbours = _nearest(flat, bs, k)
        for b, cand in zip(bs, neighbours, strict=True):
            if len(found) >= n_wanted:
                return found
            if usage.as_b[b] >= cap:
                continue
            cand = cand[(sequence_ids[cand] != sequence_ids[b]) & (usage.as_a[cand] < cap)]
            if len(cand) == 0:
                continue
            ok = features.valid(cand, np.full(len(cand), b), bounds)
            cand = [int(a) for a in cand[ok][:6] if (int(a), int(b)) not in taken][:3]
            if not cand:
                continue
            weights = 1.0 / (1.0 + usage.as_a[cand])
            a = cand[int(rng.choice(len(cand), p=weights / weights.sum()))]
            usage.take(a, int(b))
            taken.add((a, int(b)))
            found.append((a, int(b)))
    return found


def mine_pairs(poses: np.ndarray, archetypes: list[str] | np.ndarray | None, sequence_ids: np.ndarray,
               rng: np.random.Generator, n_pairs: int, in_sequence_fraction: float = 0.5, *,
               max_uses: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mine pose pairs (A, B) as PoseFix does.

    Args:
        poses: float32 (N, 22, 3) axis-angle poses (heading is removed before comparing).
        archetypes: N archetype names (checked: one archetype per sequence), or None.
        sequence_ids: (N,) sequence id of each pose (any hashable dtype).
        rng: the only source of randomness.
        n_pairs: pairs wanted.
        in_sequence_fraction: share of in-sequence pairs wanted.
        max_uses: most times a pose may be A (and, separately, B).

    Returns:
        ``(a_index, b_index, in_sequence)``: int64 (M,), int64 (M,), bool (M,), M ≤ n_pairs (less only
        when the constraints cannot be met, logged), in random order.
    """
    from bench.body import normalize_heading

    poses = np.asarray(poses, dtype=np.float32)
    sequence_ids = np.asarray(sequence_ids)
    n = len(poses)
    if sequence_ids.shape != (n,):
        raise DataError(f"sequence_ids has shape {sequence_ids.shape}, expected ({n},)", field="sequence_ids")
    if not 0.0 <= in_sequence_fraction <= 1.0:
        raise DataError(f"in_sequence_fraction must be in [0, 1], got {in_sequence_fraction}", field="in_sequence_fraction")
    if n_pairs < 0 or max_uses < 1:
        raise DataError(f"need n_pairs >= 0 and max_uses >= 1, got {n_pairs} and {max_uses}", field="n_pairs")
    if archetypes is not None:
        archetypes = np.asarray(archetypes)
        if archetypes.shape != (n,):
            raise DataError(f"archetypes has shape {archetypes.shape}, expected ({n},)", field="archetypes")
        for seq in np.unique(sequence_ids):
            names = np.unique(archetypes[sequence_ids == seq])
            if len(names) > 1:
                raise DataError(f"sequence {seq!r} mixes archetypes {list(names)}", field="archetypes")
    extended = pose_joints(np.asarray(normalize_heading(poses), dtype=np.float32))
    features = _Features(extended[:, :22].astype(np.float64), posecodes_from_joints(extended, None).categories,
                         PAIR_TABLE.values(extended))
    n_in = int(round(n_pairs * in_sequence_fraction))
    usage = _Usage(n)
    taken: set[tuple[int, int]] = set()
    in_pairs: list[tuple[int, int]] = []
    candidates = _in_sequence_candidates(features, sequence_ids, rng, IN_SEQUENCE)
    for cap in range(1, max_uses + 1):
        for a, b in candidates:
            if len(in_pairs) >= n_in:
                break
            if (a, b) not in taken and usage.free(a, b, cap):
                usage.take(a, b)
                taken.add((a, b))
                in_pairs.append((a, b))
    if len(in_pairs) < n_in:
        logger.warning("only %d of %d in-sequence pairs meet the bounds; mining the rest out of sequence",
                       len(in_pairs), n_in)
    out_pairs: list[tuple[int, int]] = []
    for cap in range(1, max_uses + 1):
        out_pairs += _mine_out_of_sequence(features, sequence_ids, rng, n_pairs - len(in_pairs) - len(out_pairs),
                                           usage, cap, taken, OUT_OF_SEQUENCE)
    if len(in_pairs) + len(out_pairs) < n_pairs:
        logger.warning("mined %d of %d pairs: the similarity bounds cannot give more", len(in_pairs) + len(out_pairs),
                       n_pairs)
    pairs = in_pairs + out_pairs
    flags = np.array([True] * len(in_pairs) + [False] * len(out_pairs), dtype=bool)
    order = rng.permutation(len(pairs))
    a_index = np.array([pairs[i][0] for i in order], dtype=np.int64)
    b_index = np.array([pairs[i][1] for i in order], dtype=np.int64)
    return a_index, b_index, flags[order]
