r"""Multi-layer perceptron generator and critic, for 2-D toy data and small flat images.

One family serves the WGAN-GP paper's toy networks (3 hidden layers of 512 ReLU units,
``hidden=(512, 512, 512)``) and the course guide's image MLPs (generator
100 -> 256 -> 512 -> 784, critic 784 -> 512 -> 256 -> 1).

With ``num_classes=N`` both become class-conditional:
the generator reads :math:`[z; E(y)]`, the critic adds the projection term
:math:`\langle E(y), \phi(x)\rangle` on its last hidden layer.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .._validation import check_choice, check_int_at_least
from ..errors import ConfigError
from ..registry import CRITICS, GENERATORS
from ._conditional import check_labels, check_num_classes, label_embedding, projection_embedding
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
        num_classes: Make the generator class-conditional (Mirza & Osindero 2014):
            ``forward(z, labels)`` concatenates a learned ``nn.Embedding(num_classes, embed_dim)``
            (N(0, 1) init) to z, so the first layer has ``latent_dim + embed_dim`` inputs. None
            (default): unconditional, exactly the network above.
        embed_dim: Size of the label embedding (default ``latent_dim``); only with ``num_classes``.

    Example:
        >>> import torch, ganzoo
        >>> g = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(512, 512, 512))
        >>> g(torch.randn(5, 2)).shape
        torch.Size([5, 2])
        >>> cg = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(64,), num_classes=3)
        >>> cg(torch.randn(5, 2), torch.tensor([0, 1, 2, 0, 1])).shape
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
        num_classes: int | None = None,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        check_int_at_least("latent_dim", latent_dim, 1)
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("out_activation", out_activation, ("none", "tanh"))
        check_choice("norm", norm, _MLP_NORMS)
        self.latent_dim = latent_dim
        self.out_shape = _shape("out_shape", out_shape)
        self.num_classes = check_num_classes(num_classes)
        if self.num_classes is None and embed_dim is not None:
            raise ConfigError(f"embed_dim={embed_dim!r} needs num_classes=N (it sizes the label embedding)")
        self.label_embedding = None if self.num_classes is None else label_embedding(self.num_classes, embed_dim, latent_dim)
        in_dim = latent_dim + (0 if self.label_embedding is None else self.label_embedding.embedding_dim)
        sizes = (in_dim, *_hidden(hidden))
        layers = _stack(sizes, activation, norm, negative_slope)
        layers.append(nn.Linear(sizes[-1], math.prod(self.out_shape)))
        if out_activation == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Map noise ``(batch, latent_dim)`` to samples ``(batch, *out_shape)``; ``labels``
        (class indices, shape ``(batch,)``) only and always with ``num_classes``."""
        check_noise(self, z, self.latent_dim)
        if self.label_embedding is None:
            if labels is not None:
                check_labels(labels, None, z.shape[0], "MLPGenerator(z)")
            return self.net(z.reshape(z.shape[0], -1)).reshape(z.shape[0], *self.out_shape)
        check_labels(labels, self.num_classes, z.shape[0], "MLPGenerator(z, labels)")
        h = torch.cat([z.reshape(z.shape[0], -1), self.label_embedding(labels).to(z.dtype)], dim=1)
        return self.net(h).reshape(z.shape[0], *self.out_shape)


class MLPCritic(nn.Module):
    r"""MLP critic: a sample of any shape -> flatten -> hidden layers -> one score.

    Args:
        in_shape: Shape of one sample, e.g. ``(2,)`` or ``(1, 28, 28)``.
        hidden: Widths of the hidden layers.
        activation: Hidden activation (the WGAN-GP toy code uses ``"relu"``, the course
            guide ``"leaky_relu"``).
        norm: ``"none"`` (required for a gradient penalty's per-sample meaning),
            ``"layer"`` or ``"batch"``.
        negative_slope: Slope of ``leaky_relu``.
        num_classes: Make the critic class-conditional with the projection discriminator
            (Miyato & Koyama 2018): :math:`D(x, y) = \psi(\phi(x)) + \langle E(y), \phi(x)\rangle`
            with :math:`\phi(x)` the last hidden layer's output (the flattened input when
            ``hidden=()``), :math:`\psi` the final linear layer and
            ``E = nn.Embedding(num_classes, hidden[-1])``, N(0, 0.02) init. None (default):
            unconditional, exactly the network above.

    Example:
        >>> import torch, ganzoo
        >>> d = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(512, 512, 512))
        >>> d(torch.randn(5, 2)).shape
        torch.Size([5])
        >>> cd = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(64,), num_classes=3)
        >>> cd(torch.randn(5, 2), torch.tensor([0, 1, 2, 0, 1])).shape
        torch.Size([5])
    """

    def __init__(
        self,
        in_shape: Sequence[int] | int = (2,),
        hidden: Sequence[int] = (512, 512, 512),
        activation: str = "relu",
        norm: str = "none",
        negative_slope: float = 0.2,
        num_classes: int | None = None,
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
        self.num_classes = check_num_classes(num_classes)
        self.projection = None if self.num_classes is None else projection_embedding(self.num_classes, sizes[-1])

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Score samples ``(batch, *in_shape)``; returns shape ``(batch,)``. ``labels``
        (class indices, shape ``(batch,)``) only and always with ``num_classes``."""
        if self.projection is None:
            if labels is not None:
                check_labels(labels, None, x.shape[0], "MLPCritic(x)")
            return self.net(x.reshape(x.shape[0], -1)).reshape(x.shape[0])
        check_labels(labels, self.num_classes, x.shape[0], "MLPCritic(x, labels)")
        features = x.reshape(x.shape[0], -1)
        for layer in list(self.net)[:-1]:
            features = layer(features)
        score = self.net[-1](features).reshape(x.shape[0])
        return score + (features * self.projection(labels)).sum(dim=1)


GENERATORS.register("mlp")(MLPGenerator)
CRITICS.register("mlp")(MLPCritic)
