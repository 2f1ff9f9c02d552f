"""ProgressBar: step rate and ETA while training."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from .._progress import progress_bar
from .._validation import check_choice
from ._base import Callback

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["ProgressBar"]


class ProgressBar(Callback):
    """A progress bar over generator steps with step rate, ETA and the latest losses.

    Uses tqdm when it is installed and the output is a terminal; otherwise prints one
    plain line every ``interval`` seconds (readable in log files).

    Args:
        total: The step at which training will end (``trainer.step`` counts from the
            start of the run, resumed runs included); None: the step the running
            ``fit(steps=N)`` ends at (no ETA under ``fit(epochs=N)``).
        desc: Label in front of the bar.
        show: History columns shown after the rate.
        backend: ``"auto"``, ``"tqdm"`` or ``"plain"``.
        interval: Seconds between plain lines.
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(
        self,
        total: int | None = None,
        *,
        desc: str = "training",
        show: Sequence[str] = ("critic_loss", "generator_loss"),
        backend: str = "auto",
        interval: float = 10.0,
    ) -> None:
        self.total, self.desc, self.show = total, desc, tuple(show)
        self.backend = check_choice("backend", backend, ("auto", "tqdm", "plain"))
        self.interval = interval
        self.bar: Any = None

    def on_fit_start(self, trainer: Trainer) -> None:
        total = self.total if self.total is not None else trainer._fit_target
        self.bar = progress_bar(total=total, desc=self.desc, unit="step", initial=trainer.step, backend=self.backend)
        if hasattr(self.bar, "interval"):
            self.bar.interval = self.interval

    def on_step_end(self, trainer: Trainer) -> None:
        if self.bar is None:
            return
        if trainer.step % trainer.log_every == 0 and self.show:
            last = trainer.history[-1].as_dict()
            self.bar.set_postfix({k.replace("_loss", ""): last[k] for k in self.show if k in last}, refresh=False)
        self.bar.update(1)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self.on_fit_end(trainer)
