"""The :class:`Context` a game's :meth:`~ganzoo.games.Game.losses` runs in."""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import torch
from torch import Tensor, nn

from ..amp import AmpPolicy
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..regularizers import Regularizer
    from ._base import Phase

__all__ = ["Context"]


class Context:
    """The running step as a game sees it: the networks to call, noise, penalties.

    The Trainer builds one per trainer. ``ctx[name]`` is the module the forward pass must
    run through: the DistributedDataParallel wrapper under ``torchrun``, the
    ``torch.compile`` wrapper when compiling, else the network itself (all share the
    weights). :meth:`plain` is the network itself (for sampling).

    Attributes:
        device: Where training runs.
        channels_last: Whether 4-D tensors are stored channels-last.
        latent_dim: The noise size :meth:`noise` draws (None without noise).
        phase: The phase being updated (None outside an update).
        amp: The phase's :class:`~ganzoo.AmpPolicy` (its autocast is already active
            inside :meth:`~ganzoo.games.Game.losses`).
        critic_updates: Critic-phase updates done before this one (lazy penalties use it).
        penalty_values: This step's penalty values by regularizer name (the Trainer logs
            their means as ``penalty/<name>``).
    """

    def __init__(
        self,
        *,
        device: torch.device,
        channels_last: bool,
        latent_dim: int | None,
        forward: Mapping[str, nn.Module],
        plain: Mapping[str, nn.Module],
        penalty_modules: Mapping[str, nn.Module],
        regularizers: Sequence[tuple[str, Regularizer]],
        amp: AmpPolicy,
    ) -> None:
        self.device = device
        self.channels_last = channels_last
        self.latent_dim = latent_dim
        self._forward = dict(forward)
        self._plain = dict(plain)
        self._penalty_modules = dict(penalty_modules)
        self._regularizers = list(regularizers)
        self.phase: Phase | None = None
        self.amp = amp
        self.critic_updates = 0
        self.penalty_values: dict[str, list[Tensor]] = {name: [] for name, _ in self._regularizers}

    def __getitem__(self, name: str) -> nn.Module:
        try:
            return self._forward[name]
        except KeyError:
            raise KeyError(f"no network {name!r}; the game's networks: {sorted(self._forward)}") from None

    def plain(self, name: str) -> nn.Module:
        """The network ``name`` itself (no DDP or compile wrapper)."""
        try:
            return self._plain[name]
        except KeyError:
            raise KeyError(f"no network {name!r}; the game's networks: {sorted(self._plain)}") from None

    def noise(self, n: int) -> Tensor:
        """``n`` rows of standard normal noise ``(n, latent_dim)`` on the device."""
        if self.latent_dim is None:
            raise ConfigError("this game has no latent_dim, so there is no noise to draw")
        return torch.randn(n, self.latent_dim, device=self.device)

    def to_device(self, batch: Any) -> Any:
        """Move a tensor (or a tuple/list/dict of tensors) to the device; 4-D floating
        tensors become channels-last when the trainer stores activations so."""
        if isinstance(batch, (tuple, list)):
            return type(batch)(self.to_device(b) for b in batch)
        if isinstance(batch, dict):
            return {k: self.to_device(v) for k, v in batch.items()}
        if not isinstance(batch, Tensor):
            return batch
        if self.device.type == "cuda" and batch.device.type == "cpu":
            # a copy from pinned memory runs asynchronously (DataLoader(pin_memory=True) pins already)
            batch = (batch if batch.is_pinned() else batch.pin_memory()).to(self.device, non_blocking=True)
        else:
            batch = batch.to(self.device)
        if self.channels_last and batch.dim() == 4 and batch.is_floating_point():
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def penalty(self, critic: str, real: Tensor, fake: Tensor, condition: Tensor | None = None) -> Tensor:
        """The sum of the regularizers' penalties on the critic network ``critic``.

        Each penalty is computed at full precision on the uncompiled critic (the AMP
        policy scales its inner gradient), and lazily: a regularizer with ``every = k``
        adds ``k`` times its penalty on one critic update in ``k``. Zero when no
        regularizer has a penalty.

        Args:
            critic: The name of a network in the current (critic) phase.
            real: The real batch the critic scored.
            fake: The generated batch the critic scored (detached).
            condition: The labels both batches are conditioned on, if any.
        """
        if self.phase is None or not self.phase.critic or critic not in self.phase.networks:
            where = "outside an update" if self.phase is None else f"in phase {self.phase.name!r}"
            raise ConfigError(f"ctx.penalty({critic!r}, ...) called {where}; call it in a critic phase on one of its networks")
        module = self._penalty_modules[critic]
        total: Tensor | None = None
        with torch.autocast(self.device.type, enabled=False) if torch.is_autocast_enabled(self.device.type) else nullcontext():
            for name, reg in self._regularizers:
                every = getattr(reg, "every", 1)
                if self.critic_updates % every:
                    continue  # lazy regularization: 1 update in `every`, scaled by `every`
                extra = {} if condition is None else {"condition": condition}
                value = reg.penalty(module, real, fake, self.amp, **extra)
                if value is None:
                    continue
                self.penalty_values[name].append(value.detach().float())
                scaled = value * every if every > 1 else value
                total = scaled if total is None else total + scaled
        return total if total is not None else torch.zeros((), device=self.device)
