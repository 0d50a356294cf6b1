"""Single-step parallel pose decoding, the causal variant, restricted logits and per-sample failures.

The model under test is rigged into a bigram machine: with every attention output and MLP down
projection zeroed, the residual stream is the input embedding, so the logits at a position depend
only on its own input token, and the lm_head is set so that chosen tokens map to chosen next tokens
(and each pose query to a chosen code).
"""

from __future__ import annotations

import pytest
import torch

from bench.models.unipose.decoding import allowed_text_ids, generate
from bench.models.unipose.llm import UniPoseLM
from bench.models.unipose.serialization import Encoded
from tests.models.unipose.test_llm import tiny_model

T = 4
CODES = [3, 1, 4, 2]
X, Y, D = 10, 11, 12
"""Text ids: X is followed by <p>, Y by EOS; D is the distractor that wins unrestricted pose slots."""

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def rigged(mixed: bool) -> UniPoseLM:
    model = tiny_model(num_codes=8, tokens=T, mixed=mixed)
    layout = model.layout
    with torch.no_grad():
        for layer in model.lm.get_decoder().layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        table = model.lm.get_input_embeddings().weight
        head = model.lm.get_output_embeddings().weight
        head.zero_()
        normed = table / table.pow(2).mean(-1, keepdim=True).sqrt()

        def link(source: int, target: int, weight: float = 10.0) -> None:
            head[target] += weight * normed[source]

        link(X, layout.pose_begin_id)
        link(Y, layout.eos_id)
        link(layout.pose_end_id, layout.eos_id)
        if mixed:
            for k, code in enumerate(CODES):
                link(layout.query_offset + k, layout.code_offset + code)
                link(layout.query_offset + k, D, 20.0)
        else:
            chain = [layout.pose_begin_id, *(layout.code_offset + c for c in CODES)]
            for source, target in zip(chain, chain[1:]):
                link(source, target)
                link(source, D, 20.0)
    return model


def prompt(model: UniPoseLM, last: int, pad: int = 0) -> Encoded:
    encoded = Encoded()
    encoded.extend([model.layout.bos_id] + [7] * pad + [last], labelled=False)
    return encoded


def test_parallel_decoding_is_one_forward_per_pose_and_per_sample() -> None:
    model = rigged(mixed=True)
    layout = model.layout
    out = generate(model, [prompt(model, X), prompt(model, Y, pad=3)], max_new_tokens=20, stop_after_pose=True)
    assert out[0].codes == CODES and out[0].error is None
    assert out[0].ids == [layout.pose_begin_id, *(layout.code_offset + c for c in CODES), layout.pose_end_id]
    assert out[0].forwards == 2  # the prompt, then <p> + T queries in a single forward
    # the other sample was not forced into a pose: it ended its text and reports the failure
    assert out[1].ids == [layout.eos_id] and out[1].codes is None and out[1].error == "no pose emitted"


def test_pose_slots_are_restricted_to_pose_ids() -> None:
    model = rigged(mixed=True)
    layout = model.layout
    queries = model.lm.get_input_embeddings().weight[layout.query_ids()][None]
    unrestricted = model.logits(model.hidden(queries, torch.full((1, T), 2))[0]).argmax(-1)
    assert unrestricted.tolist() == [[D] * T]  # without the restriction the slots would hold a text id
    out = generate(model, [prompt(model, X)], stop_after_pose=True)
    assert out[0].codes == CODES


def test_causal_variant_decodes_token_by_token() -> None:
    model = rigged(mixed=False)
    layout = model.layout
    out = generate(model, [prompt(model, X, pad=2), prompt(model, Y)], max_new_tokens=20, stop_after_pose=True)
    assert out[0].codes == CODES and out[0].forwards == 1 + T  # prompt, <p>, then T - 1 codes fed back
    assert out[0].ids[-1] == layout.pose_end_id and out[1].error == "no pose emitted"
    cut = generate(model, [prompt(model, X)], max_new_tokens=3, stop_after_pose=True)
    assert cut[0].codes is None and cut[0].error == "malformed span: no </p> after <p>"


