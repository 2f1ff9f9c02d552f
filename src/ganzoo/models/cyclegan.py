"""CycleGAN's networks: the ResNet generator and the 70x70 PatchGAN critic.

Both follow the reference implementation (Zhu et al. 2017, "Unpaired Image-to-Image
Translation using Cycle-Consistent Adversarial Networks"; junyanz/pytorch-CycleGAN-and-pix2pix,
``models/networks.py``) layer for layer, so the parameter counts match it exactly: at
``channels=3``, ``width=64`` the generator has 7,837,699 parameters with 6 residual blocks
and 11,378,179 with 9; the PatchGAN critic has 2,764,737. Instance normalisation is without
affine parameters (as in the reference), and every convolution followed by it has a bias.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_int_at_least
from ..errors import ConfigError
from ..registry import CRITICS, GENERATORS

__all__ = ["PatchGANCritic", "ResnetGenerator", "patchgan_output_size"]


def _instance_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class _ResidualBlock(nn.Module):
    """x + (reflect-pad, 3x3 conv, norm, ReLU, reflect-pad, 3x3 conv, norm)(x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _instance_norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _check_image_shape(who: str, x: torch.Tensor, channels: int, multiple: int, minimum: int) -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        raise ConfigError(f"{who} takes images of shape (batch, {channels}, H, W), got {tuple(x.shape)}")
    h, w = int(x.shape[2]), int(x.shape[3])
    if h % multiple or w % multiple or h < minimum or w < minimum:
        raise ConfigError(
            f"{who} cannot take images of size {h}x{w}: height and width must be divisible by "
            f"{multiple} and at least {minimum}; resize or crop the images (e.g. to 32, 64, 128 or 256)"
        )


class ResnetGenerator(nn.Module):
    """CycleGAN's ResNet generator: an image in [-1, 1] to an image of the same size.

    Layers: reflection pad 3, 7x7 conv ``channels -> width``, two stride-2 3x3 convs
    (``width -> 2 width -> 4 width``), ``blocks`` residual blocks at ``4 width``, two
    stride-2 3x3 transposed convs back to ``width``, reflection pad 3, 7x7 conv to
    ``channels``, Tanh; instance norm (no affine) and ReLU after every hidden conv. Any
    image size divisible by 4 (at least 8) works.

    Args:
        channels: Image channels in and out.
        blocks: Residual blocks (the reference uses 9 at 256x256, 6 at 128x128).
        width: Feature maps of the first layer (``ngf``).

    Example:
        >>> import torch, ganzoo
        >>> g = ganzoo.create_generator("resnet", channels=3, blocks=9, width=64)
        >>> sum(p.numel() for p in g.parameters())
        11378179
        >>> ganzoo.create_generator("resnet", blocks=2, width=8)(torch.randn(1, 3, 32, 32)).shape
        torch.Size([1, 3, 32, 32])
    """

    def __init__(self, channels: int = 3, blocks: int = 9, width: int = 64) -> None:
        super().__init__()
        check_int_at_least("channels", channels, 1)
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
            raise ConfigError(
                f"blocks={blocks!r} is not valid; the ResNet generator needs at least one residual "
                "block (the reference uses 9 at 256x256 and 6 at 128x128)"
            )
        check_int_at_least("width", width, 1)
        self.channels, self.blocks, self.width = channels, blocks, width
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7), _instance_norm(width), nn.ReLU(True),
        ]
        ch = width
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1), _instance_norm(ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [_ResidualBlock(ch) for _ in range(blocks)]
        for _ in range(2):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1),
                _instance_norm(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(_normal_init)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise :class:`~ganzoo.ConfigError` if the generator cannot translate ``x``."""
        _check_image_shape("the resnet generator", x, self.channels, 4, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate images ``(batch, channels, H, W)`` (H, W divisible by 4) to the same shape."""
        self.check_input(x)
        return self.net(x)


def patchgan_output_size(size: int, layers: int = 3) -> int:
    """Side of the PatchGAN's score map for an input of side ``size`` (0 or less: too small).

    Each of the ``layers`` stride-2 4x4 convs (padding 1) maps ``s`` to ``s // 2``, each of
    the two stride-1 4x4 convs (padding 1) to ``s - 1``. The instance norm after the first
    stride-1 conv needs at least 2 pixels there, so a usable size has an output of >= 1.
    """
    for _ in range(layers):
        size = size // 2
    return size - 2


class PatchGANCritic(nn.Module):
    """The 70x70 PatchGAN critic (Isola et al. 2017; CycleGAN's discriminator): a score map.

    Layers: a stride-2 4x4 conv ``channels -> width`` and LeakyReLU(0.2), ``layers - 1``
    more stride-2 4x4 convs doubling the width (capped at 8 width), a stride-1 4x4 conv,
    and a stride-1 4x4 conv to one channel; instance norm (no affine) on all but the first
    and last. With ``layers=3`` each score sees a 70x70 patch. The output is the raw
    score map ``(batch, 1, h, w)``; a loss averages over it.

    Args:
        channels: Image channels.
        width: Feature maps of the first layer (``ndf``).
        layers: Stride-2 convolutions (3: the 70x70 PatchGAN).

    Example:
        >>> import torch, ganzoo
        >>> d = ganzoo.create_critic("patchgan", channels=3, width=64)
        >>> sum(p.numel() for p in d.parameters())
        2764737
        >>> d(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 1, 2, 2])
    """

    def __init__(self, channels: int = 3, width: int = 64, layers: int = 3) -> None:
        super().__init__()
        check_int_at_least("channels", channels, 1)
        check_int_at_least("width", width, 1)
        check_int_at_least("layers", layers, 1)
        self.channels, self.width, self.layers = channels, width, layers
        modules: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, layers):
            prev, mult = mult, min(2**n, 8)
            modules += [nn.Conv2d(width * prev, width * mult, 4, 2, 1), _instance_norm(width * mult), nn.LeakyReLU(0.2)]
        prev, mult = mult, min(2**layers, 8)
        modules += [nn.Conv2d(width * prev, width * mult, 4, 1, 1), _instance_norm(width * mult), nn.LeakyReLU(0.2)]
        modules.append(nn.Conv2d(width * mult, 1, 4, 1, 1))
        self.net = nn.Sequential(*modules)
        self.apply(_normal_init)

    def min_size(self) -> int:
        """The smallest image side this critic can score."""
        size = 1
        while patchgan_output_size(size, self.layers) < 1:
            size += 1
        return size

    def check_input(self, x: torch.Tensor) -> None:
        """Raise :class:`~ganzoo.ConfigError` if the critic cannot score ``x``."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ConfigError(f"the patchgan critic takes images of shape (batch, {self.channels}, H, W), got {tuple(x.shape)}")
        small = min(int(x.shape[2]), int(x.shape[3]))
        if patchgan_output_size(small, self.layers) < 1:
            raise ConfigError(
                f"the patchgan critic (layers={self.layers}) cannot score images of size "
                f"{int(x.shape[2])}x{int(x.shape[3])}: it needs a side of at least {self.min_size()}; "
                "use larger images or fewer layers"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score images ``(batch, channels, H, W)``; returns the score map ``(batch, 1, h, w)``."""
        self.check_input(x)
        return self.net(x)


@torch.no_grad()
def _normal_init(module: nn.Module) -> None:
    """The reference's ``init_type='normal'``: conv weights ~ N(0, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


GENERATORS.register("resnet")(ResnetGenerator)
CRITICS.register("patchgan")(PatchGANCritic)
