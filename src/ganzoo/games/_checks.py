"""Checks of the first batch against the networks, before the first update (no side effects).

The Trainer calls :meth:`~ganzoo.games.Game.check_batch` on the first batch of every
:meth:`~ganzoo.Trainer.fit`; the built-in games compare the real batch with one generated batch
and with the critic's scores here. The networks run in eval mode, without gradients, on noise
from a private generator: no weight, batch-norm statistic or random stream changes.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import Tensor, nn

from ..errors import ConfigError

__all__ = ["evaluating", "private_noise", "check_generated_like_real", "check_scores", "check_value_range"]


@contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Run the block with ``modules`` in eval mode and without gradients; restore their modes."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def private_noise(n: int, latent_dim: int, device: torch.device) -> Tensor:
    """Noise from a generator of its own (the training random streams stay untouched)."""
    generator = torch.Generator(device=device).manual_seed(0)
    return torch.randn(n, latent_dim, generator=generator, device=device)


def check_generated_like_real(real: Tensor, fake: Tensor) -> None:
    """The generator's samples must have the real samples' shape."""
    if fake.shape[1:] == real.shape[1:]:
        return
    if real.dim() == 4 and fake.dim() == 4:
        fix = (f"build the generator for {real.shape[1]} channels of {real.shape[2]}x{real.shape[3]} images "
               f"(create_generator('dcgan', image_size={real.shape[2]}, channels={real.shape[1]}, ...)), "
               f"or load the images at {fake.shape[2]} px with {fake.shape[1]} channels "
               f"(ImageFolderDataset(..., image_size={fake.shape[2]}, channels={fake.shape[1]}))")
    else:
        fix = "make the generator's out_shape match the data"
    raise ConfigError(
        f"the real samples have shape {tuple(real.shape[1:])} per sample but the generator makes "
        f"{tuple(fake.shape[1:])}: the critic would compare different things; {fix}"
    )


def check_scores(scores: Any, n: int, who: str = "the critic") -> None:
    """One score per sample (shape ``(n,)``), or a score map with the batch first."""
    if isinstance(scores, Tensor) and scores.dim() >= 1 and scores.shape[0] == n:
        return
    shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
    raise ConfigError(
        f"{who} returned scores of shape {shape} for a batch of {n} samples; it must return one score per "
        f"sample, shape ({n},), or a score map with the batch first, shape ({n}, ...). Remove any mean or sum "
        "over the batch from its forward: the losses average over the batch, and a gradient penalty needs "
        "each sample's own score"
    )


def check_value_range(real: Tensor, fake: Tensor) -> None:
    """Warn when image data is not in the generator's [-1, 1] (a Tanh output)."""
    if real.dim() != 4 or fake.numel() == 0 or fake.abs().max() > 1:
        return  # not images, or the generator is not bounded by a Tanh
    low, high = float(real.min()), float(real.max())
    if high > 1.5:
        advice = "it looks like [0, 255]: use images / 127.5 - 1"
    elif low >= 0 and high > 0.5:
        advice = "it looks like [0, 1]: use images * 2 - 1 (torchvision: Normalize([0.5] * C, [0.5] * C))"
    elif low < -1.5:
        advice = "rescale it to [-1, 1]"
    else:
        return
    warnings.warn(
        f"the real images are in [{low:.3g}, {high:.3g}], but the generator draws in [-1, 1] (Tanh): the critic "
        f"can tell them apart by range alone; {advice}. ganzoo.data.ImageFolderDataset loads images in [-1, 1]",
        UserWarning,
        stacklevel=2,
    )


def run_critic(critic: nn.Module, real: Tensor, *extra: Tensor) -> Tensor:
    """``critic(real, *extra)``, with a raw shape error turned into one that names the batch."""
    try:
        return critic(real, *extra)
    except ConfigError:
        raise
    except RuntimeError as exc:
        raise ConfigError(
            f"the critic cannot score the real batch of shape {tuple(real.shape)} ({str(exc).splitlines()[0]}); "
            "build the critic for the data's channels and size (create_critic('dcgan', image_size=..., "
            "channels=...)) or load the data at the size the networks were built for"
        ) from None
