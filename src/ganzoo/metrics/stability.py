r"""Training-stability summary: how much each loss fluctuates at the end of training.

The course guide compares GANs by the standard deviation of their losses over the last
steps (vanilla GAN generator loss std about 0.45 against about 0.12 for WGAN-GP on
FashionMNIST). :func:`loss_stability` computes that summary from a
:class:`~ganzoo.History`: for each loss column, over the last ``last`` generator steps,

.. math::
    \mathrm{std} = \sqrt{\tfrac{1}{n - \mathrm{ddof}} \textstyle\sum_t (x_t - \bar x)^2}

with ``ddof=0`` (NumPy's ``np.std`` default) unless told otherwise. NaN and inf values
(steps the fp16 scaler skipped) are left out.

Example:
    >>> from ganzoo import History, StepRecord
    >>> from ganzoo.metrics import loss_stability
    >>> h = History()
    >>> for step, g in enumerate([1.0, 3.0, 1.0, 3.0], start=1):
    ...     h.append(StepRecord(step=step, critic_loss=0.5, generator_loss=g))
    >>> result = loss_stability(h, last=4)
    >>> result.std["generator_loss"], result.std["critic_loss"], result.steps
    (1.0, 0.0, 4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from .._validation import check_int_at_least
from ..errors import ConfigError
from ..history import History

__all__ = ["LossStability", "loss_stability", "DEFAULT_LOSS_COLUMNS"]

#: The history columns :func:`loss_stability` summarises by default (besides every penalty).
DEFAULT_LOSS_COLUMNS = ("critic_loss", "generator_loss", "wasserstein")


@dataclass(frozen=True)
class LossStability:
    """Result of :func:`loss_stability`.

    Attributes:
        steps: Generator steps the summary covers (the last ``last``, or fewer).
        std: Standard deviation of each loss column over those steps.
        mean: Mean of each loss column over those steps.
    """

    steps: int
    std: Mapping[str, float]
    mean: Mapping[str, float]

    def as_dict(self) -> dict[str, float]:
        """Flat ``{"<column>_std": ..., "<column>_mean": ...}`` (for tables and JSON)."""
        row: dict[str, float] = {}
        for name in self.std:
            row[f"{name}_std"] = self.std[name]
            row[f"{name}_mean"] = self.mean[name]
        return row


def _std(values: list[float], ddof: int) -> tuple[float, float]:
    if len(values) <= ddof:
        return math.nan, (sum(values) / len(values) if values else math.nan)
    mean = math.fsum(values) / len(values)
    variance = math.fsum((v - mean) ** 2 for v in values) / (len(values) - ddof)
    return math.sqrt(variance), mean


def loss_stability(
    history: History,
    last: int = 100,
    columns: Iterable[str] | None = None,
    ddof: int = 0,
) -> LossStability:
    """Standard deviation and mean of each loss over the last ``last`` generator steps.

    Args:
        history: A trainer's :attr:`~ganzoo.Trainer.history`.
        last: How many of the final steps to summarise (all steps if fewer were run).
        columns: History columns to summarise; by default ``critic_loss``,
            ``generator_loss``, ``wasserstein`` (when the loss estimates it) and every
            ``penalty/<name>`` column. Columns with no finite value are left out.
        ddof: Delta degrees of freedom: 0 for NumPy's ``np.std``, 1 for the sample std.

    Raises:
        ConfigError: If ``last`` is not a positive integer, the history is empty, or a
            requested column does not exist.
    """
    check_int_at_least("last", last, 1)
    check_int_at_least("ddof", ddof, 0)
    if len(history) == 0:
        raise ConfigError("the history is empty: train for at least one step before summarising it")
    explicit = columns is not None
    if columns is None:
        columns = [*DEFAULT_LOSS_COLUMNS, *(c for c in history.columns if c.startswith("penalty/"))]
    std, mean = {}, {}
    for name in columns:
        if name not in history.columns:
            if explicit:
                raise ConfigError(f"no history column {name!r}; choose from {', '.join(history.columns)}")
            continue
        values = [v for v in history.column(name)[-last:] if math.isfinite(v)]
        if not values and not explicit:
            continue
        std[name], mean[name] = _std(values, ddof)
    return LossStability(steps=min(last, len(history)), std=std, mean=mean)
