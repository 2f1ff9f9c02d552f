"""Building blocks shared by the model families: normalisation layers and DCGAN init."""

from __future__ import annotations

import torch
from torch import nn

from .. import _conv_kernels
from .._validation import check_choice

__all__ = ["NORMS", "ACTIVATIONS", "Conv2d", "ConvTranspose2d", "norm_2d", "activation", "dcgan_init"]

NORMS = ("batch", "instance", "layer", "none")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "none")


class Conv2d(nn.Conv2d):
    """:class:`torch.nn.Conv2d` (same parameters, state dict and repr) whose bf16 CPU weight
    gradient takes the faster matrix-product path of :mod:`ganzoo._conv_kernels` on small
    output maps; the forward values and everything else are nn.Conv2d's."""

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if self.padding_mode == "zeros":
            out = _conv_kernels.conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)
            if out is not None:
                return out
        return super()._conv_forward(input, weight, bias)


class ConvTranspose2d(nn.ConvTranspose2d):
    """:class:`torch.nn.ConvTranspose2d` (same parameters, state dict and repr) whose bf16 CPU
    product of a tiny input map (at most 4x4: a DCGAN generator's first two layers) takes the
    faster matrix-product path of :mod:`ganzoo._conv_kernels`; everything else is
    nn.ConvTranspose2d's."""

    def forward(self, input: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if _conv_kernels.bf16_autocast_on_cpu(input):  # nn.ConvTranspose2d allows only zero padding
            output_padding = self._output_padding(
                input, output_size, self.stride, self.padding, self.kernel_size, 2, self.dilation)  # type: ignore[arg-type]
            out = _conv_kernels.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                                 output_padding, self.groups, self.dilation)
            if out is not None:
                return out
        return super().forward(input, output_size)


def norm_2d(kind: str, channels: int) -> nn.Module:
    """A 2-D normalisation layer of ``kind`` (one of :data:`NORMS`) for ``channels`` feature maps."""
    check_choice("norm", kind, NORMS)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # LayerNorm over (C, H, W), per-channel affine
    return nn.Identity()


def activation(name: str, negative_slope: float = 0.2, inplace: bool = False) -> nn.Module:
    """The activation module called ``name`` (``leaky_relu`` uses ``negative_slope``).

    Critics keep ``inplace=False``: their gradient penalty differentiates twice.
    """
    check_choice("activation", name, ACTIVATIONS)
    return {
        "relu": lambda: nn.ReLU(inplace=inplace),
        "leaky_relu": lambda: nn.LeakyReLU(negative_slope, inplace=inplace),
        "elu": nn.ELU,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "tanh": nn.Tanh,
        "none": nn.Identity,
    }[name]()


@torch.no_grad()
def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation (Radford et al. 2016): conv/linear weights ~ N(0, 0.02),
    normalisation weights ~ N(1, 0.02), biases 0. Use as ``model.apply(dcgan_init)``."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm, nn.BatchNorm1d)):
        if module.weight is not None:
            nn.init.normal_(module.weight, 1.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def check_noise(model: nn.Module, z: torch.Tensor, latent_dim: int) -> None:
    """Raise a :class:`~ganzoo.ConfigError` unless ``z`` is ``(batch, latent_dim)`` (or ``(batch, latent_dim, 1, 1)``)."""
    if z.dim() < 2 or z.shape[1] != latent_dim or z[0].numel() != latent_dim:
        from ..errors import ConfigError

        raise ConfigError(
            f"{type(model).__name__} takes noise of shape (batch, latent_dim={latent_dim}), got z of shape "
            f"{tuple(z.shape)}; draw z = torch.randn(batch, {latent_dim}), or build the generator with "
            f"latent_dim={z.shape[1] if z.dim() >= 2 else z.shape[-1]} to match your noise"
        )
