"""The bf16 matrix-product weight gradients of ganzoo._conv_kernels against PyTorch's kernels."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import ganzoo
from ganzoo import _conv_kernels
from ganzoo._input_gradient import critic_input_gradient


@pytest.fixture(autouse=True)
def every_product(monkeypatch):
    """The test nets are small: let their products take the matrix-product paths too."""
    monkeypatch.setattr(_conv_kernels, "MIN_MATMUL_MACS", 0)


@pytest.fixture(params=[True, False], ids=["amx", "no-amx"])
def amx(request, monkeypatch):
    """Both CPU rules: the 4x4 transposed products run with AMX only."""
    monkeypatch.setattr(_conv_kernels, "cpu_has_amx", lambda: request.param)
    return request.param


@pytest.mark.parametrize("shape", [(2, 3, 8, 8, 5, 4, 2, 1), (3, 4, 4, 6, 2, 3, 1, 0), (2, 2, 5, 5, 3, 4, 1, 2)])
def test_weight_grad_matches_convolution_backward_float64(shape):
    b, c, h, w, o, k, s, p = shape
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(b, c, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(o, c, k, k, generator=gen, dtype=torch.float64)
    y = F.conv2d(x, weight, None, s, p)
    g = torch.randn(y.shape, generator=gen, dtype=torch.float64)
    ref = torch.ops.aten.convolution_backward(g, x, weight, None, [s, s], [p, p], [1, 1], False, [0, 0], 1,
                                              [False, True, False])[1]
    torch.testing.assert_close(_conv_kernels.conv2d_weight_grad(g, x, (k, k), s, p), ref, rtol=1e-12, atol=1e-12)


def _critic_and_batch():
    torch.manual_seed(0)
    critic = ganzoo.create_critic("dcgan", image_size=32, channels=3, width=16, norm="none")
    critic = critic.to(memory_format=torch.channels_last)
    x = (torch.rand(8, 3, 32, 32) * 2 - 1).contiguous(memory_format=torch.channels_last)
    return critic, x


def _plain(critic):
    """The same critic with torch's own Conv2d (PyTorch's bf16 kernels throughout)."""
    plain = copy.deepcopy(critic)
    for module in plain.modules():
        if type(module) is ganzoo.models._layers.Conv2d:
            module.__class__ = torch.nn.Conv2d
    return plain


def test_critic_bf16_weight_gradients_match_pytorch_kernels(amx):
    critic, x = _critic_and_batch()
    plain = _plain(critic)
    grads = []
    for net in (critic, plain):
        net.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = net(x).float().mean()
        out.backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(*grads):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=2e-2, atol=1e-2 * b.abs().max().item())


def test_critic_float32_takes_pytorch_path_exactly():
    critic, x = _critic_and_batch()
    plain = _plain(critic)
    for net in (critic, plain):
        net.zero_grad()
        net(x).mean().backward()
    for a, b in zip(critic.parameters(), plain.parameters()):
        assert torch.equal(a.grad, b.grad)


def test_penalty_double_backward_bf16_matches_pytorch_kernels(monkeypatch, amx):
    critic, x = _critic_and_batch()
    grads = []
    for matmul in (True, False):
        if not matmul:
            monkeypatch.setattr(_conv_kernels, "MAX_OUTPUT_PIXELS", 0)
        critic.zero_grad()
        xi = x.clone().requires_grad_(True)
        gp = (critic_input_gradient(critic, xi, "bf16").flatten(1).norm(dim=1) - 1).square().mean()
        gp.backward()
        grads.append([p.grad.clone() for p in critic.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=2e-2, atol=1e-2 * b.abs().max().item())


def test_generic_double_backward_through_the_matmul_path_keeps_weight_gradients(amx):
    """A generic create_graph penalty (the path critics with batch norm take) differentiates
    through the bf16 matrix-product convolution too: same weight gradients as torch's kernels."""
    from ganzoo.amp import input_gradient

    critic, x = _critic_and_batch()
    plain = _plain(critic)
    grads = []
    for net in (critic, plain):
        xi = x.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            scores = net(xi)
        gp = (input_gradient(scores, xi).flatten(1).norm(dim=1) - 1).square().mean()
        grads.append(torch.autograd.grad(gp, list(net.parameters())))
    for a, b in zip(*grads):
        assert b.abs().max() > 0
        torch.testing.assert_close(a, b, rtol=2e-2, atol=2e-2 * b.abs().max().item())


@pytest.mark.parametrize("shape", [(2, 5, 3, 4, 4, 2, 1, 0), (2, 5, 3, 1, 4, 1, 0, 0), (3, 4, 6, 3, 3, 2, 1, 1),
                                   (2, 3, 2, 2, 5, 3, 2, 2)])
