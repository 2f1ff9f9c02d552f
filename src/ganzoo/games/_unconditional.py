"""The unconditional game: noise -> one generator -> one critic."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch
from torch import Tensor, nn

from .._stream import as_tensor_batch
from ..errors import ConfigError
from ..losses import AdversarialLoss
from ..registry import LOSSES, REGULARIZERS
from ..regularizers import Regularizer
from ._base import GAMES, Game, Phase
from ._checks import check_generated_like_real, check_scores, check_value_range, evaluating, private_noise, run_critic
from ._context import Context

__all__ = ["Unconditional", "generator_latent_dim"]


def generator_latent_dim(generator: nn.Module, latent_dim: int | None) -> int:
    """``latent_dim`` when given, else the generator's ``latent_dim`` attribute."""
    value = latent_dim if latent_dim is not None else getattr(generator, "latent_dim", None)
    if value is None:
        raise ConfigError(
            f"cannot tell the noise size of {type(generator).__name__}: give it a "
            "`latent_dim` attribute or pass Trainer(..., latent_dim=N)"
        )
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"latent_dim must be an integer >= 1, got {value!r}")
    return value


def check_loss(loss: Any) -> AdversarialLoss:
    """A loss strategy from a registry name or an object with the two loss methods."""
    strategy = LOSSES.create(loss) if isinstance(loss, str) else loss
    if not callable(getattr(strategy, "critic_loss", None)) or not callable(getattr(strategy, "generator_loss", None)):
        raise ConfigError(
            f"loss={loss!r} is not a loss strategy; pass one of {LOSSES.list()} or an "
            "object with critic_loss(real_scores, fake_scores) and generator_loss(fake_scores)"
        )
    return strategy


def build_regularizers(regularizers: Iterable[Regularizer | str] | Regularizer | str) -> list[Regularizer]:
    """Regularizers from instances or registry names."""
    if isinstance(regularizers, (str, Regularizer)):
        regularizers = [regularizers]
    return [REGULARIZERS.create(r) if isinstance(r, str) else r for r in regularizers]


def real_samples(batch: Any) -> Tensor:
    """The float32 sample tensor of a raw batch (labels, if any, dropped; float64 and
    half-precision batches are cast: autocast decides the compute precision)."""
    samples = as_tensor_batch(batch)
    if samples.dtype == torch.uint8:
        raise ConfigError(
            "real batches are uint8 (0..255 pixels); convert them to floats in [-1, 1] with "
            "images.float() / 127.5 - 1 (ganzoo.data.ImageFolderDataset loads images so)"
        )
    if not samples.is_floating_point():
        swapped = (isinstance(batch, (tuple, list)) and len(batch) > 1 and isinstance(batch[1], Tensor)
                   and batch[1].is_floating_point())
        raise ConfigError(
            f"real batches must be floating point, got {samples.dtype}"
            + ("; the batch looks like (labels, images): put the images first" if swapped else
               "; scale images to [-1, 1] floats first (ganzoo.data.ImageFolderDataset and torchvision's "
               "ToTensor + Normalize do)")
        )
    return samples if samples.dtype == torch.float32 else samples.float()


