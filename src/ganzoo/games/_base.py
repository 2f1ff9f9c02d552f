"""The :class:`Game` base, the :class:`Phase` record and the ``GAMES`` registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from torch import Tensor, nn

from ..errors import ConfigError
from ..registry import Registry
from ..regularizers import Regularizer
from ._context import Context

__all__ = ["Game", "Phase", "GAMES", "PHASE_REPEATS"]

#: Every registered game class (``ganzoo.list_games()`` lists its names).
GAMES: Registry[Any] = Registry("game")
#: The accepted values of :attr:`Phase.repeats`.
PHASE_REPEATS = ("once", "critic_steps")


@dataclass(frozen=True)
class Phase:
    """One phase of a training step: the networks one optimizer updates.

    Attributes:
        name: The phase's name (``"critic"``, ``"generator"``); the Trainer keys the
            phase's optimizer, AMP scaler and logged gradient norm by it
            (``Trainer(critic_optimizer=...)`` is the optimizer of the phase ``"critic"``).
        networks: Names (keys of :meth:`Game.networks`) of the networks this phase updates.
        repeats: ``"critic_steps"`` for a phase the Trainer runs ``critic_steps`` times per
            step (the critic phase), else ``"once"``.
        critic: True when the phase's networks are critics: the regularizers wrap them,
            their ``after_critic_step`` runs after each of the phase's updates, and
            :meth:`Context.penalty` may be called on them.
    """

    name: str
    networks: tuple[str, ...]
    repeats: str = "once"
    critic: bool = False

    def __post_init__(self) -> None:
        if self.repeats not in PHASE_REPEATS:
            raise ConfigError(f"Phase({self.name!r}, repeats={self.repeats!r}) is not valid; use one of {list(PHASE_REPEATS)}")
        if not self.networks or isinstance(self.networks, str):
            raise ConfigError(f"Phase({self.name!r}) needs a tuple of network names, got networks={self.networks!r}")


class Game:
    """What one training step computes; the :class:`~ganzoo.Trainer` says how it runs.

    A game owns its networks (attributes named like the keys of :meth:`networks`), the
    loss terms of each phase and its regularizers. The Trainer, for each phase in
    :attr:`phases` order (``critic_steps`` times for a ``repeats="critic_steps"`` phase):
    freezes every network outside the phase, calls :meth:`losses` under the phase's
    autocast, backpropagates the ``"loss"`` entry, steps the phase's optimizer, runs the
    regularizers' ``after_critic_step`` on critic phases and logs the other entries.

    A subclass sets :attr:`phases` and implements :meth:`networks`, :meth:`losses` and
    :meth:`sample`; :meth:`prepare` turns a raw batch into what :meth:`losses` reads.
    Register it with ``@ganzoo.games.GAMES.register("name")`` to list it in
    ``ganzoo.list_games()``.

    Attributes:
        phases: The phases of one step, in the order they run.
        regularizers: Lipschitz regularizers applied to every critic phase's networks.
        latent_dim: The noise size :meth:`Context.noise` draws, or None without noise.
    """

    phases: tuple[Phase, ...] = ()
    regularizers: list[Regularizer] = []
    latent_dim: int | None = None

    def networks(self) -> Mapping[str, nn.Module]:
        """Every network of the game by name (the names checkpoints and phases use)."""
        raise NotImplementedError(f"{type(self).__name__} must implement networks()")

    def set_network(self, name: str, module: nn.Module) -> None:
        """Replace the network ``name`` (the Trainer puts the moved, wrapped module back).
        The default sets the attribute of that name."""
        setattr(self, name, module)

    def prepare(self, batch: Any, ctx: Context) -> Any:
        """Turn one raw batch from the data into what :meth:`losses` reads (on the device).
        The default moves a tensor batch to the device."""
        return ctx.to_device(batch)

    def losses(self, phase: str, batch: Any, ctx: Context) -> Mapping[str, Tensor]:
        """The loss terms of one update of ``phase`` on ``batch``.

        Args:
            phase: The name of the phase being updated.
            batch: What :meth:`prepare` returned.
            ctx: The running step: networks to call (``ctx["critic"]``), noise, penalties.

        Returns:
            ``{"loss": total to minimise, name: term, ...}``: the Trainer backpropagates
            ``"loss"``; every other entry is logged (its mean over the phase's repeats) in
            the history under its name.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement losses(phase, batch, ctx)")

    def check_batch(self, batch: Any, ctx: Context) -> None:
        """Check the first prepared batch of new data (a :meth:`~ganzoo.Trainer.fit` on data the
        trainer has not read yet) against the networks
        (raise :class:`~ganzoo.ConfigError` for what cannot work, warn for what looks wrong)
        without side effects: no weight, statistic or random stream may change. The default
        checks nothing."""

    def sample(self, n: int | None, ctx: Context, **inputs: Any) -> Tensor:
        """Generate samples (the Trainer calls it in eval mode, without gradients).

        Args:
            n: Number of samples, or None to take it from ``inputs``.
            ctx: Gives the device, noise and the networks.
            inputs: Game-specific inputs (``z=``, ``labels=``, ``x=`` ...).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement sample(n, ctx, **inputs)")

    def state_dict(self) -> dict[str, Any]:
        """State outside the networks that a checkpoint keeps (an image pool ...)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def config(self) -> dict[str, Any]:
        """A plain-JSON description of the game's own settings (the networks, loss and
        regularizers are described by the Trainer from their registry configs)."""
        return {}

    def phase(self, name: str) -> Phase:
        """The phase called ``name``."""
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(f"{type(self).__name__} has no phase {name!r}; its phases: {[p.name for p in self.phases]}")

    def check(self) -> None:
        """Raise :class:`~ganzoo.ConfigError` when the phases and networks do not fit together."""
        names = dict(self.networks())
        if not self.phases:
            raise ConfigError(f"{type(self).__name__} has no phases; set `phases = (Phase(...), ...)`")
        seen: dict[str, str] = {}
        for phase in self.phases:
            for net in phase.networks:
                if net not in names:
                    raise ConfigError(
                        f"{type(self).__name__}: phase {phase.name!r} updates {net!r}, which is not one of "
                        f"its networks {sorted(names)}"
                    )
                if net in seen:
                    raise ConfigError(f"{type(self).__name__}: network {net!r} is in the phases {seen[net]!r} and {phase.name!r}; one phase per network")
                seen[net] = phase.name
        for name, module in names.items():
            if not isinstance(module, nn.Module):
                raise ConfigError(f"{type(self).__name__}: network {name!r} is a {type(module).__name__}, not a torch.nn.Module")

    def __repr__(self) -> str:
        nets = ", ".join(f"{k}={type(v).__name__}" for k, v in self.networks().items())
        return f"{type(self).__name__}({nets})"
