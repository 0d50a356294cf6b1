"""UniPose's ablation claims, measured in miniature, each beside the paper's figure.

Usage::

    python benchmarks/unipose_ablations.py [--claims abcd] [--data synth-full] [--steps 100]
        [--batch-size 16] [--limit 256] [--work DIR] [--evaluator CHECKPOINT] [--latency-runs 20]
        [--threads 2]

It trains up to six miniature models (those the chosen ``--claims`` need) (the ``small`` backbone, 4 layers × 256, from scratch; ``--steps``
steps of ``--batch-size`` per task and stage, resumable in ``--work``), then measures:

(a) text2pose latency, single-step mixed decoding vs token-by-token causal decoding at equal size:
    wall-clock from the prompt to the decoded pose (pose tokenizer included), batch 1, float32,
    KV cache, ``--threads`` CPU threads (default 2, the reference machine's cores: single-step
    decoding trades sequential steps for parallel work, which one thread cannot exploit), 3 warm-up
    runs excluded, median of ``--latency-runs``
    test captions; once with the trained miniatures (PoseBench's tokenizer: T tokens per pose) and
    once with the paper's layout (80 tokens, 2,048 codes; untrained weights, ``<p>`` forced);
(b) text2pose retrieval recall (R^T2P top-5, pinned pose-text evaluator) and MPJPE, mixed vs causal;
(c) image2pose MPJPE / PA-MPJPE with both image encoders vs the generic encoder alone;
(d) multi-task training (pose2text, posediff, text2pose, poseedit; as many steps per task as a
    single-task run) vs single-task training, on text2pose and pose2text.

Scores come from the tasks' own scoring code on the first ``--limit`` test samples (not
leaderboard-comparable); pose answers start with ``<p>`` (``force_pose``) so that every variant is
judged on the poses it generates, not on whether it learnt to open a pose span. It needs the built dataset, the pose tokenizer and visual encoder
checkpoints, and the pinned pose-text evaluator (or ``--evaluator``).
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout, whatever the install state

WARMUP = 3
PAPER_TOKENS, PAPER_CODES = 80, 2048
POSE_TASKS4 = ("pose2text", "posediff", "text2pose", "poseedit")


@dataclass(frozen=True)
class Variant:
    """One miniature training run."""

    name: str
    tasks: tuple[str, ...]
    mixed: bool = True
    generic_only: bool = False


VARIANTS = (
    Variant("abl-multi", POSE_TASKS4),
    Variant("abl-text2pose", ("text2pose",)),
    Variant("abl-text2pose-causal", ("text2pose",), mixed=False),
    Variant("abl-pose2text", ("pose2text",)),
    Variant("abl-image2pose", ("image2pose",)),
    Variant("abl-image2pose-generic", ("image2pose",), generic_only=True),
)
NEEDS = {"a": ("abl-text2pose", "abl-text2pose-causal"), "b": ("abl-text2pose", "abl-text2pose-causal"),
         "c": ("abl-image2pose", "abl-image2pose-generic"), "d": ("abl-multi", "abl-text2pose", "abl-pose2text")}
"""Claim → the variants it compares."""
SCORED = {"b": (("abl-text2pose", "text2pose"), ("abl-text2pose-causal", "text2pose")),
          "c": (("abl-image2pose", "image2pose"), ("abl-image2pose-generic", "image2pose")),
          "d": (("abl-multi", "text2pose"), ("abl-text2pose", "text2pose"), ("abl-multi", "pose2text"),
                ("abl-pose2text", "pose2text"))}  # fmt: skip
"""Claim → the (variant, task) pairs it scores."""


def variant_config(variant: Variant, steps: int, batch_size: int) -> Any:
    """The ``small`` preset cut down to the variant's tasks: an alignment (or, for image tasks,
    projector) stage then an instruction stage, each ``steps`` × number of tasks."""
    from bench.models.unipose.train_config import StageConfig, preset

    small = preset("small")
    total = steps * len(variant.tasks)
    first = (StageConfig("visual", variant.tasks, ("projector",), "pretrain", total, batch_size, 1e-3)
             if "image2pose" in variant.tasks else
             StageConfig("align", variant.tasks, ("llm",), "pretrain", total, batch_size, 1e-3))  # fmt: skip
    second = StageConfig("instruct", variant.tasks, ("llm", "projector"), "instruct", total, batch_size, 5e-4)
    return small.with_changes(name=variant.name, stages=(first, second), mixed=variant.mixed,
                              generic_only=variant.generic_only, snapshot_every=100)  # fmt: skip


def train_all(dataset: Any, work: Path, model_dirs: list[Path], steps: int, batch_size: int, claims: str) -> dict[str, Path]:
    from bench.models.unipose.training import train_unipose

    wanted = {name for claim in claims for name in NEEDS[claim]}
    paths = {}
    for variant in (v for v in VARIANTS if v.name in wanted):
        out = work / f"{variant.name}.safetensors"
        if not out.is_file():
            click.echo(f"training {variant.name} ...", err=True)
            train_unipose(variant_config(variant, steps, batch_size), dataset, work / f"work-{variant.name}", out, model_dirs)
        paths[variant.name] = out
    return paths


def score(name: str, bundle: Any, dataset: Any, task_id: str, limit: int, work: Path, ctx: Any) -> dict[str, float]:
    """Metric name → value of one model on one task (through ``bench.runner``: failed samples get
    its fallback answers and are counted)."""
    from bench.models.unipose.adapter import UniPose
    from bench.prediction_cache import PredictionCache
    from bench.runner import generate
    from tasks import get_task

    adapter = UniPose(bundle, batch_size=16, force_pose=True)
    with PredictionCache(work / "cache") as cache:
        run = generate(adapter, name, dataset, [task_id], cache, limit=limit)
    result = get_task(task_id).score(run.tasks[task_id].predictions, dataset, ctx)
    values = {m.name: m.value for m in result.metrics}
    values["failures"] = len(run.tasks[task_id].failures)
    return values


def latency(bundle: Any, captions: list[str], runs: int) -> float:
    """Median seconds from prompt to decoded pose (batch 1, ``<p>`` forced so both variants decode a pose)."""
    import torch

    from bench.models.unipose.decoding import generate
    from bench.models.unipose.serialization import Slots
    from bench.models.unipose.templates import template_for

    codec = bundle.codec()
    times = []
    for k in range(WARMUP + runs):
        prompt = codec.encode(template_for("text2pose", "instruct"), None, Slots(caption=captions[k % len(captions)]))
        start = time.perf_counter()
        with torch.no_grad():
            out = generate(bundle.model, [prompt], stop_after_pose=True, force_pose=[True], max_new_tokens=1000)
            bundle.pose_tokenizer.decode(torch.tensor([out[0].codes]))
        if k >= WARMUP:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def paper_layout(bundle: Any, mixed: bool) -> Any:
    """An untrained model of the same backbone with the paper's 80-token, 2,048-code vocabulary."""
    import torch

    from bench.models.unipose.llm import UniPoseLM, build_scratch_backbone, extend_tokenizer, resize_embeddings
    from bench.models.unipose.model_io import UniPoseBundle
    from bench.models.unipose.text_vocab import wordpiece_from_vocab
    from bench.models.unipose.tokenizer import PoseTokenizer, TokenizerConfig

    text = wordpiece_from_vocab(bundle.text_vocab)
    layout = extend_tokenizer(text, PAPER_CODES, PAPER_TOKENS)
    generator = torch.Generator().manual_seed(0)
    lm = build_scratch_backbone(bundle.config.backbone, layout.base_size, generator)
    resize_embeddings(lm, layout, generator)
    model = UniPoseLM(lm, layout, bundle.model.visual, mixed=mixed).eval()
    tokenizer = PoseTokenizer(TokenizerConfig.paper()).eval()
    return UniPoseBundle(bundle.config.with_changes(mixed=mixed), model, text, tokenizer, bundle.text_vocab, bundle.image_tokens)


