"""The class-conditional game: (noise, label) -> generator; (sample, label) -> critic."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..losses import AdversarialLoss
from ..models._conditional import check_labels
from ..regularizers import Regularizer
from ._base import GAMES, Game, Phase
from ._checks import check_generated_like_real, check_scores, check_value_range, evaluating, private_noise, run_critic
from ._context import Context
from ._unconditional import build_regularizers, check_loss, generator_latent_dim, noise_for, real_samples

__all__ = ["Conditional"]


def _split_batch(batch: Any) -> tuple[Any, Any]:
    """``(images, labels)`` of a raw batch: a ``(images, labels, ...)`` tuple or a dict."""
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    if isinstance(batch, Mapping):
        images = next((batch[k] for k in ("image", "images", "x") if k in batch), None)
        labels = next((batch[k] for k in ("label", "labels", "y") if k in batch), None)
        if images is not None and labels is not None:
            return images, labels
    found = (f"a {type(batch).__name__} of shape {tuple(batch.shape)}" if isinstance(batch, Tensor)
             else f"a {type(batch).__name__}" + (f" with keys {sorted(batch)}" if isinstance(batch, Mapping) else ""))
    raise ConfigError(
        f"the conditional game reads batches of (images, labels), got {found}: the label column is missing. "
        "Use a dataset that returns (image, label) pairs, e.g. "
        "torch.utils.data.TensorDataset(images, labels), or train unconditionally without num_classes"
    )


@GAMES.register("conditional")
class Conditional(Game):
    r"""A class-conditional GAN (Mirza & Osindero 2014) with a projection critic
    (Miyato & Koyama 2018).

    Batches are ``(images, labels)`` with labels class indices (int64) in
    ``[0, num_classes)``. The generator is called as ``G(z, labels)``, the critic as
    ``C(x, labels)``; the fakes of an update are drawn for the real batch's labels:

    .. math::
        L_C = \ell_C(C(x, y), C(G(z, y), y)) + \sum_r \text{penalty}_r(x, G(z, y); y),
        \qquad L_G = \ell_G(C(G(z, y), y)).

    Penalties take the labels (``penalty(..., condition=labels)``: the gradient is taken
    at the interpolate with the same label). Logged: ``critic_loss``,
    ``generator_loss`` and ``wasserstein`` as in :class:`Unconditional`.

    Args:
        generator: A conditional generator (``num_classes=`` on ``dcgan``/``mlp``).
        critic: A conditional critic with the same ``num_classes``.
        loss: A loss strategy or its registry name.
        regularizers: Regularizers or their registry names.
        num_classes: The number of classes (default: the networks' ``num_classes``).
        latent_dim: Noise size, when the generator has no ``latent_dim`` attribute.

    Example:
        >>> import torch, ganzoo
        >>> G = ganzoo.create_generator("mlp", latent_dim=4, out_shape=(2,), hidden=(8,), num_classes=3)
        >>> D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,), num_classes=3)
        >>> trainer = ganzoo.Trainer(ganzoo.games.Conditional(G, D, loss="hinge"), seed=0, progress=False)
        >>> data = [(torch.randn(16, 2), torch.randint(3, (16,))) for _ in range(4)]
        >>> _ = trainer.fit(data, steps=2)
        >>> trainer.sample(labels=torch.tensor([0, 1, 2])).shape
        torch.Size([3, 2])
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
        num_classes: int | None = None,
        latent_dim: int | None = None,
    ) -> None:
        if not isinstance(generator, nn.Module) or not isinstance(critic, nn.Module):
            raise ConfigError("generator and critic must be torch.nn.Module instances; build them with "
                              "ganzoo.create_generator(..., num_classes=N) / ganzoo.create_critic(..., num_classes=N)")
        plain_g, plain_c = getattr(generator, "_orig_mod", generator), getattr(critic, "_orig_mod", critic)
        found = {"generator": getattr(plain_g, "num_classes", None), "critic": getattr(plain_c, "num_classes", None)}
        if num_classes is None:
            num_classes = found["generator"] or found["critic"]
        if num_classes is None:
            raise ConfigError("Conditional needs class-conditional networks: build them with num_classes=N "
                              "(ganzoo.create_generator('dcgan', ..., num_classes=10)) or pass num_classes=N")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ConfigError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        for name, value in found.items():
            if value is not None and value != num_classes:
                raise ConfigError(f"the {name} was built with num_classes={value}, but the game has "
                                  f"num_classes={num_classes}; build both networks with the same num_classes")
        self.generator = generator
        self.critic = critic
        self.num_classes = num_classes
        self.loss = check_loss(loss)
        self.regularizers = build_regularizers(regularizers)
        self.latent_dim = generator_latent_dim(plain_g, latent_dim)

    def networks(self) -> Mapping[str, nn.Module]:
        return {"generator": self.generator, "critic": self.critic}

    def prepare(self, batch: Any, ctx: Context) -> tuple[Tensor, Tensor]:
        images, labels = _split_batch(batch)
        if not isinstance(images, Tensor) or not images.is_floating_point():
            if isinstance(images, Tensor) and images.dtype == torch.uint8:
                images = real_samples(images)  # raises with the conversion advice
            what = images.dtype if isinstance(images, Tensor) else type(images).__name__
            hint = (" (are the columns swapped? the batch must be (images, labels))"
                    if isinstance(labels, Tensor) and labels.is_floating_point() else "")
            raise ConfigError(f"the images of a conditional batch must be a floating-point tensor, got {what}{hint}")
        images = real_samples(images)
        try:
            check_labels(labels, self.num_classes, images.shape[0], "the batch (images, labels)")
        except ConfigError as exc:
            raise ConfigError(f"bad labels in a training batch: {exc}") from None
        return ctx.to_device(images), ctx.to_device(labels)

    def check_batch(self, batch: tuple[Tensor, Tensor], ctx: Context) -> None:
        count = min(len(batch[0]), 16)
        real, labels = batch[0][:count], batch[1][:count]
        generator, critic = ctx.plain("generator"), ctx.plain("critic")
        with evaluating(generator, critic):
            fake = generator(private_noise(count, ctx.latent_dim or 1, ctx.device), labels)
            check_generated_like_real(real, fake)
            check_scores(run_critic(critic, real, labels), count)
        check_value_range(real, fake)

    def losses(self, phase: str, batch: tuple[Tensor, Tensor], ctx: Context) -> dict[str, Tensor]:
        real, labels = batch
        if phase == "critic":
            with torch.no_grad():
                fake = ctx["generator"](ctx.noise(real.shape[0]), labels).to(real.dtype)
            loss = self.loss.critic_loss(ctx["critic"](real, labels), ctx["critic"](fake, labels))
            terms = {"loss": loss + ctx.penalty("critic", real, fake, condition=labels), "critic_loss": loss}
            if getattr(self.loss, "estimates_wasserstein", False):
                terms["wasserstein"] = -loss
            return terms
        fake = ctx["generator"](ctx.noise(real.shape[0]), labels)
        loss = self.loss.generator_loss(ctx["critic"](fake, labels))
        return {"loss": loss, "generator_loss": loss}

    def sample(  # type: ignore[override]  # takes only its own inputs
        self,
        n: int | None,
        ctx: Context,
        *,
        labels: Tensor | None = None,
        z: Tensor | None = None,
        batch_size: int = 1024,
    ) -> Tensor:
        """Samples of the requested classes: ``labels`` (one per sample), or, when None,
        ``n`` samples cycling through the classes 0, 1, ..., ``num_classes - 1``."""
        if labels is None:
            rows = n if n is not None else (z.shape[0] if isinstance(z, Tensor) else None)
            if rows is None:
                raise ConfigError("sample() needs labels=, n or z for the conditional game")
            labels = torch.arange(rows) % self.num_classes
        if isinstance(labels, (list, tuple)):
            labels = torch.as_tensor(labels)
        count = n if n is not None else (labels.shape[0] if isinstance(labels, Tensor) else None)
        check_labels(labels, self.num_classes, count if count is not None else -1, "sample(labels=...)")
        z = noise_for(count, z, ctx)
        generator = ctx.plain("generator")
        labels = labels.to(ctx.device)
        return torch.cat([generator(zc.to(ctx.device), yc).float().contiguous()
                          for zc, yc in zip(z.split(batch_size), labels.split(batch_size))])

    def config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "latent_dim": self.latent_dim}
