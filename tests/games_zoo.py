"""One small instance of every registered game with data it reads (for the game contract tests
and their torchrun worker). A game registered without an entry here fails the contract tests."""

from __future__ import annotations

from typing import Any, Callable

import torch

import ganzoo


def _unconditional() -> tuple[ganzoo.games.Game, Any]:
    G = ganzoo.create_generator("mlp", latent_dim=3, out_shape=(2,), hidden=(8,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    data = torch.utils.data.DataLoader(torch.randn(96, 2), batch_size=16, shuffle=True,
                                       generator=torch.Generator().manual_seed(1))
    return ganzoo.games.Unconditional(G, D, loss="wasserstein", regularizers=["gradient_penalty"]), data


def _conditional() -> tuple[ganzoo.games.Game, Any]:
    G = ganzoo.create_generator("mlp", latent_dim=3, out_shape=(2,), hidden=(8,), num_classes=3)
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,), num_classes=3)
    xs, ys = torch.randn(96, 2), torch.randint(3, (96,))
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), batch_size=16, shuffle=True,
                                       generator=torch.Generator().manual_seed(1))
    return ganzoo.games.Conditional(G, D, loss="hinge", regularizers=["gradient_penalty"]), data


def _cyclegan() -> tuple[ganzoo.games.Game, Any]:
    nets = [ganzoo.create_generator("resnet", channels=1, blocks=1, width=4) for _ in range(2)]
    nets += [ganzoo.create_critic("patchgan", channels=1, width=4) for _ in range(2)]
    domain_x, domain_y = torch.rand(12, 1, 32, 32) * 2 - 1, torch.rand(10, 1, 32, 32) - 1
    data = torch.utils.data.DataLoader(ganzoo.data.Unpaired(domain_x, domain_y), batch_size=2, shuffle=True,
                                       generator=torch.Generator().manual_seed(1))
    return ganzoo.games.CycleGAN(*nets, pool_size=3), data


#: name -> builder of (game, data); seed torch before calling for the same weights.
ZOO: dict[str, Callable[[], tuple[ganzoo.games.Game, Any]]] = {
    "unconditional": _unconditional,
    "conditional": _conditional,
    "cyclegan": _cyclegan,
}


def build(name: str, seed: int = 0, **trainer_kwargs: Any) -> tuple[ganzoo.Trainer, Any]:
    """A trainer of game ``name`` (fp32, seeded, quiet) and its data."""
    torch.manual_seed(seed)
    game, data = ZOO[name]()
    options = {"amp": "off", "device": "cpu", "progress": False, "critic_steps": 2, "log_every": 1, **trainer_kwargs}
    return ganzoo.Trainer(game, seed=seed, **options), data
