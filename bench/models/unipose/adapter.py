"""The ``unipose`` model (mixed attention, single-step pose decoding) and ``unipose-causal`` (the
token-by-token ablation): PoseBench requests in, predictions out (``docs/architecture.md`` §7), and
their ``bench models train`` entries.

Every request becomes the first instruction template of its task (``templates.INSTRUCTIONS``)
filled with its inputs: poses through the frozen pose tokenizer, images through the visual
processor (image A before image B), texts as ``<caption>``. Generation is greedy, in batches of
``batch_size`` requests. A pose answer is decoded by the pose tokenizer to float32 (22, 3).

Tasks: the seven UniPose tasks (trained) and ``spg`` and ``rpe``, answered zero-shot with their own
templates (PoseBench-Synth has no training split for them).

A sample whose generation cannot be read (no pose emitted, a malformed span, no text) is returned
as a :class:`~bench.models.adapter.SampleFailure` with the reason; it never stops a run.

Options (``ModelContext.options``, ``bench run --model-args``): ``checkpoint`` (file name or path), ``batch_size`` (16),
``max_text_tokens`` (96), ``threads`` (1), ``force_pose`` (False: the model itself must open the
pose span with ``<p>``; True starts every pose answer with it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.config import BenchConfig
from bench.data.synth.poses.generator import torch_threads
from bench.errors import ConfigError
from bench.models.adapter import (
    ModelAdapter, ModelContext, ModelInfo, Prediction, SampleFailure, parameter_count, register_model, register_trainer,
)  # fmt: skip
from bench.models.unipose.decoding import Generation, generate
from bench.models.unipose.model_io import UniPoseBundle, find_model_file, load_unipose
from bench.models.unipose.serialization import Slots
from bench.models.unipose.templates import ANSWERS, template_for
from tasks.spec import Request

logger = logging.getLogger(__name__)

__all__ = ["UniPose", "UniPoseCausal", "SUPPORTED_TASKS", "train_unipose_model", "train_unipose_causal_model"]

SUPPORTED_TASKS = ("pose2text", "posediff", "image2text", "imagediff", "text2pose", "image2pose", "poseedit", "spg", "rpe")
MODEL_ARGS = ("checkpoint", "batch_size", "max_text_tokens", "threads", "force_pose")
"""What ``--model-args`` may set (module docstring)."""
POSE_TASKS = tuple(t for t in SUPPORTED_TASKS if ANSWERS[t].startswith("<pose"))
TRAINING_DATA = ("synth-full/train",)


@register_model("unipose")
class UniPose(ModelAdapter):
    """The reference UniPose (module docstring)."""

    info = ModelInfo(name="unipose", version="1.3", licence="Apache-2.0", training_data=TRAINING_DATA,
                     description="reference UniPose: pose-token LLM (4 layers, width 256) with mixed attention and "
                                 "single-step pose decoding, generic + pose-specific image encoders")  # fmt: skip
    tasks = SUPPORTED_TASKS
    dtypes = ("float32",)
    checkpoint = "unipose-small-llm.safetensors"
    """Default checkpoint file (``<models>/unipose/``)."""

    def __init__(self, bundle: UniPoseBundle, *, batch_size: int = 16, max_text_tokens: int = 96, threads: int = 1,
                 force_pose: bool = False) -> None:  # fmt: skip
        self.bundle = bundle
        self.codec = bundle.codec()
        self.batch_size = int(batch_size)
        self.max_text_tokens = int(max_text_tokens)
        self.threads = int(threads)
        self.force_pose = bool(force_pose)
        data = bundle.card.get("data")
        trained_on = type(self).info.training_data
        if data:
            trained_on = (f"{data['name']}{'-' + data['variant'] if data.get('variant') else ''}/{data['split']}",)
        self.info = replace(type(self).info, parameter_count=parameter_count(bundle.model), training_data=trained_on)

    def weights_sha256(self) -> tuple[str, ...]:
        """The LLM checkpoint, its pose tokenizer and its frozen image encoders."""
        card = self.bundle.card
        return tuple(str(h) for h in (card.get("sha256"), card.get("pose_tokenizer", {}).get("sha256"),
                                      card.get("visual", {}).get("generic_sha256"), card.get("visual", {}).get("pose_sha256")) if h)  # fmt: skip

    @classmethod
    def load(cls, ctx: ModelContext) -> UniPose:
        options = dict(ctx.options)
        unknown = sorted(set(options) - set(MODEL_ARGS))
        if unknown:
            raise ConfigError(f"unknown {cls.info.name} argument(s) {unknown}; known: {', '.join(MODEL_ARGS)}",
                              field="--model-args")  # fmt: skip
        dirs = list(ctx.checkpoint_dirs)
        path = find_model_file(str(options.pop("checkpoint", cls.checkpoint)), dirs)
        return cls(load_unipose(path, dirs, ctx.device), **options)

    def predict(self, requests: Sequence[Request], seeds: Sequence[int]) -> list[Prediction | SampleFailure]:
        """Greedy answers (``seeds`` are not used)."""
        out: list[Prediction | SampleFailure] = []
        with torch_threads(self.threads), torch.no_grad():
            for start in range(0, len(requests), self.batch_size):
                out += self._answer(list(requests[start : start + self.batch_size]))
        failed = sum(isinstance(a, SampleFailure) for a in out)
        if failed:
            logger.warning("%s: %d of %d %s samples could not be answered", self.info.name, failed, len(out),
                           requests[0].task)  # fmt: skip
        return out

    # ----- helpers ------------------------------------------------------------------------------
    def _codes(self, poses: list[np.ndarray]) -> list[list[int]]:
        if not poses:
            return []
        return self.bundle.pose_tokenizer.encode(np.stack(poses).astype(np.float32)).tolist()

    def _answer(self, requests: list[Request]) -> list[Prediction | SampleFailure]:
        task = requests[0].task
        inputs = [r.inputs for r in requests]
        pose_a = self._codes([x["pose"] if "pose" in x else x["pose_a"] for x in inputs if "pose" in x or "pose_a" in x])
        pose_b = self._codes([x["pose_b"] for x in inputs if "pose_b" in x])
        images: list[np.ndarray] = []
        prompts = []
        for k, x in enumerate(inputs):
            sample_images = [x[key] for key in ("image", "image_a", "image_b") if key in x]
            images += sample_images
            slots = Slots(caption=x.get("text"), pose_a=pose_a[k] if pose_a else None,
                          pose_b=pose_b[k] if pose_b else None, images=len(sample_images))  # fmt: skip
            prompts.append(self.codec.encode(template_for(task, "instruct"), None, slots))
        is_pose = task in POSE_TASKS
        tokens = self.bundle.model.layout.tokens_per_pose
        generations = generate(
            self.bundle.model, prompts, torch.from_numpy(np.stack(images)) if images else None,
            max_new_tokens=tokens + 10 if is_pose else self.max_text_tokens, stop_after_pose=is_pose,
            force_pose=[self.force_pose and is_pose] * len(prompts), tokenizer=self.bundle.text_tokenizer,
        )  # fmt: skip
        return self._poses(generations) if is_pose else self._texts(generations)

    def _poses(self, generations: list[Generation]) -> list[Prediction | SampleFailure]:
        out: list[Prediction | SampleFailure] = [SampleFailure(str(g.error)) for g in generations]
        good = [k for k, g in enumerate(generations) if g.codes is not None]
        if good:
            codes = torch.tensor([generations[k].codes for k in good], dtype=torch.long)
            decoded = self.bundle.pose_tokenizer.decode(codes).cpu().numpy().astype(np.float32)
            for row, k in enumerate(good):
                out[k] = decoded[row]
        return out

    @staticmethod
    def _texts(generations: list[Generation]) -> list[Prediction | SampleFailure]:
        return [g.text if g.text.strip() else SampleFailure("no text emitted") for g in generations]


@register_model("unipose-causal")
class UniPoseCausal(UniPose):
    """The causal-attention ablation: same model, pose tokens generated one by one."""

    info = ModelInfo(name="unipose-causal", version="1.3", licence="Apache-2.0", training_data=TRAINING_DATA,
                     description="UniPose ablation: causal attention, pose tokens decoded one by one (paper Table 7)")  # fmt: skip
    checkpoint = "unipose-small-causal-llm.safetensors"


def _train(preset_name: str, dataset: Any, out_dir: Path, config: BenchConfig) -> list[Path]:
    from bench.models.unipose.train_config import preset
    from bench.models.unipose.training import train_unipose

    run = preset(preset_name)
    folder = Path(out_dir) / "unipose"
    out = folder / f"{run.checkpoint_name}.safetensors"
    dirs = [Path(out_dir), config.user_models_dir, config.shipped_models_dir]
    train_unipose(run, dataset, folder / f"work-{run.name}", out, dirs)
    return [out]


@register_trainer("unipose")
def train_unipose_model(dataset: Any, out_dir: Path, *, quick: bool, config: BenchConfig, preset: str | None = None) -> list[Path]:
    """``bench models train unipose [--config small|tiny]`` (``--quick`` = ``tiny``); resumes an
    interrupted run from ``<out>/unipose/work-<config>/``."""
    return _train("tiny" if quick else (preset or "small"), dataset, out_dir, config)


@register_trainer("unipose-causal")
def train_unipose_causal_model(dataset: Any, out_dir: Path, *, quick: bool, config: BenchConfig,
                               preset: str | None = None) -> list[Path]:  # fmt: skip
    """The causal ablation of a preset (``small-causal`` by default)."""
    name = "tiny" if quick else (preset or "small")
    return _train(name if name.endswith("-causal") else f"{name}-causal", dataset, out_dir, config)
