r"""Mode-collapse metrics of the published 2-D protocol (VEEGAN, Srivastava et al. 2017;
PacGAN, Lin et al. 2018).

For generated samples and the ``K`` true mode centres:

* a sample is **high quality** (HQ) if its distance to the nearest centre is at most
  ``3 * std``;
* a mode is **captured** if at least one HQ sample is nearest to it;
* **reverse KL** is :math:`\mathrm{KL}(p_{gen} \,\|\, U_K) = \sum_i p_i \log(K p_i)` over the
  histogram of nearest modes of *all* samples (0 log 0 = 0).

Example:
    >>> import torch
    >>> from ganzoo.metrics import mode_coverage
    >>> centres = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> result = mode_coverage(centres.repeat(5, 1), centres, std=0.01)
    >>> result.modes, result.hq_pct, result.reverse_kl
    (2, 100.0, 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["ModeCoverage", "mode_coverage", "reverse_kl"]


@dataclass(frozen=True)
class ModeCoverage:
    """Result of :func:`mode_coverage`.

    Attributes:
        modes: Modes captured (at least one high-quality sample nearest to them).
        num_modes: Number of true modes ``K``.
        hq_pct: Percentage of samples within ``3 * std`` of their nearest centre.
        reverse_kl: KL(generated mode histogram || uniform over the K modes), in nats.
        counts: Samples nearest to each mode (all samples, HQ or not).
    """

    modes: int
    num_modes: int
    hq_pct: float
    reverse_kl: float
    counts: tuple[int, ...]

    def as_dict(self) -> dict[str, float]:
        """``{"modes", "hq_pct", "reverse_kl"}`` as plain numbers (for tables and JSON)."""
        return {"modes": self.modes, "hq_pct": self.hq_pct, "reverse_kl": self.reverse_kl}


def reverse_kl(counts: Tensor) -> float:
    r"""KL(p || uniform) of a histogram: :math:`\sum_i p_i \log(K p_i)`, with 0 log 0 = 0."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    total = counts.sum()
    if total <= 0:
        return math.nan
    p = counts / total
    nonzero = p[p > 0]
    return float((nonzero * torch.log(len(counts) * nonzero)).sum())


def mode_coverage(samples: Tensor, centres: Tensor, std: float, threshold: float = 3.0) -> ModeCoverage:
    """Modes captured, % high quality and reverse KL of ``samples`` against ``centres``.

    Args:
        samples: Generated points, shape ``(n, d)``.
        centres: True mode means, shape ``(K, d)``.
        std: Standard deviation of each true mode.
        threshold: A sample is high quality within ``threshold * std`` (3 in the protocol).
    """
    samples = torch.as_tensor(samples).detach().to("cpu", torch.float64)
    centres = torch.as_tensor(centres).to(torch.float64)
    if samples.dim() != 2 or samples.shape[1] != centres.shape[1] or samples.shape[0] == 0:
        raise ValueError(
            f"samples must have shape (n, {centres.shape[1]}) with n > 0, got {tuple(samples.shape)}"
        )
    distances = torch.cdist(samples, centres)
    nearest_dist, nearest = distances.min(dim=1)
    finite = torch.isfinite(samples).all(dim=1)
    hq = finite & (nearest_dist <= threshold * std)
    counts = torch.bincount(nearest[finite], minlength=centres.shape[0])
    captured = torch.bincount(nearest[hq], minlength=centres.shape[0]) > 0
    return ModeCoverage(
        modes=int(captured.sum()),
        num_modes=centres.shape[0],
        hq_pct=100.0 * float(hq.double().mean()),
        reverse_kl=reverse_kl(counts),
        counts=tuple(int(c) for c in counts),
    )
