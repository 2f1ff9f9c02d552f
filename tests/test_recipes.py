from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo import recipes
from ganzoo.regularizers import GradientPenalty, SpectralNorm, WeightClipping


def opt_hparams(opt):
    group = opt.param_groups[0]
    return type(opt).__name__, group["lr"], tuple(group.get("betas", ()))


def test_dcgan_recipe():
    t = recipes.dcgan(image_size=32, channels=3, width=8, device="cpu")
    assert t.critic_steps == 1 and t.regularizers == []
    assert type(t.loss).__name__ == "BCELoss" and t.loss.real_label == 0.9
    assert opt_hparams(t.generator_optimizer) == ("Adam", 2e-4, (0.5, 0.999))
    assert opt_hparams(t.critic_optimizer) == ("Adam", 2e-4, (0.5, 0.999))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in t.critic.modules())


def test_wgan_clip_recipe():
    t = recipes.wgan_clip(image_size=32, width=8, device="cpu")
    assert t.critic_steps == 5 and isinstance(t.regularizers[0], WeightClipping) and t.regularizers[0].clip == 0.01
    assert opt_hparams(t.critic_optimizer) == ("RMSprop", 5e-5, ())


def test_wgan_gp_recipe():
    t = recipes.wgan_gp(image_size=32, width=8, device="cpu")
    assert t.critic_steps == 5 and isinstance(t.regularizers[0], GradientPenalty) and t.regularizers[0].weight == 10.0
    assert opt_hparams(t.critic_optimizer) == ("Adam", 1e-4, (0.0, 0.9))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in t.critic.modules())
    assert t.critic_batches == "fresh"


def test_sngan_recipe():
    t = recipes.sngan(image_size=32, width=8, device="cpu")
    assert type(t.loss).__name__ == "HingeLoss" and isinstance(t.regularizers[0], SpectralNorm)
    assert opt_hparams(t.critic_optimizer) == ("Adam", 2e-4, (0.0, 0.9)) and t.critic_steps == 5
    convs = [m for m in t.critic.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.bias is not None for m in convs)  # a bias-free critic scores 0 at x = 0: collapse
    # width 8 at 32 px: convs 3->8->16->32->1; biases add 8 + 16 + 32 + 1 parameters
    plain = recipes.sngan(image_size=32, width=8, device="cpu", critic_bias=False)
    assert all(m.bias is None for m in plain.critic.modules() if isinstance(m, torch.nn.Conv2d))
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(t.critic) - count(plain.critic) == 8 + 16 + 32 + 1


def test_reference_architecture_by_default():
    t = recipes.wgan_gp(device="cpu")
    assert sum(p.numel() for p in t.generator.parameters()) == 3_576_704
    assert sum(p.numel() for p in t.critic.parameters()) == 2_763_776
    # SN-GAN's critic adds biases: 64 + 128 + 256 + 512 + 1
    sn = recipes.sngan(device="cpu")
    assert sum(p.numel() for p in sn.critic.parameters()) == 2_763_776 + 961


@pytest.mark.parametrize("recipe", [recipes.dcgan, recipes.wgan_clip, recipes.wgan_gp, recipes.sngan])
def test_recipes_train_toys_with_user_networks(recipe):
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
    t = recipe(generator=G, critic=D, device="cpu", seed=0, critic_steps=2)
    history = t.fit(ganzoo.data.grid().sampler(32, seed=0), steps=3)
    assert len(history) == 3 and t.generator is G


def test_recipe_seed_makes_weights_reproducible():
    a = recipes.dcgan(image_size=16, width=4, seed=1, device="cpu")
    b = recipes.dcgan(image_size=16, width=4, seed=1, device="cpu")
    for p, q in zip(a.generator.parameters(), b.generator.parameters()):
        assert torch.equal(p, q)


def test_recipe_overrides_pass_through():
    t = recipes.wgan_gp(image_size=16, width=4, device="cpu", critic_steps=3, critic_batches="reuse", gp_weight=0.1)
    assert t.critic_steps == 3 and t.critic_batches == "reuse" and t.regularizers[0].weight == 0.1


@pytest.mark.parametrize("name", ["dcgan", "wgan_clip", "wgan_gp", "sngan"])
def test_every_recipe_with_num_classes_trains_the_conditional_game(name):
    trainer = getattr(ganzoo.recipes, name)(image_size=32, channels=1, width=4, latent_dim=8, num_classes=3,
                                            seed=0, device="cpu", progress=False, critic_steps=1)
    assert isinstance(trainer.game, ganzoo.games.Conditional) and trainer.game.num_classes == 3
    assert trainer.generator.num_classes == trainer.critic.num_classes == 3
    images, labels = torch.rand(8, 1, 32, 32) * 2 - 1, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    trainer.fit([(images, labels)], steps=1)
    out = trainer.sample(labels=torch.tensor([2, 1, 0]))
    assert out.shape == (3, 1, 32, 32) and torch.isfinite(out).all()
    unconditional = getattr(ganzoo.recipes, name)(image_size=32, channels=1, width=4, latent_dim=8, device="cpu")
    assert isinstance(unconditional.game, ganzoo.games.Unconditional)
