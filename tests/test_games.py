"""The games API: registry, Unconditional, Trainer(game, ...) == Trainer(G, D, ...)."""

from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo.games import GAMES, Game, Phase, Unconditional

from helpers import toy_pair

pytestmark = pytest.mark.usefixtures("one_thread")


def test_list_games_has_unconditional():
    assert "unconditional" in ganzoo.list_games()
    assert GAMES.get("unconditional") is Unconditional


def test_unconditional_phases_and_networks():
    G, D = toy_pair()
    game = Unconditional(G, D, loss="wasserstein", regularizers="gradient_penalty")
    assert [p.name for p in game.phases] == ["critic", "generator"]
    assert game.phase("critic") == Phase("critic", ("critic",), repeats="critic_steps", critic=True)
    assert dict(game.networks()) == {"generator": G, "critic": D}
    with pytest.raises(KeyError, match="no phase 'x'"):
        game.phase("x")
    assert isinstance(game, Game)


def test_trainer_from_game_trains_like_trainer_from_networks():
    data = ganzoo.data.grid().sampler(batch_size=32, seed=1)
    runs = []
    for use_game in (False, True):
        torch.manual_seed(0)
        G, D = toy_pair()
        kwargs = dict(critic_steps=2, seed=0, amp="off", device="cpu")
        if use_game:
            trainer = ganzoo.Trainer(Unconditional(G, D, "wasserstein", ["gradient_penalty"]), **kwargs)
        else:
            trainer = ganzoo.Trainer(G, D, loss="wasserstein", regularizers=["gradient_penalty"], **kwargs)
        trainer.fit(data, steps=3)
        runs.append((trainer.history.column("critic_loss"), trainer.generator.state_dict()))
    assert runs[0][0] == runs[1][0]
    for k, v in runs[0][1].items():
        assert torch.equal(v, runs[1][1][k])


def test_trainer_with_game_and_critic_is_an_error():
    G, D = toy_pair()
    with pytest.raises(ganzoo.ConfigError, match="pass no critic"):
        ganzoo.Trainer(Unconditional(G, D), D)
