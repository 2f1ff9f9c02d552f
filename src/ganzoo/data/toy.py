"""2-D toy distributions with known modes, for measuring mode collapse.

The published protocol (VEEGAN, PacGAN; see BENCHMARKS.md) uses :func:`ring` (8 Gaussians
on the unit circle, std 0.01) and :func:`grid` (25 Gaussians on {-4,-2,0,2,4}^2, std 0.05).
The WGAN-GP paper's toy code uses :func:`gaussians8`, :func:`gaussians25` and
:func:`swiss_roll`.

Example:
    >>> from ganzoo.data import grid
    >>> mix = grid()
    >>> mix.centres.shape, mix.std
    (torch.Size([25, 2]), 0.05)
    >>> batch = next(iter(mix.sampler(batch_size=256, seed=0)))
    >>> batch.shape
    torch.Size([256, 2])
"""

from __future__ import annotations

import math
from typing import Iterator

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from .._rng import cpu_generator
from .._validation import check_int_at_least, check_positive

__all__ = ["ToyDistribution", "GaussianMixture", "SwissRoll", "ToySampler", "ring", "grid", "gaussians8", "gaussians25", "swiss_roll"]


class ToyDistribution:
    """A 2-D distribution that can draw samples; subclasses implement :meth:`sample`."""

    name = "toy"

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` points, shape ``(n, 2)``."""
        raise NotImplementedError

    def sampler(self, batch_size: int = 256, seed: int | None = None) -> ToySampler:
        """An infinite iterable of ``(batch_size, 2)`` batches (a fresh draw each time)."""
        return ToySampler(self, batch_size, seed)

    def dataset(self, n: int, seed: int = 0) -> TensorDataset:
        """A fixed dataset of ``n`` points, for a DataLoader."""
        check_int_at_least("n", n, 1)
        return TensorDataset(self.sample(n, torch.Generator().manual_seed(seed)))


class GaussianMixture(ToyDistribution):
    """Equal-weight isotropic Gaussians at ``centres`` with standard deviation ``std``.

    Args:
        centres: Mode means, shape ``(modes, 2)``.
        std: Standard deviation of every mode.
        name: Shown in tables and plots.
    """

    def __init__(self, centres: Tensor, std: float, name: str = "mixture") -> None:
        self.centres = torch.as_tensor(centres, dtype=torch.float32)
        if self.centres.dim() != 2 or self.centres.shape[0] < 1:
            raise ValueError(f"centres must have shape (modes, dims), got {tuple(self.centres.shape)}")
        self.std = float(check_positive("std", std))
        self.name = name

    @property
    def num_modes(self) -> int:
        """Number of mixture components."""
        return self.centres.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        idx = torch.randint(self.num_modes, (n,), generator=generator)
        noise = torch.randn(n, self.centres.shape[1], generator=generator)
        return self.centres[idx] + self.std * noise

    def __repr__(self) -> str:
        return f"GaussianMixture(name={self.name!r}, modes={self.num_modes}, std={self.std})"


class SwissRoll(ToyDistribution):
    """The swiss roll of the WGAN-GP toy code: scikit-learn's ``make_swiss_roll(noise=0.25)``,
    its (x, z) coordinates, divided by 7.5."""

    name = "swiss_roll"

    def __init__(self, noise: float = 0.25, scale: float = 7.5) -> None:
        self.noise, self.scale = float(noise), float(check_positive("scale", scale))

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))
        points = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
        return (points + self.noise * torch.randn(n, 2, generator=generator)) / self.scale


class ToySampler:
    """Infinite iterable of batches from a :class:`ToyDistribution` (pass it to ``fit``).

    Iterating twice with a seed gives the same sequence both times.
    """

    #: True; the sampler never ends, so train with ``fit(steps=N)``, not ``fit(epochs=N)``.
    endless = True

    def __init__(self, distribution: ToyDistribution, batch_size: int = 256, seed: int | None = None) -> None:
        self.distribution = distribution
        self.batch_size = check_int_at_least("batch_size", batch_size, 1)
        self.seed = seed

    def __iter__(self) -> Iterator[Tensor]:
        generator = cpu_generator(self.seed)
        while True:
            yield self.distribution.sample(self.batch_size, generator)


def ring(modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """``modes`` Gaussians evenly spaced on a circle (PacGAN's ring: 8, radius 1, std 0.01).

    Angles are ``2*pi*i/modes`` for ``i < modes``: all distinct (``linspace(0, 2*pi, 8)``
    would repeat the first centre).
    """
    check_int_at_least("modes", modes, 1)
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    centres = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture(centres.float(), std, name="ring")


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``side**2`` Gaussians on a square grid centred on 0 (PacGAN's grid: 5x5, spacing 2, std 0.05)."""
    check_int_at_least("side", side, 1)
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(coords, coords, indexing="ij")
    return GaussianMixture(torch.stack([xs.flatten(), ys.flatten()], dim=1), std, name="grid")


def gaussians8() -> GaussianMixture:
    """The WGAN-GP toy "8gaussians": radius 2, std 0.02, all divided by 1.414."""
    mix = ring(8, radius=2.0 / 1.414, std=0.02 / 1.414)
    mix.name = "gaussians8"
    return mix


def gaussians25() -> GaussianMixture:
    """The WGAN-GP toy "25gaussians": grid spacing 2, std 0.05, all divided by 2.828."""
    mix = grid(5, spacing=2.0 / 2.828, std=0.05 / 2.828)
    mix.name = "gaussians25"
    return mix


def swiss_roll() -> SwissRoll:
    """The WGAN-GP toy swiss roll (see :class:`SwissRoll`)."""
    return SwissRoll()
