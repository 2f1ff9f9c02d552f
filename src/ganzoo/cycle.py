r"""CycleGAN's building blocks: the image pool and the cycle-consistency and identity terms.

CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks") trains two generators :math:`G: X \to Y`, :math:`F: Y \to X` and
two critics :math:`D_Y`, :math:`D_X`. Besides the adversarial terms the generators minimise

.. math::
    \mathcal{L}_{cyc} = \lambda\, \mathbb{E}_x \lVert F(G(x)) - x \rVert_1
                      + \lambda\, \mathbb{E}_y \lVert G(F(y)) - y \rVert_1, \qquad
    \mathcal{L}_{idt} = \lambda_{idt} \lambda\, \mathbb{E}_y \lVert G(y) - y \rVert_1
                      + \lambda_{idt} \lambda\, \mathbb{E}_x \lVert F(x) - x \rVert_1

with :math:`\lambda = 10` and :math:`\lambda_{idt} = 0.5` (the reference's defaults). The
critics see generated images through an :class:`ImagePool` of 50 earlier ones (Shrivastava
et al. 2017), which damps oscillation.

Example:
    >>> import torch
    >>> from ganzoo.cycle import ImagePool, cycle_loss
    >>> float(cycle_loss(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)))
    10.0
    >>> pool = ImagePool(size=2, seed=0)
    >>> pool.query(torch.ones(3, 1, 2, 2)).shape
    torch.Size([3, 1, 2, 2])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._rng import cpu_generator
from .errors import ConfigError

__all__ = ["CYCLE_WEIGHT", "IDENTITY_WEIGHT", "POOL_SIZE", "ImagePool", "cycle_loss", "identity_loss"]

#: Weight of each direction's cycle-consistency L1 term (the reference's ``lambda_A = lambda_B``).
CYCLE_WEIGHT = 10.0
#: Weight of the identity term relative to the cycle weight (the reference's ``lambda_identity``).
IDENTITY_WEIGHT = 0.5
#: Images kept per direction by the reference's pool.
POOL_SIZE = 50


def _check_pair(name: str, real: Tensor, other: Tensor) -> None:
    if real.shape != other.shape:
        raise ConfigError(f"{name}: the two tensors must have the same shape, got {tuple(real.shape)} and {tuple(other.shape)}")


def cycle_loss(real: Tensor, reconstructed: Tensor, weight: float = CYCLE_WEIGHT) -> Tensor:
    r"""One direction's cycle-consistency term, :math:`\lambda \cdot \mathrm{mean}|F(G(x)) - x|`.

    Args:
        real: Images of the domain the cycle starts in.
        reconstructed: The same images sent there and back, e.g. ``F(G(x))``.
        weight: :math:`\lambda` (10 in the paper).
    """
    _check_pair("cycle_loss", real, reconstructed)
    return weight * (reconstructed - real).abs().mean()


def identity_loss(real: Tensor, mapped: Tensor, weight: float = IDENTITY_WEIGHT * CYCLE_WEIGHT) -> Tensor:
    r"""One generator's identity term, :math:`\lambda_{idt} \lambda \cdot \mathrm{mean}|G(y) - y|`.

    A generator into domain :math:`Y` fed an image already in :math:`Y` should leave it
    unchanged; this keeps colours and the overall composition (Taesung Park's addition in
    the paper's section 5.2).

    Args:
        real: Images of the generator's target domain (``y`` for ``G: X -> Y``).
        mapped: The generator applied to them, ``G(y)``.
        weight: :math:`\lambda_{idt} \lambda` (0.5 x 10 in the reference).
    """
    _check_pair("identity_loss", real, mapped)
    return weight * (mapped - real).abs().mean()


class ImagePool:
    """A buffer of earlier generated images for the critic (the reference's ``ImagePool``).

    :meth:`query` handles each image of a batch in turn: while fewer than ``size`` are
    stored, the image is stored and returned; afterwards, with probability 1/2 a stored
    image chosen uniformly is returned and the new one takes its place, otherwise the new
    image is returned. ``size=0`` returns every batch unchanged. The random draws come from
    the pool's own generator (seeded by ``seed``), and :meth:`state_dict` holds the images
    and that generator's state, so a resumed run draws the same.

    Args:
        size: Images kept (50 in the reference).
        seed: Seed of the pool's generator (None: from the OS).
    """

    def __init__(self, size: int = POOL_SIZE, seed: int | None = None) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ConfigError(f"size={size!r} is not valid; give the number of images to keep, an integer >= 0 (the reference uses 50)")
        self.size = size
        self.images: list[Tensor] = []
        self.generator = cpu_generator(seed)

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        """Return a batch of the same shape: each image the new one or one stored earlier."""
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) > 0.5:
                index = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[index])
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        """The stored images (one tensor) and the generator state."""
        stored = torch.stack(self.images).cpu() if self.images else torch.zeros(0)
        return {"size": self.size, "images": stored, "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str | None = None) -> None:
        """Restore what :meth:`state_dict` returned (images moved to ``device`` if given)."""
        if int(state["size"]) != self.size:
            raise ConfigError(f"the saved pool holds up to {int(state['size'])} images, this one {self.size}; build the pool with size={int(state['size'])}")
        images = state["images"]
        if device is not None:
            images = images.to(device)
        self.images = [image.clone() for image in images] if images.numel() else []
        self.generator.set_state(state["rng"])

    def __repr__(self) -> str:
        return f"ImagePool(size={self.size}, stored={len(self.images)})"
