"""Pose ↔ tokens, conversation sequences and the instruction templates of UniPose."""

from __future__ import annotations

import re

import pytest

from bench.errors import InternalError
from bench.models.unipose.llm import IGNORE, SPAN, extend_tokenizer, load_text_tokenizer
from bench.models.unipose.serialization import SequenceCodec, Slots, pad_batch, parse_pose_span
from bench.models.unipose.templates import ANSWERS, INSTRUCTIONS, PRETRAIN, TASK_SLOTS, template_for

CODES_A = [5, 0, 31, 7]
CODES_B = [1, 2, 3, 4]


@pytest.fixture(scope="module")
def bert_codec() -> SequenceCodec:
    """The MiniLM (BERT uncased) vocabulary extended with 32 codes, 4 tokens per pose."""
    tokenizer = load_text_tokenizer()
    return SequenceCodec(tokenizer, extend_tokenizer(tokenizer, 32, 4), image_tokens=3, mixed=True)


def test_pose_ids_and_string(bert_codec: SequenceCodec) -> None:
    layout = bert_codec.layout
    ids = bert_codec.pose_ids(CODES_A)
    assert ids == [layout.pose_begin_id, *(layout.code_offset + c for c in CODES_A), layout.pose_end_id]
    text = bert_codec.pose_string(CODES_A)
    assert text == "<pose_id_32><pose_id_5><pose_id_0><pose_id_31><pose_id_7><pose_id_33>"
    assert bert_codec.tokenizer(text, add_special_tokens=False)["input_ids"] == ids
    assert parse_pose_span([7, 8, *ids, 9], layout).codes == CODES_A
    with pytest.raises(InternalError):
        bert_codec.pose_ids([0, 1, 32, 2])


@pytest.mark.parametrize("task", ["text2pose", "posediff", "poseedit", "pose2text"])
def test_rendered_string_tokenizes_to_the_encoded_ids(bert_codec: SequenceCodec, task: str) -> None:
    slots = Slots(caption="The left knee is bent; arms are raised.", pose_a=CODES_A, pose_b=CODES_B)
    user = INSTRUCTIONS[task][3]
    encoded = bert_codec.encode(user, ANSWERS[task], slots)
    text = bert_codec.render(user, ANSWERS[task], slots)
    layout = bert_codec.layout
    assert encoded.ids[0] == layout.bos_id and encoded.ids[-1] == layout.eos_id
    assert bert_codec.tokenizer(text, add_special_tokens=False)["input_ids"] == encoded.ids[1:-1]


def test_labels_and_span_marking(bert_codec: SequenceCodec) -> None:
    layout = bert_codec.layout
    slots = Slots(caption="Raise the right arm.", pose_a=CODES_A, pose_b=CODES_B)
    mixed = bert_codec.encode(PRETRAIN["poseedit"], ANSWERS["poseedit"], slots)
    begin = len(mixed.ids) - 1 - mixed.ids[::-1].index(layout.pose_begin_id)  # the output <p>
    answer_start = next(i for i, label in enumerate(mixed.labels) if label != IGNORE)
    assert answer_start == begin  # the user turn (with its input pose A) is unlabelled
    assert mixed.mask[begin + 1 : begin + 5] == [SPAN] * 4 and mixed.mask.count(SPAN) == 4
    assert mixed.ids[begin + 1 : begin + 5] == [layout.code_offset + c for c in CODES_B]
    assert mixed.labels[begin:] == mixed.ids[begin:]
    causal = SequenceCodec(bert_codec.tokenizer, layout, 3, mixed=False).encode(PRETRAIN["poseedit"], ANSWERS["poseedit"], slots)
    assert causal.ids == mixed.ids and causal.labels == mixed.labels and SPAN not in causal.mask
    prompt = bert_codec.encode(PRETRAIN["poseedit"], None, slots)
    assert prompt.ids == mixed.ids[:answer_start] and set(prompt.labels) == {IGNORE}


def test_images_are_wrapped_and_slotted(bert_codec: SequenceCodec) -> None:
    layout = bert_codec.layout
    encoded = bert_codec.encode(PRETRAIN["imagediff"], ANSWERS["imagediff"], Slots(caption="Bend.", images=2))
    assert encoded.images == 2 and sum(encoded.image_slots) == 6
    starts = [i for i, t in enumerate(encoded.ids) if t == layout.image_begin_id]
    assert len(starts) == 2
    for start in starts:
        assert encoded.image_slots[start + 1 : start + 4] == [True] * 3
        assert encoded.ids[start + 4] == layout.image_end_id
    with pytest.raises(InternalError, match="image"):
        bert_codec.encode(PRETRAIN["imagediff"], None, Slots(images=1))


def test_padding_sides(bert_codec: SequenceCodec) -> None:
    short = bert_codec.encode(PRETRAIN["text2pose"], None, Slots(caption="Sit."))
    long = bert_codec.encode(PRETRAIN["text2pose"], None, Slots(caption="Sit down and cross both legs slowly."))
    left = pad_batch([short, long], 0, left=True)
    right = pad_batch([short, long], 0, left=False)
    gap = len(long.ids) - len(short.ids)
    assert left.ids[0, gap:].tolist() == short.ids and left.mask[0, :gap].tolist() == [0] * gap
    assert right.ids[0, : len(short.ids)].tolist() == short.ids and right.labels[0, -gap:].tolist() == [IGNORE] * gap


def test_captions_are_truncated() -> None:
    tokenizer = load_text_tokenizer()
    codec = SequenceCodec(tokenizer, extend_tokenizer(tokenizer, 8, 2), 1, True, max_caption_tokens=3)
    encoded = codec.encode("<caption>", None, Slots(caption="one two three four five"))
    assert len(encoded.ids) == 1 + len(codec.text_ids("[INST] ")) + 3 + len(codec.text_ids(" [/INST]"))


@pytest.mark.parametrize(
    ("ids", "error"),
    [
        ([1, 2, 3], "no pose emitted"),
        (["<p>", "c", "c", "c", "c"], "malformed span: no </p> after <p>"),
        (["<p>", "c", "c", "c", "</p>"], "malformed span: 3 tokens, expected 4"),
        (["<p>", "c", 7, "c", "c", "</p>"], "malformed span: a non-pose token inside <p>...</p>"),
        (["<p>", "c", "<p>", "c", "c", "</p>"], "malformed span: a non-pose token inside <p>...</p>"),
    ],
)
def test_parse_failures_are_reported_not_raised(bert_codec: SequenceCodec, ids: list, error: str) -> None:
    layout = bert_codec.layout
    names = {"<p>": layout.pose_begin_id, "</p>": layout.pose_end_id, "c": layout.code_offset + 3}
    result = parse_pose_span([names.get(i, i) for i in ids], layout)
    assert result.codes is None and result.error == error


def test_templates_per_task() -> None:
    assert set(INSTRUCTIONS) == set(PRETRAIN) == set(ANSWERS) == set(TASK_SLOTS)
    for task, options in INSTRUCTIONS.items():
        assert len(options) >= 20 and len(set(options)) == len(options), task
        for template in (*options, PRETRAIN[task]):
            found = sorted(re.findall(r"<caption>|<poseA>|<poseB>|<pose>|<image>", template))
            assert found == sorted(TASK_SLOTS[task]), (task, template)
    assert template_for("text2pose", "instruct") == INSTRUCTIONS["text2pose"][0]
    with pytest.raises(InternalError):
        template_for("nope", "instruct")
