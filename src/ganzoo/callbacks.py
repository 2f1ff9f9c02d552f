"""Callbacks: code that runs at fixed points of :meth:`ganzoo.Trainer.fit`.

Subclass :class:`Callback` and override the hooks you need; every hook receives the
trainer, whose ``step``, ``epoch`` and ``history`` tell where training is.

Example:
    >>> import ganzoo
    >>> class PrintEvery(ganzoo.Callback):
    ...     def __init__(self, every: int) -> None:
    ...         self.every = every
    ...     def on_step_end(self, trainer: "ganzoo.Trainer") -> None:
    ...         if trainer.step % self.every == 0:
    ...             print(trainer.step, round(trainer.history[-1].critic_loss, 3))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["Callback"]


class Callback:
    """Base class of training callbacks; every hook does nothing by default.

    Attributes:
        main_process_only: Set True in callbacks that write files or print (sample
            grids, logs): under multi-process training they then run on rank 0 only.
            Leave False for callbacks every process must run (learning-rate schedules,
            checkpoints: :meth:`~ganzoo.Trainer.save` is collective and writes on rank 0).
    """

    main_process_only: bool = False

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
