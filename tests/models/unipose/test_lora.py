"""LoRA on a pretrained backbone: a tiny randomly initialised Llama saved by the test and loaded back
with ``from_pretrained(local_dir)``, as a user's real backbone would be."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from bench.errors import CheckpointError, InternalError
from bench.models.unipose.llm import UniPoseLM, extend_tokenizer, load_pretrained_backbone, resize_embeddings
from bench.models.unipose.lora import LoraConfig, LoRALinear, apply_lora, lora_parameters, merge_lora, set_lora_generator
from bench.models.unipose.text_vocab import build_vocabulary, wordpiece_from_vocab
from bench.models.unipose.train_config import StageConfig
from bench.models.unipose.training import stage_parameters

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def save_tiny_backbone(folder: Path, seed: int = 0) -> Path:
    """A 2-layer Llama (random weights, tied=False) and a WordPiece tokenizer, saved like a hub folder."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = wordpiece_from_vocab(build_vocabulary(["the person raises the left arm and bends a knee."], 96))
    torch.manual_seed(seed)  # transformers initialises from the global RNG; only this saved stand-in uses it
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=128, tie_word_embeddings=False))  # fmt: skip
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def backbone_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_backbone(tmp_path_factory.mktemp("tiny_llama"))


def adapted(backbone_dir: Path, r: int = 4) -> tuple[UniPoseLM, list[str]]:
    lm, tokenizer = load_pretrained_backbone(backbone_dir)
    layout = extend_tokenizer(tokenizer, num_codes=16, tokens_per_pose=4)
    generator = torch.Generator().manual_seed(0)
    resize_embeddings(lm, layout, generator)
    names = apply_lora(lm.get_decoder(), LoraConfig(r=r, alpha=8.0, dropout=0.1), generator)
    return UniPoseLM(lm, layout), names


def test_loads_from_a_local_folder_with_its_own_tokenizer(backbone_dir: Path, tmp_path: Path) -> None:
    lm, tokenizer = load_pretrained_backbone(backbone_dir)
    assert type(lm).__name__ == "LlamaForCausalLM" and len(tokenizer) == lm.config.vocab_size
    assert lm.config._attn_implementation == "sdpa"
    with pytest.raises(CheckpointError, match="does not exist"):
        load_pretrained_backbone(tmp_path / "missing")


def test_every_decoder_linear_is_adapted_and_starts_as_identity(backbone_dir: Path) -> None:
    model, names = adapted(backbone_dir)
    assert len(names) == 2 * len(TARGETS) and {n.rsplit(".", 1)[-1] for n in names} == set(TARGETS)
    assert not isinstance(model.lm.get_output_embeddings(), LoRALinear)
    base, _ = load_pretrained_backbone(backbone_dir)
    ids = torch.tensor([[2, 9, 10, 11, 12]])
    with torch.no_grad():
        expected = base.get_decoder()(input_ids=ids).last_hidden_state
        got = model.lm.get_decoder()(input_ids=ids).last_hidden_state
    torch.testing.assert_close(got, expected)  # B = 0: a fresh adapter changes nothing
    with pytest.raises(InternalError, match="already"):
        apply_lora(model.lm.get_decoder(), LoraConfig(), torch.Generator())


def test_only_adapters_and_embeddings_train(backbone_dir: Path) -> None:
    model, _ = adapted(backbone_dir)
    bundle = SimpleNamespace(model=model, config=SimpleNamespace(lora=LoraConfig(r=4)))
    stage = StageConfig("align", ("text2pose",), ("llm",), "pretrain", steps=1, batch_size=1, lr=1e-2)
    params = stage_parameters(bundle, stage)
    embed, head = model.lm.get_input_embeddings().weight, model.lm.get_output_embeddings().weight
    expected = {id(p) for p in lora_parameters(model.lm)} | {id(embed), id(head)}
    assert {id(p) for p in params} == expected
    frozen = {n: p.detach().clone() for n, p in model.lm.named_parameters() if id(p) not in expected}
    assert frozen and all(not p.requires_grad for n, p in model.lm.named_parameters() if n in frozen)
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    ids = torch.tensor([[2, 9, 10, 11, 12, 3]])
    model.train()
    set_lora_generator(model, torch.Generator().manual_seed(0))
    model.loss(ids, torch.ones_like(ids), ids).backward()
    optimizer.step()
    for name, before in frozen.items():
        torch.testing.assert_close(dict(model.lm.named_parameters())[name], before)
    assert any(float(p.detach().abs().sum()) > 0 for p in lora_parameters(model.lm) if p.shape[1] == 4)  # B moved


def test_dropout_needs_a_generator_and_merge_is_exact(backbone_dir: Path) -> None:
    model, _ = adapted(backbone_dir)
    with torch.no_grad():
        for p in lora_parameters(model.lm):
            p.normal_(0.0, 0.1, generator=torch.Generator().manual_seed(p.numel()))
    ids = torch.tensor([[2, 9, 10, 11]])
    model.train()
    with pytest.raises(InternalError, match="generator"):
        model.lm(input_ids=ids)
    runs = []
    for _ in range(2):
        set_lora_generator(model, torch.Generator().manual_seed(5))
        runs.append(model.lm(input_ids=ids).logits.detach())
    torch.testing.assert_close(runs[0], runs[1])  # dropout masks come from the generator
    model.eval()
    with torch.no_grad():
        adapted_logits = model.lm(input_ids=ids).logits
        assert merge_lora(model.lm) == 14
        merged_logits = model.lm(input_ids=ids).logits
    assert not any(isinstance(m, LoRALinear) for m in model.lm.modules())
    assert all(type(m) is nn.Linear for n, m in model.lm.named_modules() if n.endswith("q_proj"))
    torch.testing.assert_close(merged_logits, adapted_logits, rtol=1e-5, atol=1e-5)


def test_pretrained_backbone_trains_and_round_trips(unipose_tiny: Path, synth_small: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from bench.data import load_dataset
    from bench.models.unipose.llm import BackboneConfig
    from bench.models.unipose.model_io import load_unipose
    from bench.models.unipose.train_config import preset
    from bench.models.unipose.training import train_unipose

    backbone = save_tiny_backbone(tmp_path / "llama", seed=1)
    tiny = preset("tiny")
    config = tiny.with_changes(name="tiny-lora", backbone=BackboneConfig(pretrained=str(backbone)),
                               lora=LoraConfig(r=4, alpha=8.0), stages=tiny.stages[:1])  # fmt: skip
    dataset = load_dataset(synth_small, synth_small.parent)
    out = tmp_path / "unipose-tiny-lora-llm.safetensors"
    result = train_unipose(config, dataset, tmp_path / "work", out, [unipose_tiny])
    assert result.card["text_vocab"] is None  # the backbone's own tokenizer
    saved = set(load_file(str(out)))
    assert saved and all(".lora_" in k or k.endswith(("embed_tokens.weight", "lm_head.weight")) or
                         k.startswith(("visual.projector.", "code_slots.")) for k in saved)  # fmt: skip
    assert any(".lora_" in k for k in saved) and not any(k.endswith("q_proj.base.weight") for k in saved)
    first = load_unipose(out, [unipose_tiny])
    second = load_unipose(out, [unipose_tiny])
    ids = torch.tensor([[2, 9, 10, 11]])
    with torch.no_grad():
        torch.testing.assert_close(first.model.lm(input_ids=ids).logits, second.model.lm(input_ids=ids).logits)
    lora_b = [p for p in lora_parameters(first.model.lm) if p.shape[1] == 4]
    assert any(float(p.detach().abs().sum()) > 0 for p in lora_b)  # trained adapters came back from the file
