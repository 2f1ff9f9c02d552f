"""TensorBoard: scalars and sample grids for TensorBoard."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from .._validation import check_int_at_least
from ._base import Callback, noise_size
from ._sample_grid import SampleGrid

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["TensorBoard"]


class TensorBoard(Callback):
    """Log every history column as a TensorBoard scalar, and fixed-noise sample grids.

    Needs the ``tensorboard`` package (``pip install tensorboard``) unless ``writer`` is
    given (any object with ``add_scalar`` and ``add_image``, e.g. a SummaryWriter).

    Args:
        log_dir: TensorBoard run folder.
        every: Write scalars every this many steps.
        sample_every: Add a sample grid every this many steps (None: never).
        n: Samples per grid.
        seed: Seed of the fixed noise.
        writer: A ready writer to use instead of creating one.
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(
        self,
        log_dir: str | os.PathLike[str] | None = None,
        every: int = 50,
        *,
        sample_every: int | None = None,
        n: int = 64,
        seed: int = 0,
        writer: Any = None,
    ) -> None:
        self.every = check_int_at_least("every", every, 1)
        self.sample_every = check_int_at_least("sample_every", sample_every, 1) if sample_every is not None else None
        if writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ImportError(
                    "the TensorBoard callback needs the tensorboard package: pip install tensorboard"
                ) from None
            writer = SummaryWriter(log_dir=None if log_dir is None else str(log_dir))
        self.writer = writer
        self._grids = SampleGrid(".", every=1, n=n, nrow=int(math.ceil(math.sqrt(n))), seed=seed)
        self._written = 0

    def on_fit_start(self, trainer: Trainer) -> None:
        self._written = trainer.step

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step % self.every == 0:
            self.flush(trainer, upto=trainer.step - 1)  # the current step waits, so later callbacks (FID) can add to it
        if self.sample_every and trainer.step % self.sample_every == 0:
            from ..plotting import image_grid

            images = trainer.sample(self._grids.n, z=self._grids.noise(noise_size(trainer, "TensorBoard")))
            self.writer.add_image("samples", image_grid(images, nrow=self._grids.nrow), trainer.step)

    def flush(self, trainer: Trainer, upto: int | None = None) -> None:
        """Write the scalars of the steps not written yet (through step ``upto``; default all)."""
        history = trainer.history
        upto = trainer.step if upto is None else upto
        for record in history[self._written : upto]:
            for key, value in record.as_dict().items():
                if key != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key, value, record.step)
        self._written = max(self._written, upto)
        if hasattr(self.writer, "flush"):
            self.writer.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        self.flush(trainer)

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self.flush(trainer)
