"""DCGAN generator and critic (Radford et al. 2016, "Unsupervised Representation Learning
with Deep Convolutional Generative Adversarial Networks").

The reference sizes are those of the anime-faces notebook: at ``latent_dim=100``,
``image_size=64``, ``channels=3``, ``width=64`` the generator has 3,576,704 parameters, the
batch-norm discriminator 2,765,568 and the norm-free critic 2,763,776. Other sizes follow the
same pattern: a 4x4 (or 7x7 for 28x28 images) base doubled by stride-2 4x4 convolutions.

With ``num_classes=N`` both become class-conditional:
the generator concatenates a learned label embedding to z (Mirza & Osindero 2014), the
critic adds the projection term of Miyato & Koyama (2018). Without it they are exactly the
networks above.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice, check_int_at_least
from ..errors import ConfigError
from ..registry import CRITICS, GENERATORS
from ._conditional import check_labels, check_num_classes, label_embedding, projection_embedding
from ._layers import NORMS, Conv2d, ConvTranspose2d, activation, check_noise, dcgan_init, norm_2d

__all__ = ["DCGANGenerator", "DCGANCritic", "dcgan_layout"]


def dcgan_layout(image_size: int) -> tuple[int, int]:
    """Return ``(base, n_doublings)`` with ``base * 2**n_doublings == image_size``.

    The base is 4 (image sizes 8, 16, 32, 64, 128, 256, ...) or 7 (14, 28, 56, ...: the
    MNIST-sized tutorial models).

    Raises:
        ConfigError: If the architecture cannot make ``image_size``.
    """
    if not isinstance(image_size, int) or isinstance(image_size, bool):
        raise ConfigError(f"image_size={image_size!r} is not valid; it must be an integer")
    for base in (4, 7):
        doublings = math.log2(image_size / base) if image_size > 0 else -1
        if doublings >= 1 and doublings == int(doublings):
            return base, int(doublings)
    raise ConfigError(
        f"image_size={image_size} cannot be made by the DCGAN architecture, which doubles a "
        "4x4 (or 7x7) base; use 4*2**k (8, 16, 32, 64, 128, 256) or 7*2**k (14, 28, 56), "
        "or resize your images"
    )


class DCGANGenerator(nn.Module):
    """DCGAN generator: z -> ConvTranspose stack -> Tanh image in [-1, 1].

    Layers: ``ConvT(latent_dim, width*2**(n-1), base)`` then ``n-1`` stride-2 ``ConvT``
    blocks halving the channels, each followed by normalisation and ReLU, then a
    stride-2 ``ConvT`` to ``channels`` and Tanh; no biases.

    Args:
        latent_dim: Size of the noise vector z.
        image_size: Output side length (see :func:`dcgan_layout`).
        channels: Output channels (3 for RGB, 1 for grayscale).
        width: Feature maps of the last hidden layer (``ngf`` in the paper's code).
        norm: ``"batch"`` (DCGAN), ``"instance"`` (the 28x28 tutorial), ``"layer"`` or ``"none"``.
        num_classes: Make the generator class-conditional (Mirza & Osindero 2014, "Conditional
            Generative Adversarial Nets"): ``forward(z, labels)`` embeds each label with a learned
            ``nn.Embedding(num_classes, embed_dim)`` (N(0, 1) init, like z) and the first layer
            reads :math:`[z; E(y)]`, so it has ``latent_dim + embed_dim`` input channels. None
            (default): unconditional, exactly the network above.
        embed_dim: Size of the label embedding (default ``latent_dim``); only with ``num_classes``.

    Example:
        >>> import torch, ganzoo
        >>> g = ganzoo.create_generator("dcgan", latent_dim=100, image_size=64, channels=3)
        >>> sum(p.numel() for p in g.parameters())
        3576704
        >>> g(torch.randn(2, 100)).shape
        torch.Size([2, 3, 64, 64])
        >>> cg = ganzoo.create_generator("dcgan", latent_dim=100, image_size=32, channels=1, num_classes=10)
        >>> cg(torch.randn(2, 100), torch.tensor([3, 7])).shape
        torch.Size([2, 1, 32, 32])
    """

    def __init__(
        self,
        latent_dim: int = 100,
        image_size: int = 64,
        channels: int = 3,
        width: int = 64,
        norm: str = "batch",
        num_classes: int | None = None,
        embed_dim: int | None = None,
    ) -> None:
        super().__init__()
        check_int_at_least("latent_dim", latent_dim, 1)
        check_int_at_least("channels", channels, 1)
        check_int_at_least("width", width, 1)
        check_choice("norm", norm, NORMS)
        base, doublings = dcgan_layout(image_size)
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        self.out_shape = (channels, image_size, image_size)
        self.num_classes = check_num_classes(num_classes)
        if self.num_classes is None and embed_dim is not None:
            raise ConfigError(f"embed_dim={embed_dim!r} needs num_classes=N (it sizes the label embedding)")
        self.label_embedding = None if self.num_classes is None else label_embedding(self.num_classes, embed_dim, latent_dim)
        in_ch = latent_dim + (0 if self.label_embedding is None else self.label_embedding.embedding_dim)
        ch = width * 2 ** (doublings - 1)
        layers: list[nn.Module] = [
            ConvTranspose2d(in_ch, ch, base, 1, 0, bias=False),
            norm_2d(norm, ch),
            activation("relu", inplace=True),
        ]
        for _ in range(doublings - 1):
            layers += [
                ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                norm_2d(norm, ch // 2),
                activation("relu", inplace=True),
            ]
            ch //= 2
        layers += [ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Map noise ``(batch, latent_dim)`` (or ``(batch, latent_dim, 1, 1)``) to images;
        ``labels`` (class indices, shape ``(batch,)``) only and always with ``num_classes``."""
        check_noise(self, z, self.latent_dim)
        if self.label_embedding is None:
            if labels is not None:
                check_labels(labels, None, z.shape[0], "DCGANGenerator(z)")
            return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))
        check_labels(labels, self.num_classes, z.shape[0], "DCGANGenerator(z, labels)")
        h = torch.cat([z.reshape(z.shape[0], self.latent_dim), self.label_embedding(labels).to(z.dtype)], dim=1)
        return self.net(h.reshape(h.shape[0], h.shape[1], 1, 1))


