"""LossPlot: the loss curves of one or several runs as a PNG."""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ._base import _Periodic

if TYPE_CHECKING:
    from ..history import History
    from ..trainer import Trainer

__all__ = ["LossPlot"]


class LossPlot(_Periodic):
    """Draw the loss curves to a PNG every ``every`` steps and when training ends.

    Pass ``others`` to compare runs: every run gets its own panel on the same figure.
    Needs matplotlib; without it the callback warns once and does nothing.

    Args:
        path: PNG to (over)write.
        every: Redraw every this many steps (or epochs).
        unit: ``"step"`` or ``"epoch"``.
        name: This run's panel title.
        others: More runs to draw beside it: ``name -> Trainer or History``.
        columns: History columns to draw (default: losses, Wasserstein estimate, penalties).
        smooth: Moving-average window (see :func:`ganzoo.plotting.plot_losses`).
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: int = 500,
        *,
        unit: str = "step",
        name: str = "run",
        others: Mapping[str, Any] | None = None,
        columns: Sequence[str] | None = None,
        smooth: int | None = None,
    ) -> None:
        super().__init__(every, unit)
        self.path, self.name = Path(path), name
        self.others = dict(others or {})
        self.columns, self.smooth = columns, smooth
        try:
            from ..plotting import require_matplotlib

            require_matplotlib()
            self.enabled = True
        except ImportError as exc:
            warnings.warn(f"LossPlot does nothing: {exc}", UserWarning, stacklevel=2)
            self.enabled = False

    def fire(self, trainer: Trainer) -> None:
        """Redraw now."""
        if not self.enabled:
            return
        from ..plotting import plot_losses

        histories: dict[str, History] = {self.name: trainer.history}
        for name, other in self.others.items():
            histories[name] = getattr(other, "history", other)
        plot_losses(histories, self.path, columns=self.columns, smooth=self.smooth)

    def on_fit_end(self, trainer: Trainer) -> None:
        self.fire(trainer)

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        with contextlib.suppress(Exception):
            self.fire(trainer)
