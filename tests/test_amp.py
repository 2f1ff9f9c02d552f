from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

import ganzoo
from ganzoo.amp import AmpPolicy, input_gradient, resolve_amp
from ganzoo.regularizers import GradientPenalty, R1Penalty

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# Tolerances stated in the docs (ganzoo.amp): the penalty under low precision matches fp32
# to within these relative errors on the same inputs and the same alphas.
PENALTY_RTOL = {"bf16": 2e-2, "fp16": 2e-3}  # measured: 3e-5 and 7e-6 at init
GRAD_COSINE = {"bf16": 0.999, "fp16": 0.999}  # measured: 0.99982 and 0.99998
GRAD_NORM_RTOL = {"bf16": 2e-2, "fp16": 2e-2}  # measured: 9e-5 and 1e-4


def conv_critic(device: str) -> torch.nn.Module:
    torch.manual_seed(1)
    return ganzoo.create_critic("dcgan", image_size=16, channels=3, width=16, norm="none").to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["bf16", "fp16"])
@pytest.mark.parametrize("reg_cls", [GradientPenalty, R1Penalty])
def test_penalty_under_amp_matches_fp32(device, mode, reg_cls):
    critic = conv_critic(device)
    real = torch.rand(16, 3, 16, 16, device=device) * 2 - 1
    fake = torch.rand(16, 3, 16, 16, device=device) * 2 - 1
    reg = reg_cls(weight=10.0)
    torch.manual_seed(5)
    reference = reg.penalty(critic, real, fake, amp=None)
    torch.manual_seed(5)  # same alphas
    low = reg.penalty(critic, real, fake, amp=AmpPolicy(mode, device))
    assert low.dtype == torch.float32
    assert_close(low, reference, rtol=PENALTY_RTOL[mode], atol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["bf16", "fp16"])
def test_low_precision_penalty_gradients_match_fp32(device, mode):
    # the penalty's value is near its weight at initialisation whatever the precision (a constant
    # 10.0 would pass a value check); its gradient with respect to the weights is not
    critic = conv_critic(device)
    real = torch.rand(8, 3, 16, 16, device=device) * 2 - 1
    fake = torch.rand(8, 3, 16, 16, device=device) * 2 - 1
    grads = {}
    for run in ("off", mode):
        amp = AmpPolicy(run, device)
        critic.zero_grad()
        torch.manual_seed(5)
        penalty = GradientPenalty().penalty(critic, real, fake, amp=amp)
        amp.backward(penalty)
        amp.unscale_(torch.optim.SGD(critic.parameters(), lr=0.0))
        grads[run] = torch.cat([p.grad.flatten() for p in critic.parameters()])
    assert grads["off"].norm() > 0
    cosine = torch.nn.functional.cosine_similarity(grads["off"], grads[mode], dim=0)
    assert cosine > GRAD_COSINE[mode]
    assert_close(grads[mode].norm(), grads["off"].norm(), rtol=GRAD_NORM_RTOL[mode], atol=0)


def test_input_gradient_unscales_exactly():
    x = torch.randn(4, 3, requires_grad=True)
    scores = (3 * x).sum(dim=1)
    g = input_gradient(scores, x, AmpPolicy("fp16", "cpu", init_scale=2.0**8))
    assert_close(g, torch.full((4, 3), 3.0))


def test_overflowing_scale_is_skipped_and_counted_not_nan_in_weights():
    """At a huge initial scale the scaled double backward overflows: the scaler skips the
    step, halves the scale and counts it; the weights stay finite."""
    critic = conv_critic("cpu")
    amp = AmpPolicy("fp16", "cpu", init_scale=2.0**60)
    opt = torch.optim.Adam(critic.parameters())
    before = [p.detach().clone() for p in critic.parameters()]
    real, fake = torch.rand(4, 3, 16, 16), torch.rand(4, 3, 16, 16)
    penalty = GradientPenalty().penalty(critic, real, fake, amp=amp)
    assert not torch.isfinite(penalty)
    amp.backward(penalty)
    applied = amp.step(opt)
    assert isinstance(applied, torch.Tensor) and not applied  # a device tensor: no host sync
    assert amp.skipped_steps == 1 and amp.scaler.get_scale() == 2.0**59
    for b, p in zip(before, critic.parameters()):
        assert torch.equal(b, p)


def test_resolve_amp_choices_and_errors():
    assert resolve_amp("off", "cpu") == "off"
    assert resolve_amp("bf16", "cpu") == "bf16"
    from ganzoo import amp as amp_module

    assert resolve_amp("auto", "cpu") == ("bf16" if amp_module.cpu_bf16_is_fast() else "off")
    with pytest.raises(ganzoo.ConfigError, match=r"amp='fp32'.*'off', 'bf16', 'fp16', 'auto'"):
        resolve_amp("fp32", "cpu")


def test_fp16_where_it_cannot_run_is_a_clear_error():
    with pytest.raises(ganzoo.ConfigError, match="amp='fp16' cannot run on device meta"):
        AmpPolicy("fp16", "meta")


def test_auto_follows_cpu_capability(monkeypatch):
    from ganzoo import amp as amp_module

    monkeypatch.setattr(amp_module, "cpu_bf16_is_fast", lambda: False)
    assert resolve_amp("auto", "cpu") == "off"
    monkeypatch.setattr(amp_module, "cpu_bf16_is_fast", lambda: True)
    assert resolve_amp("auto", "cpu") == "bf16"
    assert resolve_amp("auto", "cuda") == "fp16"


def test_scaler_state_survives_state_dict():
    a = AmpPolicy("fp16", "cpu", init_scale=64.0)
    a.skipped_steps = 3
    b = AmpPolicy("fp16", "cpu")
    b.load_state_dict(a.state_dict())
    assert b.scaler.get_scale() == 64.0 and b.skipped_steps == 3


@pytest.mark.parametrize("amp", ["off", "bf16", "fp16"])
def test_200_wgan_gp_steps_on_grid_have_no_nan(amp):
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(64, 64, 64))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(64, 64, 64))
    trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, gp_weight=0.1, betas=(0.5, 0.9), seed=0,
                                     device="cpu", amp=amp)
    history = trainer.fit(ganzoo.data.grid().sampler(64, seed=0), steps=200)
    assert len(history) == 200
    skipped = sum(r.critic_skipped for r in history)
    for name in ("critic_loss", "generator_loss", "wasserstein", "penalty/gradient_penalty"):
        values = history.column(name)
        assert sum(not math.isfinite(v) for v in values) <= skipped, name
    assert skipped <= 5  # a skip storm would be divergence
    assert all(torch.isfinite(p).all() for p in trainer.generator.parameters())
    assert torch.isfinite(trainer.sample(100)).all()