@click.command()
@click.option("--claims", default="abcd", show_default=True, help="Which claims to measure (letters a-d).")
@click.option("--data", default="synth-full", show_default=True, help="Dataset name or path (train split trains, test scores).")
@click.option("--steps", type=click.IntRange(min=1), default=100, show_default=True, help="Steps per task and stage.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--limit", type=click.IntRange(min=32), default=256, show_default=True, help="Test samples scored per task.")
@click.option("--work", type=click.Path(path_type=Path, file_okay=False), help="Checkpoints and caches (default <home>/ablations).")
@click.option("--evaluator", help="Pose-text evaluator checkpoint in place of the pinned one.")
@click.option("--latency-runs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True,
              help="Torch threads while timing (2: both cores of the reference machine).")
def main(claims: str, data: str, steps: int, batch_size: int, limit: int, work: Path | None, evaluator: str | None,
         latency_runs: int, threads: int) -> None:  # fmt: skip
    """Train the miniature ablation models and print each claim with the paper's figure."""
    from bench.body import load_body_model
    from bench.config import load_config
    from bench.data import load_dataset
    from bench.data.synth.poses.generator import torch_threads
    from bench.errors import BenchError
    from bench.models.unipose.model_io import load_unipose
    from retrieval_models import load_evaluator
    from tasks import ScoringContext, get_task
    from tasks.pins import POSETEXT_EVALUATOR

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = load_config()
    work = work or config.home / "ablations"
    model_dirs = [config.user_models_dir, config.shipped_models_dir]
    claims = "".join(sorted(set(claims)))
    if not claims or set(claims) - set(NEEDS):
        raise click.BadParameter("letters from 'abcd'", param_hint="--claims")
    try:
        dataset = load_dataset(data, config.data_dir)
        evaluators = {}
        if set(claims) & {"b", "d"}:
            evaluators[POSETEXT_EVALUATOR] = load_evaluator(
                evaluator or POSETEXT_EVALUATOR, [config.shipped_evaluators_dir, config.user_evaluators_dir],
                None if evaluator else get_task("text2pose").spec.evaluator_sha256, text_model=config.text_model)  # fmt: skip
        ctx = ScoringContext(evaluators, load_body_model(config.body_model, config.body_models))
        paths = train_all(dataset, work, model_dirs, steps, batch_size, claims)
        bundles = {name: load_unipose(path, model_dirs) for name, path in paths.items()}
        pairs = dict.fromkeys(pair for claim in claims for pair in SCORED.get(claim, ()))
        scores = {(name, task): score(name, bundles[name], dataset, task, limit, work, ctx) for name, task in pairs}
        timings = {}
        if "a" in claims:
            captions = [r.inputs["text"] for r in get_task("text2pose").build_requests(dataset, WARMUP + latency_runs)]
            with torch_threads(threads):
                for mode, name in (("mixed", "abl-text2pose"), ("causal", "abl-text2pose-causal")):
                    timings[("trained", mode)] = latency(bundles[name], captions, latency_runs)
                    timings[("paper", mode)] = latency(paper_layout(bundles["abl-text2pose"], mode == "mixed"), captions,
                                                       latency_runs)  # fmt: skip
    except BenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    tokens = next(iter(bundles.values())).model.layout.tokens_per_pose
    click.echo(f"UniPose ablations in miniature ({data}): {steps} steps × batch {batch_size} per task and stage; first "
               f"{limit} test samples per task; latency on {threads} CPU thread(s), T = {tokens} tokens per pose\n")  # fmt: skip
    _print_table([row for claim in claims for row in ROWS[claim](scores, timings)])
    failures = {f"{name}/{task}": int(v["failures"]) for (name, task), v in scores.items() if v["failures"]}
    if failures:
        click.echo(f"\nsamples answered with the runner's fallback (failed decoding): {failures}")


