"""Learning-rate schedules (ganzoo.schedules)."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.schedules import LinearDecay

from helpers import toy_pair


def _trainer(callbacks):
    G, D = toy_pair()
    return ganzoo.Trainer(G, D, loss="wasserstein", critic_steps=2, seed=0, device="cpu", callbacks=callbacks,
                          generator_optimizer={"name": "adam", "lr": 1e-3}, critic_optimizer={"name": "adam", "lr": 4e-3})


def _data():
    return torch.utils.data.DataLoader(torch.randn(512, 2), batch_size=32)


def test_factor_is_piecewise_linear():
    decay = LinearDecay(start=10, end=20, final=0.1)
    assert [decay.factor(t) for t in (0, 10, 15, 20, 99)] == [1.0, 1.0, pytest.approx(0.55), 0.1, 0.1]


def test_rates_follow_the_schedule_during_training_and_after_resuming(tmp_path):
    trainer = _trainer([LinearDecay(start=2, end=6)])
    trainer.fit(_data(), steps=4)
    g_lr = trainer.generator_optimizer.param_groups[0]["lr"]
    c_lr = trainer.critic_optimizer.param_groups[0]["lr"]
    assert g_lr == pytest.approx(1e-3 * 0.5) and c_lr == pytest.approx(4e-3 * 0.5)
    trainer.save(tmp_path / "ckpt.pt")
    resumed = ganzoo.Trainer.load(tmp_path / "ckpt.pt", callbacks=[LinearDecay(start=2, end=6)])
    resumed.fit(_data(), steps=1)
    assert resumed.generator_optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.25)  # not 0.5 * 0.75
    resumed.fit(_data(), steps=3)
    assert resumed.critic_optimizer.param_groups[0]["lr"] == 0.0


def test_only_the_named_optimizer_is_scheduled():
    trainer = _trainer([LinearDecay(start=0, end=2, which=["critic"])])
    trainer.fit(_data(), steps=2)
    assert trainer.generator_optimizer.param_groups[0]["lr"] == 1e-3
    assert trainer.critic_optimizer.param_groups[0]["lr"] == 0.0


def test_bad_arguments():
    with pytest.raises(ConfigError, match="end=5"):
        LinearDecay(start=5, end=5)
    with pytest.raises(ConfigError, match="final"):
        LinearDecay(start=0, end=5, final=2.0)
    with pytest.raises(ConfigError, match="which"):
        LinearDecay(start=0, end=5, which=["discriminator"])
