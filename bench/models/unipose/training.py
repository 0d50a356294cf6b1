"""Train the UniPose LLM in three stages (``train_config``), resumably, and write its checkpoint.

Each stage draws task-homogeneous batches: the task with probability ∝ its number of items, then
``batch_size`` items with replacement, a template and a caption per item, all from one
``np.random.Generator`` per stage (seeded with ``(seed, stage index)``; its state is part of every
snapshot). AdamW, gradient clipping at 1.0, a cosine schedule after a linear warm-up.

Every ``snapshot_every`` steps, and at every stage boundary, a snapshot is written
(``retrieval_models.train_state``: model, optimiser, scheduler, step, generator states; safetensors
and JSON). Re-running the same command resumes from it and yields the same weights as an
uninterrupted run. Each finished stage also leaves ``stage<k>-<name>.safetensors`` + ``.json``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.data import Dataset
from bench.data.synth.poses.generator import torch_threads
from bench.errors import CheckpointError
from bench.models.unipose.lora import lora_parameters, set_lora_generator
from bench.models.unipose.model_io import (
    UniPoseBundle, assemble, dataset_record, find_model_file, load_pose_tokenizer, save_checkpoint,
)  # fmt: skip
from bench.models.unipose.serialization import SequenceCodec, pad_batch
from bench.models.unipose.text_vocab import build_vocabulary
from bench.models.unipose.train_config import StageConfig, UniPoseTrainConfig
from bench.models.unipose.train_data import TrainingData, build_training_data, training_texts
from bench.progress import progress, progress_bar
from retrieval_models.train_state import load_snapshot, save_snapshot

logger = logging.getLogger(__name__)

__all__ = ["TrainResult", "train_unipose", "stage_parameters", "warmup_cosine", "render_features"]

CLIP_NORM = 1.0
FEATURE_CHUNK = 64
IMAGE_TASKS = ("image2text", "imagediff", "image2pose")


@dataclass
class TrainResult:
    """What a finished run produced."""

    checkpoint: Path
    """The final ``.safetensors`` (its card is the ``.json`` next to it)."""
    card: dict[str, Any]
    stage_losses: dict[str, dict[str, float]] = field(default_factory=dict)
    """Stage → task → mean loss over the stage's last quarter of steps."""


def warmup_cosine(steps: int, warmup_ratio: float) -> Callable[[int], float]:
    """LR multiplier at step s: linear from 1/w to 1 over w = ceil(ratio·steps) steps, then cosine to 0."""
    warmup = max(1, math.ceil(warmup_ratio * steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        fraction = (step - warmup) / max(1, steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, fraction)))

    return factor


def stage_parameters(bundle: UniPoseBundle, stage: StageConfig) -> list[torch.nn.Parameter]:
    """Freeze everything, then unfreeze (and return) what ``stage`` trains."""
    model = bundle.model
    for param in model.parameters():
        param.requires_grad_(False)
    chosen: list[torch.nn.Parameter] = []
    if "llm" in stage.trainable:
        if bundle.config.lora is not None:
            chosen += list(lora_parameters(model.lm))
            chosen += [model.lm.get_input_embeddings().weight, model.lm.get_output_embeddings().weight]
        else:
            chosen += list(model.lm.parameters())
        if model.code_slots is not None:
            chosen += list(model.code_slots.parameters())
    if "projector" in stage.trainable and model.visual is not None:
        chosen += list(model.visual.projector.parameters())
    unique = list({id(p): p for p in chosen}.values())
    for param in unique:
        param.requires_grad_(True)
    return unique


