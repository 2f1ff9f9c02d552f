"""Loss-stability summary (ganzoo.metrics.stability)."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ganzoo import History, StepRecord
from ganzoo.errors import ConfigError
from ganzoo.metrics import loss_stability

from helpers import toy_pair


def _history(generator_losses, critic_loss=0.0, penalty=None):
    h = History()
    for step, g in enumerate(generator_losses, start=1):
        penalties = {"gradient_penalty": penalty} if penalty is not None else {}
        h.append(StepRecord(step=step, critic_loss=critic_loss, generator_loss=g, penalties=penalties))
    return h


def test_exact_std_over_the_last_steps():
    h = _history([100.0, -100.0, 1.0, 3.0, 1.0, 3.0])
    result = loss_stability(h, last=4)
    assert result.steps == 4
    assert result.std["generator_loss"] == 1.0 and result.mean["generator_loss"] == 2.0
    assert result.std["critic_loss"] == 0.0
    assert loss_stability(h, last=4, ddof=1).std["generator_loss"] == pytest.approx(math.sqrt(4 / 3))


def test_last_longer_than_the_history_uses_every_step():
    h = _history([0.0, 2.0])
    assert loss_stability(h, last=100).steps == 2
    assert loss_stability(h, last=100).std["generator_loss"] == 1.0


def test_nan_steps_are_ignored_and_empty_columns_left_out():
    h = _history([1.0, math.nan, 3.0], penalty=0.5)
    result = loss_stability(h, last=3)
    assert result.std["generator_loss"] == 1.0
    assert "wasserstein" not in result.std  # all NaN: the loss does not estimate it
    assert result.std["penalty/gradient_penalty"] == 0.0
    assert set(result.as_dict()) >= {"generator_loss_std", "generator_loss_mean", "critic_loss_std"}


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=50), st.floats(-1e3, 1e3))
def test_matches_pstdev_and_ignores_a_shift(values, shift):
    h, shifted = _history(values), _history([v + shift for v in values])
    std = loss_stability(h, last=len(values)).std["generator_loss"]
    assert std == pytest.approx(statistics.pstdev(values), rel=1e-9, abs=1e-9)
    assert loss_stability(shifted, last=len(values)).std["generator_loss"] == pytest.approx(std, rel=1e-6, abs=1e-6)


def test_from_a_real_trainer():
    import torch

    import ganzoo

    G, D = toy_pair()
    trainer = ganzoo.Trainer(G, D, loss="wasserstein", regularizers=["gradient_penalty"], critic_steps=2, seed=0, device="cpu")
    trainer.fit(torch.utils.data.DataLoader(torch.randn(256, 2), batch_size=32), steps=12)
    result = loss_stability(trainer.history, last=10)
    assert set(result.std) == {"critic_loss", "generator_loss", "wasserstein", "penalty/gradient_penalty"}
    assert all(v >= 0 and math.isfinite(v) for v in result.std.values())


def test_bad_input():
    with pytest.raises(ConfigError, match="empty"):
        loss_stability(History())
    with pytest.raises(ConfigError, match="last=0"):
        loss_stability(_history([1.0]), last=0)
    with pytest.raises(ConfigError, match="no history column 'd_loss'.*critic_loss"):
        loss_stability(_history([1.0]), columns=["d_loss"])
