"""CollapseWatch: detect a generator whose samples stop varying (collapse to one output)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

from .._validation import check_int_at_least
from ..errors import ConfigError
from ._base import _Periodic, noise_size

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["CollapseWatch"]

logger = logging.getLogger("ganzoo.collapse")


class CollapseWatch(_Periodic):
    r"""Report, in the log and with its step, a generator that emits (nearly) one output.

    Every ``every`` steps it draws ``n`` samples from fixed noise and measures their spread,
    the standard deviation across the samples averaged over every output value:

    .. math::

        s = \frac{1}{D} \sum_{d=1}^{D} \operatorname{std}_{i=1..n}\bigl(G(z_i)_d\bigr).

    A generator that maps every :math:`z` to the same image has :math:`s = 0`; one with
    :math:`s < \text{threshold}` is reported as *collapsed* (complete mode collapse, the
    "Helvetica scenario" of Goodfellow et al., 2014, and Goodfellow, 2016, NIPS tutorial
    section 5.1.1). Images in ``[-1, 1]`` of a working generator spread by 0.1 or more; the
    16 px DCGAN of earlier releases fell under 0.01 within 250 steps. The warning is logged
    once per collapse (again only after the spread recovered and fell again). Partial
    collapse (a few repeated modes) keeps :math:`s` well above the threshold: measure that
    with :mod:`ganzoo.metrics`.

    No check runs before step ``start``: an untrained DCGAN generator sampled in eval mode
    (batch norm with its initial running statistics, weights drawn with std 0.02) emits
    near-constant images (spread about 0.001-0.006) until its running statistics settle.

    Args:
        every: Check every this many generator steps.
        start: First step that may be checked.
        n: Samples per check (at least 2).
        threshold: Spread under which the generator counts as collapsed.
        seed: Seed of the fixed noise.

    Attributes:
        spreads: ``(step, spread)`` of every check.
        collapsed_at: The step of the first detected collapse, or None.

    Example:
        >>> import torch, ganzoo
        >>> from ganzoo.callbacks import CollapseWatch
        >>> trainer = ganzoo.recipes.dcgan(image_size=8, width=2, latent_dim=4, device="cpu", seed=0)
        >>> watch = CollapseWatch(every=2, start=0)
        >>> data = torch.utils.data.DataLoader(torch.rand(32, 3, 8, 8) * 2 - 1, batch_size=8)
        >>> _ = trainer.fit(data, steps=4, callbacks=[watch])
        >>> [step for step, _ in watch.spreads]
        [2, 4]
    """

    main_process_only = True  # logs: rank 0 only under multi-process training

    def __init__(self, every: int = 50, *, start: int = 100, n: int = 32, threshold: float = 0.01, seed: int = 1234) -> None:
        super().__init__(every, "step")
        self.start = check_int_at_least("start", start, 0)
        self.n = check_int_at_least("n", n, 2)
        if not threshold > 0:
            raise ConfigError(f"threshold must be > 0, got {threshold!r}; e.g. CollapseWatch(threshold=0.01)")
        self.threshold = float(threshold)
        self.seed = seed
        self.spreads: list[tuple[int, float]] = []
        self.collapsed_at: int | None = None
        self._collapsed = False

    @staticmethod
    def spread(samples: torch.Tensor) -> float:
        """Mean over output values of the standard deviation across samples (dim 0)."""
        flat = samples.detach().float().reshape(samples.shape[0], -1)
        return float(flat.std(dim=0).mean())

    def fire(self, trainer: Trainer) -> None:
        """Check the spread now (when ``trainer.step >= start``) and log a collapse."""
        if trainer.step < self.start:
            return
        z = torch.randn(self.n, noise_size(trainer, "CollapseWatch"), generator=torch.Generator().manual_seed(self.seed))
        value = self.spread(trainer.sample(self.n, z=z))
        self.spreads.append((trainer.step, value))
        if value >= self.threshold:
            if self._collapsed:
                logger.info("step %d: generator samples vary again (spread %.4g)", trainer.step, value)
            self._collapsed = False
            return
        if self._collapsed:
            return
        self._collapsed = True
        if self.collapsed_at is None:
            self.collapsed_at = trainer.step
        logger.warning(
            "step %d: generator collapsed to one output: the spread of %d samples from different noise is "
            "%.3g (< threshold %.3g). Training further rarely recovers; try a lower learning rate, a Wasserstein "
            "recipe (ganzoo.recipes.wgan_gp) or, for the DCGAN nets, image_size >= 32.",
            trainer.step, self.n, value, self.threshold,
        )
