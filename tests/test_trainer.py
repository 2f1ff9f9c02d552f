from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ganzoo
from ganzoo import Callback, Trainer

from helpers import CountingLoader, image_loader, image_pair, toy_pair


def count_steps(optimizer: torch.optim.Optimizer) -> list[int]:
    counter = [0]
    optimizer.register_step_post_hook(lambda *_: counter.__setitem__(0, counter[0] + 1))
    return counter


@settings(max_examples=8)
@given(critic_steps=st.integers(1, 6), steps=st.integers(1, 5), mode=st.sampled_from(["fresh", "reuse"]))
def test_update_counts_follow_critic_steps(critic_steps, steps, mode):
    G, D = toy_pair()
    trainer = Trainer(G, D, "wasserstein", ["gradient_penalty"], critic_steps=critic_steps,
                      critic_batches=mode, device="cpu")
    c_count, g_count = count_steps(trainer.critic_optimizer), count_steps(trainer.generator_optimizer)
    loader = CountingLoader(batches=4)
    trainer.fit(loader, steps=steps)
    assert c_count[0] == critic_steps * steps == trainer.critic_updates
    assert g_count[0] == steps == trainer.step == len(trainer.history)
    expected_batches = critic_steps * steps if mode == "fresh" else steps
    assert loader.drawn - 1 <= expected_batches <= loader.drawn  # one batch is fetched ahead


def test_fit_continues_and_history_accumulates():
    G, D = toy_pair()
    trainer = Trainer(G, D, "bce", device="cpu", log_every=3)
    data = ganzoo.data.ring().sampler(32, seed=0)
    trainer.fit(data, steps=4)
    history = trainer.fit(data, steps=5)
    assert trainer.step == 9 and len(history) == 9
    assert [r.step for r in history] == list(range(1, 10))
    assert math.isnan(history[-1].wasserstein)  # BCE does not estimate W1
    assert history[-1].penalties == {}


def test_epochs_mode_counts_passes():
    G, D = toy_pair()
    trainer = Trainer(G, D, "hinge", device="cpu")
    loader = CountingLoader(batches=5)
    epochs_seen = []

    class Epochs(Callback):
        def on_epoch_end(self, t):
            epochs_seen.append((t.epoch, t.step))

    trainer.fit(loader, epochs=2, callbacks=[Epochs()])
    assert trainer.epoch == 2 and trainer.step == 10
    assert epochs_seen == [(1, 5), (2, 10)]


def test_history_records_penalty_and_wasserstein():
    G, D = toy_pair()
    trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, device="cpu", seed=0)
    history = trainer.fit(ganzoo.data.grid().sampler(32, seed=0), steps=3)
    record = history[-1]
    assert record.penalties.keys() == {"gradient_penalty"}
    assert record.wasserstein == pytest.approx(-record.critic_loss)
    assert record.critic_grad_norm > 0 and record.generator_grad_norm > 0
    assert record.critic_skipped == 0


def test_callbacks_see_every_step_and_fit_end():
    events = []

    class Recorder(Callback):
        def on_fit_start(self, t):
            events.append("start")

        def on_step_end(self, t):
            events.append(t.step)

        def on_fit_end(self, t):
            events.append("end")

    G, D = toy_pair()
    Trainer(G, D, device="cpu", callbacks=[Recorder()]).fit(CountingLoader(), steps=3)
    assert events == ["start", 1, 2, 3, "end"]


def test_interrupt_hook_runs_and_error_propagates():
    seen = []

    class Boom(Callback):
        def on_step_end(self, t):
            if t.step == 2:
                raise KeyboardInterrupt

        def on_interrupt(self, t, error):
            seen.append((t.step, type(error).__name__, len(t.history)))

    G, D = toy_pair()
    with pytest.raises(KeyboardInterrupt):
        Trainer(G, D, device="cpu").fit(CountingLoader(), steps=5, callbacks=[Boom()])
    assert seen == [(2, "KeyboardInterrupt", 2)]


def test_sample_is_eval_no_grad_and_restores_mode():
    G, D = image_pair(norm="batch")
    trainer = Trainer(G, D, device="cpu")
    z = torch.randn(5, 8)
    a, b = trainer.sample(5, z=z), trainer.sample(5, z=z)
    assert a.shape == (5, 3, 16, 16) and not a.requires_grad
    assert torch.equal(a, b)  # eval mode: batch norm uses running stats
    assert trainer.generator.training


def _run(steps_before: int, steps_after: int, tmp_path, resume: bool, amp: str = "off"):
    torch.manual_seed(3)
    G, D = image_pair(norm="none")
    trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, device="cpu", seed=3, amp=amp, critic_steps=2)
    loader = image_loader()
    trainer.fit(loader, steps=steps_before)
    if resume:
        trainer.save(tmp_path / "ckpt.pt")
        trainer = Trainer.load(tmp_path / "ckpt.pt")
    trainer.fit(loader, steps=steps_after)
    return trainer


@pytest.mark.parametrize("amp", ["off", "fp16"])
def test_save_load_continue_matches_uninterrupted_run(tmp_path, amp):
    straight = _run(3, 4, tmp_path, resume=False, amp=amp)
    resumed = _run(3, 4, tmp_path, resume=True, amp=amp)
    assert straight.history.column("critic_loss") == resumed.history.column("critic_loss")
    assert straight.history.column("generator_loss") == resumed.history.column("generator_loss")
    for a, b in zip(straight.generator.parameters(), resumed.generator.parameters()):
        assert torch.equal(a, b)
    assert resumed.step == 7 and resumed.critic_updates == 14