def _holds(ok: bool) -> str:
    return "holds" if ok else "DOES NOT HOLD here"


def _latency_rows(scores: dict, t: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for layout, label in (("trained", "trained miniatures"), ("paper", f"paper layout, T={PAPER_TOKENS}, untrained")):
        mixed, causal = t[(layout, "mixed")], t[(layout, "causal")]
        rows.append((f"(a) T2P latency mixed vs causal ({label})", "0.2 vs 2.5 s (12.5x)",
                     f"{mixed:.3f} vs {causal:.3f} s ({causal / mixed:.1f}x)", _holds(causal / mixed >= 10)))
    return rows


def _compare(claim: str, what: str, paper: str, a: dict, b: dict, metric: str, unit: str, lower: bool) -> tuple[str, str, str, str]:
    better = a[metric] < b[metric] if lower else a[metric] > b[metric]
    return (f"({claim}) {what}", paper, f"{a[metric]:.1f} vs {b[metric]:.1f} {unit}", _holds(better))


ROWS = {
    "a": _latency_rows,
    "b": lambda s, t: [
        _compare("b", "T2P R^T2P top-5 mixed vs causal", "mixed > causal (Tab. 7)", s[("abl-text2pose", "text2pose")],
                 s[("abl-text2pose-causal", "text2pose")], "recall_t2p_top5", "%", lower=False),
        _compare("b", "T2P MPJPE mixed vs causal", "mixed < causal", s[("abl-text2pose", "text2pose")],
                 s[("abl-text2pose-causal", "text2pose")], "mpjpe_mm", "mm", lower=True)],
    "c": lambda s, t: [
        _compare("c", "I2P MPJPE both encoders vs generic", "96.1 vs 193.4 mm", s[("abl-image2pose", "image2pose")],
                 s[("abl-image2pose-generic", "image2pose")], "mpjpe_mm", "mm", lower=True),
        _compare("c", "I2P PA-MPJPE both encoders vs generic", "58.9 vs 86.1 mm", s[("abl-image2pose", "image2pose")],
                 s[("abl-image2pose-generic", "image2pose")], "pa_mpjpe_mm", "mm", lower=True)],
    "d": lambda s, t: [
        _compare("d", "T2P R^T2P top-5 multi- vs single-task", "multi > single", s[("abl-multi", "text2pose")],
                 s[("abl-text2pose", "text2pose")], "recall_t2p_top5", "%", lower=False),
        _compare("d", "P2T R-precision top-1 multi- vs single-task", "multi > single", s[("abl-multi", "pose2text")],
                 s[("abl-pose2text", "pose2text")], "r_precision_top1", "%", lower=False)],
}  # fmt: skip
"""Claim → its table rows (claim, paper, measured, verdict)."""


def _print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("claim", "paper", "measured", "verdict")
    width = [max(len(r[i]) for r in (header, *rows)) for i in range(4)]
    for row in (header, tuple("-" * w for w in width), *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, width, strict=True)))


if __name__ == "__main__":
    main()
