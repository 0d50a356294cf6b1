"""``bench evaluators``: list, train and evaluate the retrieval models used as evaluators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bench.cli._common import echo_json, echo_table, json_option, state
from bench.config import BenchConfig
from submissions.scoring import DEFAULT_DATA

_KINDS = ("pose-text", "pair-text")
_PREFIX = {"pose-text": "posetext", "pair-text": "pairtext"}


def _search_dirs(config: BenchConfig) -> list[Path]:
    return [config.shipped_evaluators_dir, config.user_evaluators_dir]


def _headline(card: dict[str, Any] | None) -> dict[str, Any]:
    test = ((card or {}).get("metrics") or {}).get("test") or {}
    return {"test_mRecall": test.get("mRecall"), "test_rprec_top1": test.get("rprec_blocks32_top1")}


@click.group()
def evaluators() -> None:
    """The pose-text and pair-text retrieval models that score generated texts and poses."""


@evaluators.command("list")
@json_option
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Pinned evaluators and the ones trained under BENCH_HOME, with their files' state."""
    from bench.errors import CheckpointError
    from bench.hashing import sha256_file
    from retrieval_models import EVALUATORS, find_checkpoint, read_card

    config = state(ctx).config
    rows: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for evaluator_id, pinned in EVALUATORS.items():
        path, _ = find_checkpoint(evaluator_id, _search_dirs(config))
        card, status = None, "missing"
        if path is not None:
            seen.add(path.resolve())
            sha = sha256_file(path)
            status = "unpinned" if pinned.sha256 is None else ("ok" if sha == pinned.sha256 else "hash mismatch")
            try:
                card = read_card(path)
            except CheckpointError:
                status += ", no card"
        rows.append({"id": evaluator_id, "kind": pinned.kind, "pinned": True, "sha256": pinned.sha256 or "pending",
                     "present": status, "path": str(path) if path else None, **_headline(card)})  # fmt: skip
    user_dir = config.user_evaluators_dir
    for weights in sorted(user_dir.glob("*.safetensors")) if user_dir.is_dir() else []:
        if weights.resolve() in seen:
            continue
        try:
            card = read_card(weights)
        except CheckpointError:
            continue
        status = "ok" if card.get("sha256") == sha256_file(weights) else "hash mismatch"
        rows.append({"id": weights.stem, "kind": card["kind"], "pinned": False, "sha256": card.get("sha256"),
                     "present": status, "path": str(weights), **_headline(card)})  # fmt: skip
    if as_json:
        echo_json(rows)
        return
    table = [dict(r, sha256=(r["sha256"] or "")[:12]) for r in rows]
    echo_table(table, ["id", "kind", "pinned", "sha256", "present", "test_mRecall", "test_rprec_top1"])


@evaluators.command("train")
@click.argument("kind", type=click.Choice(_KINDS))
@click.option("--data", default="synth-full", show_default=True, help="Dataset name under the data dir, or a folder.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--epochs", type=click.IntRange(min=0), help="Pretraining epochs on automatic texts.")
@click.option("--finetune-epochs", type=click.IntRange(min=0), help="Fine-tuning epochs on human texts.")
@click.option("--batch-size", type=click.IntRange(min=2), help="Pretraining batch size.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Pretraining learning rate.")
@click.option("--flip-prob", type=click.FloatRange(0, 1), help="Probability of the left/right flip augmentation.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [BENCH_HOME/evaluators].")
@click.option("--name", help="Checkpoint name [posetext|pairtext-<data>-s<seed>].")
@click.option("--restart", is_flag=True, help="Discard an interrupted run of this name instead of resuming it.")
@click.option("--stop-after", type=click.IntRange(min=1), help="Stop after N epochs; rerun the command to resume.")
@click.option("--tiny", is_flag=True, help="Small networks and few epochs: a smoke test in seconds, not an evaluator.")
@json_option
@click.pass_context
def train_command(ctx: click.Context, kind: str, data: str, seed: int, epochs: int | None, finetune_epochs: int | None,
                  batch_size: int | None, lr: float | None, flip_prob: float | None, out: Path | None, name: str | None,
                  restart: bool, stop_after: int | None, tiny: bool, as_json: bool) -> None:  # fmt: skip
    """Train a KIND evaluator (resumes an interrupted run of the same name and settings)."""
    from dataclasses import replace

    from bench.data import load_dataset
    from retrieval_models import TrainConfig, train_evaluator
    from retrieval_models.quick import tiny_config

    config = state(ctx).config
    dataset = load_dataset(data, config.data_dir)
    overrides = {"pretrain_epochs": epochs, "finetune_epochs": finetune_epochs, "batch_size": batch_size, "lr": lr,
                 "flip_prob": flip_prob}  # fmt: skip
    base = tiny_config(kind, seed) if tiny else TrainConfig(kind=kind, seed=seed)
    train_config = replace(base, **{k: v for k, v in overrides.items() if v is not None})
    name = name or f"{_PREFIX[kind]}-{dataset.root.name}-s{seed}"
    result = train_evaluator(dataset, train_config, out or config.user_evaluators_dir, name,
                             text_model=config.text_model, restart=restart, stop_after_epochs=stop_after)  # fmt: skip
    summary: dict[str, Any] = {"name": name, "completed": result.completed, "epochs_run": result.epochs_run}
    if result.completed and result.card is not None:
        summary.update(path=str(result.path), sha256=result.sha256, training_time_s=result.card["training_time_s"],
                       metrics=result.card["metrics"])  # fmt: skip
    if as_json:
        echo_json(summary)
    elif not result.completed:
        click.echo(f"stopped after {result.epochs_run} epoch(s); rerun the same command to resume {name}")
    else:
        click.echo(f"wrote {result.path}\nsha256 {result.sha256}\ntraining time {summary['training_time_s']:.0f} s")
        _echo_metrics(result.card["metrics"])


