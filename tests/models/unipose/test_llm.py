"""UniPose LLM: vocabulary extension, embedding resize, the exact mixed-attention mask, loss positions."""

from __future__ import annotations

import pytest
import torch

from bench.errors import InternalError
from bench.models.unipose.llm import (
    IGNORE, SPAN, BackboneConfig, UniPoseLM, VocabLayout, build_scratch_backbone, code_slot_index, extend_tokenizer,
    load_text_tokenizer, loss_targets, mixed_attention_mask, resize_embeddings,
)  # fmt: skip
from bench.models.unipose.templates import INSTRUCTIONS
from bench.models.unipose.text_vocab import build_vocabulary, wordpiece_from_vocab

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = BackboneConfig(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=48, max_positions=128)


def tiny_model(num_codes: int = 16, tokens: int = 4, mixed: bool = True, seed: int = 0, code_slots: bool = False) -> UniPoseLM:
    """A 2-layer model over a counted vocabulary with ``num_codes`` codes and ``tokens`` per pose."""
    tokenizer = wordpiece_from_vocab(build_vocabulary(["the person stands with the left arm up."], 128))
    layout = extend_tokenizer(tokenizer, num_codes, tokens)
    generator = torch.Generator().manual_seed(seed)
    lm = build_scratch_backbone(TINY, layout.base_size, generator)
    resize_embeddings(lm, layout, generator)
    return UniPoseLM(lm, layout, mixed=mixed, code_slots=code_slots, generator=generator).eval()


# ----- vocabulary ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["minilm", "counted"])
def test_added_tokens_are_contiguous_and_round_trip(source: str) -> None:
    if source == "minilm":
        tokenizer = load_text_tokenizer()
        assert len(tokenizer) == 30522
    else:
        tokenizer = wordpiece_from_vocab(build_vocabulary([t for v in INSTRUCTIONS.values() for t in v], 400))
    base = len(tokenizer)
    layout = extend_tokenizer(tokenizer, num_codes=32, tokens_per_pose=5)
    assert layout.base_size == base and layout.size == len(tokenizer) == base + 32 + 4 + 5
    # codebook order first, then <p>, </p>, image markers, queries as the very last rows
    assert tokenizer.convert_tokens_to_ids("<pose_id_0>") == base
    assert tokenizer.convert_tokens_to_ids("<pose_id_31>") == base + 31
    assert tokenizer.convert_tokens_to_ids("<pose_id_32>") == layout.pose_begin_id == base + 32
    assert tokenizer.convert_tokens_to_ids("<pose_id_33>") == layout.pose_end_id == base + 33
    assert tokenizer.convert_tokens_to_ids(["<im_start>", "<im_end>"]) == [base + 34, base + 35]
    assert layout.query_ids().tolist() == list(range(len(tokenizer) - 5, len(tokenizer)))
    # each added token encodes to exactly its own id, also inside running text (LISA #55)
    text = "the person <pose_id_32><pose_id_7><pose_id_33> stands <im_start><im_end><pose_query_4>"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    for token in ("<pose_id_32>", "<pose_id_7>", "<pose_id_33>", "<im_start>", "<im_end>", "<pose_query_4>"):
        assert ids.count(tokenizer.convert_tokens_to_ids(token)) == 1
    assert tokenizer.convert_ids_to_tokens(layout.code_offset + 7) == "<pose_id_7>"
    assert VocabLayout.from_dict(layout.to_dict()) == layout


def test_extending_twice_is_refused() -> None:
    tokenizer = wordpiece_from_vocab(build_vocabulary(["a b c"], 80))
    extend_tokenizer(tokenizer, 8, 2)
    with pytest.raises(InternalError, match="added"):
        extend_tokenizer(tokenizer, 8, 2)


def test_counted_vocabulary_is_order_independent() -> None:
    texts = [t for v in INSTRUCTIONS.values() for t in v]
    assert build_vocabulary(texts, 300) == build_vocabulary(texts[::-1], 300)


def test_new_rows_are_drawn_from_pinned_normal() -> None:
    generator = torch.Generator().manual_seed(0)
    layout = VocabLayout(base_size=500, num_codes=1500, tokens_per_pose=16, bos_id=2, eos_id=3, pad_id=0)
    lm = build_scratch_backbone(TINY, layout.base_size, generator)
    old_embed = lm.get_input_embeddings().weight.detach().clone()
    old_head = lm.get_output_embeddings().weight.detach().clone()
    old_embed[: layout.base_size].mul_(3.0)  # make the old rows distinguishable from a mean-initialisation
    with torch.no_grad():
        lm.get_input_embeddings().weight.copy_(old_embed)
    resize_embeddings(lm, layout, generator)
    for table, old in ((lm.get_input_embeddings().weight, old_embed), (lm.get_output_embeddings().weight, old_head)):
        assert table.shape == (layout.size, TINY.hidden_size)
        torch.testing.assert_close(table[: layout.base_size], old)
        new = table[layout.base_size :].detach()
        assert abs(float(new.mean())) < 2e-3 and abs(float(new.std()) - 0.02) < 1e-3, float(new.std())
        assert float((new.mean(0) - old.mean(0)).abs().max()) > 1e-3  # not mean-initialised
    assert lm.config.vocab_size == layout.size


