"""Contract tests, written once per plugin kind and run over every registered component."""

from __future__ import annotations

import math

import pytest
import torch

import ganzoo
from ganzoo.regularizers import has_penalty

from conftest import CRITIC_KWARGS, GENERATOR_KWARGS, LOSS_KWARGS, MODEL_INPUT_SHAPES, REGULARIZER_KWARGS
from helpers import toy_pair


def test_every_registered_model_has_test_arguments():
    assert set(ganzoo.list_generators()) <= set(GENERATOR_KWARGS), "add small kwargs to tests/conftest.py"
    assert set(ganzoo.list_critics()) <= set(CRITIC_KWARGS), "add small kwargs to tests/conftest.py"


def _generator_input(g: torch.nn.Module, name: str, n: int) -> torch.Tensor:
    """Noise for noise-to-sample generators, an image batch for image-to-image ones (resnet)."""
    return torch.randn(n, g.latent_dim) if hasattr(g, "latent_dim") else torch.randn(n, *MODEL_INPUT_SHAPES[name])


def _generator_output_shape(g: torch.nn.Module, name: str) -> tuple[int, ...]:
    return tuple(g.out_shape) if hasattr(g, "out_shape") else MODEL_INPUT_SHAPES[name]


def _critic_input(d: torch.nn.Module, name: str, n: int) -> torch.Tensor:
    return torch.randn(n, *(d.in_shape if hasattr(d, "in_shape") else MODEL_INPUT_SHAPES[name]))


def _round_trip(module: torch.nn.Module) -> torch.nn.Module:
    clone = ganzoo.from_config(ganzoo.get_config(module))
    clone.load_state_dict(module.state_dict())
    return clone


@pytest.mark.parametrize("name", ganzoo.list_generators())
class TestGeneratorContract:
    def build(self, name):
        return ganzoo.create_generator(name, **GENERATOR_KWARGS.get(name, {}))

    def test_shape_and_finite(self, name):
        g = self.build(name)
        out = g(_generator_input(g, name, 5))
        assert out.shape == (5, *_generator_output_shape(g, name))
        assert torch.isfinite(out).all()

    def test_gradients_reach_every_parameter(self, name):
        g = self.build(name)
        (g(_generator_input(g, name, 5)) * torch.randn(5, *_generator_output_shape(g, name))).sum().backward()
        for pname, p in g.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, pname

    def test_config_round_trip_gives_identical_outputs(self, name):
        g = self.build(name)
        config = ganzoo.get_config(g)
        assert config["kind"] == "generator" and config["name"] == name
        clone = _round_trip(g)
        g.eval(), clone.eval()
        z = _generator_input(g, name, 3)
        assert torch.equal(g(z), clone(z))


@pytest.mark.parametrize("name", ganzoo.list_critics())
class TestCriticContract:
    def build(self, name):
        return ganzoo.create_critic(name, **CRITIC_KWARGS.get(name, {}))

    def test_one_finite_score_per_sample(self, name):
        d = self.build(name)
        scores = d(_critic_input(d, name, 5))
        # one score per sample, or a batch-first score map (patch critics, DESIGN.md)
        assert scores.shape[0] == 5 and (scores.dim() == 1 or name == "patchgan") and torch.isfinite(scores).all()

    def test_gradients_reach_every_parameter(self, name):
        d = self.build(name)
        scores = d(_critic_input(d, name, 5))
        (scores * torch.randn_like(scores)).sum().backward()
        for pname, p in d.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, pname

    def test_double_backward_works(self, name):
        d = self.build(name)
        penalty = ganzoo.create_regularizer("gradient_penalty").penalty(
            d, _critic_input(d, name, 4), _critic_input(d, name, 4)
        )
        penalty.backward()
        assert torch.isfinite(penalty)

    def test_config_round_trip_gives_identical_outputs(self, name):
        d = self.build(name)
        clone = _round_trip(d)
        d.eval(), clone.eval()
        x = _critic_input(d, name, 3)
        assert torch.equal(d(x), clone(x))


@pytest.mark.parametrize("name", ganzoo.list_losses())
class TestLossContract:
    def build(self, name):
        return ganzoo.create_loss(name, **LOSS_KWARGS.get(name, {}))

    def test_scalar_finite_and_differentiable(self, name):
        loss = self.build(name)
        real = torch.randn(6, requires_grad=True)
        fake = torch.randn(6, requires_grad=True)
        lc, lg = loss.critic_loss(real, fake), loss.generator_loss(fake)
        assert lc.shape == () and lg.shape == () and torch.isfinite(lc) and torch.isfinite(lg)
        g_real, g_fake = torch.autograd.grad(lc, (real, fake))
        assert g_real.abs().sum() > 0 and g_fake.abs().sum() > 0
        (g_gen,) = torch.autograd.grad(lg, fake)
        assert g_gen.abs().sum() > 0

    def test_generator_gradient_pushes_fakes_towards_real(self, name):
        """Raising a fake's score must lower the generator loss (for every strategy)."""
        loss = self.build(name)
        fake = torch.zeros(4, requires_grad=True)
        (grad,) = torch.autograd.grad(loss.generator_loss(fake), fake)
        assert (grad < 0).all()

    def test_config_round_trip(self, name):
        loss = self.build(name)
        clone = ganzoo.from_config(ganzoo.get_config(loss))
        real, fake = torch.randn(5), torch.randn(5)
        assert torch.equal(loss.critic_loss(real, fake), clone.critic_loss(real, fake))
        assert torch.equal(loss.generator_loss(fake), clone.generator_loss(fake))


@pytest.mark.parametrize("name", ganzoo.list_regularizers())
class TestRegularizerContract:
    def build(self, name):
        return ganzoo.create_regularizer(name, **REGULARIZER_KWARGS.get(name, {}))

    def test_penalty_is_non_negative_finite_scalar_when_present(self, name):
        reg = self.build(name)
        _, critic = toy_pair()
        critic = reg.wrap(critic)
        value = reg.penalty(critic, torch.randn(8, 2), torch.randn(8, 2))
        if has_penalty(reg):
            assert value.shape == () and torch.isfinite(value) and value >= 0
            value.backward()
            assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())
        else:
            assert value is None

    def test_trains_without_nan_and_saves(self, name, tmp_path):
        G, D = toy_pair()
        trainer = ganzoo.Trainer(G, D, "wasserstein", [self.build(name)], critic_steps=2, device="cpu")
        history = trainer.fit(ganzoo.data.ring().sampler(16, seed=0), steps=5)
        assert all(math.isfinite(v) for v in history.column("critic_loss"))
        trainer.save(tmp_path / "r.pt")
        loaded = ganzoo.Trainer.load(tmp_path / "r.pt")
        x = torch.randn(4, 2)
        loaded.critic.eval(), trainer.critic.eval()
        assert torch.equal(loaded.critic(x), trainer.critic(x))

    def test_config_round_trip(self, name):
        reg = self.build(name)
        clone = ganzoo.from_config(ganzoo.get_config(reg))
        assert type(clone) is type(reg) and vars(clone) == vars(reg)
