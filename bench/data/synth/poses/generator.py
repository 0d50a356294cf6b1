"""The PoseBench-Synth pose generator: archetype sequences, anatomical limits, rejection checks.

A *sequence* is ``F`` poses of one archetype whose parameters move along a straight random path in
parameter space (plus smoothly varying per-angle noise and a slow heading drift), so its poses are
related the way frames of one motion are; in-sequence pose pairs come from here. Half of the
sequences are mirrored left/right (``bench.body.mirror_pose``), so asymmetric archetypes appear
with either side leading.

Every candidate pose runs four rejection checks; a sequence is redrawn until all its poses pass:

* ``joint_limits``: an anatomical angle outside ``limits`` (read back from the final axis-angle);
* ``self_penetration``: two non-adjacent body capsules overlap (:func:`check_self_penetration`);
* ``ground_penetration``: a joint's flesh more than 2 cm below the ground (:func:`check_ground_penetration`);
* ``floating``: a body part the archetype stands on is off the ground (:func:`check_floating`).

Ground contact uses joint *clearance*: a joint centre's height minus its flesh radius
(:data:`JOINT_RADII_M`: a sitting hip joint centre is ~9 cm above the seat, a wrist ~3 cm above
the palm). Ground placement is a property of the joints, not of the stored pose: the body is
translated vertically so the smallest clearance among its support parts is 0 (airborne archetypes:
among all joints). The stored pose is rotations only (no translation), heading-normalised.

Dimension letters: N poses, S sequences, F frames per sequence, J = 24 skeleton joints.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from bench.body import JOINT_NAMES, forward_kinematics, mirror_pose, normalize_heading
from bench.data.synth.poses.archetypes import ARCHETYPE_NAMES, ARCHETYPES, SUPPORT_GROUPS, Archetype
from bench.data.synth.poses.limits import LOWER, UPPER, angles_to_axis_angle, check_joint_limits
from bench.errors import InternalError
from bench.fixed_order import dot, norm

logger = logging.getLogger(__name__)

CHECKS = ("joint_limits", "self_penetration", "ground_penetration", "floating")
"""Rejection checks, in the order they are reported."""

GROUND_TOLERANCE_M = 0.02
"""A joint whose clearance is below minus this penetrates the ground."""
CONTACT_TOLERANCE_M = 0.06
"""A support part touches the ground when its smallest clearance is at most this."""
PENETRATION_FRACTION = 0.6
"""Two capsules interpenetrate when their axes come closer than this fraction of their radii sum."""
SEQUENCE_PATH_SD = 0.3
"""Standard deviation of a sequence's parameter displacement from first to last pose."""
HEADING_DRIFT_SD_DEG = 20.0
"""Standard deviation of a sequence's heading change from first to last pose, degrees."""
ROOT_NOISE_SCALE = 0.3
"""The global orientation gets this fraction of an archetype's angle noise (a whole-body tilt moves
hands and feet far more than the same noise on one joint)."""
MAX_ROUNDS = 60
"""Redraws allowed before an archetype is declared broken."""

_J = {name: i for i, name in enumerate(JOINT_NAMES)}

_RADII_BY_NAME = {
    "pelvis": 0.12, "hip": 0.09, "spine1": 0.10, "spine2": 0.10, "spine3": 0.10, "neck": 0.06, "head": 0.10,
    "collar": 0.07, "shoulder": 0.06, "elbow": 0.04, "wrist": 0.03, "hand": 0.02, "knee": 0.05,
    "ankle": 0.05, "foot": 0.03,
}  # fmt: skip
JOINT_RADII_M = np.array([_RADII_BY_NAME[name.split("_", 1)[-1]] for name in JOINT_NAMES])
"""(24,) flesh radius around each joint centre, metres: how high the centre sits above a floor it
rests on (body of 1.70 m; the skeleton's standing ankle centre is 6.6 cm up, its foot joint 3.3 cm)."""