# ----- mask ---------------------------------------------------------------------------------------

# Positions: 0 pad | 1 BOS | 2 <p> 3 code 4 code 5 </p> (input pose: causal) | 6 text | 7 <p> |
# 8 9 10 queries (generated span) | 11 </p> | 12 EOS
MASK_1D = [0, 1, 1, 1, 1, 1, 1, 1, SPAN, SPAN, SPAN, 1, 1]
EXPECTED = [  # row = query position, column = key position; 1 = may attend
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0],
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
    [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
]


def test_mixed_mask_is_exact() -> None:
    mask = mixed_attention_mask(torch.tensor([MASK_1D, [1] * 13]), dtype=torch.float32)
    assert mask.shape == (2, 1, 13, 13) and mask.dtype == torch.float32
    allowed = (mask == 0).int()
    assert allowed[0, 0].tolist() == EXPECTED
    assert allowed[1, 0].tolist() == torch.ones(13, 13).tril().int().tolist()  # no span: plain causal
    assert float(mask.min()) == torch.finfo(torch.float32).min
    # with a KV cache the rows are the last Q positions of the same mask
    rows = mixed_attention_mask(torch.tensor([MASK_1D]), query_length=4)
    assert (rows == 0).int()[0, 0].tolist() == EXPECTED[-4:]


def _hidden(model: UniPoseLM, embeds: torch.Tensor, mask_1d: list[int]) -> torch.Tensor:
    return model.hidden(embeds, torch.tensor([mask_1d]))[0][0]


def test_mask_acts_in_the_model() -> None:
    model = tiny_model()
    embeds = torch.randn(1, 13, 32, generator=torch.Generator().manual_seed(1))
    base = _hidden(model, embeds, MASK_1D)
    later_query = embeds.clone()
    later_query[0, 10] += 1.0
    changed = (_hidden(model, later_query, MASK_1D) - base).abs().sum(-1) > 1e-6
    # (row 0 is padding: fully masked, its output is meaningless and never attended to)
    assert changed[8:].all() and not changed[1:8].any()  # the first query sees the last one
    later_input_code = embeds.clone()
    later_input_code[0, 4] += 1.0
    changed = (_hidden(model, later_input_code, MASK_1D) - base).abs().sum(-1) > 1e-6
    assert not changed[1:4].any() and changed[4:].all()  # the input pose span stays causal


# ----- embeddings and loss -----------------------------------------------------------------------


def test_span_inputs_are_the_query_embeddings() -> None:
    model = tiny_model(tokens=3)
    layout = model.layout
    ids = torch.tensor([[layout.bos_id, layout.pose_begin_id, *(layout.code_offset + c for c in (5, 1, 9)), layout.pose_end_id]])
    mask = torch.tensor([[1, 1, SPAN, SPAN, SPAN, 1]])
    embeds = model.embed(ids, mask)
    table = model.lm.get_input_embeddings().weight
    torch.testing.assert_close(embeds[0, 2:5], table[layout.query_ids()])
    torch.testing.assert_close(embeds[0, :2], table[ids[0, :2]])
    other = ids.clone()
    other[0, 2:5] = layout.code_offset  # other ground-truth codes: same inputs
    torch.testing.assert_close(model.embed(other, mask), embeds)
    with pytest.raises(InternalError, match="longer"):
        model.embed(torch.cat([ids, ids], 1), torch.tensor([[1, 1, SPAN, SPAN, SPAN, SPAN, SPAN, SPAN, SPAN, 1, 1, 1]]))


