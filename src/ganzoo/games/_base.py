"""The :class:`Game` base, the :class:`Phase` record and the ``GAMES`` registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from torch import Tensor, nn

from ..registry import Registry

__all__ = ["Game", "Phase", "GAMES"]

#: Every registered game class (``ganzoo.list_games()`` lists its names).
GAMES: Registry[Any] = Registry("game")


@dataclass(frozen=True)
class Phase:
    """One phase of a training step: the networks one optimizer updates.

    Attributes:
        name: The phase's name (``"critic"``, ``"generator"``); checkpoints key the
            phase's optimizer and AMP scaler by it.
        networks: Names (keys of :meth:`Game.networks`) of the networks this phase updates.
        repeats: ``"critic_steps"`` for a phase the Trainer runs ``critic_steps`` times per
            step (the critic phase), else ``"once"``.
        critic: True when the phase's networks are critics (regularizer hooks apply to them).
    """

    name: str
    networks: tuple[str, ...]
    repeats: str = "once"
    critic: bool = False


class Game:
    """What one training step computes: the networks, each phase's loss terms, batch
    preparation and sampling. The :class:`~ganzoo.Trainer` says how it runs.

    A subclass sets ``phases`` and implements :meth:`networks`, :meth:`prepare` and
    :meth:`sample`; see ``GAMES_API.md`` / the "Games" concepts page.
    """

    #: The phases of one step, in the order they run.
    phases: tuple[Phase, ...] = ()

    def networks(self) -> Mapping[str, nn.Module]:
        """Every network of the game by name (the names checkpoints use)."""
        raise NotImplementedError

    def prepare(self, batch: Any) -> Any:
        """Turn one raw batch from the data into what the phases consume."""
        return batch

    def sample(self, n: int, **kwargs: Any) -> Tensor:
        """Generate ``n`` samples (the Trainer calls it in eval mode, without gradients)."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """A plain-JSON description that rebuilds the game (registry configs of its parts)."""
        return {"name": type(self).__name__.lower()}

    def phase(self, name: str) -> Phase:
        """The phase called ``name``."""
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(f"{type(self).__name__} has no phase {name!r}; its phases: {[p.name for p in self.phases]}")

    def __repr__(self) -> str:
        nets = ", ".join(f"{k}={type(v).__name__}" for k, v in self.networks().items())
        return f"{type(self).__name__}({nets})"