@evaluators.command("import")
@click.argument("family", type=click.Choice(["posescript"]))
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--text-model", type=click.Path(file_okay=False, path_type=Path),
              help="The local distilbert-base-uncased folder it was trained with [the config's text_model].")  # fmt: skip
@click.option("--name", help="Evaluator name [posescript-<posetext|pairtext>-<sha256 prefix>].")
@click.option("--hand-pose", type=click.Path(dir_okay=False, path_type=Path),
              help="Hand joints appended to 22-joint poses (.npy or torch tensor, 90 values; UniPose's "
                   "default_hand_pose.pt) [zeros, PoseScript's T_POSE].")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder [BENCH_HOME/evaluators].")
@json_option
@click.pass_context
def import_command(ctx: click.Context, family: str, checkpoint: Path, text_model: Path | None, name: str | None,
                   hand_pose: Path | None, out: Path | None, as_json: bool) -> None:  # fmt: skip
    """Register a released FAMILY retrieval CHECKPOINT (PoseScript's ret_distilbert_* or PoseFix's
    modret_distilbert_* checkpoint_best.pth) as an evaluator, read with torch.load(weights_only=True)."""
    from bench.errors import ConfigError
    from retrieval_models.posescript.release import import_release

    config = state(ctx).config
    text_model = text_model or config.text_model
    if text_model is None:
        raise ConfigError("a PoseScript evaluator needs its DistilBERT folder: pass --text-model DIR or set "
                          "BENCH_TEXT_MODEL", field="--text-model")  # fmt: skip
    evaluator = import_release(checkpoint, text_model, out or config.user_evaluators_dir, name, hand_pose=hand_pose)
    summary = {"name": evaluator.id, "kind": evaluator.kind, "release_sha256": evaluator.sha256,
               "path": str((out or config.user_evaluators_dir) / f"{evaluator.id}.safetensors")}  # fmt: skip
    if as_json:
        echo_json(summary)
        return
    pinned = "posetext-synth-v1" if evaluator.kind == "pose-text" else "pairtext-synth-v1"
    click.echo(f"imported {evaluator.kind} evaluator {evaluator.id} (release sha256 {evaluator.sha256})\n"
               f"wrote {summary['path']}\n"
               f"evaluate it: bench evaluators eval {evaluator.id} --data DATA\n"
               f"score with it: bench score BUNDLE --data DATA --evaluator {pinned}={evaluator.id}")  # fmt: skip


def _echo_metrics(metrics: dict[str, dict[str, Any]]) -> None:
    keys = [k for k in next(iter(metrics.values()), {}) if k not in ("source", "seed")]
    echo_table([{"metric": k, **{split: values.get(k) for split, values in metrics.items()}} for k in keys])


@evaluators.command("eval")
@click.argument("name")
@click.option("--data", help="Dataset name or folder [the one the evaluator was trained on].")
@click.option("--split", type=click.Choice(["val", "test"]), default="test", show_default=True)
@click.option("--captions", type=click.Choice(["default", "auto", "human"]), default="default", show_default=True,
              help="Text source; default = human texts where the split has them, else automatic.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the R-precision protocols.")
@json_option
@click.pass_context
def eval_command(ctx: click.Context, name: str, data: str | None, split: str, captions: str, seed: int,
                 as_json: bool) -> None:  # fmt: skip
    """Recall@1/5/10 both ways, mRecall and GT R-precision (both protocols) of evaluator NAME."""
    from bench.data import load_dataset
    from retrieval_models import default_source, load_evaluator, load_retrieval_set, retrieval_metrics

    config = state(ctx).config
    evaluator = load_evaluator(name, _search_dirs(config), text_model=config.text_model)
    data = data or (evaluator.card.get("data") or {}).get("folder") or DEFAULT_DATA
    dataset = load_dataset(data, config.data_dir)
    source = default_source(dataset, evaluator.kind, split) if captions == "default" else captions
    metrics = retrieval_metrics(evaluator, load_retrieval_set(dataset, evaluator.kind, split, source), seed=seed)
    if as_json:
        echo_json({"evaluator": evaluator.id, "sha256": evaluator.sha256, "kind": evaluator.kind,
                   "data": {"name": dataset.name, "version": dataset.version, "folder": dataset.root.name,
                            "split": split, "split_hash": dataset.split_hash(split)},
                   "metrics": metrics})  # fmt: skip
        return
    click.echo(f"{evaluator.id} ({evaluator.kind}, sha256 {evaluator.sha256[:12]}) on {dataset.name} {split}, "
               f"{metrics['n']} items, {source} texts x {metrics['caption_indices']}")  # fmt: skip
    _echo_metrics({split: metrics})
