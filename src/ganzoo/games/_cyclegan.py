"""The CycleGAN game: two generators, two critics, cycle and identity terms, image pools."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch
from torch import Tensor, nn

from ..cycle import CYCLE_WEIGHT, IDENTITY_WEIGHT, POOL_SIZE, ImagePool, cycle_loss, identity_loss
from ..errors import ConfigError
from ..losses import AdversarialLoss, LeastSquaresLoss
from ..regularizers import Regularizer
from ._base import GAMES, Game, Phase
from ._context import Context
from ._unconditional import build_regularizers, check_loss

__all__ = ["CycleGAN"]


def _check_weight(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{name}={value!r} is not valid; give a number >= 0")
    return float(value)


def _images(batch: Any, key: str) -> Tensor:
    value = batch.get(key) if isinstance(batch, Mapping) else None
    if not isinstance(value, Tensor):
        found = sorted(batch) if isinstance(batch, Mapping) else type(batch).__name__
        raise ConfigError(
            f"the CycleGAN game reads batches {{'x': images of domain X, 'y': images of domain Y}}, got {found}; "
            "wrap your two datasets in ganzoo.data.Unpaired(dataset_x, dataset_y)"
        )
    if value.dim() != 4 or not value.is_floating_point():
        raise ConfigError(f"batch[{key!r}] must be a float tensor (batch, channels, height, width), "
                          f"got {value.dtype} of shape {tuple(value.shape)}")
    return value if value.dtype == torch.float32 else value.float()


@GAMES.register("cyclegan")
class CycleGAN(Game):
    r"""Unpaired image-to-image translation (Zhu et al. 2017, "Unpaired Image-to-Image
    Translation using Cycle-Consistent Adversarial Networks").

    Two generators :math:`G: X \to Y` (``g_xy``) and :math:`F: Y \to X` (``g_yx``), two
    critics :math:`D_X` (``d_x``) and :math:`D_Y` (``d_y``). The generator phase (first, as
    in the reference implementation) minimises

    .. math::
        L_{G,F} = \ell_G(D_Y(G(x))) + \ell_G(D_X(F(y)))
        + \lambda (\lVert F(G(x)) - x\rVert_1 + \lVert G(F(y)) - y\rVert_1)
        + \lambda_{idt} \lambda (\lVert G(y) - y\rVert_1 + \lVert F(x) - x\rVert_1)

    (means over pixels), then the critic phase minimises
    :math:`\ell_C(D_Y(y), D_Y(\tilde y)) + \ell_C(D_X(x), D_X(\tilde x))` plus any
    penalties, where :math:`\tilde y, \tilde x` come from each direction's
    :class:`~ganzoo.cycle.ImagePool` of 50 earlier fakes. With the default least-squares
    loss these are the reference's terms: each critic's loss is half the sum of its
    real and fake MSE (ganzoo's :class:`~ganzoo.losses.LeastSquaresLoss` halves already)
    and each generator's adversarial term is the MSE to 1 (twice ganzoo's least-squares
    generator loss, which follows Mao et al. in halving it).

    The identity term keeps colours and composition when the input already looks like the
    target domain (the paper's section 5.2); it needs both domains to have the same
    number of channels.

    Logged: ``generator_loss`` (both adversarial terms), ``cycle_loss``, ``identity_loss``
    and ``critic_loss`` (both critics, without penalties).

    Args:
        g_xy: Generator :math:`G: X \to Y` (``ganzoo.create_generator("resnet", ...)``).
        g_yx: Generator :math:`F: Y \to X`.
        d_x: Critic of domain X (``ganzoo.create_critic("patchgan", ...)``).
        d_y: Critic of domain Y.
        loss: Adversarial loss strategy or its registry name (``"least_squares"``).
        regularizers: Regularizers applied to both critics (gradient penalty, spectral norm).
        cycle_weight: :math:`\lambda` (10).
        identity_weight: :math:`\lambda_{idt}` relative to :math:`\lambda` (0.5; 0 turns
            the identity term off).
        pool_size: Fakes kept per direction (50; 0 uses the latest fakes only).
        pool_seed: Seed of the pools' random choices (default: drawn from torch's RNG,
            so a seeded run is reproducible); the pools are part of every checkpoint.
    """

    phases = (
        Phase("generator", ("g_xy", "g_yx")),
        Phase("critic", ("d_x", "d_y"), repeats="critic_steps", critic=True),
    )

    def __init__(
        self,
        g_xy: nn.Module,
        g_yx: nn.Module,
        d_x: nn.Module,
        d_y: nn.Module,
        loss: AdversarialLoss | str = "least_squares",
        regularizers: Iterable[Regularizer | str] | Regularizer | str = (),
        *,
        cycle_weight: float = CYCLE_WEIGHT,
        identity_weight: float = IDENTITY_WEIGHT,
        pool_size: int = POOL_SIZE,
        pool_seed: int | None = None,
    ) -> None:
        for name, net in (("g_xy", g_xy), ("g_yx", g_yx), ("d_x", d_x), ("d_y", d_y)):
            if not isinstance(net, nn.Module):
                raise ConfigError(f"{name} must be a torch.nn.Module, got {type(net).__name__}; build it with "
                                  "ganzoo.create_generator('resnet', ...) / ganzoo.create_critic('patchgan', ...)")
        self.g_xy, self.g_yx, self.d_x, self.d_y = g_xy, g_yx, d_x, d_y
        self.loss = check_loss(loss)
        self.regularizers = build_regularizers(regularizers)
        self.cycle_weight = _check_weight("cycle_weight", cycle_weight)
        self.identity_weight = _check_weight("identity_weight", identity_weight)
        self.pool_seed = int(torch.randint(2**62, ())) if pool_seed is None else int(pool_seed)
        self.pool_size = pool_size
        self.pool_x = ImagePool(pool_size, seed=self.pool_seed)
        self.pool_y = ImagePool(pool_size, seed=self.pool_seed + 1)
        # the reference's generator term is MSE(D(G(x)), 1); ganzoo's LSGAN generator loss is half of it
        self._adversarial_scale = 2.0 if isinstance(self.loss, LeastSquaresLoss) else 1.0
        self._fakes: tuple[Any, Tensor, Tensor] | None = None  # (batch it came from, fake x, fake y)

    def networks(self) -> Mapping[str, nn.Module]:
        return {"g_xy": self.g_xy, "g_yx": self.g_yx, "d_x": self.d_x, "d_y": self.d_y}

    def prepare(self, batch: Any, ctx: Context) -> tuple[Tensor, Tensor]:
        x, y = _images(batch, "x"), _images(batch, "y")
        if self.identity_weight and x.shape[1] != y.shape[1]:
            raise ConfigError(
                f"domain X has {x.shape[1]} channels and domain Y {y.shape[1]}: the identity term feeds each "
                "generator images of its own target domain, so both need the same channels; convert the "
                "images (e.g. to RGB) or pass identity_weight=0"
            )
        for name, images in (("g_xy", x), ("g_yx", y), ("d_x", x), ("d_y", y)):
            check = getattr(getattr(self, name), "check_input", None)
            if callable(check):
                check(images)
        return ctx.to_device(x), ctx.to_device(y)

    def losses(self, phase: str, batch: tuple[Tensor, Tensor], ctx: Context) -> dict[str, Tensor]:
        x, y = batch
        G, F, D_x, D_y = ctx["g_xy"], ctx["g_yx"], ctx["d_x"], ctx["d_y"]
        if phase == "generator":
            fake_y, fake_x = G(x), F(y)
            self._fakes = (batch, fake_x.detach(), fake_y.detach())
            scale = self._adversarial_scale
            adversarial = scale * self.loss.generator_loss(D_y(fake_y)) + scale * self.loss.generator_loss(D_x(fake_x))
            cycle = cycle_loss(x, F(fake_y), self.cycle_weight) + cycle_loss(y, G(fake_x), self.cycle_weight)
            terms = {"generator_loss": adversarial, "cycle_loss": cycle}
            total = adversarial + cycle
            if self.identity_weight:
                weight = self.identity_weight * self.cycle_weight
                identity = identity_loss(y, G(y), weight) + identity_loss(x, F(x), weight)
                terms["identity_loss"] = identity
                total = total + identity
            return {"loss": total, **terms}
        if self._fakes is None or self._fakes[0] is not batch:  # a fresh batch for a repeated critic update
            with torch.no_grad():
                self._fakes = (batch, F(y).detach(), G(x).detach())
        _, fake_x, fake_y = self._fakes
        fake_x, fake_y = self.pool_x.query(fake_x.to(x.dtype)), self.pool_y.query(fake_y.to(y.dtype))
        loss = self.loss.critic_loss(D_y(y), D_y(fake_y)) + self.loss.critic_loss(D_x(x), D_x(fake_x))
        total = loss + ctx.penalty("d_y", y, fake_y) + ctx.penalty("d_x", x, fake_x)
        return {"loss": total, "critic_loss": loss}

    def sample(  # type: ignore[override]  # takes only its own inputs
        self,
        n: int | None,
        ctx: Context,
        *,
        x: Tensor | None = None,
        y: Tensor | None = None,
        batch_size: int = 1024,
    ) -> Tensor:
        """Translations: ``x=`` images of X give :math:`G(x)` in Y, ``y=`` images of Y give
        :math:`F(y)` in X (float32, eval mode, no gradients)."""
        if (x is None) == (y is None):
            raise ConfigError("CycleGAN sample() takes exactly one of x= (X -> Y) or y= (Y -> X)")
        images = x if x is not None else y
        if not isinstance(images, Tensor) or images.dim() != 4:
            raise ConfigError(f"sample({'x' if x is not None else 'y'}=...) needs images (batch, channels, height, width), "
                              f"got {tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__}")
        if n is not None and n != images.shape[0]:
            raise ConfigError(f"n={n} but {images.shape[0]} images were given; leave n out")
        generator = ctx.plain("g_xy" if x is not None else "g_yx")
        return torch.cat([generator(ctx.to_device(c)).float().contiguous() for c in images.split(batch_size)])

    def state_dict(self) -> dict[str, Any]:
        return {"pool_x": self.pool_x.state_dict(), "pool_y": self.pool_y.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        device = next(self.d_x.parameters()).device
        if "pool_x" in state:
            self.pool_x.load_state_dict(state["pool_x"], device=device)
            self.pool_y.load_state_dict(state["pool_y"], device=device)
        self._fakes = None

    def config(self) -> dict[str, Any]:
        return {"cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight,
                "pool_size": self.pool_size, "pool_seed": self.pool_seed}