class DCGANCritic(nn.Module):
    r"""DCGAN discriminator / critic: image -> one raw score per sample.

    Layers: stride-2 4x4 convolutions ``channels -> width -> 2*width -> ...`` down to the
    4x4 (or 7x7) base, LeakyReLU(0.2) after each, normalisation on all but the first,
    then a ``base x base`` convolution to one score; no biases (unless ``bias=True``), no
    sigmoid (losses take logits). ``norm="batch"`` is the DCGAN discriminator; ``norm="none"`` the WGAN-GP
    critic (batch norm breaks the per-sample meaning of the gradient penalty; the
    WGAN-GP paper suggests ``"layer"`` instead).

    Args:
        image_size: Input side length (see :func:`dcgan_layout`).
        channels: Input channels.
        width: Feature maps of the first layer (``ndf``).
        norm: ``"batch"``, ``"none"``, ``"layer"`` or ``"instance"``.
        negative_slope: Slope of the LeakyReLU.
        num_classes: Make the critic class-conditional with the projection discriminator
            (Miyato & Koyama 2018, "cGANs with Projection Discriminator"):
            :math:`D(x, y) = \psi(\phi(x)) + \langle E(y), \phi(x)\rangle`, where
            :math:`\phi(x)` is the last feature map, flattened (``width*2**(n-1) * base * base``
            values: what the final convolution :math:`\psi` reads) and
            ``E = nn.Embedding(num_classes, that size)``, N(0, 0.02) init. The projection is a
            class-specific final-convolution kernel added to the shared one. None (default):
            unconditional, exactly the network above.
        bias: Give every convolution a bias (zero-initialised). Without biases and
            normalisation the critic is positively homogeneous, :math:`D(\alpha x) = \alpha D(x)`
            for :math:`\alpha > 0`, so :math:`D(0) = 0` whatever its weights: under the hinge loss
            with spectral norm (SN-GAN) the generator then shrinks its output to a constant
            grey image, the one point the critic can never score below 0 (measured on the
            digits: the samples' spread over the batch 0.02 after 100 steps; with biases 0.35
            after 300). The SN-GAN recipe turns biases on, as the SN-GAN paper's CNN has them.

    Example:
        >>> import torch, ganzoo
        >>> d = ganzoo.create_critic("dcgan", image_size=64, channels=3, norm="none")
        >>> sum(p.numel() for p in d.parameters())
        2763776
        >>> d(torch.randn(2, 3, 64, 64)).shape
        torch.Size([2])
        >>> cd = ganzoo.create_critic("dcgan", image_size=32, channels=1, norm="none", num_classes=10)
        >>> cd(torch.randn(2, 1, 32, 32), torch.tensor([3, 7])).shape
        torch.Size([2])
    """

    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        width: int = 64,
        norm: str = "batch",
        negative_slope: float = 0.2,
        num_classes: int | None = None,
        bias: bool = False,
    ) -> None:
        super().__init__()
        check_int_at_least("channels", channels, 1)
        check_int_at_least("width", width, 1)
        check_choice("norm", norm, NORMS)
        if not isinstance(bias, bool):
            raise ConfigError(f"bias must be True or False, got {bias!r}")
        base, doublings = dcgan_layout(image_size)
        self.image_size, self.channels, self.norm = image_size, channels, norm
        self.in_shape = (channels, image_size, image_size)
        layers: list[nn.Module] = [
            Conv2d(channels, width, 4, 2, 1, bias=bias),
            activation("leaky_relu", negative_slope),
        ]
        ch = width
        for _ in range(doublings - 1):
            layers += [
                Conv2d(ch, ch * 2, 4, 2, 1, bias=bias),
                norm_2d(norm, ch * 2),
                activation("leaky_relu", negative_slope),
            ]
            ch *= 2
        layers.append(Conv2d(ch, 1, base, 1, 0, bias=bias))
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)
        self.num_classes = check_num_classes(num_classes)
        self.projection = None if self.num_classes is None else projection_embedding(self.num_classes, ch * base * base)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Score images ``(batch, channels, size, size)``; returns shape ``(batch,)``.
        ``labels`` (class indices, shape ``(batch,)``) only and always with ``num_classes``."""
        if self.projection is None:
            if labels is not None:
                check_labels(labels, None, x.shape[0], "DCGANCritic(x)")
            return self.net(x).reshape(x.shape[0])
        check_labels(labels, self.num_classes, x.shape[0], "DCGANCritic(x, labels)")
        features = x
        for layer in list(self.net)[:-1]:
            features = layer(features)
        score = self.net[-1](features).reshape(x.shape[0])
        return score + (features.flatten(1) * self.projection(labels)).sum(dim=1)


GENERATORS.register("dcgan")(DCGANGenerator)
CRITICS.register("dcgan")(DCGANCritic)