@GAMES.register("unconditional")
class Unconditional(Game):
    r"""One generator against one critic (Goodfellow et al. 2014).

    Critic phase (``critic_steps`` times): minimise
    :math:`L_C = \ell_C(C(x), C(G(z))) + \sum_r \text{penalty}_r` with the generator fixed;
    generator phase: minimise :math:`L_G = \ell_G(C(G(z)))` with the critic fixed.
    Logged: ``critic_loss`` (:math:`\ell_C`, without penalties), ``generator_loss``, and
    ``wasserstein`` (:math:`-\ell_C`) for losses that estimate the Wasserstein-1 distance.

    ``Trainer(G, D, loss=..., regularizers=...)`` builds this game.

    Args:
        generator: Maps ``(batch, latent_dim)`` noise to samples.
        critic: Maps samples to scores.
        loss: A loss strategy or its registry name.
        regularizers: Regularizers or their registry names.
        latent_dim: Noise size, when the generator has no ``latent_dim`` attribute.

    Example:
        >>> import ganzoo
        >>> G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
        >>> D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
        >>> game = ganzoo.games.Unconditional(G, D, loss="wasserstein", regularizers=["gradient_penalty"])
        >>> [p.name for p in game.phases]
        ['critic', 'generator']
    """

    phases = (
        Phase("critic", ("critic",), repeats="critic_steps", critic=True),
        Phase("generator", ("generator",)),
    )

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        loss: AdversarialLoss | str = "bce",
        regularizers: Iterable[Regularizer | str] | Regularizer | str = (),
        *,
        latent_dim: int | None = None,
    ) -> None:
        if not isinstance(generator, nn.Module) or not isinstance(critic, nn.Module):
            raise ConfigError(
                "generator and critic must be torch.nn.Module instances; build them with "
                "ganzoo.create_generator(...) / ganzoo.create_critic(...) or write your own"
            )
        self.generator = generator
        self.critic = critic
        self.loss = check_loss(loss)
        self.regularizers = build_regularizers(regularizers)
        self.latent_dim = generator_latent_dim(getattr(generator, "_orig_mod", generator), latent_dim)

    def networks(self) -> Mapping[str, nn.Module]:
        return {"generator": self.generator, "critic": self.critic}

    def prepare(self, batch: Any, ctx: Context) -> Tensor:
        return ctx.to_device(real_samples(batch))

    def check_batch(self, batch: Tensor, ctx: Context) -> None:
        real = batch[: min(len(batch), 16)]
        generator, critic = ctx.plain("generator"), ctx.plain("critic")
        with evaluating(generator, critic):
            fake = generator(private_noise(real.shape[0], ctx.latent_dim or 1, ctx.device))
            check_generated_like_real(real, fake)
            check_scores(run_critic(critic, real), real.shape[0])
        check_value_range(real, fake)

    def losses(self, phase: str, batch: Tensor, ctx: Context) -> dict[str, Tensor]:
        real = batch
        if phase == "critic":
            with torch.no_grad():
                fake = ctx["generator"](ctx.noise(real.shape[0])).to(real.dtype)
            loss = self.loss.critic_loss(ctx["critic"](real), ctx["critic"](fake))
            terms = {"loss": loss + ctx.penalty("critic", real, fake), "critic_loss": loss}
            if getattr(self.loss, "estimates_wasserstein", False):
                terms["wasserstein"] = -loss
            return terms
        loss = self.loss.generator_loss(ctx["critic"](ctx["generator"](ctx.noise(real.shape[0]))))
        return {"loss": loss, "generator_loss": loss}

    def sample(  # type: ignore[override]  # takes only its own inputs
        self, n: int | None, ctx: Context, *, z: Tensor | None = None, batch_size: int = 1024
    ) -> Tensor:
        """``n`` samples ``G(z)``, float32, from fresh noise or the given ``z``."""
        z = noise_for(n, z, ctx)
        generator = ctx.plain("generator")
        return torch.cat([generator(c.to(ctx.device)).float().contiguous() for c in z.split(batch_size)])

    def config(self) -> dict[str, Any]:
        return {"latent_dim": self.latent_dim}


def noise_for(n: int | None, z: Tensor | None, ctx: Context) -> Tensor:
    """``z`` checked against ``n`` and the latent size, or fresh noise for ``n`` rows."""
    if z is None:
        if n is None:
            raise ConfigError("sample() needs the number of samples n or the noise z")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"n must be an integer >= 1, got {n!r}")
        return ctx.noise(n)
    if not isinstance(z, Tensor) or z.dim() != 2 or z.shape[1] != ctx.latent_dim:
        shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise ConfigError(f"z must have shape (n, latent_dim) = (n, {ctx.latent_dim}), got {shape}")
    if n is not None and z.shape[0] != n:
        raise ConfigError(f"z has {z.shape[0]} rows but n={n}")
    if not z.is_floating_point():
        raise ConfigError(f"z must be floating point, got {z.dtype}")
    return z

