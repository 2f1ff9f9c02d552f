"""standard(): the callbacks every training run wants, in one call."""

from __future__ import annotations

import os
from pathlib import Path

from ._base import Callback
from ._checkpoint import Checkpoint
from ._collapse import CollapseWatch
from ._graceful_stop import GracefulStop
from ._metrics_log import MetricsLog
from ._progress_bar import ProgressBar
from ._sample_grid import SampleGrid

__all__ = ["standard"]


def standard(
    folder: str | os.PathLike[str],
    *,
    samples_every: int = 500,
    checkpoint_every: int = 1000,
    keep_last: int = 3,
    n_samples: int = 64,
    scale: int = 1,
    progress: bool = True,
    watch_collapse: bool = True,
    desc: str = "training",
    seed: int = 0,
    metrics_every: int = 50,
) -> list[Callback]:
    """The callbacks a training run needs, writing under one folder.

    ``trainer.fit(data, steps=N, callbacks=ganzoo.callbacks.standard("runs/x"))`` gives:

    * a progress bar (:class:`ProgressBar`, tqdm when installed);
    * sample grids from fixed noise, ``<folder>/samples/samples_step*.png`` (:class:`SampleGrid`);
    * checkpoints, ``<folder>/checkpoints/`` (:class:`Checkpoint`, the last ``keep_last``, one
      more on Ctrl-C); resume with ``ganzoo.Trainer.load("<folder>/checkpoints")``;
    * a metrics log, ``<folder>/metrics.csv``, one row per step (:class:`MetricsLog`);
    * Ctrl-C / SIGTERM ends training after the current step (:class:`GracefulStop`);
    * a warning in the log, with the step, when the generator collapses to one output
      (:class:`CollapseWatch`).

    Args:
        folder: Where everything goes (created when needed).
        samples_every: Steps between sample grids.
        checkpoint_every: Steps between checkpoints.
        keep_last: Checkpoints kept.
        n_samples: Samples per grid.
        scale: Enlarge every pixel of the grids (for small images).
        progress: Show the progress bar.
        watch_collapse: Add the :class:`CollapseWatch`.
        desc: The progress bar's label.
        seed: Seed of the sample grids' fixed noise.
        metrics_every: Steps between writes of the metrics log (every step is logged).

    Returns:
        The callbacks, a plain list: append your own or drop some before passing it to ``fit``.

    Example:
        >>> import tempfile, torch, ganzoo
        >>> trainer = ganzoo.recipes.dcgan(image_size=8, width=2, latent_dim=4, device="cpu", seed=0)
        >>> data = torch.utils.data.DataLoader(torch.rand(32, 3, 8, 8) * 2 - 1, batch_size=8)
        >>> run = tempfile.mkdtemp()
        >>> _ = trainer.fit(data, steps=2, callbacks=ganzoo.callbacks.standard(run, progress=False))
        >>> sorted(p.name for p in __import__("pathlib").Path(run).iterdir())
        ['checkpoints', 'metrics.csv', 'samples']
    """
    root = Path(folder)
    callbacks: list[Callback] = []
    if progress:
        callbacks.append(ProgressBar(desc=desc))
    callbacks += [
        SampleGrid(root / "samples", every=samples_every, n=n_samples, nrow=max(1, int(n_samples**0.5)), scale=scale,
                   seed=seed),
        Checkpoint(root / "checkpoints", every=checkpoint_every, keep_last=keep_last),
        MetricsLog(root / "metrics.csv", every=metrics_every),
        GracefulStop(),
    ]
    if watch_collapse:
        callbacks.append(CollapseWatch())
    return callbacks
