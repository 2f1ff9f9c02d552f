"""Divergence guard: NaN/inf in a loss, penalty or gradient stops training naming the step and
the term (or rolls back), never becomes the latest checkpoint; fp16 skips are not divergence."""

from __future__ import annotations

import math

import pytest
import torch

import ganzoo
from ganzoo import DivergenceError, DivergenceGuard
from ganzoo.checkpoint import checkpoint_files, load_checkpoint
from ganzoo.regularizers import Regularizer


class Poisonable(torch.nn.Module):
    """Wraps a critic; returns NaN scores while ``poisoned``."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.poisoned = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.inner(x)
        return scores * math.nan if self.poisoned else scores


class PoisonAt(ganzoo.Callback):
    """Poison the critic for generator step ``at`` only (once: a rollback replays it clean)."""

    def __init__(self, at: int) -> None:
        self.at, self.done = at, False

    def on_step_end(self, trainer: ganzoo.Trainer) -> None:
        critic = trainer.critic
        critic.poisoned = trainer.step == self.at - 1 and not self.done
        self.done = self.done or critic.poisoned


class SaveEvery(ganzoo.Callback):
    def __init__(self, folder, every: int) -> None:
        self.folder, self.every = folder, every

    def on_step_end(self, trainer: ganzoo.Trainer) -> None:
        if trainer.step % self.every == 0:
            trainer.save(self.folder / f"ckpt-{trainer.step:04d}.pt")


def build(critic_wrapper=Poisonable, **kwargs) -> ganzoo.Trainer:
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
    kwargs.setdefault("critic_steps", 2)
    return ganzoo.Trainer(G, critic_wrapper(D), "wasserstein", ["gradient_penalty"], seed=0, device="cpu",
                          generator_optimizer={"name": "adam", "lr": 1e-3}, critic_optimizer={"name": "adam", "lr": 1e-3},
                          **kwargs)


DATA = ganzoo.data.grid().sampler(16, seed=0)


@pytest.mark.parametrize("log_every, stops_at", [(1, 5), (10, 6)])
def test_nan_critic_stops_at_its_step_and_the_last_checkpoint_is_good(tmp_path, log_every, stops_at):
    trainer = build(log_every=log_every)
    with pytest.raises(DivergenceError, match=r"diverged at generator step 5: critic_loss = nan") as caught:
        trainer.fit(DATA, steps=20, callbacks=[PoisonAt(5), SaveEvery(tmp_path, 2)])
    assert caught.value.step == 5 and "critic_loss" in caught.value.terms
    assert "No checkpoint was written after the divergence" in str(caught.value)
    assert trainer.step == stops_at  # checked every log_every steps and before every save
    newest = checkpoint_files(tmp_path)[0]
    assert newest.name == "ckpt-0004.pt" and [p.name for p in checkpoint_files(tmp_path)][-1] == "ckpt-0002.pt"
    state = load_checkpoint(newest)
    assert all(torch.isfinite(t).all() for t in state["networks"]["critic"].values())
    with pytest.raises(DivergenceError):  # and it stays refused
        trainer.save(tmp_path / "after.pt")
    assert not (tmp_path / "after.pt").exists()


class NaNPenalty(Regularizer):
    def __init__(self) -> None:
        self.calls = 0

    def penalty(self, critic, real, fake, amp=None):
        self.calls += 1
        value = critic(real).square().mean()
        return value * math.nan if self.calls == 3 else value


def test_nan_penalty_is_named():
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
    trainer = ganzoo.Trainer(G, D, "wasserstein", [NaNPenalty()], critic_steps=1, device="cpu", log_every=1)
    with pytest.raises(DivergenceError, match=r"step 3: penalty/NaNPenalty = nan, the critic's gradient = nan") as caught:
        trainer.fit(DATA, steps=10)
    # the cause first; the critic loss of that step was still finite (the generator's came after)
    assert caught.value.terms[:2] == ("penalty/NaNPenalty", "critic_grad_norm")
    assert "critic_loss" not in caught.value.terms


def test_nan_gradient_alone_is_named():
    trainer = build(log_every=1, critic_steps=1)
    weight = trainer.critic.inner.net[0].weight
    poison = {"on": False}
    weight.register_hook(lambda g: g * math.nan if poison["on"] else g)

    class At3(ganzoo.Callback):
        def on_step_end(self, t):
            poison["on"] = t.step == 2

    with pytest.raises(DivergenceError, match=r"step 3: the critic's gradient = nan") as caught:
        trainer.fit(DATA, steps=10, callbacks=[At3()])
    assert caught.value.terms[0] == "critic_grad_norm" and "critic_loss" not in caught.value.terms


def test_rollback_goes_back_lowers_the_learning_rate_and_finishes(tmp_path):
    trainer = build(log_every=10, divergence="rollback")
    with pytest.warns(RuntimeWarning, match=r"step 5.*rolled back to ckpt-0004.pt \(step 4\).*0.5"):
        history = trainer.fit(DATA, steps=12, callbacks=[PoisonAt(5), SaveEvery(tmp_path, 2)])
    assert trainer.step == 12 and len(history) == 12
    assert all(math.isfinite(v) for v in history.column("critic_loss"))
    (event,) = trainer.guard.rollbacks
    assert (event.diverged_at, event.restored_step, event.terms[0]) == (5, 4, "critic_loss")
    assert trainer.generator_optimizer.param_groups[0]["lr"] == pytest.approx(5e-4)
    assert trainer.critic_optimizer.param_groups[0]["lr"] == pytest.approx(5e-4)
    state = load_checkpoint(checkpoint_files(tmp_path)[0])
    assert state["counters"]["step"] == 12 and len(state["guard"]["rollbacks"]) == 1


def test_rollback_without_a_checkpoint_or_beyond_the_limit_raises(tmp_path):
    trainer = build(log_every=1, divergence="rollback")
    with pytest.raises(DivergenceError, match="no checkpoint to roll back to"):
        trainer.fit(DATA, steps=10, callbacks=[PoisonAt(3)])

    class AlwaysFrom(ganzoo.Callback):
        def on_step_end(self, t):
            t.critic.poisoned = t.step >= 2

    trainer = build(log_every=1, divergence=DivergenceGuard("rollback", max_rollbacks=2))
    with pytest.warns(RuntimeWarning, match="rolled back"), pytest.raises(DivergenceError, match="giving up after 2"):
        trainer.fit(DATA, steps=10, callbacks=[AlwaysFrom(), SaveEvery(tmp_path, 2)])


def test_non_finite_parameters_are_never_saved(tmp_path):
    trainer = build()
    trainer.fit(DATA, steps=2)
    with torch.no_grad():
        trainer.generator.net[0].weight[0, 0] = math.inf
    with pytest.raises(DivergenceError, match="generator's parameters hold NaN or inf"):
        trainer.save(tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


def test_fp16_overflow_skips_are_counted_not_divergence():
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
    trainer = ganzoo.Trainer(G, D, "wasserstein", ["gradient_penalty"], critic_steps=2,
                             amp={"mode": "fp16", "init_scale": 2.0**40}, device="cpu", log_every=1)
    history = trainer.fit(DATA, steps=8)  # the scale starts far too high: the first updates overflow
    skipped = sum(history.column("critic_skipped"))
    assert skipped > 0 and trainer.guard.skipped["critic"] == skipped == trainer.critic_amp.skipped_steps


class Overflowing(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) * 1e30  # inf in fp16 at any loss scale


def test_fp16_skips_that_never_stop_are_divergence():
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
    trainer = ganzoo.Trainer(G, Overflowing(D), "wasserstein", critic_steps=1, amp="fp16", device="cpu",
                             log_every=1, divergence=DivergenceGuard(max_skip_streak=4))
    with pytest.raises(DivergenceError, match="fp16 gradient scaler skipped updates in 4 generator steps in a row"):
        trainer.fit(DATA, steps=20)
    assert trainer.step == 4


def test_guard_config_survives_save_and_load(tmp_path):
    trainer = build(critic_wrapper=lambda critic: critic,  # registered: the checkpoint rebuilds it
                    divergence=DivergenceGuard("rollback", lr_factor=0.25, max_rollbacks=5))
    trainer.fit(DATA, steps=1)
    trainer.save(tmp_path / "c.pt")
    loaded = ganzoo.Trainer.load(tmp_path / "c.pt")
    assert loaded.guard.config() == {"action": "rollback", "lr_factor": 0.25, "max_rollbacks": 5, "max_skip_streak": 20}


# ------------------------------------------------------------------ the guard on its own
def test_guard_ignores_wasserstein_nan_and_skipped_networks():
    guard = DivergenceGuard()
    guard.observe({"step": 1, "critic_loss": 0.3, "generator_loss": 0.7, "wasserstein": math.nan})  # BCE
    guard.observe({"step": 2, "critic_loss": math.inf, "critic_grad_norm": math.nan, "critic_skipped": 1,
                   "generator_loss": 0.5})
    assert guard.error() is None and guard.skipped == {"critic": 1, "generator": 0}
    guard.observe({"step": 3, "critic_loss": 0.1, "generator_loss": math.nan, "critic_skipped": 1})
    assert guard.error().step == 3 and guard.error().terms == ("generator_loss",)


def test_guard_agrees_with_other_processes():
    guard = DivergenceGuard()
    guard.check(agree=lambda local: None)  # nobody diverged
    with pytest.raises(DivergenceError, match="step 7 in another process"):
        guard.check(agree=lambda local: 7)
    guard.observe({"step": 9, "critic_loss": math.nan})
    with pytest.raises(DivergenceError, match="step 9: critic_loss = nan"):
        guard.check(agree=lambda local: local)


@pytest.mark.parametrize("kwargs, message", [
    ({"action": "ignore"}, r"divergence action='ignore'.*'raise', 'rollback'"),
    ({"lr_factor": 1.5}, r"lr_factor=1.5.*0 < lr_factor < 1"),
    ({"max_rollbacks": -1}, r"max_rollbacks=-1"),
])
def test_guard_bad_arguments(kwargs, message):
    with pytest.raises(ganzoo.ConfigError, match=message):
        DivergenceGuard(**kwargs)
    with pytest.raises(ganzoo.ConfigError, match="divergence=3"):
        build(divergence=3)
