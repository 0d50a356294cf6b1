"""Evaluator sensitivity: does a pose-text evaluator notice wrong texts and wrong pose distributions?

Run from the repository root::

    python benchmarks/evaluator_sensitivity.py [--evaluator posetext-synth-v1|NAME|PATH.safetensors]
        [--expected-sha256 HEX] [--data synth-full|NAME|PATH] [--seed 0] [--json]

The check the evaluators' issue asks for, on the test split of ``--data``. Items are the
``pose2text`` task's (captioned test poses, dataset order, first reference caption each); every
R-precision is ``bench.metrics.r_precision`` under the tasks' protocol (``blocks32``, P = 32, seed
``tasks.pins.R_PRECISION_SEED``; chance 3.125 / 6.25 / 9.375 %), texts as queries and poses as
candidates, exactly as ``pose2text`` scores. Rows:

``ground truth``
    first reference caption of each pose: the ceiling.
``deranged texts``
    the same captions under a seeded uniform derangement (no caption stays with its pose): an
    informative evaluator scores ≈ chance (3.1 % top-1). Poses of one synth sequence have similar
    captions, so a few percent either way is expected.
``ground truth (L/R subset)`` / ``left/right swapped``
    only captions that name a side (``retrieval_models.text_flip.mentions_side``) and are flippable;
    the second row swaps their sides with ``flip_text`` (seeded; ``clockwise`` flips too) and keeps
    the poses: the drop between the two rows is the evaluator's left/right sensitivity. ``n`` says
    how many captions qualified.
``FID ...``
    ``bench.metrics.fid`` on the evaluator's pose embeddings, as ``text2pose`` computes it
    (predicted set first, real set second). The test poses are split (seeded) into disjoint halves
    A and B, by synth sequence when the dataset records sequences (poses of one sequence are related
    frames, so a per-pose split would put near-duplicates on both sides); **B is the real set of
    every FID row** and each predicted set has |A| poses, so all FID rows share N (FID is biased at
    finite N; compare only equal N). Predicted sets:

    - ``FID half A``: the other half of the test set (the floor: same distribution);
    - ``FID train, archetype-uniform``: training poses drawn without replacement with probability
      proportional to 1 / (their archetype's count): archetypes uniform, poses uniform within one.
      Synth splits cover archetypes evenly, so this is a fresh draw of the test distribution and
      should land near the floor: FID measures the distribution, not the pairing with texts;
    - ``FID train, one archetype``: training poses of a single archetype drawn uniformly (seeded),
      without replacement (with replacement when it has fewer than |A|; the note gives the distinct
      count): a mode-collapsed generator; should be far above the floor;
    - ``FID mean pose``: |A| copies of the ``mean-pose`` baseline's pose (the rotation mean of the
      training poses, ``bench.models.mean_pose.rotation_mean``): total collapse.

    The two archetype rows need archetype labels (synth data); otherwise they are skipped.

Everything is seeded: ``--seed`` draws the derangement, the flips' ``clockwise`` spellings, the
halves and the archetype samples (one independent generator per draw); R-precision uses the tasks'
seed. The same command prints the same table.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.errors import BenchError, ConfigError  # noqa: E402

if TYPE_CHECKING:
    from bench.data import Dataset
    from retrieval_models import Evaluator

logger = logging.getLogger(__name__)

SPLIT = "test"
KS = (1, 2, 3)


@dataclass(frozen=True)
class Row:
    """One condition of the table."""

    condition: str
    """Short name of the condition (the table's first column)."""
    n: int
    """Queries given (R-precision rows) or predicted poses (FID rows)."""
    r_precision: dict[int, float] | None = None
    """``{k: percent}`` under ``blocks32``; None for FID rows or fewer than 32 queries."""
    n_used: int | None = None
    """Queries R-precision used (``blocks32`` drops the ``n mod 32`` tail)."""
    fid: float | None = None
    """Fréchet distance (unitless) for FID rows, else None."""
    n_real: int | None = None
    """Size of the real set of an FID row (test half B)."""
    note: str = ""
    """What was drawn, or why a value is missing."""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    """FID's numerical notes (``bench.metrics.FID.warnings``)."""


@dataclass(frozen=True)
class Sensitivity:
    """The result of :func:`sensitivity` (everything the table and ``--json`` print)."""

    evaluator: dict[str, str]
    """``{"id", "sha256"}``."""
    data: dict[str, str]
    """``{"name", "version", "folder", "split", "split_hash"}``."""
    seed: int
    """Seed of the condition draws."""
    r_precision: dict[str, Any]
    """``{"protocol", "seed", "pool_size", "chance"}`` of every R-precision value."""
    n: int
    """Captioned test poses (the items)."""
    rows: tuple[Row, ...]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows"] = [dict(asdict(r), warnings=list(r.warnings)) for r in self.rows]
        return out


def _rng(seed: int, name: str) -> np.random.Generator:
    """An independent generator per named draw, so adding a condition never shifts another's draws."""
    from bench.data.synth.poses.generator import derive_rng

    return derive_rng(seed, "evaluator-sensitivity", name)


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly drawn derangement of ``range(n)``: int64 (n,) with ``out[i] != i`` for every i.

    Rejection sampling of uniform permutations (about e ≈ 2.72 draws on average), so every
    derangement is equally likely.

    >>> perm = derangement(5, np.random.default_rng(0))
    >>> sorted(perm.tolist()), bool((perm != np.arange(5)).all())
    ([0, 1, 2, 3, 4], True)
    """
    if n < 2:
        raise ConfigError(f"a derangement needs n >= 2, got {n}", field="n")
    identity = np.arange(n)
    while True:
        perm = rng.permutation(n)
        if (perm != identity).all():
            return perm.astype(np.int64)


def side_swapped(texts: list[str], rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """The texts that name a side and can be flipped, with their sides swapped.

    Args:
        texts: N descriptions.
        rng: draws ``clockwise``'s replacement spelling (``flip_text``), texts in order.

    Returns:
        ``(index, swapped)``: int64 (M,) ascending positions of the qualifying texts in ``texts``,
        and their M flipped versions.
    """
    from retrieval_models.text_flip import flip_text, is_flippable, mentions_side

    index = [i for i, text in enumerate(texts) if mentions_side(text) and is_flippable(text)]
    swapped = [flip_text(texts[i], rng) for i in index]
    return np.asarray(index, dtype=np.int64), [str(t) for t in swapped]


def disjoint_halves(n: int, groups: np.ndarray | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint halves of ``range(n)``; whole groups go to one side when ``groups`` is given.

    Args:
        n: items.
        groups: (n,) group label of each item (e.g. synth sequence), or None for single items.
        rng: draws the order of the groups.

    Returns:
        ``(a, b)``: int64 ascending positions; groups are taken in a seeded order into ``a`` until it
        holds at least ``n // 2`` items, the rest form ``b`` (with groups, ``|a| - |b|`` is at most
        the largest group's size).
    """
    labels = np.arange(n) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    order = rng.permutation(int(labels.max()) + 1)
    sizes = np.bincount(labels)[order]
    cut = int(np.searchsorted(np.cumsum(sizes), n // 2)) + 1
    in_a = np.isin(labels, order[:cut])
    return np.flatnonzero(in_a).astype(np.int64), np.flatnonzero(~in_a).astype(np.int64)


def _archetype_draws(archetypes: np.ndarray, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """``(uniform, single, name)``: m training-pose positions with archetypes uniform, and m positions
    of one uniformly drawn archetype ``name`` (with replacement only when it has fewer than m)."""
    names, labels, counts = np.unique(archetypes, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[labels]
    uniform = rng.choice(len(archetypes), size=m, replace=len(archetypes) < m, p=weights / weights.sum())
    pick = int(rng.integers(len(names)))
    members = np.flatnonzero(labels == pick)
    single = rng.choice(members, size=m, replace=len(members) < m)
    return uniform.astype(np.int64), single.astype(np.int64), str(names[pick])


def sensitivity(evaluator: Evaluator, dataset: Dataset, *, seed: int = 0) -> Sensitivity:
    """Every condition of the module doc for a pose-text ``evaluator`` on ``dataset``'s test split.

    Raises:
        ConfigError: ``evaluator`` is not a pose-text evaluator.
        DataError: the dataset lacks test poses / captions or train poses.
    """
    from tasks import get_task
    from tasks.pins import R_PRECISION_SEED
    from tasks.text_output import DEFAULT_PROTOCOL, POOL_SIZE

    if evaluator.kind != "pose-text":
        raise ConfigError(f"evaluator {evaluator.id!r} is {evaluator.kind}; the check needs a pose-text evaluator",
                          field="evaluator")  # fmt: skip
    items = get_task("pose2text").items(dataset)
    poses = items.key[0]
    n = len(items.ids)
    texts = [refs[0] for refs in items.references]
    pose_emb = evaluator.embed_poses(poses)
    text_emb = evaluator.embed_texts(texts)

    def rprec(condition: str, queries: np.ndarray, index: np.ndarray | None = None, note: str = "") -> Row:
        from bench.metrics import r_precision

        candidates = pose_emb if index is None else pose_emb[index]
        if len(queries) < POOL_SIZE:
            return Row(condition, len(queries), note=f"{note}; R-precision needs >= {POOL_SIZE}".lstrip("; "))
        result = r_precision(queries, candidates, ks=KS, protocol=DEFAULT_PROTOCOL, seed=R_PRECISION_SEED,
                             pool_size=POOL_SIZE)  # fmt: skip
        return Row(condition, len(queries), {k: float(result.values[k]) for k in KS}, n_used=result.n, note=note)

    rows = [rprec("ground truth", text_emb, note="first reference caption (ceiling)")]
    if n >= 2:
        perm = derangement(n, _rng(seed, "derangement"))
        rows.append(rprec("deranged texts", text_emb[perm], note="caption of pose perm[i] with pose i, perm[i] != i"))
    side_index, swapped = side_swapped(texts, _rng(seed, "flip"))
    share = f"{len(side_index)} of {n} captions name a side"
    rows.append(rprec("ground truth (L/R subset)", text_emb[side_index], side_index, note=share))
    rows.append(rprec("left/right swapped", evaluator.embed_texts(swapped) if swapped else text_emb[:0], side_index,
                      note="same captions, sides swapped (flip_text)"))  # fmt: skip
    rows.extend(_fid_rows(evaluator, dataset, items.ids, pose_emb, seed))

    r_info = {"protocol": DEFAULT_PROTOCOL, "seed": R_PRECISION_SEED, "pool_size": POOL_SIZE,
              "chance": {k: 100.0 * k / POOL_SIZE for k in KS}}  # fmt: skip
    data = {"name": dataset.name, "version": dataset.version, "folder": dataset.root.name, "split": SPLIT,
            "split_hash": dataset.split_hash(SPLIT)}  # fmt: skip
    return Sensitivity({"id": evaluator.id, "sha256": evaluator.sha256}, data, int(seed), r_info, n, tuple(rows))


def _fid_rows(evaluator: Evaluator, dataset: Dataset, ids: tuple[str, ...], pose_emb: np.ndarray,
              seed: int) -> list[Row]:  # fmt: skip
    """The FID rows of the module doc (real set: test half B; predicted sets of |A| poses).

    ``ids`` are the items' pose ids and ``pose_emb`` their float32 (N, 512) embeddings, in order.
    """
    from bench.metrics import fid
    from bench.models.mean_pose import rotation_mean

    test = dataset.poses(SPLIT)
    position = {pose_id: i for i, pose_id in enumerate(test.ids.tolist())}
    at = np.array([position[i] for i in ids], dtype=np.int64)
    groups = None if test.sequence is None else test.sequence[at]
    a, b = disjoint_halves(len(ids), groups, _rng(seed, "halves"))
    if len(a) < 2 or len(b) < 2:
        return [Row("FID half A", len(a), note="FID needs >= 2 poses per half")]
    real = pose_emb[b]
    split_note = "by sequence" if groups is not None else "by pose"

    def fid_row(condition: str, predicted: np.ndarray, note: str) -> Row:
        result = fid(predicted, real)
        return Row(condition, len(predicted), fid=float(result.value), n_real=len(real), note=note,
                   warnings=tuple(result.warnings))  # fmt: skip

    rows = [fid_row("FID half A", pose_emb[a], f"disjoint halves {split_note}; B is every FID row's real set")]
    train = dataset.poses("train")  # the PoseSet, with its archetype labels
    if train.archetype is None:
        rows.append(Row("FID train, archetype rows", len(a), note="skipped: the dataset has no archetype labels"))
    else:
        uniform, single, name = _archetype_draws(train.archetype, len(a), _rng(seed, "archetypes"))
        rows.append(fid_row("FID train, archetype-uniform", evaluator.embed_poses(train.poses[uniform]),
                            f"{len(np.unique(train.archetype))} archetypes, drawn uniformly"))  # fmt: skip
        rows.append(fid_row("FID train, one archetype", evaluator.embed_poses(train.poses[single]),
                            f"{name}: {len(np.unique(single))} distinct poses"))  # fmt: skip
    mean = rotation_mean(train.poses)
    rows.append(fid_row("FID mean pose", evaluator.embed_poses(np.repeat(mean[None], len(a), axis=0)),
                        "rotation mean of the training poses (mean-pose baseline)"))  # fmt: skip
    return rows


def format_table(result: Sensitivity) -> str:
    """The setting lines and the table, as printed."""
    ev, data, rp = result.evaluator, result.data, result.r_precision
    chance = " / ".join(f"{rp['chance'][k]:g}" for k in KS)
    lines = [
        f"evaluator {ev['id']}  sha256 {ev['sha256']}",
        f"data {data['name']} {data['version']} ({data['folder']}), {data['split']} hash {data['split_hash']}",
        f"seed {result.seed} (draws); R-precision {rp['protocol']} P={rp['pool_size']} seed {rp['seed']}, "
        f"chance top1/2/3 {chance} %; n = {result.n} captioned {data['split']} poses",
        "",
    ]
    header = ["condition", "n", "used", "top1 %", "top2 %", "top3 %", "FID", "n_real", "note"]
    cells, notes = [], []
    for row in result.rows:
        rp_cells = [f"{row.r_precision[k]:.2f}" for k in KS] if row.r_precision else ["-"] * 3
        marks = []
        for warning in row.warnings:
            if warning not in notes:
                notes.append(warning)
            marks.append(f"[{notes.index(warning) + 1}]")
        cells.append([row.condition, str(row.n), "-" if row.n_used is None else str(row.n_used), *rp_cells,
                      "-" if row.fid is None else f"{row.fid:.4g}", "-" if row.n_real is None else str(row.n_real),
                      " ".join([row.note, *marks]).strip()])  # fmt: skip
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]

    def fmt(cells_of_row: list[str]) -> str:  # numbers right-aligned, condition and note left-aligned
        last = len(widths) - 1
        return "  ".join(v.ljust(w) if i in (0, last) else v.rjust(w)
                         for i, (v, w) in enumerate(zip(cells_of_row, widths))).rstrip()  # fmt: skip

    lines += [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(c) for c in cells]
    lines += [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines)


@click.command()
@click.option("--evaluator", "evaluator_name", default="posetext-synth-v1", show_default=True,
              help="Pinned id, checkpoint name in the evaluator folders, or a .safetensors path.")
@click.option("--expected-sha256", help="Required for a pinned id whose hash is still pending.")
@click.option("--data", default="synth-full", show_default=True, help="Dataset name under the data dir, or a folder.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seed of the condition draws.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1), help="Torch intra-op threads.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def main(evaluator_name: str, expected_sha256: str | None, data: str, seed: int, threads: int, as_json: bool) -> None:
    """Ceiling, deranged and left/right-swapped texts (R-precision) and FID controls of a pose-text evaluator."""
    import torch

    from bench.cli.evaluators import _search_dirs
    from bench.config import load_config
    from bench.data import load_dataset
    from retrieval_models import load_evaluator

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(threads)
    try:  # a missing checkpoint or dataset is a one-line message, not a traceback
        config = load_config()
        evaluator = load_evaluator(evaluator_name, _search_dirs(config), expected_sha256, text_model=config.text_model)
        result = sensitivity(evaluator, load_dataset(data, config.data_dir), seed=seed)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else format_table(result))


if __name__ == "__main__":
    main()
