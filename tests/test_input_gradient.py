"""The cheap double backward of ganzoo._input_gradient equals PyTorch's generic one."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.testing import assert_close

import ganzoo
from ganzoo._input_gradient import _generic_critics, critic_input_gradient, supports_fast_input_gradient
from ganzoo.amp import AmpPolicy, input_gradient
from ganzoo.regularizers import GradientPenalty, R1Penalty


def generic_input_gradient(critic, x, amp):
    with amp.autocast():
        scores = critic(x)
    return input_gradient(scores, x, amp)


def penalty_and_weight_grads(fn, critic, x, amp):
    grad = fn(critic, x, amp)
    penalty = (grad.flatten(1).square().sum(1).add(1e-12).sqrt() - 1).square().mean()
    params = list(critic.parameters())
    grads = torch.autograd.grad(penalty, params, allow_unused=True)
    return penalty, [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


class SquareCritic(nn.Module):
    """Not piecewise linear in x (h * h): must use the generic path."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(2, 4), nn.Linear(4, 1)

    def forward(self, x):
        h = self.a(x)
        return self.b(h * h).squeeze(1)


class ResidualCritic(nn.Module):
    """Piecewise linear with a residual, a scaled skip and an in-place activation."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x):
        return self.b(self.act(self.a(x)) + 0.5 * x).squeeze(1)


def odd_conv_critic() -> nn.Module:
    convs = nn.Sequential(nn.Conv2d(3, 5, 3, 2, 1, bias=True), nn.ReLU(inplace=True),
                          nn.Conv2d(5, 4, (3, 2), (1, 2), (0, 1), dilation=(2, 1)))
    n = convs(torch.zeros(1, 3, 15, 15)).numel()
    return nn.Sequential(*convs, nn.Flatten(), nn.Linear(n, 1))


FAST_CRITICS = {
    "dcgan": (lambda: ganzoo.create_critic("dcgan", image_size=16, channels=3, width=8, norm="none"), (6, 3, 16, 16)),
    "mlp_relu": (lambda: ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16, 16)), (6, 2)),
    "mlp_leaky": (lambda: ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16, 16), activation="leaky_relu"), (6, 2)),
    "residual": (ResidualCritic, (6, 2)),
    "odd_conv": (odd_conv_critic, (6, 3, 15, 15)),
}
# relative, on the largest weight gradient. bf16: the two paths round in different places; on CPUs
# without native bf16 (an AVX2 EPYC) that is a few bf16 ulps (2**-8), on the AMX Xeon far less
TOLERANCE = {"off": 1e-5, "bf16": 2e-2, "fp16": 1e-3}
# the penalty itself: in bf16 the fast chain's 4x4-map transposed products run as matrix products
# (ganzoo._conv_kernels, bf16 taps summed in float32), the generic path through oneDNN: equal to a
# few bf16 ulps; in float32 / fp16 both take the same kernels
PENALTY_RTOL = {"off": 1e-6, "bf16": 1e-2, "fp16": 1e-6}


@pytest.mark.parametrize("mode", ["off", "bf16", "fp16"])
@pytest.mark.parametrize("name", list(FAST_CRITICS))
def test_fast_path_equals_generic_double_backward(name, mode):
    build, shape = FAST_CRITICS[name]
    torch.manual_seed(0)
    critic = build()
    assert supports_fast_input_gradient(critic)
    amp = AmpPolicy(mode, "cpu", init_scale=2.0**8)
    x = torch.randn(*shape, requires_grad=True)
    ref_penalty, ref_grads = penalty_and_weight_grads(generic_input_gradient, critic, x, amp)
    penalty, grads = penalty_and_weight_grads(critic_input_gradient, critic, x, amp)
    assert critic not in _generic_critics  # the trace accepted every op
    assert_close(penalty, ref_penalty, rtol=PENALTY_RTOL[mode], atol=1e-7)
    for g, ref in zip(grads, ref_grads):
        assert (g - ref).abs().max() <= TOLERANCE[mode] * ref.abs().max() + 1e-9


def layer_norm_critic():
    return ganzoo.create_critic("dcgan", image_size=16, channels=3, width=4, norm="layer")


@pytest.mark.parametrize("build", [
    layer_norm_critic,
    lambda: ganzoo.create_critic("dcgan", image_size=16, channels=3, width=4, norm="batch"),
    lambda: ganzoo.create_regularizer("spectral_norm").wrap(ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))),
    lambda: nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)),
])
def test_critics_with_other_layers_use_the_generic_path(build):
    critic = build()
    assert not supports_fast_input_gradient(critic)


def test_nonlinear_forward_code_is_detected_and_falls_back_exactly():
    torch.manual_seed(0)
    critic = SquareCritic()
    assert supports_fast_input_gradient(critic)  # its modules pass; its forward does not
    x = torch.randn(5, 2, requires_grad=True)
    amp = AmpPolicy("off", "cpu")
    ref_penalty, ref_grads = penalty_and_weight_grads(generic_input_gradient, critic, x, amp)
    penalty, grads = penalty_and_weight_grads(critic_input_gradient, critic, x, amp)
    assert critic in _generic_critics and not supports_fast_input_gradient(critic)  # remembered
    assert_close(penalty, ref_penalty)
    for g, ref in zip(grads, ref_grads):
        assert_close(g, ref)


@settings(max_examples=15)
@given(batch=st.integers(1, 5), hidden=st.integers(1, 6), slope=st.sampled_from([0.0, 0.01, 0.2]),
       seed=st.integers(0, 2**16))
def test_property_mlp_penalty_gradients_match_in_float64(batch, hidden, slope, seed):
    torch.manual_seed(seed)
    act = nn.ReLU() if slope == 0.0 else nn.LeakyReLU(slope)
    critic = nn.Sequential(nn.Linear(3, hidden), act, nn.Linear(hidden, hidden), act, nn.Linear(hidden, 1)).double()
    x = torch.randn(batch, 3, dtype=torch.float64, requires_grad=True)
    amp = AmpPolicy("off", "cpu")
    ref_penalty, ref_grads = penalty_and_weight_grads(generic_input_gradient, critic, x, amp)
    penalty, grads = penalty_and_weight_grads(critic_input_gradient, critic, x, amp)
    assert_close(penalty, ref_penalty, rtol=1e-12, atol=1e-12)
    for g, ref in zip(grads, ref_grads):
        assert_close(g, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reg_cls", [GradientPenalty, R1Penalty])
def test_regularizers_use_it_and_keep_their_values(reg_cls):
    torch.manual_seed(1)
    critic = ganzoo.create_critic("dcgan", image_size=16, channels=3, width=8, norm="none")
    real, fake = torch.rand(4, 3, 16, 16) * 2 - 1, torch.rand(4, 3, 16, 16) * 2 - 1
    torch.manual_seed(5)
    fast = reg_cls(weight=10.0).penalty(critic, real, fake)
    reference_critic = ganzoo.create_critic("dcgan", image_size=16, channels=3, width=8, norm="none")
    reference_critic.load_state_dict(critic.state_dict())
    _generic_critics.add(reference_critic)
    torch.manual_seed(5)
    reference = reg_cls(weight=10.0).penalty(reference_critic, real, fake)
    assert_close(fast, reference, rtol=1e-6, atol=1e-6)
