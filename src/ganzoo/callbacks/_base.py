"""The callback base class and the every-N-steps-or-epochs helper."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .._validation import check_choice, check_int_at_least
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["Callback"]


UNITS = ("step", "epoch")


class Callback:
    """Base class of training callbacks; every hook does nothing by default.

    Attributes:
        main_process_only: Set True in callbacks that write files or print (sample
            grids, logs): under multi-process training they then run on rank 0 only.
            Leave False for callbacks every process must run (learning-rate schedules,
            checkpoints: :meth:`~ganzoo.Trainer.save` is collective and writes on rank 0).
    """

    main_process_only: bool = False
    #: Set to a name in callbacks with state worth resuming (:class:`~ganzoo.callbacks.EMA`): the
    #: Trainer then stores ``checkpoint_state()`` in its checkpoints under that name and hands
    #: it back through ``restore_state()`` when a resumed run uses such a callback.
    state_key: str | None = None

    def checkpoint_state(self) -> dict[str, Any] | None:
        """The state a checkpoint keeps (None: nothing yet). Used when ``state_key`` is set."""
        return None

    def restore_state(self, trainer: Trainer, state: Mapping[str, Any]) -> None:
        """Take back what ``checkpoint_state()`` returned (called before ``on_fit_start``)."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Called once at the start of each :meth:`~ganzoo.Trainer.fit` call."""

    def on_step_end(self, trainer: Trainer) -> None:
        """Called after every generator step (``trainer.step`` already counts it)."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        """Called after the step in which the data loader ran out (``trainer.epoch`` counts it)."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """Called when :meth:`~ganzoo.Trainer.fit` finishes normally."""

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        """Called when ``fit`` stops on an exception (Ctrl-C included), before it propagates."""


class _Periodic(Callback):
    """Runs :meth:`fire` every ``every`` steps or epochs (``unit``)."""

    def __init__(self, every: int, unit: str) -> None:
        self.every = check_int_at_least("every", every, 1)
        self.unit = check_choice("unit", unit, UNITS)

    def on_step_end(self, trainer: Trainer) -> None:
        if self.unit == "step" and trainer.step % self.every == 0:
            self.fire(trainer)

    def on_epoch_end(self, trainer: Trainer) -> None:
        if self.unit == "epoch" and trainer.epoch % self.every == 0:
            self.fire(trainer)

    def fire(self, trainer: Trainer) -> None:
        raise NotImplementedError


def noise_size(trainer: Trainer, who: str) -> int:
    """The trainer's noise size, or a clear error for a game without noise (CycleGAN)."""
    latent_dim = trainer.latent_dim
    if latent_dim is None:
        raise ConfigError(
            f"{who} samples from noise, but the {type(trainer.game).__name__} game has no latent_dim; "
            "use it with a noise-driven game (unconditional, conditional)"
        )
    return latent_dim