def test_code_slots_add_their_row_to_input_codes_only() -> None:
    model = tiny_model(tokens=3, code_slots=True)
    layout = model.layout
    codes = [layout.code_offset + c for c in (5, 1, 9)]
    ids = torch.tensor([[layout.bos_id, layout.pose_begin_id, *codes, layout.pose_end_id, 7,
                         layout.pose_begin_id, *codes, layout.pose_end_id]])  # fmt: skip
    mask = torch.tensor([[1] * 7 + [1, SPAN, SPAN, SPAN, 1]])
    assert code_slot_index(ids, layout).tolist() == [[0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 2, 0]]
    embeds = model.embed(ids, mask)
    table, slots = model.lm.get_input_embeddings().weight, model.code_slots.weight
    torch.testing.assert_close(embeds[0, 2:5], table[codes] + slots)  # the input pose: code + slot
    torch.testing.assert_close(embeds[0, [0, 1, 5, 6, 7, 11]], table[ids[0, [0, 1, 5, 6, 7, 11]]])
    torch.testing.assert_close(embeds[0, 8:11], table[layout.query_ids()])  # the generated span: queries only
    alone = model.embed(ids[:, 3:4], mask[:, 3:4], slot_index=torch.tensor([[1]]))  # a code fed without its <p>
    torch.testing.assert_close(alone[0, 0], embeds[0, 3])
    assert tiny_model(tokens=3).code_slots is None


def test_loss_targets_are_unshifted_on_the_span() -> None:
    labels = torch.tensor([[IGNORE, IGNORE, 10, 20, 21, 22, 30, 40, 41]])
    # positions:            BOS     prompt  <p>  q    q   q   </p> txt EOS
    mask = torch.tensor([[1, 1, 1, SPAN, SPAN, SPAN, 1, 1, 1]])
    assert loss_targets(labels, mask).tolist() == [[IGNORE, 10, IGNORE, 20, 21, 22, 40, 41, IGNORE]]
    plain = torch.tensor([[1] * 9])
    assert loss_targets(labels, plain).tolist() == [[IGNORE, 10, 20, 21, 22, 30, 40, 41, IGNORE]]


def test_loss_is_summed_ce_over_label_count() -> None:
    model = tiny_model(tokens=3)
    layout = model.layout
    codes = [layout.code_offset + c for c in (3, 0, 7)]
    ids = torch.tensor([[layout.bos_id, 11, 12, layout.pose_begin_id, *codes, layout.pose_end_id, layout.eos_id],
                        [layout.bos_id, 11, 13, 14, 15, layout.eos_id, 0, 0, 0]])  # fmt: skip
    mask = torch.tensor([[1, 1, 1, 1, SPAN, SPAN, SPAN, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0, 0]])
    labels = ids.clone()
    labels[:, :2] = IGNORE
    labels[1, 6:] = IGNORE
    loss = model.loss(ids, mask, labels)
    logits = model.logits(model.hidden(model.embed(ids, mask), mask)[0])
    logp = torch.log_softmax(logits.float(), -1)
    pairs = [(0, 1, ids[0, 2]), (0, 2, layout.pose_begin_id), (0, 4, codes[0]), (0, 5, codes[1]), (0, 6, codes[2]),
             (0, 7, layout.eos_id), (1, 1, 13), (1, 2, 14), (1, 3, 15), (1, 4, layout.eos_id)]  # fmt: skip
    expected = -sum(logp[b, i, int(t)] for b, i, t in pairs) / int((labels != IGNORE).sum())
    assert int((labels != IGNORE).sum()) == 11  # </p> counts in the denominator but is never a target
    torch.testing.assert_close(loss, expected)


def test_causal_variant_rejects_span_positions() -> None:
    model = tiny_model(mixed=False)
    ids = torch.tensor([[2, 5, 6]])
    with pytest.raises(InternalError, match="causal"):
        model.loss(ids, torch.tensor([[1, SPAN, 1]]), ids)


def test_image_embeddings_fill_their_slots_in_order() -> None:
    model = tiny_model()
    layout = model.layout
    # sample 0: <im_start> A A <im_end> text <im_start> B B <im_end>; sample 1: <im_start> C C <im_end> pad...
    ids = torch.tensor([[layout.image_begin_id, 0, 0, layout.image_end_id, 7, layout.image_begin_id, 0, 0, layout.image_end_id],
                        [layout.image_begin_id, 0, 0, layout.image_end_id, 7, 0, 0, 0, 0]])  # fmt: skip
    slots = torch.zeros_like(ids, dtype=torch.bool)
    slots[0, [1, 2, 6, 7]] = True
    slots[1, [1, 2]] = True
    images = torch.arange(3 * 2 * 32, dtype=torch.float32).reshape(3, 2, 32)  # A, B, C: 2 tokens each
    embeds = model.embed(ids, torch.ones_like(ids), slots, images)
    torch.testing.assert_close(embeds[0, 1:3], images[0])
    torch.testing.assert_close(embeds[0, 6:8], images[1])
    torch.testing.assert_close(embeds[1, 1:3], images[2])
    with pytest.raises(InternalError, match="image"):
        model.embed(ids, torch.ones_like(ids), slots, images[:2])