def test_transposed_product_matches_conv_transpose2d_float64(shape):
    b, ci, co, hi, k, s, p, op = shape
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(b, ci, hi, hi, generator=gen, dtype=torch.float64)
    weight = torch.randn(ci, co, k, k, generator=gen, dtype=torch.float64)
    ref = F.conv_transpose2d(x, weight, None, s, p, op)
    got = _conv_kernels.conv_transpose2d_mm(x, weight, s, p, tuple(ref.shape[-2:]))
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_transposed_product_bf16_as_accurate_as_onednn():
    """Against float64, for the DCGAN critic's 4x4 -> 8x8 input gradient: oneDNN rounds each output
    to bf16 once (half an ulp); the matrix product rounds each of the 4 taps that meet in an output
    once and sums them in float32, so it may err up to ~3x as much: a few bf16 ulps, no more."""
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(8, 64, 4, 4, generator=gen).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    weight = (torch.randn(64, 32, 4, 4, generator=gen) * 0.05).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    exact = F.conv_transpose2d(g.double(), weight.double(), None, 2, 1)
    onednn = F.conv_transpose2d(g, weight, None, 2, 1).double()
    ours = _conv_kernels.conv_transpose2d_mm(g, weight, 2, 1, (8, 8))
    assert ours.dtype == torch.bfloat16 and ours.is_contiguous(memory_format=torch.channels_last)
    err, ref_err = (ours.double() - exact).abs().max(), (onednn - exact).abs().max()
    assert 0 < err <= 3 * ref_err, (err, ref_err)


def _generator_pair():
    torch.manual_seed(0)
    G = ganzoo.create_generator("dcgan", latent_dim=16, image_size=32, channels=3, width=16)
    G = G.to(memory_format=torch.channels_last)
    plain = copy.deepcopy(G)
    for module in plain.modules():
        if type(module) is ganzoo.models._layers.ConvTranspose2d:
            module.__class__ = torch.nn.ConvTranspose2d
    return G, plain, torch.randn(8, 16)


def test_small_map_limit_follows_the_cpu(amx):
    """With AMX the 4x4 maps take the matrix product; without, only 1x1 maps (oneDNN's AVX-512
    BF16 kernel is faster from 4x4 on)."""
    pixels = 16 if amx else 1
    assert _conv_kernels.small_map_pixels() == pixels
    weight = torch.zeros(3, 5, 4, 4, dtype=torch.bfloat16)
    for side in (1, 2, 4, 8):
        x = torch.zeros(2, 3, side, side, dtype=torch.bfloat16)
        assert _conv_kernels.use_matmul_transpose(x, weight) is (side * side <= pixels)
        assert not _conv_kernels.use_matmul_transpose(x.float(), weight)


@pytest.mark.parametrize("batch, channels, out, side, expected", [
    (64, 128, 256, 8, True),  # the 64x64 reference critic's 128 -> 256 layer (8x8 out): 2,147 M multiply-adds
    (64, 512, 1, 1, True),    # its 512 -> 1 scoring layer: 0.52 M, the smallest product of those nets
    (64, 128, 1, 1, False),   # a 32x32 critic's 128 -> 1 scoring layer: 0.13 M
    (8, 8, 16, 4, False),     # a 16x16 critic of width 8: 0.26 M (1.5x slower through the matrix product)
])
def test_small_products_keep_onednn(monkeypatch, batch, channels, out, side, expected):
    """Products under MIN_MATMUL_MACS multiply-adds stay on oneDNN (the paths' fixed cost is ~0.1 ms)."""
    monkeypatch.undo()  # the module's own threshold, not the autouse fixture's 0
    x = torch.zeros(batch, channels, side, side, dtype=torch.bfloat16)
    weight = torch.zeros(out, channels, 4, 4, dtype=torch.bfloat16)
    assert _conv_kernels.use_matmul_weight_grad(x, weight, (side, side)) is expected
    monkeypatch.setattr(_conv_kernels, "cpu_has_amx", lambda: True)
    tiny_map = x[..., :4, :4]  # the transposed product's input: at most 4x4
    assert _conv_kernels.use_matmul_transpose(tiny_map, weight.transpose(0, 1)) is expected


def test_generator_bf16_matches_pytorch_kernels_to_bf16_rounding(amx):
    """The 1x1 -> 4x4 and (with AMX) 4x4 -> 8x8 layers run as matrix products under bf16 autocast:
    outputs and weight gradients as close to float64 as PyTorch's kernels are (x1.5 + 1 bf16 ulp)."""
    G, plain, z = _generator_pair()
    exact = copy.deepcopy(plain).double()
    out = exact(z.double())
    out.square().mean().backward()
    ref = [p.grad for p in exact.parameters()]
    errs = []
    for net in (G, plain):
        net.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = net(z)
        y.float().square().mean().backward()
        errs.append([(y.double() - out).abs().max()] + [(p.grad.double() - r).abs().max() / r.abs().max()
                                                         for p, r in zip(net.parameters(), ref)])
    for ours, theirs in zip(*errs):
        assert ours <= 1.5 * theirs + 2**-8, (ours, theirs)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):  # the critic step's sampling path
        torch.testing.assert_close(G(z).float(), plain(z).float(), rtol=2e-2, atol=2e-2)


def test_generator_float32_takes_pytorch_path_exactly():
    G, plain, z = _generator_pair()
    for net in (G, plain):
        net.zero_grad()
        net(z).square().mean().backward()
    assert torch.equal(G(z), plain(z))
    for a, b in zip(G.parameters(), plain.parameters()):
        assert torch.equal(a.grad, b.grad)
