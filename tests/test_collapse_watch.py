"""CollapseWatch reports a generator that emits one constant image, with its step; a healthy one not."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.callbacks import CollapseWatch
from ganzoo.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


class ConstantAfter(nn.Module):
    """A generator that draws from its noise until ``switch`` calls, then one constant image."""

    def __init__(self, latent_dim: int = 4, switch: int = 10**9) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Linear(latent_dim, 3 * 8 * 8)
        self.calls, self.switch = 0, switch

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = torch.tanh(self.net(z)).view(-1, 3, 8, 8)
        if self.calls > self.switch:
            out = out * 0 + 0.3  # constant, still attached to the graph
        return out


def trainer_with(generator: nn.Module) -> ganzoo.Trainer:
    critic = ganzoo.create_critic("mlp", in_shape=(3, 8, 8), hidden=(16,))
    return ganzoo.Trainer(generator, critic, loss="bce", device="cpu", seed=0)


def data() -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(torch.rand(64, 3, 8, 8) * 2 - 1, batch_size=16)


def test_spread_is_exact() -> None:
    assert CollapseWatch.spread(torch.full((5, 3, 4, 4), 0.7)) == 0.0
    x = torch.tensor([[0.0, 2.0], [2.0, 0.0]])  # std (unbiased) of {0, 2} is sqrt(2) per column
    assert CollapseWatch.spread(x) == pytest.approx(2**0.5)


def test_constant_generator_is_reported_with_its_step(caplog: pytest.LogCaptureFixture) -> None:
    watch = CollapseWatch(every=2, start=0)
    trainer = trainer_with(ConstantAfter(switch=0))
    with caplog.at_level(logging.WARNING, logger="ganzoo.collapse"):
        trainer.fit(data(), steps=6, callbacks=[watch])
    assert watch.collapsed_at == 2
    assert [step for step, _ in watch.spreads] == [2, 4, 6]
    assert all(value == 0.0 for _, value in watch.spreads)
    warnings = [r for r in caplog.records if r.name == "ganzoo.collapse"]
    assert len(warnings) == 1  # once per collapse, not at every check
    assert "step 2: generator collapsed to one output" in warnings[0].getMessage()


def test_collapse_midway_reports_the_step_it_happened() -> None:
    generator = ConstantAfter()
    watch = CollapseWatch(every=1, start=0)
    trainer = trainer_with(generator)
    trainer.fit(data(), steps=3)
    generator.switch = generator.calls  # from now on: one constant image
    trainer.fit(data(), steps=3, callbacks=[watch])
    assert watch.collapsed_at == 4  # the first check after the switch


def test_healthy_generator_is_not_reported(caplog: pytest.LogCaptureFixture) -> None:
    watch = CollapseWatch(every=2, start=0)
    trainer = trainer_with(ConstantAfter())  # the same generator, never switched to the constant
    with caplog.at_level(logging.WARNING, logger="ganzoo.collapse"):
        trainer.fit(data(), steps=4, callbacks=[watch])
    assert watch.collapsed_at is None
    assert all(value > 0.01 for _, value in watch.spreads)
    assert not [r for r in caplog.records if r.name == "ganzoo.collapse"]


def test_no_check_before_start() -> None:
    watch = CollapseWatch(every=1, start=3)
    trainer_with(ConstantAfter(switch=0)).fit(data(), steps=4, callbacks=[watch])
    assert [step for step, _ in watch.spreads] == [3, 4]
    assert watch.collapsed_at == 3


@pytest.mark.parametrize("kwargs, word", [({"start": -1}, "start"), ({"n": 1}, "n"), ({"threshold": 0}, "threshold"), ({"every": 0}, "every")])
def test_bad_arguments_name_themselves(kwargs: dict, word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        CollapseWatch(**kwargs)


def test_dcgan_recipe_warns_below_32px(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ganzoo.recipes"):
        ganzoo.recipes.dcgan(image_size=16, width=4, device="cpu", seed=0)
    assert any("image_size=32" in r.getMessage() and "dcgan(image_size=16)" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ganzoo.recipes"):
        ganzoo.recipes.dcgan(image_size=32, width=4, device="cpu", seed=0)
    assert not [r for r in caplog.records if r.name == "ganzoo.recipes"]
