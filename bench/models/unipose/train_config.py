"""Training configurations of the UniPose reference model: three stages (UniPose's are in
``docs/peers.md#unipose-training-stages-and-lora``) and the
named presets ``tiny`` (tests, seconds) and ``small`` (the shipped CPU model).

Stages:

1. ``align``: pose–text alignment on pose2text, posediff, text2pose, poseedit with the pretraining
   templates; the LLM and its embeddings train (a pretrained backbone: LoRA + embeddings + lm_head).
2. ``visual``: visual projector pre-training on image2text, imagediff, image2pose; only the
   projector trains.
3. ``instruct``: instruction fine-tuning on the seven UniPose tasks with the instruction templates;
   LLM (or LoRA) + embeddings + lm_head + projector train.

Every stage uses AdamW (weight decay 0, as the paper's HF Trainer) and a cosine schedule with a
linear warm-up over ``warmup_ratio`` (3 %) of its steps. The ``small`` learning rates (1e-3, 1e-3,
5e-4) are higher than the paper's (1.5e-4, 5e-5, 5e-5 for LoRA on a 7B model) because its backbone
trains from scratch. ``spg`` and ``rpe`` have no training split in PoseBench-Synth, so no stage
trains them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bench.errors import ConfigError
from bench.models.unipose.llm import BackboneConfig
from bench.models.unipose.lora import LoraConfig

__all__ = ["StageConfig", "UniPoseTrainConfig", "TRAINABLE", "TRAINED_TASKS", "preset"]

TRAINABLE = ("llm", "projector")
"""``llm``: the backbone (all weights from scratch; LoRA adapters + embeddings + lm_head for a
pretrained one), with the code-slot table when the model has one; ``projector``: the visual projector."""
TRAINED_TASKS = ("pose2text", "posediff", "image2text", "imagediff", "text2pose", "image2pose", "poseedit")
"""Tasks with training data (the seven UniPose tasks)."""


@dataclass(frozen=True)
class StageConfig:
    """One training stage."""

    name: str
    """``align``, ``visual`` or ``instruct`` (or any label for custom runs)."""
    tasks: tuple[str, ...]
    """Tasks sampled (batches are task-homogeneous; a task is drawn with probability ∝ its items
    times its entry in :attr:`task_weights`)."""
    trainable: tuple[str, ...]
    """Parts trained (from :data:`TRAINABLE`); everything else is frozen."""
    templates: str
    """``pretrain`` (one template per task) or ``instruct`` (drawn from ≥ 20 per task)."""
    steps: int
    batch_size: int
    lr: float
    task_weights: dict[str, float] = field(default_factory=dict)
    """Sampling weight per task (absent: 1.0); scales the task's share of the stage's batches."""

    def __post_init__(self) -> None:
        if not self.tasks or set(self.tasks) - set(TRAINED_TASKS):
            raise ConfigError(f"tasks must come from {TRAINED_TASKS}", field=f"stages.{self.name}.tasks")
        if not self.trainable or set(self.trainable) - set(TRAINABLE):
            raise ConfigError(f"trainable must come from {TRAINABLE}", field=f"stages.{self.name}.trainable")
        if self.templates not in ("pretrain", "instruct"):
            raise ConfigError("must be 'pretrain' or 'instruct'", field=f"stages.{self.name}.templates")
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ConfigError("steps, batch_size and lr must be positive", field=f"stages.{self.name}")
        if set(self.task_weights) - set(self.tasks) or any(not w > 0 for w in self.task_weights.values()):
            raise ConfigError("weights must be positive and name tasks of the stage", field=f"stages.{self.name}.task_weights")

    def sampling_probabilities(self, items: dict[str, int]) -> list[float]:
        """Probability of each task of :attr:`tasks` (in order), given its number of items."""
        mass = [items[t] * self.task_weights.get(t, 1.0) for t in self.tasks]
        return [m / sum(mass) for m in mass]


@dataclass(frozen=True)
class UniPoseTrainConfig:
    """Everything that defines a UniPose training run (stored in the checkpoint card)."""

    name: str
    """Preset or run label; the checkpoint is ``unipose-<name>-llm.safetensors``."""
    stages: tuple[StageConfig, ...]
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    lora: LoraConfig | None = None
    """Adapters for a pretrained backbone (None: train its weights directly; scratch backbones)."""
    mixed: bool = True
    """Mixed attention with single-step pose decoding; False trains the causal ablation."""
    code_slots: bool = False
    """Add a learnt slot embedding to input pose codes (``bench.models.unipose.llm``). The presets
    turn it on; False (no such table) is how cards written before the field load."""
    text_vocab_size: int = 2048
    """Size of the WordPiece vocabulary counted on the training texts (scratch backbones)."""
    pose_tokenizer: str = "tokenizer-small.safetensors"
    """Pose tokenizer checkpoint (a file name looked up in the model folders, or a path)."""
    visual: str = "small"
    """Visual processor configuration name (``bench.models.unipose.vision``); its encoder files
    carry their own architectures."""
    generic_only: bool = False
    """Use the generic image encoder alone (the visual ablation)."""
    seed: int = 0
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_caption_tokens: int = 64
    """Captions and instructions are cut to this many text tokens."""
    threads: int = 1
    """Torch intra-op threads (1 is fastest on a loaded 2-core machine)."""
    snapshot_every: int = 200
    """Steps between resumable training snapshots."""

    def __post_init__(self) -> None:
        if not self.stages:
            raise ConfigError("needs at least one stage", field="stages")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError("must be in [0, 1)", field="warmup_ratio")
        if self.lora is not None and self.backbone.pretrained is None:
            raise ConfigError("LoRA applies to a pretrained backbone only", field="lora")
        if min(self.threads, self.snapshot_every, self.max_caption_tokens) < 1:
            raise ConfigError("threads, snapshot_every and max_caption_tokens must be >= 1", field="threads")

    @property
    def checkpoint_name(self) -> str:
        return f"unipose-{self.name}-llm"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (tuples become lists, as after a JSON round trip)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UniPoseTrainConfig:
        """Inverse of :meth:`to_dict`; ConfigError on unknown or malformed entries."""
        try:
            values = dict(data)
            values["stages"] = tuple(StageConfig(**{**s, "tasks": tuple(s["tasks"]), "trainable": tuple(s["trainable"])})
                                     for s in values["stages"])  # fmt: skip
            values["backbone"] = BackboneConfig(**values.get("backbone", {}))
            values["lora"] = LoraConfig(**values["lora"]) if values.get("lora") else None
            return cls(**values)
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"malformed UniPose training config ({exc})", field="config") from None

    def with_changes(self, **changes: Any) -> UniPoseTrainConfig:
        return replace(self, **changes)


PAIR_WEIGHTS = {"posediff": 4.0, "imagediff": 6.0}
"""``small`` instruction-stage sampling weights: the difference-captioning tasks read two poses or
images and learnt nothing from them at their item share (1.1: loss with pose B shuffled within
0.01 nats of the true pair's); up-weighted, with 2,000 more steps than 1.1's 3,000 so the other
tasks keep their number of batches."""


def _stages(align: tuple[int, int, float], visual: tuple[int, int, float], instruct: tuple[int, int, float],
            instruct_weights: dict[str, float] | None = None) -> tuple[StageConfig, ...]:  # fmt: skip
    """The three UniPose stages with (steps, batch size, lr) each."""
    return (
        StageConfig("align", ("pose2text", "posediff", "text2pose", "poseedit"), ("llm",), "pretrain", *align),
        StageConfig("visual", ("image2text", "imagediff", "image2pose"), ("projector",), "pretrain", *visual),
        StageConfig("instruct", TRAINED_TASKS, ("llm", "projector"), "instruct", *instruct, dict(instruct_weights or {})),
    )


def preset(name: str) -> UniPoseTrainConfig:
    """``tiny`` (a few steps of a 2-layer, 32-wide decoder; for tests) or ``small`` (the shipped
    model: 4 layers, width 256, 4 heads, code slots; 2000 + 400 + 5000 steps of 24 sequences on two
    CPU threads, the instruction stage weighted towards the pair tasks by :data:`PAIR_WEIGHTS`);
    ``<name>-causal`` is the same run with causal attention (the ablation)."""
    if name.endswith("-causal"):
        return preset(name.removesuffix("-causal")).with_changes(name=name, mixed=False)
    if name == "tiny":
        return UniPoseTrainConfig(
            name="tiny", stages=_stages((4, 4, 3e-3), (3, 4, 3e-3), (4, 4, 3e-3)),
            backbone=BackboneConfig(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_positions=256),
            text_vocab_size=512, pose_tokenizer="tokenizer-tiny.safetensors", code_slots=True,
            snapshot_every=2,
        )  # fmt: skip
    if name == "small":
        return UniPoseTrainConfig(name="small", stages=_stages((2000, 24, 1e-3), (400, 24, 1e-3), (5000, 24, 5e-4),
                                                               PAIR_WEIGHTS), max_caption_tokens=80, code_slots=True,
                                  threads=2)  # fmt: skip
    raise ConfigError(f"unknown UniPose training config {name!r}; known: small, tiny (and <name>-causal)",
                      field="config")  # fmt: skip

