"""Declarative task metadata: :class:`MetricSpec`, :class:`TaskSpec` and the :class:`Request` a model answers.

Both specs are frozen dataclasses validated in ``__post_init__``; versions and hashes have no
defaults. A scoring change bumps the task version (``X.Y``: X changes comparability — data,
protocol, evaluator checkpoint, metric implementation; Y is cosmetic or API) and appends a line to
the spec's ``changelog``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from bench.errors import InternalError, NotFoundError
from bench.metrics.measure import MEASURES, Measure
from bench.metrics.mpjpe import ALIGNMENTS

_ID_RE = re.compile(r"^[a-z][a-z0-9]*$")
_VERSION_RE = re.compile(r"^\d+\.\d+$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_METRIC_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

DIRECTIONS = ("higher", "lower")
DIRECTION_ARROWS = {"higher": "↑", "lower": "↓"}
"""How tables mark a metric's direction."""
POSE_SHAPE = (22, 3)
"""Shape of every pose a request carries or an answer gives: the global orientation and 21 body
joints as axis-angle rotations (radians), ``bench.body.NUM_POSE_JOINTS`` rows (checked by a test;
defined here so that reading submissions does not import the body models and torch)."""
UNITS = ("%", "mm", "x100", "1")
QUERIES = ("text", "pose")
FAMILIES = ("comprehension", "generation", "editing", "reasoning")
OUTPUT_KINDS = ("text", "pose")
REQUEST_KINDS = (
    "pose_to_text", "posepair_to_text", "image_to_text", "imagepair_to_text",
    "text_to_pose", "image_to_pose", "pose_text_to_pose", "image_text_to_pose",
)  # fmt: skip
INPUT_KINDS = ("pose", "pose_a", "pose_b", "image", "image_a", "image_b", "text")
COMPONENTS = ("poses", "captions", "pairs", "instructions", "renders", "render_pairs", "rpe", "spg")


def _bad(owner: str, field: str, message: str) -> InternalError:
    """A malformed spec is a bug in the task file, never user input."""
    return InternalError(f"{owner}: field {field!r}: {message}")


def _measure(owner: str, name: str) -> Measure:
    """The registered measure ``name`` (a spec naming an unknown one is a bug in the task file)."""
    try:
        return MEASURES.get(name)
    except NotFoundError as exc:
        raise _bad(owner, "measure", str(exc)) from None


