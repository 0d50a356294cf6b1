"""EMA codebook quantiser: init, EMA update, dead-code reset, commitment loss, straight-through."""

from __future__ import annotations

import pytest
import torch

from bench.errors import InternalError
from bench.models.unipose.quantizer import EMAResetQuantizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _latents(values: list[float]) -> torch.Tensor:
    """Scalar latents as (B=1, D=1, T)."""
    return torch.tensor(values).view(1, 1, -1)


def _state(quantizer: EMAResetQuantizer, codes: list[float], counts: list[float]) -> None:
    with torch.no_grad():
        quantizer.codebook.copy_(torch.tensor(codes).view(-1, 1))
        quantizer.code_sum.copy_(quantizer.codebook * torch.tensor(counts).view(-1, 1))
        quantizer.code_count.copy_(torch.tensor(counts))
        quantizer.initialized.fill_(True)


def test_first_training_forward_initialises_from_the_batch() -> None:
    q = EMAResetQuantizer(num_codes=3, code_dim=1, decay=0.9)
    out = q(_latents([5.0, -1.0, 2.0, 7.0]))
    # N = 4 >= K = 3: the first K latents, then one EMA step (each code picks exactly its own latent,
    # 7 goes to the code at 5).
    assert bool(q.initialized)
    assert torch.allclose(q.code_count, torch.tensor([0.9 + 0.2, 0.9 + 0.1, 0.9 + 0.1]))
    assert out.codes.tolist() == [[0, 1, 2, 0]]
    assert torch.allclose(q.codebook.view(-1), torch.tensor([(0.9 * 5 + 0.1 * 12) / 1.1, -1.0, 2.0]), atol=1e-5)


def test_init_tiles_small_batches_with_jitter() -> None:
    q = EMAResetQuantizer(num_codes=8, code_dim=4)
    latents = torch.randn(1, 4, 3, generator=torch.Generator().manual_seed(0))
    q._init_codebook(latents.permute(0, 2, 1).reshape(-1, 4), torch.Generator().manual_seed(1))
    flat = latents.permute(0, 2, 1).reshape(-1, 4)
    jitter = q.codebook - flat.repeat(3, 1)[:8]
    assert jitter.abs().max() > 0  # tiled copies are jittered ...
    assert jitter.abs().max() < 0.05  # ... by N(0, (0.01/sqrt(4))^2)
    assert torch.equal(q.code_count, torch.ones(8))


def test_ema_update_and_dead_code_reset_on_a_hand_made_case() -> None:
    q = EMAResetQuantizer(num_codes=3, code_dim=1, decay=0.9, dead_threshold=1.0)
    _state(q, codes=[0.0, 10.0, 100.0], counts=[1.0, 1.0, 1.0])
    out = q(_latents([1.0, 2.0, 9.0, 11.0]))
    assert out.codes.tolist() == [[0, 0, 1, 1]]
    # code 0: sum 0.9*0 + 0.1*3 = 0.3, count 0.9 + 0.2 = 1.1; code 1: sum 0.9*10 + 0.1*20 = 11, count 1.1;
    # code 2 picked by nobody: count 0.9 < 1 -> reset to row 2 of the batch (9.0), sum/count kept.
    expected = torch.tensor([[0.3 / 1.1], [11.0 / 1.1], [9.0]])
    assert torch.allclose(q.codebook, expected, atol=1e-6)
    assert torch.allclose(q.code_count, torch.tensor([1.1, 1.1, 0.9]))
    assert torch.allclose(q.code_sum[2], torch.tensor([90.0]))


def test_eval_mode_never_touches_the_codebook() -> None:
    q = EMAResetQuantizer(num_codes=3, code_dim=1)
    _state(q, codes=[0.0, 10.0, 100.0], counts=[1.0, 1.0, 1.0])
    q.eval()
    before = {k: v.clone() for k, v in q.state_dict().items()}
    q(_latents([1.0, 50.0, 99.0]))
    assert all(torch.equal(before[k], v) for k, v in q.state_dict().items())


def test_straight_through_gradient_and_commitment_loss() -> None:
    q = EMAResetQuantizer(num_codes=2, code_dim=2)
    _state(q, codes=[0.0, 0.0], counts=[5.0, 5.0])
    with torch.no_grad():
        q.codebook.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    q.eval()
    latents = torch.tensor([[[0.2, 0.9], [0.1, 1.2]]], requires_grad=True)  # (1, 2, 2): vectors (0.2, 0.1), (0.9, 1.2)
    out = q(latents)
    assert out.codes.tolist() == [[0, 1]]
    assert torch.allclose(out.quantized, torch.tensor([[[0.0, 1.0], [0.0, 1.0]]]))
    weights = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    (out.quantized * weights).sum().backward()
    assert torch.allclose(latents.grad, weights)  # the quantiser is the identity for gradients
    expected_commit = ((latents.detach() - out.quantized.detach()) ** 2).mean()
    assert torch.allclose(out.commit_loss, expected_commit)


def test_commitment_gradient_pulls_latents_towards_codes() -> None:
    q = EMAResetQuantizer(num_codes=1, code_dim=1)
    _state(q, codes=[1.0], counts=[5.0])
    q.eval()
    latents = torch.tensor([[[3.0]]], requires_grad=True)
    q(latents).commit_loss.backward()
    assert torch.allclose(latents.grad, torch.tensor([[[4.0]]]))  # d/dz (z - 1)^2 = 2 (3 - 1)


def test_dequantize_rejects_out_of_range_codes() -> None:
    q = EMAResetQuantizer(num_codes=4, code_dim=2)
    with pytest.raises(InternalError, match=r"\[0, 4\)"):
        q.dequantize(torch.tensor([0, 4]))


def test_perplexity_counts_used_codes() -> None:
    q = EMAResetQuantizer(num_codes=8, code_dim=1)
    assert float(q.perplexity(torch.tensor([0, 1, 2, 3]))) == pytest.approx(4.0, rel=1e-4)
    assert float(q.perplexity(torch.tensor([5, 5, 5]))) == pytest.approx(1.0, rel=1e-4)
