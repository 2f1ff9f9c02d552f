"""Checkpoint: save the training state every N steps or epochs, keep the last k."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .._validation import check_int_at_least
from ..checkpoint import prune_checkpoints, remove_stale_temporaries
from ..errors import ConfigError
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

    Resume with ``ganzoo.Trainer.load(folder)`` (the readable file with the highest
    recorded step). The folder is created and test-written when ``fit`` starts, so a
    folder that cannot be written fails at once. Pruning never deletes a file whose
    recorded step is newer than the one just written.

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

    def check_writable(self) -> None:
        """Create ``folder`` and write (then delete) a probe file in it.

        Raises:
            ConfigError: If the folder cannot be created or written, naming it and why
                (called at the start of ``fit``, so training does not run ``every``
                steps only to fail at the first save).
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=".tmp", dir=self.folder)
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(probe)
        except OSError as exc:
            raise ConfigError(
                f"Checkpoint(folder={str(self.folder)!r}) cannot be written ({type(exc).__name__}: "
                f"{exc.strerror or exc}); pass a folder you can write to, or fix its permissions "
                "(the check runs when fit starts, before any training)"
            ) from None

    def on_fit_start(self, trainer: Trainer) -> None:
        if trainer.is_main_process:
            self.check_writable()
            remove_stale_temporaries(self.folder, min_age_s=0.0)  # what a killed save left behind is never a checkpoint

    def fire(self, trainer: Trainer) -> None:
        self.save(trainer)

    def save(self, trainer: Trainer) -> Path:
        """Save now and prune older checkpoints; returns the path written."""
        path = self.path_for(trainer.step)
        trainer.save(path)
        self.last_path = path
        if trainer.is_main_process:
            self.prune(trainer.step)
        return path

    def prune(self, current_step: int | None = None) -> list[Path]:
        """Delete checkpoints beyond the newest ``keep_last`` intact ones; returns them.

        Files recording a step newer than ``current_step`` (the run was resumed from an
        older checkpoint) are never deleted.
        """
        return prune_checkpoints(self.folder, self.keep_last, self.pattern, current_step=current_step)

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