def test_load_restores_everything(tmp_path):
    G, D = toy_pair()
    trainer = ganzoo.recipes.sngan(generator=G, critic=D, device="cpu", seed=0, critic_steps=2)
    trainer.fit(ganzoo.data.ring().sampler(16, seed=0), steps=3)
    trainer.save(tmp_path / "a.pt")
    loaded = Trainer.load(tmp_path / "a.pt")
    assert loaded.config() == trainer.config()
    assert type(loaded.loss) is type(trainer.loss) and loaded.critic_steps == 2
    assert loaded.step == 3 and loaded.critic_updates == 6 and len(loaded.history) == 3
    z = torch.randn(4, 2)
    assert torch.equal(loaded.sample(4, z=z), trainer.sample(4, z=z))
    loaded.critic.eval(), trainer.critic.eval()
    x = torch.randn(4, 2)
    assert torch.equal(loaded.critic(x), trainer.critic(x))
    assert loaded.generator_optimizer.state_dict()["state"].keys() == trainer.generator_optimizer.state_dict()["state"].keys()


def test_custom_unregistered_model_needs_explicit_module_on_load(tmp_path):
    class Gen(torch.nn.Module):
        latent_dim = 2

        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, z):
            return self.lin(z)

    _, D = toy_pair()
    trainer = Trainer(Gen(), D, device="cpu")
    trainer.save(tmp_path / "c.pt")
    with pytest.raises(ganzoo.CheckpointError, match="generator=.*same architecture"):
        Trainer.load(tmp_path / "c.pt")
    loaded = Trainer.load(tmp_path / "c.pt", generator=Gen())
    assert torch.equal(loaded.generator.lin.weight, trainer.generator.lin.weight)


# ---------------------------------------------------------------- bad input
def test_critic_steps_below_one():
    G, D = toy_pair()
    with pytest.raises(ganzoo.ConfigError, match="critic_steps=0.*integer >= 1"):
        Trainer(G, D, critic_steps=0)


def test_amp_outside_the_four():
    G, D = toy_pair()
    with pytest.raises(ganzoo.ConfigError, match=r"amp='half'.*'off', 'bf16', 'fp16', 'auto'"):
        Trainer(G, D, amp="half", device="cpu")


def test_unknown_loss_and_regularizer_names():
    G, D = toy_pair()
    with pytest.raises(KeyError, match="Did you mean 'hinge'"):
        Trainer(G, D, loss="hinje", device="cpu")
    with pytest.raises(KeyError, match="gradient_penalty"):
        Trainer(G, D, regularizers=["gradient_penalt"], device="cpu")


def test_bad_critic_batches():
    G, D = toy_pair()
    with pytest.raises(ganzoo.ConfigError, match="critic_batches='new'.*'fresh', 'reuse'"):
        Trainer(G, D, critic_batches="new")


def test_batch_norm_critic_with_gradient_penalty_warns():
    G, D = image_pair(norm="batch")
    with pytest.warns(UserWarning, match="batch norm.*gradient_penalty.*norm='none'"):
        Trainer(G, D, "wasserstein", ["gradient_penalty"], device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(*image_pair(norm="none"), "wasserstein", ["gradient_penalty"], device="cpu")
        Trainer(*image_pair(norm="batch"), "bce", device="cpu")


def test_fit_argument_errors():
    G, D = toy_pair()
    trainer = Trainer(G, D, device="cpu")
    with pytest.raises(ganzoo.ConfigError, match="exactly one of steps=N or epochs=N"):
        trainer.fit(CountingLoader())
    with pytest.raises(ganzoo.ConfigError, match="exactly one"):
        trainer.fit(CountingLoader(), steps=1, epochs=1)
    with pytest.raises(ganzoo.ConfigError, match="DataLoader"):
        trainer.fit(torch.randn(10, 2), steps=1)
    with pytest.raises(ganzoo.ConfigError, match="no batches"):
        trainer.fit([], steps=1)
    with pytest.raises(ganzoo.ConfigError, match="ran out after 2 batches"):
        trainer.fit(iter([torch.randn(4, 2), torch.randn(4, 2)]), steps=3)


def test_generator_without_latent_dim():
    _, D = toy_pair()
    with pytest.raises(ganzoo.ConfigError, match="latent_dim"):
        Trainer(torch.nn.Linear(2, 2), D)
    Trainer(torch.nn.Linear(3, 2), D, latent_dim=3, device="cpu").fit(CountingLoader(), steps=1)


def test_optimizer_built_before_spectral_norm_is_accepted_or_rejected_clearly():
    G, D = toy_pair()
    stale = torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    with pytest.raises(ganzoo.ConfigError, match="critic_optimizer does not optimise the critic"):
        Trainer(G, D, critic_optimizer=stale)


def test_labelled_batches_and_channels_last():
    G, D = image_pair()
    images = torch.rand(32, 3, 16, 16) * 2 - 1
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, torch.zeros(32)), batch_size=8)
    trainer = Trainer(G, D, "hinge", device="cpu", channels_last=True)
    trainer.fit(loader, steps=2)
    assert trainer.critic.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert len(trainer.history) == 2