CAPSULES: tuple[tuple[str, str, str, float], ...] = (
    ("torso", "pelvis", "spine3", 0.11), ("chest", "spine3", "neck", 0.09), ("hips", "left_hip", "right_hip", 0.08),
    ("head", "neck", "head", 0.085),
    ("left_upper_arm", "left_shoulder", "left_elbow", 0.045), ("right_upper_arm", "right_shoulder", "right_elbow", 0.045),
    ("left_forearm", "left_elbow", "left_wrist", 0.035), ("right_forearm", "right_elbow", "right_wrist", 0.035),
    ("left_thigh", "left_hip", "left_knee", 0.065), ("right_thigh", "right_hip", "right_knee", 0.065),
    ("left_shin", "left_knee", "left_ankle", 0.045), ("right_shin", "right_knee", "right_ankle", 0.045),
    ("left_foot", "left_ankle", "left_foot", 0.035), ("right_foot", "right_ankle", "right_foot", 0.035),
)  # fmt: skip
"""Body capsules (name, joint a, joint b, radius in metres) for the self-penetration check. Hands
have none: they rest on hips, knees, thighs, the face or each other in too many activities."""


def derive_rng(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent generator for ``(seed, *keys)``, e.g. ``derive_rng(0, "poses", "test", 3)``.

    Each chunk of work draws from its own generator, so results do not depend on how chunks are
    spread over worker processes.
    """
    digest = hashlib.sha256(repr((int(seed), *keys)).encode()).digest()
    return np.random.default_rng(np.frombuffer(digest, dtype=np.uint32))


def _segment_distances(p1: np.ndarray, q1: np.ndarray, p2: np.ndarray, q2: np.ndarray) -> np.ndarray:
    """Closest distance between segments p1–q1 and p2–q2, arrays (..., 3) -> (...) (Ericson 2005, 5.1.9)."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a, e, f, c, b = dot(d1, d1), dot(d2, d2), dot(d2, r), dot(d1, r), dot(d1, d2)
    denom = a * e - b * b
    s = np.where(denom > 1e-12, np.clip((b * f - c * e) / np.maximum(denom, 1e-12), 0.0, 1.0), 0.0)
    t = (b * s + f) / np.maximum(e, 1e-12)
    s = np.where(t < 0.0, np.clip(-c / np.maximum(a, 1e-12), 0.0, 1.0), np.where(t > 1.0, np.clip((b - c) / np.maximum(a, 1e-12), 0.0, 1.0), s))
    t = np.clip(t, 0.0, 1.0)
    closest = (p1 + d1 * s[..., None]) - (p2 + d2 * t[..., None])
    return norm(closest)


def _checked_capsule_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capsule pairs the self-penetration check tests: no shared joint, apart in the rest pose."""
    rest = forward_kinematics(np.zeros((1, 22, 3)))[0]
    ends = np.array([[_J[a], _J[b]] for _, a, b, _ in CAPSULES])
    radii = np.array([c[3] for c in CAPSULES])
    pairs = []
    for i in range(len(CAPSULES)):
        for k in range(i + 1, len(CAPSULES)):
            if set(ends[i]) & set(ends[k]):
                continue
            gap = _segment_distances(rest[ends[i, 0]], rest[ends[i, 1]], rest[ends[k, 0]], rest[ends[k, 1]])
            if gap >= radii[i] + radii[k]:
                pairs.append((i, k))
    first, second = np.array(pairs).T
    return ends, first, second


_CAPSULE_ENDS, _PAIR_A, _PAIR_B = _checked_capsule_pairs()
_RADII = np.array([c[3] for c in CAPSULES])


def capsule_gaps(joints_m: np.ndarray) -> np.ndarray:
    """Axis distance minus ``PENETRATION_FRACTION`` × radii sum for every checked capsule pair.

    Args:
        joints_m: float (N, 24, 3) joint positions, metres.

    Returns:
        float64 (N, K) metres; negative = interpenetrating.
    """
    joints = np.asarray(joints_m, dtype=np.float64)
    start, end = joints[:, _CAPSULE_ENDS[:, 0]], joints[:, _CAPSULE_ENDS[:, 1]]
    dist = _segment_distances(start[:, _PAIR_A], end[:, _PAIR_A], start[:, _PAIR_B], end[:, _PAIR_B])
    return dist - PENETRATION_FRACTION * (_RADII[_PAIR_A] + _RADII[_PAIR_B])


def check_self_penetration(joints_m: np.ndarray, contacts: frozenset[frozenset[str]] = frozenset()) -> np.ndarray:
    """Rejection check: bool (N,), True where two non-adjacent body capsules interpenetrate.

    Args:
        joints_m: float (N, 24, 3) metres.
        contacts: capsule-name pairs allowed to overlap (an archetype's ``contacts``).
    """
    checked = np.array([frozenset({CAPSULES[i][0], CAPSULES[k][0]}) not in contacts for i, k in zip(_PAIR_A, _PAIR_B)])
    return (capsule_gaps(joints_m)[:, checked] < 0.0).any(axis=1)


def support_indices(archetype: Archetype) -> list[int]:
    """Joint indices (into the 24 joints) of all the support parts of ``archetype``; all joints if airborne."""
    if not archetype.support:
        return list(range(len(JOINT_NAMES)))
    return sorted({_J[name] for group in archetype.support for name in SUPPORT_GROUPS[group]})


def clearance(joints_m: np.ndarray) -> np.ndarray:
    """Height of each joint's flesh above y = 0: float64 (N, 24) metres (see :data:`JOINT_RADII_M`)."""
    return np.asarray(joints_m, dtype=np.float64)[..., 1] - JOINT_RADII_M


def place_on_ground(joints_m: np.ndarray, support: list[int]) -> np.ndarray:
    """Translate bodies vertically so the smallest clearance among the ``support`` joints is 0.

    Args:
        joints_m: float (N, 24, 3) metres. support: joint indices.

    Returns:
        float64 (N, 24, 3), metres, same x and z.
    """
    joints = np.array(joints_m, dtype=np.float64, copy=True)
    joints[..., 1] -= clearance(joints)[:, support].min(axis=1)[:, None]
    return joints


def check_ground_penetration(joints_m: np.ndarray, tol_m: float = GROUND_TOLERANCE_M) -> np.ndarray:
    """Rejection check: bool (N,), True where a ground-placed joint's flesh is more than ``tol_m`` below y = 0."""
    return clearance(joints_m).min(axis=1) < -tol_m


def check_floating(joints_m: np.ndarray, support: tuple[str, ...], tol_m: float = CONTACT_TOLERANCE_M) -> np.ndarray:
    """Rejection check: bool (N,), True where a required support group is off the ground.

    Args:
        joints_m: float (N, 24, 3) ground-placed joints, metres.
        support: names of :data:`~bench.data.synth.poses.archetypes.SUPPORT_GROUPS` that must each have a
            joint with clearance at most ``tol_m`` (empty: airborne, never floating).
    """
    height = clearance(joints_m)
    bad = np.zeros(height.shape[0], dtype=bool)
    for group in support:
        bad |= height[:, [_J[name] for name in SUPPORT_GROUPS[group]]].min(axis=1) > tol_m
    return bad


@dataclass
class GeneratedPoses:
    """Poses of one split, sequence-major (sequence s owns rows ``s*F .. s*F+F-1``)."""

    poses: np.ndarray
    """float32 (N, 22, 3) axis-angle, heading-normalised (stored in ``poses/<split>.npz``)."""
    raw_poses: np.ndarray
    """float32 (N, 22, 3) before heading normalisation: a sequence's poses keep their relative heading."""
    joints_m: np.ndarray
    """float32 (N, 24, 3) joints of ``poses``, ground-placed (see the module docstring), metres."""
    archetype: np.ndarray
    """<U (N,) archetype names."""
    sequence: np.ndarray
    """int64 (N,) sequence index within the split."""
    frame: np.ndarray
    """int64 (N,) position within the sequence."""
    mirrored: np.ndarray
    """bool (N,) the sequence was mirrored left/right."""
    attempts: int = 0
    """Candidate poses drawn."""
    rejections: dict[str, int] = field(default_factory=dict)
    """Candidate poses each check fired on (a pose can fail several checks)."""


def sequence_archetypes(seed: int, split: str, n_sequences: int) -> list[str]:
    """Archetype of each sequence: every run of ``len(ARCHETYPE_NAMES)`` sequences covers each once."""
    names = []
    for start in range(0, n_sequences, len(ARCHETYPE_NAMES)):
        order = derive_rng(seed, "archetype-order", split, start).permutation(len(ARCHETYPE_NAMES))
        names.extend(ARCHETYPE_NAMES[i] for i in order)
    return names[:n_sequences]


def _draw_sequence(archetype: Archetype, n_frames: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Anatomical angles (F, 22, 3) degrees of one candidate sequence, and whether to mirror it."""
    t = np.linspace(0.0, 1.0, n_frames)[:, None]
    p0 = rng.random(len(archetype.params))
    p1 = np.clip(p0 + rng.normal(0.0, SEQUENCE_PATH_SD, p0.shape), 0.0, 1.0)
    angles = archetype.angles(p0 + (p1 - p0) * t)
    n0, n1 = rng.normal(0.0, archetype.noise_deg, (2, 22, 3))
    n0[0], n1[0] = n0[0] * ROOT_NOISE_SCALE, n1[0] * ROOT_NOISE_SCALE
    angles = angles + n0 + (n1 - n0) * t[:, :, None] + rng.normal(0.0, archetype.noise_deg / 4, angles.shape)
    angles = np.clip(angles, LOWER, UPPER)
    yaw0, drift = rng.uniform(-180.0, 180.0), rng.normal(0.0, HEADING_DRIFT_SD_DEG)
    angles[:, 0, 2] = yaw0 + drift * t[:, 0]
    return angles, bool(rng.random() < 0.5)


def run_checks(raw_poses: np.ndarray, archetypes: list[Archetype]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """All rejection checks on poses (N, 22, 3) of the given archetypes (one per pose).

    Returns:
        ({check: bool (N,) fired}, ground-placed joints float64 (N, 24, 3) metres).
    """
    joints = forward_kinematics(torch.as_tensor(np.asarray(raw_poses, dtype=np.float64))).numpy()
    placed = np.empty_like(joints)
    floating = np.zeros(len(archetypes), dtype=bool)
    penetrating = np.zeros(len(archetypes), dtype=bool)
    by_name: dict[str, list[int]] = {}
    for i, archetype in enumerate(archetypes):
        by_name.setdefault(archetype.name, []).append(i)
    for name, rows in by_name.items():
        archetype = ARCHETYPES[name]
        placed[rows] = place_on_ground(joints[rows], support_indices(archetype))
        floating[rows] = check_floating(placed[rows], archetype.support)
        penetrating[rows] = check_self_penetration(placed[rows], archetype.contacts)
    fired = {
        "joint_limits": check_joint_limits(raw_poses),
        "self_penetration": penetrating,
        "ground_penetration": check_ground_penetration(placed),
        "floating": floating,
    }
    return fired, placed


def generate_sequences(archetype_names: list[str], n_frames: int, rng: np.random.Generator) -> GeneratedPoses:
    """Draw one accepted sequence per entry of ``archetype_names`` (redrawing rejected ones).

    Candidates are checked in rounds (all pending sequences at once), so the result depends only
    on ``rng``'s state, the names and ``n_frames``.
    """
    archetypes = [ARCHETYPES[name] for name in archetype_names]
    n_seq = len(archetypes)
    accepted: list[tuple[np.ndarray, bool] | None] = [None] * n_seq
    pending = list(range(n_seq))
    rejections = dict.fromkeys(CHECKS, 0)
    attempts = 0
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        drawn = [_draw_sequence(archetypes[s], n_frames, rng) for s in pending]
        raw = angles_to_axis_angle(np.concatenate([angles for angles, _ in drawn]))
        mirror = np.repeat([m for _, m in drawn], n_frames)
        raw[mirror] = mirror_pose(raw[mirror])
        fired, _ = run_checks(raw, [archetypes[s] for s in pending for _ in range(n_frames)])
        attempts += raw.shape[0]
        for name in CHECKS:
            rejections[name] += int(fired[name].sum())
        bad = np.logical_or.reduce([fired[name] for name in CHECKS]).reshape(len(pending), n_frames).any(axis=1)
        for k, s in enumerate(pending):
            if not bad[k]:
                accepted[s] = (raw[k * n_frames : (k + 1) * n_frames], drawn[k][1])
        pending = [s for k, s in enumerate(pending) if bad[k]]
    if pending:
        names = sorted({archetype_names[s] for s in pending})
        raise InternalError(f"archetype(s) {names} produced no valid sequence in {MAX_ROUNDS} rounds")

    raw = np.concatenate([poses for poses, _ in accepted]).astype(np.float32)
    poses = normalize_heading(raw).astype(np.float32)
    _, placed = run_checks(poses, [a for a in archetypes for _ in range(n_frames)])
    return GeneratedPoses(
        poses=poses,
        raw_poses=raw,
        joints_m=placed.astype(np.float32),
        archetype=np.repeat(np.array(archetype_names, dtype=str), n_frames),
        sequence=np.repeat(np.arange(n_seq, dtype=np.int64), n_frames),
        frame=np.tile(np.arange(n_frames, dtype=np.int64), n_seq),
        mirrored=np.repeat([m for _, m in accepted], n_frames),
        attempts=attempts,
        rejections=rejections,
    )


def concatenate(parts: list[GeneratedPoses]) -> GeneratedPoses:
    """Join generated chunks in order, renumbering sequences consecutively."""
    offsets = np.cumsum([0] + [int(p.sequence.max()) + 1 for p in parts[:-1]])
    return GeneratedPoses(
        poses=np.concatenate([p.poses for p in parts]),
        raw_poses=np.concatenate([p.raw_poses for p in parts]),
        joints_m=np.concatenate([p.joints_m for p in parts]),
        archetype=np.concatenate([p.archetype for p in parts]),
        sequence=np.concatenate([p.sequence + off for p, off in zip(parts, offsets)]),
        frame=np.concatenate([p.frame for p in parts]),
        mirrored=np.concatenate([p.mirrored for p in parts]),
        attempts=sum(p.attempts for p in parts),
        rejections={name: sum(p.rejections[name] for p in parts) for name in CHECKS},
    )


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads inside the block (restored after).

    The generator's batches are small; on a loaded machine extra threads only add contention.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def generate_chunk(seed: int, split: str, n_sequences: int, chunk: int, index: int, n_frames: int) -> GeneratedPoses:
    """Chunk ``index`` (sequences ``index*chunk ..``) of a split, drawn from ``derive_rng(seed, "poses", split, index)``.

    Chunks are independent, so a pool of any size produces the same poses.
    """
    names = sequence_archetypes(seed, split, n_sequences)[index * chunk : (index + 1) * chunk]
    with torch_threads(1):
        return generate_sequences(names, n_frames, derive_rng(seed, "poses", split, index))


def generate_split(seed: int, split: str, n_poses: int, n_frames: int = 4, chunk: int = 64) -> GeneratedPoses:
    """``n_poses`` poses (a multiple of ``n_frames``) for one split, chunk by chunk in this process."""
    if n_poses % n_frames:
        raise InternalError(f"n_poses={n_poses} is not a multiple of n_frames={n_frames}")
    n_sequences = n_poses // n_frames
    n_chunks = -(-n_sequences // chunk)
    return concatenate([generate_chunk(seed, split, n_sequences, chunk, c, n_frames) for c in range(n_chunks)])
