"""Multi-layer perceptron generator and critic, for 2-D toy data and small flat images.

One family serves the WGAN-GP paper's toy networks (3 hidden layers of 512 ReLU units,
``hidden=(512, 512, 512)``) and the course guide's image MLPs (generator
100 -> 256 -> 512 -> 784, critic 784 -> 512 -> 256 -> 1).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .._validation import check_choice, check_int_at_least
from ..errors import ConfigError
from ..registry import CRITICS, GENERATORS
from ._layers import ACTIVATIONS, check_noise
from ._layers import activation as make_activation

__all__ = ["MLPGenerator", "MLPCritic"]

_MLP_NORMS = ("none", "layer", "batch")


def _shape(name: str, shape: Sequence[int] | int) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ConfigError(
            f"{name}={shape!r} is not valid; give a sample shape of positive integers, "
            "e.g. (2,) for 2-D points or (1, 28, 28) for images"
        )
    return dims


def _hidden(hidden: Sequence[int]) -> tuple[int, ...]:
    dims = tuple(hidden)
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ConfigError(f"hidden={hidden!r} is not valid; give layer widths as positive integers")
    return dims


def _stack(sizes: Sequence[int], act: str, norm: str, negative_slope: float) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers.append(nn.Linear(fan_in, fan_out))
        if norm == "layer":
            layers.append(nn.LayerNorm(fan_out))
        elif norm == "batch":
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(make_activation(act, negative_slope))
    return layers


class MLPGenerator(nn.Module):
    """MLP generator: z -> hidden layers -> a sample of any shape.

    Args:
        latent_dim: Size of the noise vector z.
        out_shape: Shape of one sample: ``(2,)`` for 2-D points, ``(784,)`` or
            ``(1, 28, 28)`` for images.
        hidden: Widths of the hidden layers.
        activation: Hidden activation (``"relu"``, ``"leaky_relu"`` ...).
        out_activation: ``"none"`` (2-D data) or ``"tanh"`` (images scaled to [-1, 1]).
        norm: ``"none"``, ``"batch"`` or ``"layer"`` after each hidden layer.
        negative_slope: Slope of ``leaky_relu``.

    Example:
        >>> import torch, ganzoo
        >>> g = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(512, 512, 512))
        >>> g(torch.randn(5, 2)).shape
        torch.Size([5, 2])
    """

    def __init__(
        self,
        latent_dim: int = 2,
        out_shape: Sequence[int] | int = (2,),
        hidden: Sequence[int] = (512, 512, 512),
        activation: str = "relu",
        out_activation: str = "none",
        norm: str = "none",
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        check_int_at_least("latent_dim", latent_dim, 1)
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("out_activation", out_activation, ("none", "tanh"))
        check_choice("norm", norm, _MLP_NORMS)
        self.latent_dim = latent_dim
        self.out_shape = _shape("out_shape", out_shape)
        sizes = (latent_dim, *_hidden(hidden))
        layers = _stack(sizes, activation, norm, negative_slope)
        layers.append(nn.Linear(sizes[-1], math.prod(self.out_shape)))
        if out_activation == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map noise ``(batch, latent_dim)`` to samples ``(batch, *out_shape)``."""
        check_noise(self, z, self.latent_dim)
        return self.net(z.reshape(z.shape[0], -1)).reshape(z.shape[0], *self.out_shape)


class MLPCritic(nn.Module):
    """MLP critic: a sample of any shape -> flatten -> hidden layers -> one score.

    Args:
        in_shape: Shape of one sample, e.g. ``(2,)`` or ``(1, 28, 28)``.
        hidden: Widths of the hidden layers.
        activation: Hidden activation (the WGAN-GP toy code uses ``"relu"``, the course
            guide ``"leaky_relu"``).
        norm: ``"none"`` (required for a gradient penalty's per-sample meaning),
            ``"layer"`` or ``"batch"``.
        negative_slope: Slope of ``leaky_relu``.

    Example:
        >>> import torch, ganzoo
        >>> d = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(512, 512, 512))
        >>> d(torch.randn(5, 2)).shape
        torch.Size([5])
    """

    def __init__(
        self,
        in_shape: Sequence[int] | int = (2,),
        hidden: Sequence[int] = (512, 512, 512),
        activation: str = "relu",
        norm: str = "none",
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("norm", norm, _MLP_NORMS)
        self.in_shape = _shape("in_shape", in_shape)
        self.norm = norm
        sizes = (math.prod(self.in_shape), *_hidden(hidden))
        layers = _stack(sizes, activation, norm, negative_slope)
        layers.append(nn.Linear(sizes[-1], 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score samples ``(batch, *in_shape)``; returns shape ``(batch,)``."""
        return self.net(x.reshape(x.shape[0], -1)).reshape(x.shape[0])


GENERATORS.register("mlp")(MLPGenerator)
CRITICS.register("mlp")(MLPCritic)
