"""Poses ↔ token ids and strings, and whole conversations → training / prompt sequences.

A pose of ``T`` codes ``k_1..k_T`` is the ``T + 2`` ids ``<p> <pose_id_k1> … <pose_id_kT> </p>``
(string: the token strings concatenated, no separators, as in UniPose:
``docs/peers.md#unipose-vocabulary-and-serialisation``). An image is ``<im_start>`` + ``N`` slots +
``<im_end>``; the slots hold the pad id and are replaced by visual embeddings in
:meth:`bench.models.unipose.llm.UniPoseLM.embed`.

A conversation is ``BOS [INST] user [/INST] answer EOS`` (the Mistral instruction format of the
paper). Labels are IGNORE on ``BOS`` and the user turn and equal to the ids on the answer. With
mixed attention, the ``T`` code positions of the answer's pose get mask value 2 (their inputs are
the pose queries); in the causal variant they are ordinary tokens.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from bench.errors import InternalError
from bench.models.unipose.llm import IGNORE, SPAN, VocabLayout

__all__ = ["Slots", "Encoded", "Batch", "SpanResult", "SequenceCodec", "parse_pose_span", "pad_batch", "PLACEHOLDERS"]

PLACEHOLDERS = re.compile(r"(<caption>|<poseA>|<poseB>|<pose>|<image>)")
USER_OPEN = "[INST] "
USER_CLOSE = " [/INST]"


@dataclass(frozen=True)
class Slots:
    """Values for a template's placeholders."""

    caption: str | None = None
    """``<caption>``: a description, instruction or question."""
    pose_a: Sequence[int] | None = None
    """``<pose>`` / ``<poseA>``: T code indices."""
    pose_b: Sequence[int] | None = None
    """``<poseB>``: T code indices."""
    images: int = 0
    """How many ``<image>`` placeholders may be filled (their embeddings come separately, in order)."""


@dataclass
class Encoded:
    """One sequence, unpadded; all lists have the same length L."""

    ids: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    """1 for tokens, 2 for the generated-pose span (mixed attention)."""
    labels: list[int] = field(default_factory=list)
    image_slots: list[bool] = field(default_factory=list)
    """True where a visual embedding goes."""
    images: int = 0
    """Images the sequence holds (``sum(image_slots) / N``)."""

    def extend(self, ids: Sequence[int], *, labelled: bool, mask: int = 1, image: bool = False) -> None:
        self.ids += ids
        self.mask += [mask] * len(ids)
        self.labels += list(ids) if labelled else [IGNORE] * len(ids)
        self.image_slots += [image] * len(ids)


@dataclass
class Batch:
    """Padded sequences as tensors, all ``(B, L)``."""

    ids: torch.Tensor
    """int64 token ids (pad id on padding and image slots)."""
    mask: torch.Tensor
    """int8 1-D attention mask: 0 padding, 1 token, 2 generated-pose span."""
    labels: torch.Tensor
    """int64 labels, IGNORE where there is no loss."""
    image_slots: torch.Tensor
    """bool, where visual embeddings go."""


def pad_batch(sequences: Sequence[Encoded], pad_id: int, *, left: bool) -> Batch:
    """Pad to the longest sequence: on the left for generation, on the right for training."""
    length = max(len(s.ids) for s in sequences)

    def padded(values: list[Any], fill: Any, dtype: torch.dtype) -> torch.Tensor:
        rows = [([fill] * (length - len(v)) + v) if left else (v + [fill] * (length - len(v))) for v in values]
        return torch.tensor(rows, dtype=dtype)

    return Batch(
        ids=padded([s.ids for s in sequences], pad_id, torch.int64),
        mask=padded([s.mask for s in sequences], 0, torch.int8),
        labels=padded([s.labels for s in sequences], IGNORE, torch.int64),
        image_slots=padded([s.image_slots for s in sequences], False, torch.bool),
    )


@dataclass(frozen=True)
class SpanResult:
    """A pose read back from generated ids: ``codes`` or, on failure, ``error`` (one line)."""

    codes: list[int] | None
    error: str | None = None


def parse_pose_span(ids: Sequence[int], layout: VocabLayout) -> SpanResult:
    """The codes between the first ``<p>`` and the next ``</p>`` of ``ids``.

    Failures (never exceptions): no ``<p>`` ("no pose emitted"), no ``</p>`` after it, a span whose
    length is not T, or a span holding a non-code id ("malformed span: ...").
    """
    ids = [int(i) for i in ids]
    if layout.pose_begin_id not in ids:
        return SpanResult(None, "no pose emitted")
    begin = ids.index(layout.pose_begin_id)
    if layout.pose_end_id not in ids[begin + 1 :]:
        return SpanResult(None, "malformed span: no </p> after <p>")
    end = ids.index(layout.pose_end_id, begin + 1)
    body = ids[begin + 1 : end]
    if len(body) != layout.tokens_per_pose:
        return SpanResult(None, f"malformed span: {len(body)} tokens, expected {layout.tokens_per_pose}")
    offset = layout.code_offset
    if any(not offset <= i < offset + layout.num_codes for i in body):
        return SpanResult(None, "malformed span: a non-pose token inside <p>...</p>")
    return SpanResult([i - offset for i in body])