def render_features(visual: torch.nn.Module, data: TrainingData) -> torch.Tensor:
    """float16 ``(R, N, C)`` frozen-encoder features of every render, computed once in fixed chunks
    (so they do not depend on which batches later use them; only the projector runs per step)."""
    count = len(data.render_pose_rows)
    chunks = []
    for start in progress(range(0, count, FEATURE_CHUNK), "render features", total=-(-count // FEATURE_CHUNK)):
        images = np.stack([data.renders.image(i) for i in range(start, min(start + FEATURE_CHUNK, count))])
        chunks.append(visual.features(torch.from_numpy(images)).to(torch.float16))
    return torch.cat(chunks)


def _run_stage(bundle: UniPoseBundle, data: TrainingData, features: torch.Tensor | None, codec: SequenceCodec, k: int,
               stage: StageConfig, work_dir: Path, state: dict[str, Any], resume: Any,
               clock: Callable[[], float]) -> dict[str, float]:  # fmt: skip
    config, model = bundle.config, bundle.model
    params = stage_parameters(bundle, stage)
    optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(stage.steps, config.warmup_ratio))
    rng = np.random.default_rng([config.seed, k])
    torch_rng = torch.Generator().manual_seed(config.seed * 1000 + k)
    start = 0
    running: dict[str, list[float]] = {t: [0.0, 0] for t in stage.tasks}  # task -> [loss sum, count], last quarter
    if resume is not None and resume.progress["stage"] == k and resume.progress["step"] > 0:
        start = int(resume.progress["step"])
        rng.bit_generator.state = resume.numpy_rng
        torch_rng.set_state(resume.torch_rng)
        optimizer.load_state_dict(resume.optimizer)
        scheduler.load_state_dict(resume.scheduler)
        running = {t: list(v) for t, v in resume.progress["running"].items()}
    set_lora_generator(model, torch_rng)
    tasks = list(stage.tasks)
    probabilities = stage.sampling_probabilities({t: len(data.items[t]) for t in tasks})
    model.train()
    bar = progress_bar(f"unipose {stage.name}", total=stage.steps)
    bar.update(start)
    for step in range(start, stage.steps):
        task = tasks[int(rng.choice(len(tasks), p=probabilities))]
        chosen = rng.choice(data.items[task], size=stage.batch_size)
        samples = [data.sample(task, int(i), stage.templates, rng, codec) for i in chosen]
        batch = pad_batch([s for s, _ in samples], model.layout.pad_id, left=False)
        refs = [r for _, image_refs in samples for r in image_refs]
        image_embeds = model.visual.projector(features[refs].float()) if refs else None
        loss = model.loss(batch.ids, batch.mask.long(), batch.labels, batch.image_slots, image_embeds)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        value = loss.item()
        if step >= stage.steps * 3 // 4:
            running[task] = [running[task][0] + value, running[task][1] + 1]
        bar.update(1)
        bar.set_postfix(task=task, loss=f"{value:.3f}")
        if (step + 1) % config.snapshot_every == 0 and step + 1 < stage.steps:
            state.update(stage=k, step=step + 1, serial=state["serial"] + 1, running=running,
                            elapsed_s=clock())  # fmt: skip
            save_snapshot(work_dir / "state", progress=state, model=model, optimizer=optimizer,
                          scheduler=scheduler, numpy_rng=rng, torch_rng=torch_rng)  # fmt: skip
    bar.close()
    set_lora_generator(model, None)
    model.eval()
    return {t: total / count for t, (total, count) in running.items() if count}


def train_unipose(config: UniPoseTrainConfig, dataset: Dataset, work_dir: Path, out: Path,
                  model_dirs: list[Path]) -> TrainResult:  # fmt: skip
    """Run (or resume) every stage of ``config`` on ``dataset``'s train split.

    Args:
        config: the run's configuration.
        dataset: the training dataset (its ``train`` split).
        work_dir: snapshots and per-stage checkpoints; resumed from when it holds a snapshot of
            the same configuration.
        out: the final ``.safetensors`` to write (card next to it).
        model_dirs: where the pose tokenizer and visual checkpoints are looked up.

    Raises:
        CheckpointError: the snapshot in ``work_dir`` belongs to another configuration.
    """
    began = time.perf_counter()
    with torch_threads(config.threads):
        resume = load_snapshot(work_dir / "state")
        if resume is not None and resume.progress.get("config") != config.to_dict():
            raise CheckpointError("the snapshot belongs to another configuration; use a fresh work folder",
                                  file=work_dir / "state" / "state.json", field="config")  # fmt: skip
        pose_tokenizer = load_pose_tokenizer(find_model_file(config.pose_tokenizer, model_dirs))
        tasks = sorted({t for s in config.stages for t in s.tasks})
        data = build_training_data(dataset, "train", pose_tokenizer, tasks)
        text_vocab = None if config.backbone.pretrained is not None else build_vocabulary(training_texts(data), config.text_vocab_size)
        bundle = assemble(config, pose_tokenizer, text_vocab, model_dirs)
        codec = bundle.codec()
        state: dict[str, Any] = {"serial": 0, "stage": 0, "step": 0, "config": config.to_dict(), "losses": {},
                                    "running": {}, "elapsed_s": 0.0}  # fmt: skip
        if resume is not None:
            bundle.model.load_state_dict(resume.model, strict=True)
            state.update(resume.progress)
            logger.info("resuming %s at stage %d step %d", config.name, state["stage"], state["step"])
        elapsed_before = float(state["elapsed_s"])
        needs_images = any(t in IMAGE_TASKS for s in config.stages[state["stage"]:] for t in s.tasks)
        features = render_features(bundle.model.visual, data) if needs_images else None

        def clock() -> float:
            return round(elapsed_before + time.perf_counter() - began, 1)

        record = dataset_record(dataset, "train", bundle)
        for k, stage in enumerate(config.stages):
            if k < state["stage"]:
                continue
            losses = _run_stage(bundle, data, features, codec, k, stage, work_dir, state, resume, clock)
            state["losses"][stage.name] = losses
            state.update(stage=k + 1, step=0, serial=state["serial"] + 1, running={}, elapsed_s=clock())
            save_checkpoint(bundle, work_dir / f"stage{k + 1}-{stage.name}.safetensors",
                            {**record, "stages_done": k + 1, "losses": state["losses"]})  # fmt: skip
            save_snapshot(work_dir / "state", progress=state, model=bundle.model, optimizer=None, scheduler=None,
                          numpy_rng=np.random.default_rng(config.seed), torch_rng=torch.Generator().manual_seed(config.seed))  # fmt: skip
            resume = None
            logger.info("stage %s done: %s", stage.name, ", ".join(f"{t} {v:.3f}" for t, v in losses.items()))
        card_extra = {**record, "stages_done": len(config.stages), "losses": state["losses"], "train_seconds": clock()}
        card = save_checkpoint(bundle, out, card_extra)
    return TrainResult(out, card, state["losses"])
