"""GracefulStop: the first Ctrl-C (or SIGTERM) ends training after the current step."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any, Sequence

from ._base import Callback

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["GracefulStop"]


class GracefulStop(Callback):
    """Let Ctrl-C (and SIGTERM) end training cleanly after the current step.

    The first signal sets a flag; after the running generator step completes, ``fit``
    stops with ``KeyboardInterrupt``, so a :class:`Checkpoint` saves a consistent state.
    A second Ctrl-C interrupts at once. A signal that arrives after the last step's
    check is not lost: ``fit`` finishes and then raises ``KeyboardInterrupt`` from this
    callback's ``on_fit_end`` (list a :class:`Checkpoint` before it, so its
    ``on_fit_end`` saves the end state first). Signal handlers are installed only in the main
    thread, for the duration of ``fit``.

    Args:
        signals: The signals to catch (default SIGINT and, where it exists, SIGTERM).
        message: Printed when the first signal arrives.
    """

    def __init__(self, signals: Sequence[int] | None = None, message: str = "stopping after this step "
                 "(press Ctrl-C again to stop at once)") -> None:
        if signals is None:
            signals = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
        self.signals = list(signals)
        self.message = message
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt
        self.requested = signum
        print(self.message, flush=True)

    def on_fit_start(self, trainer: Trainer) -> None:
        self.requested = None
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handler)

    def on_step_end(self, trainer: Trainer) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt(f"stopped by signal {self.requested} after step {trainer.step}")

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def on_fit_end(self, trainer: Trainer) -> None:
        self._restore()
        if self.requested is not None:  # the signal came after the last step's check: still act on it
            raise KeyboardInterrupt(f"stopped by signal {self.requested} at the end of fit (step {trainer.step})")

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self._restore()
