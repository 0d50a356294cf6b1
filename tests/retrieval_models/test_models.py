"""Networks: shapes, normalisation, the symBBC loss, seeded initialisation and dropout."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench.body import forward_kinematics, mirror_pose
from bench.errors import ConfigError, InternalError
from retrieval_models.encoders import ArchConfig, GeneratorDropout, feature_width, poses_to_features
from retrieval_models.model import INITIAL_SCALE, build_model, sym_bbc_loss
from tests.retrieval_models.conftest import TINY


def _poses(n: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(0, 0.4, size=(n, 22, 3)).astype(np.float32))


def _ids(words, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encoded = words.encode(texts, 48)
    lengths = torch.tensor([len(e) for e in encoded])
    ids = torch.zeros(len(encoded), int(lengths.max()), dtype=torch.int64)
    for i, row in enumerate(encoded):
        ids[i, : len(row)] = torch.tensor(row)
    return ids, lengths


@pytest.mark.parametrize("arch", [TINY, ArchConfig()], ids=["tiny", "default"])
def test_shapes_and_unit_norm(words, arch: ArchConfig) -> None:
    gen = torch.Generator().manual_seed(0)
    pose_model = build_model("pose-text", arch, words.table, gen).eval()
    pair_model = build_model("pair-text", arch, words.table, gen).eval()
    ids, lengths = _ids(words, ["The left knee is bent.", "Arms up", "a much longer text about the right elbow"])
    with torch.no_grad():
        outputs = [pose_model.encode_texts(ids, lengths), pose_model.encode_items(_poses(5)),
                   pair_model.encode_items(torch.stack([_poses(4, 1), _poses(4, 2)], dim=1))]  # fmt: skip
    for out, rows in zip(outputs, (3, 5, 4)):
        assert out.shape == (rows, 512) and out.dtype == torch.float32
        torch.testing.assert_close(out.norm(dim=-1), torch.ones(rows))
    assert pose_model.scale.item() == INITIAL_SCALE == 10.0


def test_word_table_is_frozen_and_not_saved(words) -> None:
    model = build_model("pose-text", TINY, words.table, torch.Generator().manual_seed(0))
    assert not model.text.word_table.requires_grad
    assert all(p.data_ptr() != words.table.data_ptr() for p in model.parameters())
    assert not any("word_table" in key for key in model.state_dict())
    encoders, scale = model.trainable_groups()
    assert scale == [model.scale] and all(p is not model.scale for p in encoders)


def test_padding_does_not_change_a_text(words) -> None:
    model = build_model("pose-text", TINY, words.table, torch.Generator().manual_seed(0)).eval()
    ids, lengths = _ids(words, ["the right hand is raised above the head"])
    padded = torch.cat([ids, torch.full((1, 9), 7, dtype=torch.int64)], dim=1)  # junk, not [PAD]
    with torch.no_grad():
        torch.testing.assert_close(model.encode_texts(ids, lengths), model.encode_texts(padded, lengths))


def test_backward_direction_reads_each_row_reversed(words) -> None:
    model = build_model("pose-text", TINY, words.table, torch.Generator().manual_seed(0)).eval()
    ids, lengths = _ids(words, ["left knee bent", "the right arm is straight and raised"])
    with torch.no_grad():
        x = F.leaky_relu(model.text.proj_norm(model.text.proj(F.embedding(ids, words.table))), 0.2)
        expected = []
        for row in range(2):
            n = int(lengths[row])
            fwd, _ = model.text.gru_forward(x[row : row + 1, :n])
            bwd, _ = model.text.gru_backward(x[row : row + 1, :n].flip(1))
            expected.append(torch.cat([fwd.amax(1), bwd.amax(1)], dim=-1))
        expected = F.normalize(model.text.out(torch.cat(expected)), dim=-1)
        torch.testing.assert_close(model.encode_texts(ids, lengths), expected)


def test_text_pooling_variants(words) -> None:
    ids, lengths = _ids(words, ["left knee bent", "arms up"])
    for pooling in ("last", "max", "last+max"):
        arch = ArchConfig(**{**TINY.to_dict(), "text_pooling": pooling})
        out = build_model("pose-text", arch, words.table, torch.Generator().manual_seed(0)).eval().encode_texts(ids, lengths)
        assert out.shape == (2, 512)


@pytest.mark.parametrize("fusion", ["concat", "concat+diff", "concat+delta"])
@pytest.mark.parametrize("features", ["rot6d", "rot6d+joints"])
def test_pair_fusion_variants(words, fusion: str, features: str) -> None:
    arch = ArchConfig(**{**TINY.to_dict(), "pair_fusion": fusion, "pose_features": features})
    model = build_model("pair-text", arch, words.table, torch.Generator().manual_seed(0)).eval()
    a, b = _poses(3, 1), _poses(3, 2)
    with torch.no_grad():
        out = model.encode_items(torch.stack([a, b], dim=1))
        same = model.encode_items(torch.stack([a, a], dim=1))
    assert out.shape == (3, 512) and not torch.allclose(out, same)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(3))


def test_arch_validation() -> None:
    for field, value in (("text_pooling", "mean"), ("pair_fusion", "sum"), ("pose_features", "quat"), ("max_tokens", 2)):
        with pytest.raises(ConfigError, match=field):
            ArchConfig(**{field: value})


def test_sym_bbc_loss_matches_hand_computation() -> None:
    gen = torch.Generator().manual_seed(0)
    t = F.normalize(torch.randn(6, 512, generator=gen), dim=-1)
    p = F.normalize(torch.randn(6, 512, generator=gen), dim=-1)
    scale = torch.tensor([10.0])
    s = (10.0 * t @ p.T).double()
    t2p = -(s.diag() - s.logsumexp(dim=1)).mean()
    p2t = -(s.diag() - s.logsumexp(dim=0)).mean()
    torch.testing.assert_close(sym_bbc_loss(t, p, scale).double(), (t2p + p2t) / 2, atol=1e-5, rtol=1e-5)
    # perfect alignment and a large scale drive the loss to 0; random embeddings give about log(B)
    assert sym_bbc_loss(t, t, torch.tensor([100.0])).item() < 1e-3
    assert abs(sym_bbc_loss(t, p, torch.tensor([0.0])).item() - math.log(6)) < 1e-5


def test_scale_receives_gradient(words) -> None:
    t = F.normalize(torch.randn(4, 512), dim=-1)
    scale = torch.nn.Parameter(torch.tensor([10.0]))
    sym_bbc_loss(t, t.flip(0), scale).backward()
    assert scale.grad is not None and scale.grad.abs().item() > 0


def test_initialisation_is_seeded_and_leaves_global_rng_alone(words) -> None:
    before = torch.random.get_rng_state()
    a = build_model("pair-text", TINY, words.table, torch.Generator().manual_seed(3))
    b = build_model("pair-text", TINY, words.table, torch.Generator().manual_seed(3))
    c = build_model("pair-text", TINY, words.table, torch.Generator().manual_seed(4))
    assert torch.equal(torch.random.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["text.gru_forward.weight_hh_l0"], sc["text.gru_forward.weight_hh_l0"])
    bound = 1 / math.sqrt(TINY.text_hidden)
    assert sa["text.gru_forward.weight_hh_l0"].abs().max() <= bound
    assert torch.equal(sa["items.pose.input_norm.running_var"], torch.ones(22 * 9))


def test_dropout_uses_its_generator_only() -> None:
    drop = GeneratorDropout(0.5).train()
    with pytest.raises(InternalError):
        drop(torch.ones(4, 8))
    drop.generator = torch.Generator().manual_seed(1)
    first = drop(torch.ones(4, 8))
    drop.generator = torch.Generator().manual_seed(1)
    assert torch.equal(first, drop(torch.ones(4, 8)))
    assert set(first.unique().tolist()) <= {0.0, 2.0} and (first == 0).any()
    assert torch.equal(drop.eval()(torch.ones(4, 8)), torch.ones(4, 8))


def test_pose_features() -> None:
    poses = _poses(4)
    rot6d = poses_to_features(poses, "rot6d")
    both = poses_to_features(poses, "rot6d+joints")
    assert rot6d.shape == (4, feature_width("rot6d")) == (4, 132) and both.shape == (4, feature_width("rot6d+joints"))
    assert torch.equal(both[:, :132], rot6d)
    torch.testing.assert_close(both[:, 132:].reshape(4, 22, 3), forward_kinematics(poses)[:, :22])
    assert torch.equal(both[:, 132:135], torch.zeros(4, 3))  # pelvis at the origin
    identity = poses_to_features(torch.zeros(1, 22, 3), "rot6d").reshape(22, 6)
    assert torch.equal(identity, torch.tensor([[1.0, 0, 0, 0, 1, 0]]).expand(22, 6))


def test_pose_encoder_sees_mirroring(words) -> None:
    model = build_model("pose-text", TINY, words.table, torch.Generator().manual_seed(0)).eval()
    poses = _poses(3)
    with torch.no_grad():
        assert not torch.allclose(model.encode_items(poses), model.encode_items(mirror_pose(poses)))


def test_pair_encoder_is_order_sensitive(words) -> None:
    model = build_model("pair-text", TINY, words.table, torch.Generator().manual_seed(0)).eval()
    a, b = _poses(3, 1), _poses(3, 2)
    with torch.no_grad():
        ab = model.encode_items(torch.stack([a, b], dim=1))
        ba = model.encode_items(torch.stack([b, a], dim=1))
    assert not torch.allclose(ab, ba)