class SequenceCodec:
    """Builds token sequences for one text tokenizer and vocabulary layout.

    Args:
        tokenizer: the extended text tokenizer (see :func:`~bench.models.unipose.llm.extend_tokenizer`).
        layout: its vocabulary layout.
        image_tokens: N, visual embeddings per image.
        mixed: mark the answer's pose span with mask value 2 (mixed attention) or not (causal).
        max_caption_tokens: ``<caption>`` values are cut to this many tokens.
    """

    def __init__(self, tokenizer: Any, layout: VocabLayout, image_tokens: int, mixed: bool,
                 max_caption_tokens: int = 64) -> None:  # fmt: skip
        self.tokenizer = tokenizer
        self.layout = layout
        self.image_tokens = image_tokens
        self.mixed = mixed
        self.max_caption_tokens = max_caption_tokens
        self._template_cache: dict[str, list[int]] = {}

    # ----- pieces ---------------------------------------------------------------------------------
    def text_ids(self, text: str) -> list[int]:
        """Ids of a text piece, no special tokens."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _template_ids(self, piece: str) -> list[int]:
        """:meth:`text_ids` of a template piece, cached (templates are few, captions many)."""
        if piece not in self._template_cache:
            self._template_cache[piece] = self.text_ids(piece)
        return self._template_cache[piece]

    def pose_ids(self, codes: Sequence[int]) -> list[int]:
        """``[<p>, code ids..., </p>]`` for T codes in ``[0, C)``."""
        codes = [int(c) for c in codes]
        if len(codes) != self.layout.tokens_per_pose or any(not 0 <= c < self.layout.num_codes for c in codes):
            raise InternalError(f"a pose needs {self.layout.tokens_per_pose} codes in [0, {self.layout.num_codes})")
        return [self.layout.pose_begin_id, *(self.layout.code_offset + c for c in codes), self.layout.pose_end_id]

    def pose_string(self, codes: Sequence[int]) -> str:
        """The pose as text: ``<pose_id_C><pose_id_k1>…<pose_id_kT><pose_id_{C+1}>``."""
        tokens = self.layout.added_tokens()
        return "".join(tokens[i - self.layout.base_size] for i in self.pose_ids(codes))

    # ----- conversations --------------------------------------------------------------------------
    def encode(self, user: str, answer: str | None, slots: Slots) -> Encoded:
        """``BOS [INST] user [/INST]`` plus, when ``answer`` is given, ``answer EOS`` with labels.

        Without an answer the result is an inference prompt (the model continues after ``[/INST]``).
        """
        out = Encoded()
        out.extend([self.layout.bos_id], labelled=False)
        images_used = self._fill(out, USER_OPEN + user + USER_CLOSE, slots, labelled=False, images_used=0)
        if answer is not None:
            images_used = self._fill(out, answer, slots, labelled=True, images_used=images_used)
            out.extend([self.layout.eos_id], labelled=True)
        out.images = images_used
        return out

    def render(self, user: str, answer: str | None, slots: Slots) -> str:
        """The text of :meth:`encode` without BOS/EOS, poses as token strings, images as
        ``<im_start><image><im_end>`` (only pose/text conversations tokenize back to the same ids)."""
        def value(name: str) -> str:
            if name == "<caption>":
                return self._need(slots.caption, name)
            if name == "<image>":
                return "<im_start><image><im_end>"
            return self.pose_string(self._need(slots.pose_b if name == "<poseB>" else slots.pose_a, name))

        text = PLACEHOLDERS.sub(lambda m: value(m.group(1)), USER_OPEN + user + USER_CLOSE)
        return text if answer is None else text + PLACEHOLDERS.sub(lambda m: value(m.group(1)), answer)

    def _fill(self, out: Encoded, template: str, slots: Slots, *, labelled: bool, images_used: int) -> int:
        for piece in PLACEHOLDERS.split(template):
            if not piece:
                continue
            if piece == "<caption>":
                out.extend(self.text_ids(self._need(slots.caption, piece))[: self.max_caption_tokens], labelled=labelled)
            elif piece in ("<pose>", "<poseA>", "<poseB>"):
                codes = self._need(slots.pose_b if piece == "<poseB>" else slots.pose_a, piece)
                ids = self.pose_ids(codes)
                if labelled and self.mixed:  # the generated pose: queries, bidirectional
                    out.extend(ids[:1], labelled=True)
                    out.extend(ids[1:-1], labelled=True, mask=SPAN)
                    out.extend(ids[-1:], labelled=True)
                else:
                    out.extend(ids, labelled=labelled)
            elif piece == "<image>":
                if images_used >= slots.images:
                    raise InternalError("the template has more <image> placeholders than images given")
                out.extend([self.layout.image_begin_id], labelled=False)
                out.extend([self.layout.pad_id] * self.image_tokens, labelled=False, image=True)
                out.extend([self.layout.image_end_id], labelled=False)
                images_used += 1
            else:
                out.extend(self._template_ids(piece), labelled=labelled)
        return images_used

    @staticmethod
    def _need(value: Any, name: str) -> Any:
        if value is None:
            raise InternalError(f"template placeholder {name} has no value")
        return value