def test_generation_continues_after_the_pose() -> None:
    model = rigged(mixed=True)
    layout = model.layout
    out = generate(model, [prompt(model, X)], max_new_tokens=20)
    assert out[0].ids[-2:] == [layout.pose_end_id, layout.eos_id] and out[0].codes == CODES
    short = generate(model, [prompt(model, X)], max_new_tokens=2)  # a started parallel pose step is completed
    assert short[0].codes == CODES and len(short[0].ids) == T + 2


def test_text_steps_exclude_pose_and_query_ids() -> None:
    model = tiny_model(num_codes=8, tokens=T)
    layout = model.layout
    allowed = allowed_text_ids(model)
    assert allowed[layout.pose_begin_id] and allowed[layout.eos_id] and allowed[X]
    excluded = [layout.pose_end_id, layout.image_begin_id, layout.image_end_id, layout.bos_id, layout.pad_id,
                *range(layout.code_offset, layout.code_offset + 8), *layout.query_ids().tolist()]  # fmt: skip
    assert not allowed[excluded].any()


def test_forcing_the_pose_is_per_sample() -> None:
    model = rigged(mixed=True)
    out = generate(model, [prompt(model, Y), prompt(model, Y)], force_pose=[True, False], stop_after_pose=True)
    assert out[0].codes == CODES and out[0].error is None  # told to start with <p>: one parallel step
    assert out[1].codes is None and out[1].error == "no pose emitted"  # its neighbour is left alone


def test_a_batch_forced_into_poses_runs_prompt_and_pose_in_one_forward() -> None:
    model = rigged(mixed=True)
    out = generate(model, [prompt(model, Y), prompt(model, X, pad=2)], force_pose=[True, True], stop_after_pose=True)
    assert [o.codes for o in out] == [CODES, CODES] and out[0].forwards == 1
    model = rigged(mixed=False)
    causal = generate(model, [prompt(model, Y)], force_pose=[True], stop_after_pose=True)
    assert causal[0].codes == CODES and causal[0].forwards == T  # prompt and <p> together, then T - 1 codes


@pytest.mark.parametrize("mixed", [True, False])
def test_the_fused_first_forward_decodes_as_the_separate_prompt_forward(mixed: bool) -> None:
    torch.manual_seed(0)
    model = tiny_model(num_codes=8, tokens=T, mixed=mixed)
    prompts = [prompt(model, X, pad=3), prompt(model, Y)]
    fused = generate(model, prompts, force_pose=[True, True], max_new_tokens=T + 8)
    separate = generate(model, [*prompts, prompt(model, X)], force_pose=[True, True, False], max_new_tokens=T + 8)
    assert fused[0].forwards < separate[0].forwards
    assert [o.ids for o in fused] == [o.ids for o in separate[:2]]  # the text after the pose reads the prompt too


def test_causal_decoding_feeds_each_code_with_its_slot() -> None:
    """Token-by-token decoding with a cache equals re-running the whole sequence at every step."""
    torch.manual_seed(0)
    model = tiny_model(num_codes=8, tokens=T, mixed=False, code_slots=True)
    with torch.no_grad():
        model.code_slots.weight.mul_(50.0)  # slots that decide the argmax
    layout = model.layout
    generated = generate(model, [prompt(model, X)], force_pose=[True], stop_after_pose=True)[0]
    ids = [layout.bos_id, X, layout.pose_begin_id]
    code_ids = torch.arange(layout.code_offset, layout.code_offset + layout.num_codes)
    for _ in range(T):
        mask = torch.ones((1, len(ids)), dtype=torch.long)
        hidden, _ = model.hidden(model.embed(torch.tensor([ids]), mask), mask)
        ids.append(int(code_ids[model.logits(hidden[0, -1])[code_ids].argmax()]))
    assert generated.codes == [i - layout.code_offset for i in ids[3:]]
