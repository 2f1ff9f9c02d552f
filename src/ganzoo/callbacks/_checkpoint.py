"""Checkpoint: save the training state every N steps or epochs, keep the last k."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .._validation import check_int_at_least
from ..checkpoint import prune_checkpoints, remove_stale_temporaries
from ._base import _Periodic

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["Checkpoint"]


class Checkpoint(_Periodic):
    """Save the full training state every ``every`` steps or epochs, keeping the last ``keep_last``.

    Files are ``<folder>/<prefix>_step<step>.pt``, written by :meth:`ganzoo.Trainer.save`
    (atomic: a crash leaves the previous file intact). Older files beyond ``keep_last``
    are deleted by :func:`ganzoo.checkpoint.prune_checkpoints`, which never deletes the
    newest *intact* checkpoint. When ``fit`` is interrupted by Ctrl-C
    (``KeyboardInterrupt``, or :class:`GracefulStop`), the state is saved first; other
    errors (a divergence, a crash) save nothing, so a bad state never becomes the latest
    checkpoint. Under multi-process training every process runs this callback
    (:meth:`~ganzoo.Trainer.save` is collective); only rank 0 writes and prunes.

    Resume with ``ganzoo.Trainer.load(folder)`` (the newest readable file in it).

    Args:
        folder: Where checkpoints go.
        every: Save every this many steps (or epochs, with ``unit="epoch"``).
        unit: ``"step"`` or ``"epoch"``.
        keep_last: Checkpoints to keep (at least 1).
        prefix: File name prefix.
        save_on_interrupt: Save when Ctrl-C stops ``fit``.
        at_end: Also save when ``fit`` finishes (if the last step is not saved yet).

    Attributes:
        last_path: The file written last, or None.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        every: int = 1000,
        *,
        unit: str = "step",
        keep_last: int = 3,
        prefix: str = "ckpt",
        save_on_interrupt: bool = True,
        at_end: bool = True,
    ) -> None:
        super().__init__(every, unit)
        self.folder = Path(folder)
        self.keep_last = check_int_at_least("keep_last", keep_last, 1)
        self.prefix = prefix
        self.save_on_interrupt, self.at_end = save_on_interrupt, at_end
        self.last_path: Path | None = None

    def path_for(self, step: int) -> Path:
        """The file name used for ``step``."""
        return self.folder / f"{self.prefix}_step{step:08d}.pt"

    @property
    def pattern(self) -> str:
        """The glob that matches this callback's files in ``folder``."""
        return f"{self.prefix}_step*.pt"

    def on_fit_start(self, trainer: Trainer) -> None:
        if trainer.is_main_process:  # what a killed save left behind is never a checkpoint
            remove_stale_temporaries(self.folder, min_age_s=0.0)

    def fire(self, trainer: Trainer) -> None:
        self.save(trainer)

    def save(self, trainer: Trainer) -> Path:
        """Save now and prune older checkpoints; returns the path written."""
        path = self.path_for(trainer.step)
        trainer.save(path)
        self.last_path = path
        if trainer.is_main_process:
            self.prune()
        return path

    def prune(self) -> list[Path]:
        """Delete checkpoints beyond the newest ``keep_last`` intact ones; returns them."""
        return prune_checkpoints(self.folder, self.keep_last, self.pattern)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.at_end and (self.last_path is None or self.last_path != self.path_for(trainer.step)):
            self.save(trainer)

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        if self.save_on_interrupt and isinstance(error, KeyboardInterrupt):
            path = self.path_for(trainer.step)
            if self.last_path == path:  # the periodic save of this very step came first
                print(f"interrupted at step {trainer.step}: already saved {path}", flush=True)
            else:
                print(f"interrupted at step {trainer.step}: saved {self.save(trainer)}", flush=True)
