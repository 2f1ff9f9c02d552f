from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.testing import assert_close

import ganzoo
from ganzoo.regularizers import GradientPenalty, R1Penalty, SpectralNorm, WeightClipping


def linear_critic(w: torch.Tensor) -> nn.Module:
    critic = nn.Linear(w.numel(), 1, bias=False).double()
    with torch.no_grad():
        critic.weight.copy_(w.view(1, -1))
    return critic


vectors = st.integers(1, 6).flatmap(
    lambda d: st.lists(st.floats(-5, 5, allow_subnormal=False), min_size=d, max_size=d)
).filter(lambda v: math.sqrt(sum(x * x for x in v)) > 1e-3).map(lambda v: torch.tensor(v, dtype=torch.float64))


@given(w=vectors, batch=st.integers(1, 9), weight=st.floats(0, 100), seed=st.integers(0, 2**16))
def test_gradient_penalty_of_linear_critic_is_exact(w, batch, weight, seed):
    gen = torch.Generator().manual_seed(seed)
    real = torch.randn(batch, w.numel(), generator=gen, dtype=torch.float64)
    fake = torch.randn(batch, w.numel(), generator=gen, dtype=torch.float64)
    penalty = GradientPenalty(weight=weight).penalty(linear_critic(w), real, fake)
    expected = weight * (w.norm() - 1) ** 2
    assert_close(penalty.double(), expected, rtol=1e-5, atol=1e-6)
    assert penalty >= 0


@given(w=vectors, weight=st.floats(0, 100))
def test_one_sided_penalty(w, weight):
    real, fake = torch.randn(4, w.numel(), dtype=torch.float64), torch.randn(4, w.numel(), dtype=torch.float64)
    penalty = GradientPenalty(weight=weight, one_sided=True).penalty(linear_critic(w), real, fake)
    expected = weight * max(0.0, w.norm().item() - 1) ** 2
    assert_close(penalty.double(), torch.tensor(expected, dtype=torch.float64), rtol=1e-5, atol=1e-6)


def test_penalty_doctest_value_and_image_shapes():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1, bias=False))
    with torch.no_grad():
        critic[1].weight.fill_(0.5)  # ||w|| = sqrt(12 * 0.25) = sqrt(3)
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    penalty = GradientPenalty(weight=10.0).penalty(critic, real, fake)
    assert_close(penalty, torch.tensor(10.0 * (math.sqrt(3) - 1) ** 2))


def test_zero_gradient_gives_finite_penalty_and_gradients():
    critic = nn.Linear(3, 1, bias=True)
    with torch.no_grad():
        critic.weight.zero_()
    penalty = GradientPenalty(weight=10.0).penalty(critic, torch.randn(4, 3), torch.randn(4, 3))
    penalty.backward()
    assert_close(penalty, torch.tensor(10.0))
    assert torch.isfinite(critic.weight.grad).all()


def test_penalty_backpropagates_into_critic():
    critic = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    GradientPenalty().penalty(critic, torch.randn(6, 2), torch.randn(6, 2)).backward()
    # every parameter except the output bias (which does not change dD/dx) gets a gradient
    for name, p in critic.named_parameters():
        if name != "2.bias":
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert critic[2].bias.grad is None


def test_alpha_is_per_sample():
    """Each sample gets its own alpha: interpolates of identical pairs differ across the batch."""
    seen = []
    critic = nn.Linear(2, 1)
    critic.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    real = torch.zeros(64, 2)
    fake = torch.ones(64, 2)
    GradientPenalty().penalty(critic, real, fake)
    x = seen[0]
    assert x[:, 0].unique().numel() > 32  # one alpha per sample
    assert_close(x[:, 0], x[:, 1])  # ...shared by every dimension of that sample


@given(w=vectors, weight=st.floats(0, 100))
def test_r1_of_linear_critic_is_exact(w, weight):
    real = torch.randn(7, w.numel(), dtype=torch.float64)
    penalty = R1Penalty(weight=weight).penalty(linear_critic(w), real, real)
    assert_close(penalty.double(), 0.5 * weight * w.norm() ** 2, rtol=1e-5, atol=1e-6)


@given(clip=st.floats(1e-4, 0.5), scale=st.floats(0.1, 10))
def test_weight_clipping_bounds_every_parameter(clip, scale):
    critic = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Linear(5, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(torch.randn_like(p) * scale)
    WeightClipping(clip=clip).after_critic_step(critic)
    for p in critic.parameters():
        assert p.abs().max() <= clip


def test_weight_clipping_in_training_keeps_bound():
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
    trainer = ganzoo.Trainer(G, D, "wasserstein", ["weight_clipping"], critic_steps=2, device="cpu",
                             critic_optimizer={"name": "rmsprop", "lr": 0.05})
    trainer.fit(ganzoo.data.ring().sampler(32, seed=0), steps=10)
    assert max(p.abs().max().item() for p in trainer.critic.parameters()) <= 0.01


def test_spectral_norm_wraps_every_layer_and_keeps_sigma_near_one():
    G = ganzoo.create_generator("dcgan", latent_dim=8, image_size=16, channels=1, width=8)
    D = ganzoo.create_critic("dcgan", image_size=16, channels=1, width=8, norm="none")
    trainer = ganzoo.Trainer(G, D, "hinge", ["spectral_norm"], critic_steps=2, device="cpu",
                             critic_optimizer={"name": "adam", "lr": 2e-4, "betas": (0.0, 0.9)})
    layers = [m for m in trainer.critic.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    data = torch.utils.data.DataLoader(torch.rand(64, 1, 16, 16) * 2 - 1, batch_size=16)
    trainer.fit(data, steps=20)
    trainer.critic.eval()
    for layer in layers:
        w = layer.weight.detach().flatten(1)  # what SN normalises: (out, in * k * k)
        sigma = torch.linalg.matrix_norm(w, ord=2).item()
        assert abs(sigma - 1) < 0.05, sigma


def test_spectral_norm_is_idempotent():
    critic = nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1))
    sn = SpectralNorm()
    sn.wrap(sn.wrap(critic))
    assert len(critic[0].parametrizations.weight) == 1


@pytest.mark.parametrize(
    "name,kwargs,match",
    [
        ("gradient_penalty", {"weight": -1.0}, "weight=-1.0"),
        ("r1", {"weight": -0.5}, "weight=-0.5"),
        ("gradient_penalty", {"weight": float("nan")}, "weight=nan"),
        ("weight_clipping", {"clip": 0}, "clip=0"),
        ("spectral_norm", {"n_power_iterations": 0}, "n_power_iterations=0"),
    ],
)
def test_bad_regularizer_arguments(name, kwargs, match):
    with pytest.raises(ganzoo.ConfigError, match=match):
        ganzoo.create_regularizer(name, **kwargs)


def test_mismatched_real_fake_shapes():
    with pytest.raises(ganzoo.ConfigError, match="same shape"):
        GradientPenalty().penalty(nn.Linear(2, 1), torch.randn(4, 2), torch.randn(3, 2))
