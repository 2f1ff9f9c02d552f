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

Ready-made callbacks (each works with any trainer, through its public attributes):

======================  ===================================================================
:class:`SampleGrid`     a PNG grid of samples from fixed noise every N steps or epochs
:class:`LossPlot`       loss curves as a PNG, several runs side by side on one figure
:class:`Checkpoint`     ``trainer.save`` every N steps/epochs, keep the last k, save on Ctrl-C
:class:`MetricsLog`     one CSV or JSON-Lines row per generator step, continuous across resumes
:class:`ProgressBar`    step rate and ETA (tqdm if installed, plain lines otherwise)
:class:`GracefulStop`   the first Ctrl-C (or SIGTERM) ends training after the current step
:class:`TensorBoard`    scalars and sample grids for TensorBoard (needs ``tensorboard``)
:class:`FID`            the FID of the samples every N steps, into the history (DDP-aware)
:class:`CollapseWatch`  logs, with the step, a generator whose samples stop varying
======================  ===================================================================

:func:`standard` returns the usual set in one call (progress, sample grids, checkpoints,
metrics log, Ctrl-C, collapse watch), all under one folder.

To resume, ``ganzoo.Trainer.load(folder)`` loads the newest readable checkpoint of a folder
(:func:`ganzoo.checkpoint.latest_checkpoint` finds it without loading a trainer).
"""

from ._base import Callback
from ._checkpoint import Checkpoint
from ._collapse import CollapseWatch
from ._ema import EMA
from ._fid import FID
from ._graceful_stop import GracefulStop
from ._linear_decay import LinearDecay
from ._loss_plot import LossPlot
from ._metrics_log import MetricsLog
from ._progress_bar import ProgressBar
from ._sample_grid import SampleGrid
from ._standard import standard
from ._tensorboard import TensorBoard

__all__ = [
    "Callback",
    "SampleGrid",
    "LossPlot",
    "Checkpoint",
    "MetricsLog",
    "ProgressBar",
    "GracefulStop",
    "TensorBoard",
    "FID",
    "CollapseWatch",
    "EMA",
    "LinearDecay",
    "standard",
]

for _cls in (Callback, SampleGrid, LossPlot, Checkpoint, MetricsLog, ProgressBar, GracefulStop, TensorBoard,
             FID, CollapseWatch, EMA, LinearDecay, standard):
    _cls.__module__ = __name__  # documented, printed and pickled under the public module
del _cls