@dataclass(frozen=True)
class MetricSpec:
    """One reported number of a task and the protocol that produced it."""

    name: str
    """Metric key in results, e.g. ``r_precision_top1``, ``mpjpe_mm``; unique within a task."""
    measure: str
    """Which computation: a measure registered in ``bench.metrics.measure.MEASURES`` (``mpjpe``,
    ``r_precision``, ...), which also fixes which of the fields below the metric sets."""
    direction: str
    """``higher`` or ``lower`` is better."""
    unit: str
    """``%`` (percent), ``mm`` (millimetres), ``x100`` (a [0, 1] score times 100) or ``1`` (unitless)."""
    protocol: str
    """Protocol name: an R-precision protocol, ``full-gallery``, ``coco-caption``, ``frechet``, ``joints``."""
    description: str
    """One sentence a leaderboard reader can understand."""
    k: int | None = None
    """Rank cut-off for retrieval metrics (R-precision top-k, recall top-k)."""
    query: str | None = None
    """Query modality for retrieval metrics: ``text`` (the other side is the candidate gallery) or ``pose``."""
    joint_set: str | None = None
    """Joint set of pose-error metrics (``bench.body.JOINT_SETS`` name)."""
    alignment: str | None = None
    """Alignment before pose errors: ``none``, ``root`` (pelvis joint subtracted) or ``procrustes``
    (similarity Procrustes after pelvis centring)."""
    seed: int | None = None
    """Seed of the protocol's random draws (R-precision shuffles) and of its bootstrap CI."""
    evaluator: str | None = None
    """Evaluator id whose embedding space the metric lives in (None for joint and text metrics)."""
    variant: str | None = None
    """None for the task's default metrics; a variant name (e.g. ``posescript``) for metrics
    computed only when that variant is requested."""

    def __post_init__(self) -> None:
        owner = f"metric {self.name!r}"
        if not _METRIC_NAME_RE.match(self.name):
            raise _bad(owner, "name", "must be lower_snake_case")
        if self.direction not in DIRECTIONS:
            raise _bad(owner, "direction", f"must be one of {DIRECTIONS}")
        if self.unit not in UNITS:
            raise _bad(owner, "unit", f"unknown unit {self.unit!r}")
        if self.k is not None and self.k < 1:
            raise _bad(owner, "k", "must be a positive rank cut-off")
        if self.query is not None and self.query not in QUERIES:
            raise _bad(owner, "query", f"must be one of {QUERIES}")
        if self.alignment is not None and self.alignment not in ALIGNMENTS:
            raise _bad(owner, "alignment", f"must be one of {ALIGNMENTS}")
        problem = _measure(owner, self.measure).check(self)
        if problem:
            raise _bad(owner, "measure", problem)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class TaskSpec:
    """Everything that defines a task version. Two results are comparable when their task ids,
    versions, data hashes and evaluator hashes are equal."""

    id: str
    """Task id, lower-case letters and digits (``pose2text``)."""
    version: str
    """``X.Y``; X bumps when numbers stop being comparable (data, protocol, evaluator, metric code)."""
    description: str
    """What the model is asked to do, one or two sentences."""
    family: str
    """``comprehension``, ``generation``, ``editing`` or ``reasoning``."""
    input_modality: str
    """What the model sees, for grouping on the leaderboard (``pose``, ``pose pair``, ``image``, ...)."""
    request_kind: str
    """The :class:`Request` kind a model adapter answers (one of :data:`REQUEST_KINDS`)."""
    input_kinds: tuple[str, ...]
    """Keys of ``Request.inputs`` (``pose``, ``pose_a``/``pose_b``, ``image``, ``text``, ...)."""
    output_kind: str
    """``text`` (a string per sample) or ``pose`` (float32 (22, 3) axis-angle per sample)."""
    components: tuple[str, ...]
    """Dataset components the task reads (``poses``, ``captions``, ``pairs``, ...); the first is the primary one."""
    split: str
    """Dataset split scored (always ``test`` for official numbers)."""
    data_hashes: tuple[tuple[str, str], ...]
    """Pinned split hashes, ``(dataset key, sha256)`` pairs; the dataset key is ``<name>-<variant>``
    (``synth-small``). Scoring other data is allowed but never leaderboard-eligible; empty while
    no build is published yet."""
    evaluator_id: str | None
    """Pinned evaluator id (``posetext-synth-v1``), None for tasks scored on joints only."""
    evaluator_sha256: str | None
    """SHA-256 of the pinned evaluator checkpoint, read from ``retrieval_models.pinned``. None for
    tasks without an evaluator, and while a pinned checkpoint is still pending (then results can be
    computed with a substitute evaluator but are never leaderboard-eligible)."""
    metrics: tuple[MetricSpec, ...]
    """Every metric the task can report, default ones first, then variants."""
    main_metric: str
    """Name of the headline metric (a default metric, not a variant)."""
    main_direction: str
    """Direction of the headline metric, repeated here for readers of the spec; validated."""
    chance: str
    """Definition of the chance-level baseline (0 on a normalised leaderboard scale)."""
    ceiling: str
    """Definition of the ceiling (100 on a normalised scale), usually ground truth through the evaluator."""
    changelog: tuple[tuple[str, str], ...]
    """``(version, what changed)`` lines, oldest first; the last version equals ``version``."""

    def __post_init__(self) -> None:
        owner = f"task {self.id!r}"
        if not _ID_RE.match(self.id):
            raise _bad(owner, "id", "must be lower-case letters and digits")
        if not _VERSION_RE.match(self.version):
            raise _bad(owner, "version", f"must be 'X.Y', got {self.version!r}")
        checks = (
            ("family", self.family in FAMILIES, f"one of {FAMILIES}"),
            ("request_kind", self.request_kind in REQUEST_KINDS, f"one of {REQUEST_KINDS}"),
            ("input_kinds", bool(self.input_kinds) and set(self.input_kinds) <= set(INPUT_KINDS),
             f"from {INPUT_KINDS}"),
            ("output_kind", self.output_kind in OUTPUT_KINDS, f"one of {OUTPUT_KINDS}"),
            ("components", bool(self.components) and set(self.components) <= set(COMPONENTS), f"from {COMPONENTS}"),
            ("split", bool(self.split), "non-empty"),
            ("description", bool(self.description.strip()), "non-empty"),
        )
        for field, ok, expected in checks:
            if not ok:
                raise _bad(owner, field, f"must be {expected}")
        for key, digest in self.data_hashes:
            if not key or not _SHA256_RE.match(digest):
                raise _bad(owner, "data_hashes", f"{key!r} needs a lower-case hex SHA-256")
        if self.evaluator_id is None and self.evaluator_sha256 is not None:
            raise _bad(owner, "evaluator_sha256", "a SHA-256 without an evaluator id")
        if self.evaluator_sha256 is not None and not _SHA256_RE.match(self.evaluator_sha256):
            raise _bad(owner, "evaluator_sha256", "must be a lower-case hex SHA-256")
        names = [m.name for m in self.metrics]
        if not names or len(set(names)) != len(names):
            raise _bad(owner, "metrics", "must be non-empty with unique names")
        for metric in self.metrics:
            if metric.evaluator is not None and metric.evaluator != self.evaluator_id:
                raise _bad(owner, "metrics", f"{metric.name} uses evaluator {metric.evaluator!r}, not the task's")
            if self.output_kind not in MEASURES.get(metric.measure).output_kinds:
                raise _bad(owner, "metrics",
                           f"{metric.name}: measure {metric.measure} does not score {self.output_kind} answers")
        main = next((m for m in self.metrics if m.name == self.main_metric and m.variant is None), None)
        if main is None:
            raise _bad(owner, "main_metric", f"{self.main_metric!r} is not a default metric of the task")
        if main.direction != self.main_direction:
            raise _bad(owner, "main_direction", f"{self.main_metric} is {main.direction}-is-better")
        if not self.changelog or self.changelog[-1][0] != self.version:
            raise _bad(owner, "changelog", f"the last entry must describe version {self.version}")

    def metric(self, name: str) -> MetricSpec:
        """The metric called ``name`` (InternalError if absent: callers pass names from the spec)."""
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise InternalError(f"task {self.id!r} has no metric {name!r}")

    def metrics_for(self, variants: frozenset[str] | set[str] = frozenset()) -> tuple[MetricSpec, ...]:
        """The default metrics plus those of the requested variants, in spec order."""
        return tuple(m for m in self.metrics if m.variant is None or m.variant in variants)

    @property
    def variants(self) -> tuple[str, ...]:
        """Names of the optional metric variants this task offers."""
        return tuple(sorted({m.variant for m in self.metrics if m.variant is not None}))

    def pinned_hash(self, dataset_key: str) -> str | None:
        """The pinned split hash for ``dataset_key`` (``synth-small``), or None if not pinned."""
        return dict(self.data_hashes).get(dataset_key)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (for ``bench tasks show --json`` and result records)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "metrics":
                value = [m.to_dict() for m in value]
            elif f.name == "data_hashes":
                value = dict(value)
            elif f.name == "changelog":
                value = [list(entry) for entry in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


@dataclass(frozen=True)
class Request:
    """One question put to a model (docs/architecture.md §6).

    ``inputs`` holds, by kind: ``pose`` / ``pose_a`` / ``pose_b`` float32 (22, 3) axis-angle
    (y up, heading-normalised); ``image`` / ``image_a`` / ``image_b`` uint8 (224, 224, 3) RGB;
    ``text`` str.
    """

    task: str
    """Task id."""
    id: str
    """Sample id; the prediction for this request is keyed by it."""
    kind: str
    """One of :data:`REQUEST_KINDS`."""
    inputs: dict[str, np.ndarray | str]
    """Input arrays and strings, keyed as described above."""
