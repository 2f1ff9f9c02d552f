"""The CycleGAN game's terms against their formulas (Zhu et al. 2017; the reference implementation)."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo import ConfigError


def tiny_trainer(**game_kwargs):
    torch.manual_seed(0)
    nets = [ganzoo.create_generator("resnet", channels=3, blocks=1, width=4) for _ in range(2)]
    nets += [ganzoo.create_critic("patchgan", channels=3, width=4) for _ in range(2)]
    game = ganzoo.games.CycleGAN(*nets, **game_kwargs)
    return ganzoo.Trainer(game, device="cpu", amp="off", progress=False, seed=0)


def batch(n=2, size=32):
    g = torch.Generator().manual_seed(1)
    return {"x": torch.rand(n, 3, size, size, generator=g) * 2 - 1, "y": torch.rand(n, 3, size, size, generator=g) * 2 - 1}


def phase_terms(trainer, raw):
    ctx, game = trainer._ctx, trainer.game
    prepared = game.prepare(raw, ctx)
    out = {}
    for phase in game.phases:
        ctx.phase = phase
        out[phase.name] = game.losses(phase.name, prepared, ctx)
    ctx.phase = None
    return prepared, out


def mse(scores, target):
    return (scores - target).square().mean()


def test_each_critic_loss_is_half_the_sum_of_its_real_and_fake_terms_and_the_generator_term_is_the_mse():
    trainer = tiny_trainer(pool_size=0)  # no pool: the critics see this step's fakes
    (x, y), out = phase_terms(trainer, batch())
    G, F, D_x, D_y = (trainer.networks[k] for k in ("g_xy", "g_yx", "d_x", "d_y"))
    with torch.no_grad():
        fake_y, fake_x = G(x), F(y)
        critic = 0.5 * (mse(D_y(y), 1) + mse(D_y(fake_y), 0)) + 0.5 * (mse(D_x(x), 1) + mse(D_x(fake_x), 0))
        adversarial = mse(D_y(fake_y), 1) + mse(D_x(fake_x), 1)  # the reference's MSE to 1, not halved
        cycle = 10 * ((F(fake_y) - x).abs().mean() + (G(fake_x) - y).abs().mean())
        identity = 0.5 * 10 * ((G(y) - y).abs().mean() + (F(x) - x).abs().mean())
    assert out["critic"]["critic_loss"].item() == pytest.approx(critic.item(), rel=1e-5)
    assert out["generator"]["generator_loss"].item() == pytest.approx(adversarial.item(), rel=1e-5)
    assert out["generator"]["cycle_loss"].item() == pytest.approx(cycle.item(), rel=1e-5)
    assert out["generator"]["identity_loss"].item() == pytest.approx(identity.item(), rel=1e-5)
    total = out["generator"]["loss"].item()
    assert total == pytest.approx((adversarial + cycle + identity).item(), rel=1e-5)


def test_identity_weight_zero_drops_the_term_and_the_weights_scale_it():
    _, out = phase_terms(tiny_trainer(identity_weight=0.0), batch())
    assert "identity_loss" not in out["generator"]
    _, a = phase_terms(tiny_trainer(cycle_weight=10.0), batch())
    _, b = phase_terms(tiny_trainer(cycle_weight=20.0), batch())
    assert b["generator"]["cycle_loss"].item() == pytest.approx(2 * a["generator"]["cycle_loss"].item(), rel=1e-5)


def test_the_critics_read_fakes_through_the_pools_and_the_pools_are_checkpointed(tmp_path):
    trainer = tiny_trainer(pool_size=3)
    data = torch.utils.data.DataLoader(ganzoo.data.Unpaired(torch.rand(6, 3, 32, 32) * 2 - 1,
                                                            torch.rand(6, 3, 32, 32) * 2 - 1), batch_size=2)
    trainer.fit(data, steps=2)
    assert len(trainer.game.pool_x) == len(trainer.game.pool_y) == 3  # 2 + 2 fakes, 3 kept
    trainer.save(tmp_path / "c.pt")
    loaded = ganzoo.Trainer.load(tmp_path / "c.pt")
    for a, b in zip(trainer.game.pool_y.images, loaded.game.pool_y.images):
        assert torch.equal(a, b)


def test_a_gradient_penalty_on_both_critics_is_applied_and_logged():
    torch.manual_seed(0)
    nets = [ganzoo.create_generator("resnet", channels=3, blocks=1, width=4) for _ in range(2)]
    nets += [ganzoo.create_critic("patchgan", channels=3, width=4) for _ in range(2)]
    game = ganzoo.games.CycleGAN(*nets, loss="wasserstein", regularizers=["gradient_penalty"])
    trainer = ganzoo.Trainer(game, device="cpu", amp="off", progress=False)
    trainer.fit([batch()], steps=1)
    value = trainer.history[-1].penalties["gradient_penalty"]
    assert value > 0  # computed (the reference's "wgangp" mode never applies its penalty)


@pytest.mark.parametrize("raw, words", [
    ({"x": torch.rand(2, 3, 32, 32), "y": torch.rand(2, 1, 32, 32)}, r"3 channels and domain Y 1"),
    ({"x": torch.rand(2, 3, 30, 30), "y": torch.rand(2, 3, 30, 30)}, r"divisible by 4|multiple of 4"),
    ({"x": torch.rand(2, 3, 32, 32)}, r"batches \{'x': images of domain X, 'y': images of domain Y\}"),
    ({"x": torch.rand(2, 3, 8, 8), "y": torch.rand(2, 3, 8, 8)}, r"PatchGAN|at least|too small"),
])
def test_batches_the_game_cannot_train_on_fail_before_the_first_update(raw, words):
    trainer = tiny_trainer()
    with pytest.raises(ConfigError, match=words):
        trainer.fit([raw], steps=1)
    assert trainer.step == 0 and all(m.training for m in trainer.networks.values())


def test_sample_takes_exactly_one_domain():
    trainer = tiny_trainer()
    with pytest.raises(ConfigError, match="exactly one of x="):
        trainer.sample(x=torch.rand(1, 3, 32, 32), y=torch.rand(1, 3, 32, 32))
    assert trainer.sample(y=torch.rand(2, 3, 32, 32)).shape == (2, 3, 32, 32)


def test_the_recipe_has_the_reference_settings():
    trainer = ganzoo.recipes.cyclegan(channels=3, blocks=1, width=4, critic_width=4, steps=10, seed=0,
                                      device="cpu", progress=False)
    game = trainer.game
    assert isinstance(game, ganzoo.games.CycleGAN) and isinstance(game.loss, ganzoo.losses.LeastSquaresLoss)
    assert (game.cycle_weight, game.identity_weight, game.pool_size, trainer.critic_steps) == (10.0, 0.5, 50, 1)
    for opt in trainer.optimizers.values():
        group = opt.param_groups[0]
        assert type(opt).__name__ == "Adam" and group["lr"] == 2e-4 and tuple(group["betas"]) == (0.5, 0.999)
    decay = [cb for cb in trainer.callbacks if isinstance(cb, ganzoo.callbacks.LinearDecay)]
    assert [(d.start, d.end, d.final) for d in decay] == [(5, 10, 0.0)]
