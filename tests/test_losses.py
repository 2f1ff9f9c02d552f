from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.testing import assert_close

import ganzoo

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 1.0, 0.0, 4.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def test_bce_matches_formula_with_label_smoothing():
    loss = ganzoo.create_loss("bce", real_label=0.9)
    t = 0.9
    expected_real = mean(t * softplus(-r) + (1 - t) * softplus(r) for r in REAL.tolist())
    expected_fake = mean(softplus(f) for f in FAKE.tolist())
    assert_close(loss.critic_loss(REAL, FAKE), torch.tensor(expected_real + expected_fake))
    assert_close(loss.generator_loss(FAKE), torch.tensor(mean(softplus(-f) for f in FAKE.tolist())))


def test_bce_equals_torch_bce_with_logits():
    loss = ganzoo.create_loss("bce")
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = bce(REAL, torch.ones(3)) + bce(FAKE, torch.zeros(4))
    assert_close(loss.critic_loss(REAL, FAKE), expected)
    assert_close(loss.generator_loss(FAKE), bce(FAKE, torch.ones(4)))


def test_minimax_generator_is_log_one_minus_d():
    loss = ganzoo.create_loss("minimax")
    d = torch.sigmoid(FAKE.double())
    assert_close(loss.generator_loss(FAKE).double(), torch.log(1 - d).mean(), rtol=1e-6, atol=1e-6)
    assert_close(loss.critic_loss(REAL, FAKE), ganzoo.create_loss("bce").critic_loss(REAL, FAKE))


def test_wasserstein_formula():
    loss = ganzoo.create_loss("wasserstein")
    assert_close(loss.critic_loss(REAL, FAKE), FAKE.mean() - REAL.mean())
    assert_close(loss.generator_loss(FAKE), -FAKE.mean())
    assert loss.estimates_wasserstein


def test_hinge_formula():
    loss = ganzoo.create_loss("hinge")
    expected = mean(max(0.0, 1 - r) for r in REAL.tolist()) + mean(max(0.0, 1 + f) for f in FAKE.tolist())
    assert_close(loss.critic_loss(REAL, FAKE), torch.tensor(expected))
    assert_close(loss.generator_loss(FAKE), -FAKE.mean())


def test_least_squares_formula_and_targets():
    loss = ganzoo.create_loss("least_squares")
    expected = 0.5 * mean((r - 1) ** 2 for r in REAL.tolist()) + 0.5 * mean(f**2 for f in FAKE.tolist())
    assert_close(loss.critic_loss(REAL, FAKE), torch.tensor(expected))
    assert_close(loss.generator_loss(FAKE), torch.tensor(0.5 * mean((f - 1) ** 2 for f in FAKE.tolist())))
    custom = ganzoo.create_loss("least_squares", real_target=1.0, fake_target=-1.0, generator_target=0.0)
    assert_close(custom.generator_loss(FAKE), 0.5 * FAKE.square().mean())
    with pytest.raises(ganzoo.ConfigError, match="real_target"):
        ganzoo.create_loss("least_squares", real_target=1.0, fake_target=1.0)


scores = st.lists(st.floats(-50, 50), min_size=1, max_size=16).map(torch.tensor)


@given(real=scores, fake=scores)
def test_wasserstein_critic_loss_flips_sign_when_real_and_fake_swap(real, fake):
    loss = ganzoo.create_loss("wasserstein")
    assert_close(loss.critic_loss(real, fake), -loss.critic_loss(fake, real))


@pytest.mark.parametrize("name", ganzoo.list_losses())
def test_patch_scores_equal_flattened(name):
    loss = ganzoo.create_loss(name)
    real, fake = torch.randn(4, 1, 3, 3), torch.randn(4, 1, 3, 3)
    assert_close(loss.critic_loss(real, fake), loss.critic_loss(real.flatten(), fake.flatten()))
    assert_close(loss.generator_loss(fake), loss.generator_loss(fake.flatten()))


@pytest.mark.parametrize("name", ganzoo.list_losses())
def test_low_precision_scores_give_float32_loss(name):
    loss = ganzoo.create_loss(name)
    real, fake = torch.randn(8).bfloat16(), torch.randn(8).half()
    assert loss.critic_loss(real, fake).dtype == torch.float32
    assert loss.generator_loss(fake).dtype == torch.float32


@pytest.mark.parametrize("bad", [0.5, 0.0, 1.5, True, "0.9"])
def test_bad_real_label(bad):
    with pytest.raises(ganzoo.ConfigError, match="real_label"):
        ganzoo.create_loss("bce", real_label=bad)
