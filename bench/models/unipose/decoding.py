"""Greedy generation for UniPose: single-step parallel pose decoding (mixed attention,
``docs/peers.md#unipose-decoding``, with the robustness fixes of ``docs/peers.md#unipose-pitfalls``)
and the token-by-token causal variant (the ablation).

Dimensions: ``B`` prompts, ``T`` tokens per pose, ``V`` vocabulary rows.

Per step every unfinished sample picks the argmax of its *allowed* logits:

* outside a pose span: text ids, ``<p>`` (once per answer) and EOS; never codes, queries, ``</p>``
  or image markers;
* parallel mode: a sample that picks ``<p>`` (or is told to start with it; per sample, never
  batch-wide as in the reference implementation) feeds ``<p>``
  plus the T pose queries in the next forward, with the value-2 mask over the queries; the argmax
  of the last T logits, restricted to the C pose-code ids, gives its whole pose, and ``</p>`` is
  appended. Samples that did not pick ``<p>`` share that forward with their one token followed by
  T masked-out pads, so the batch needs no task homogeneity;
* causal mode: after ``<p>`` the next T tokens are restricted to codes, then ``</p>`` is forced;
  each code is fed back with its slot (the cache holds its ``<p>``, so the slot is passed).

When every sample is forced to start with ``<p>``, no logits are needed before the first step, so
the prompt and that step share one forward (mixed mode: prompt, ``<p>`` and the T queries; one
forward per pose in all).

Failures are returned per sample (:class:`Generation.error`), never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from bench.models.unipose.llm import SPAN, UniPoseLM, VocabLayout, position_ids
from bench.models.unipose.serialization import Encoded, SpanResult, pad_batch, parse_pose_span

logger = logging.getLogger(__name__)

__all__ = ["Generation", "generate", "allowed_text_ids"]


@dataclass
class Generation:
    """What one prompt produced."""

    ids: list[int] = field(default_factory=list)
    """Generated ids, prompt excluded (``<p>``, codes and ``</p>`` included)."""
    text: str = ""
    """The generated text tokens, decoded (added tokens left out)."""
    codes: list[int] | None = None
    """The T pose codes, when a well-formed pose span was generated."""
    error: str | None = None
    """Why no pose could be read (``no pose emitted``, ``malformed span: ...``), else None."""
    forwards: int = 0
    """Forward passes run for this sample's batch (the prompt's included; when every sample of the
    batch is forced to open a pose, the prompt runs in the same forward as the first step)."""


def allowed_text_ids(model: UniPoseLM) -> torch.Tensor:
    """bool ``(V,)``: the ids a sample may emit outside a pose span, ``<p>`` included."""
    layout = model.layout
    allowed = torch.zeros(layout.size, dtype=torch.bool)
    allowed[: layout.base_size] = True
    allowed[layout.pose_begin_id] = True
    allowed[[layout.bos_id, layout.pad_id]] = False
    allowed[layout.eos_id] = True
    return allowed


@torch.no_grad()
def generate(model: UniPoseLM, prompts: Sequence[Encoded], images: torch.Tensor | None = None, *,
             max_new_tokens: int = 64, stop_after_pose: bool = False, force_pose: Sequence[bool] | None = None,
             tokenizer: object | None = None) -> list[Generation]:  # fmt: skip
    """Greedy continuation of ``prompts`` (inference prompts from ``SequenceCodec.encode``).

    Args:
        model: in eval mode; ``model.mixed`` selects parallel (True) or causal pose decoding.
        prompts: B prompts, left-padded here.
        images: the visual processor's input for every image slot of the prompts, in order.
        max_new_tokens: cap on generated tokens per sample (a pose span counts T + 2; a parallel pose
            step begun below the cap is completed, a causal span cut by it is malformed).
        stop_after_pose: finish a sample as soon as its pose span is complete (pose tasks).
        force_pose: per sample, start the answer with ``<p>`` instead of letting the model choose
            (the answer template of a pose task begins with the pose); never applied batch-wide.
        tokenizer: used to decode text ids into :attr:`Generation.text` (left empty when None).
    """
    layout, T = model.layout, model.layout.tokens_per_pose
    batch = pad_batch(prompts, layout.pad_id, left=True)
    device = model.lm.get_input_embeddings().weight.device
    ids, mask = batch.ids.to(device), batch.mask.to(device).long()
    image_embeds = model.visual(images.to(device)) if images is not None and model.visual is not None else None
    embeds = model.embed(ids, mask, batch.image_slots.to(device), image_embeds)
    from transformers import DynamicCache

    cache = DynamicCache(config=model.lm.config)
    size = len(prompts)
    forced: list[int | None] = [layout.pose_begin_id if f else None for f in (force_pose or [False] * size)]
    prompt_positions = position_ids(mask)
    next_pos = prompt_positions[:, -1] + 1
    pending: torch.Tensor | None = None  # prompt embeddings not yet run (they join the first step)
    logits = torch.empty(0)
    forwards = 0
    if all(f is not None for f in forced):
        pending = embeds  # every answer's first token is known: no forward needed to choose it
    else:
        hidden, cache = model.hidden(embeds, mask, cache=cache)
        forwards = 1
        logits = model.logits(hidden[:, -1])
    results = [Generation() for _ in range(size)]
    done = torch.zeros(size, dtype=torch.bool)
    has_pose = torch.zeros(size, dtype=torch.bool)
    span_left = torch.zeros(size, dtype=torch.long)  # causal mode: codes still to emit (-1: force </p>)
    text_allowed = allowed_text_ids(model).to(device)
    text_after_pose = text_allowed.clone()
    text_after_pose[layout.pose_begin_id] = False
    code_allowed = layout.is_code(torch.arange(layout.size, device=device))

    while True:
        choice = torch.full((size,), layout.pad_id, dtype=torch.long)
        for b in range(size):
            if done[b]:
                continue
            if forced[b] is not None:
                choice[b] = forced[b]
            else:
                allowed = code_allowed if span_left[b] > 0 else (text_after_pose if has_pose[b] else text_allowed)
                choice[b] = int(torch.where(allowed, logits[b], torch.finfo(logits.dtype).min).argmax())
        forced = [None] * size
        choice_slot = (T - span_left).clamp(0, T - 1)  # causal mode: a chosen code's slot in its span
        _record(results, choice, done, layout, span_left, has_pose, model.mixed, T)
        for b in range(size):
            if span_left[b] < 0:  # causal mode: the span's last code was just chosen
                span_left[b] = 0
                if stop_after_pose:
                    results[b].ids.append(layout.pose_end_id)
                    done[b] = True
                else:
                    forced[b] = layout.pose_end_id
            if not done[b] and len(results[b].ids) >= max_new_tokens:
                done[b] = True
        if bool(done.all()):
            break
        pose_rows = [b for b in range(size) if not done[b] and model.mixed and int(choice[b]) == layout.pose_begin_id]
        step_len = T + 1 if pose_rows else 1
        step_ids = torch.full((size, step_len), layout.pad_id, dtype=torch.long)
        step_ids[:, 0] = choice
        step_mask = torch.zeros((size, step_len), dtype=torch.long)
        step_mask[:, 0] = (~done).long()
        step_mask[pose_rows, 1:] = SPAN
        positions = next_pos[:, None] + torch.arange(step_len)[None, :] * (step_mask > 0)
        mask = torch.cat([mask, step_mask.to(device)], dim=1)
        step_slots = torch.zeros((size, step_len), dtype=torch.long)
        step_slots[:, 0] = choice_slot
        embeds = model.embed(step_ids.to(device), step_mask.to(device), slot_index=step_slots.to(device))
        positions = positions.to(device)
        if pending is not None:
            embeds, positions, pending = torch.cat([pending, embeds], 1), torch.cat([prompt_positions, positions], 1), None
        hidden, cache = model.hidden(embeds, mask, positions=positions, cache=cache)
        hidden = hidden[:, -step_len:]
        forwards += 1
        next_pos = next_pos + (step_mask > 0).sum(1)
        logits = model.logits(hidden[:, 0])
        if pose_rows:
            pose_logits = model.logits(hidden[pose_rows, 1:])
            codes = torch.where(code_allowed, pose_logits, torch.finfo(pose_logits.dtype).min).argmax(-1)
            for row, b in enumerate(pose_rows):
                results[b].ids += codes[row].tolist()
                if stop_after_pose or len(results[b].ids) + 1 >= max_new_tokens:
                    results[b].ids.append(layout.pose_end_id)
                    done[b] = True
                else:
                    forced[b] = layout.pose_end_id
    return [_finish(r, layout, tokenizer, forwards) for r in results]


def _record(results: list[Generation], choice: torch.Tensor, done: torch.Tensor, layout: VocabLayout, span_left: torch.Tensor,
            has_pose: torch.Tensor, mixed: bool, tokens_per_pose: int) -> None:  # fmt: skip
    """Append each running sample's chosen id and advance its state (EOS ends it)."""
    for b, token in enumerate(choice.tolist()):
        if done[b]:
            continue
        results[b].ids.append(token)
        if token == layout.eos_id:
            done[b] = True
        elif token == layout.pose_begin_id:
            has_pose[b] = True
            if not mixed:
                span_left[b] = tokens_per_pose
        elif span_left[b] > 0:
            span_left[b] -= 1
            if span_left[b] == 0:
                span_left[b] = -1  # complete: </p> follows


def _finish(result: Generation, layout: VocabLayout, tokenizer: object | None, forwards: int) -> Generation:
    parsed: SpanResult = parse_pose_span(result.ids, layout)
    result.codes, result.error = parsed.codes, parsed.error
    result.forwards = forwards
    if tokenizer is not None:
        text_ids = [i for i in result.ids if i < layout.base_size and i not in (layout.bos_id, layout.eos_id, layout.pad_id)]
        result.text = tokenizer.decode(text_ids, skip_special_tokens=True).strip()
    return result
