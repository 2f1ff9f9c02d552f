"""Games: what one training step computes (the :class:`~ganzoo.Trainer` says how it runs).

A game owns its networks, the loss terms of each :class:`Phase`, batch preparation and
sampling. ``ganzoo.list_games()`` lists the registered games.
"""

from __future__ import annotations

from ._base import GAMES as _GAMES
from ._base import Game, Phase
from ._conditional import Conditional
from ._context import Context
from ._cyclegan import CycleGAN
from ._unconditional import Unconditional

__all__ = ["Game", "Phase", "Context", "GAMES", "Unconditional", "Conditional", "CycleGAN"]

#: The registry of games (``ganzoo.list_games()`` lists its names; register with
#: ``@ganzoo.games.GAMES.register("name")``).
GAMES = _GAMES

for _cls in (Game, Phase, Context, Unconditional, Conditional, CycleGAN):
    _cls.__module__ = __name__  # documented and printed under the public module
del _cls
