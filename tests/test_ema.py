"""EMA of the generator (ganzoo.ema)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.ema import EMA
from ganzoo.errors import ConfigError

from helpers import toy_pair


def _linear(value: float) -> nn.Linear:
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(value)
        layer.bias.fill_(value)
    return layer


def test_update_is_the_exponential_average():
    ema = EMA(decay=0.75, warmup=False)
    ema.update(_linear(0.0))  # first call copies the model, then averages it with itself
    ema.update(_linear(4.0))
    assert ema.generator.weight.item() == pytest.approx(1.0)  # 0.75 * 0 + 0.25 * 4
    ema.update(_linear(4.0))
    assert ema.generator.weight.item() == pytest.approx(1.75)  # 0.75 * 1 + 0.25 * 4
    assert ema.updates == 3


def test_warmup_decay_and_start_step():
    ema = EMA(decay=0.999)
    assert ema.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0)
    ema.update(_linear(0.0))
    assert ema.current_decay() == pytest.approx(2 / 11)
    late = EMA(decay=0.5, start_step=10, warmup=False)
    late.update(_linear(1.0), step=3)
    late.update(_linear(7.0), step=9)  # before start_step: copied, not averaged
    assert late.generator.weight.item() == 7.0 and late.updates == 0


def test_decay_zero_follows_the_generator_and_does_not_change_training():
    def run(callbacks):
        torch.manual_seed(0)
        G, D = toy_pair()
        trainer = ganzoo.Trainer(G, D, loss="bce", seed=0, device="cpu", callbacks=callbacks)
        trainer.fit(torch.utils.data.DataLoader(torch.randn(128, 2), batch_size=32), steps=6)
        return trainer

    ema = EMA(decay=0.0, warmup=False)
    with_ema, without = run([ema]), run([])
    for a, b, c in zip(ema.generator.parameters(), with_ema.generator.parameters(), without.generator.parameters()):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(b, c)
    assert ema.updates == 6
    z = torch.randn(5, 2)
    torch.testing.assert_close(ema.sample(5, z=z), with_ema.sample(5, z=z))


def test_batch_norm_buffers_are_copied_and_state_round_trips():
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,), norm="batch")
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    ema = EMA(decay=0.9, every=2)
    trainer = ganzoo.Trainer(G, D, loss="bce", seed=0, device="cpu", callbacks=[ema])
    trainer.fit(torch.utils.data.DataLoader(torch.randn(128, 2) + 3, batch_size=32), steps=4)
    assert ema.updates == 2
    torch.testing.assert_close(ema.generator.net[1].running_mean, trainer.generator.net[1].running_mean)
    restored = EMA()
    restored.load_state_dict(ema.state_dict(), generator=G)
    z = torch.randn(4, 2)
    restored._latent_dim = 2
    torch.testing.assert_close(restored.sample(4, z=z), ema.sample(4, z=z))


def test_errors_explain_the_fix():
    with pytest.raises(ConfigError, match="decay=1.0"):
        EMA(decay=1.0)
    with pytest.raises(ConfigError, match="fit"):
        EMA().sample(3)
    with pytest.raises(ConfigError, match="generator="):
        EMA().load_state_dict({"generator": {}, "updates": 0})


def test_a_resumed_run_continues_the_same_average_bitwise(tmp_path):
    """The EMA's state rides in the Trainer's checkpoints (issue 16): resuming from step 2 with a
    fresh EMA gives the uninterrupted run's average at step 4, bitwise."""
    from ganzoo.callbacks import EMA, Checkpoint

    def build():
        torch.manual_seed(0)
        G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
        D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
        return ganzoo.Trainer(G, D, loss="wasserstein", seed=0, device="cpu", amp="off", progress=False)

    data = torch.utils.data.DataLoader(torch.randn(256, 2), batch_size=32, shuffle=True,
                                       generator=torch.Generator().manual_seed(3))
    straight, ema = build(), EMA(decay=0.9)
    straight.fit(data, steps=4, callbacks=[ema, Checkpoint(tmp_path, every=2, keep_last=5)])
    files = sorted(tmp_path.glob("*.pt"))
    assert len(files) == 2
    resumed, fresh = ganzoo.Trainer.load(files[0], device="cpu"), EMA(decay=0.5)  # decay comes from the file
    assert resumed.step == 2
    resumed.fit(data, steps=2, callbacks=[fresh])
    assert fresh.updates == ema.updates == 4 and fresh.decay == 0.9
    for a, b in zip(ema.generator.state_dict().values(), fresh.generator.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(fresh.sample(3, z=torch.zeros(3, 2)), ema.sample(3, z=torch.zeros(3, 2)))
