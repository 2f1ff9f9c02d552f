"""Recipes: ready :class:`~ganzoo.Trainer` objects with the papers' settings.

Each recipe builds the reference DCGAN networks from ``image_size`` and ``channels``
(the anime-faces notebook's architecture), or uses the ``generator``/``critic`` you pass,
so the same recipe trains images and 2-D toys. Keyword arguments not listed go to the
:class:`~ganzoo.Trainer` (``amp``, ``device``, ``critic_batches``, ``callbacks`` ...).
Every recipe takes ``num_classes=N``: it then builds class-conditional networks and trains
the :class:`~ganzoo.games.Conditional` game on ``(images, labels)`` batches
(``trainer.sample(n, labels=...)`` draws the requested classes).

=============  ===========  =============  =============================  ============
recipe         loss         Lipschitz      optimizer                      critic steps
=============  ===========  =============  =============================  ============
``dcgan``      BCE, t=0.9   none           Adam 2e-4, betas (0.5, 0.999)  1
``wgan_clip``  Wasserstein  clip 0.01      RMSprop 5e-5                   5
``wgan_gp``    Wasserstein  GP, lambda=10  Adam 1e-4, betas (0.0, 0.9)    5
``sngan``      hinge        spectral norm  Adam 2e-4, betas (0.0, 0.9)    5
``cyclegan``   least sq.    none           Adam 2e-4, betas (0.5, 0.999)  1
=============  ===========  =============  =============================  ============

Example:
    >>> import ganzoo
    >>> trainer = ganzoo.recipes.wgan_gp(image_size=32, channels=3, width=8, device="cpu")
    >>> trainer.critic_steps, type(trainer.loss).__name__
    (5, 'WassersteinLoss')
"""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
from typing import Any, Callable, Mapping, Sequence, TypeVar

from torch import nn

from ._validation import check_int_at_least
from .callbacks import LinearDecay
from .errors import ConfigError
from .games import Conditional, CycleGAN
from .losses import BCELoss, HingeLoss, WassersteinLoss
from .registry import CRITICS, GENERATORS
from .regularizers import GradientPenalty, SpectralNorm, WeightClipping
from .trainer import Trainer

__all__ = ["dcgan", "wgan_clip", "wgan_gp", "sngan", "cyclegan"]

_F = TypeVar("_F", bound=Callable[..., Trainer])


class _KeywordError(ConfigError, TypeError):
    """A misspelled recipe keyword (a ``TypeError``, as Python's own, and a ConfigError)."""


def _checked_keywords(recipe: _F) -> _F:
    """Refuse keywords neither the recipe nor the Trainer takes, naming the closest valid one."""
    own = [n for n, p in inspect.signature(recipe).parameters.items() if p.kind is not p.VAR_KEYWORD]
    trainer = [n for n in inspect.signature(Trainer.__init__).parameters if n != "self"]
    fixed = {"generator_optimizer", "critic_optimizer", "optimizers", "loss", "regularizers"}  # the recipe sets them
    valid = sorted(set(own) | (set(trainer) - fixed))

    @functools.wraps(recipe)
    def wrapper(*args: Any, **kwargs: Any) -> Trainer:
        for key in kwargs:
            if key in fixed:
                raise _KeywordError(
                    f"ganzoo.recipes.{recipe.__name__}() sets {key} itself, so {key}={kwargs[key]!r} is not "
                    f"accepted; change it through the recipe's own keywords ({', '.join(own)}) or build "
                    "ganzoo.Trainer(...) directly"
                )
            if key not in valid:
                close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]}=? " if close else ""
                raise _KeywordError(
                    f"ganzoo.recipes.{recipe.__name__}() got an unexpected keyword {key}={kwargs[key]!r}; "
                    f"{hint}valid keywords: {', '.join(valid)}"
                )
        return recipe(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _networks(
    generator: nn.Module | None,
    critic: nn.Module | None,
    *,
    image_size: int,
    channels: int,
    latent_dim: int,
    width: int,
    critic_norm: str,
    seed: int | None,
    num_classes: int | None = None,
    critic_bias: bool = False,
) -> tuple[nn.Module, nn.Module]:
    if seed is not None:  # seed before building so the initial weights are reproducible too
        from ._rng import seed_everything

        seed_everything(seed)
    if generator is None:
        extra = {} if num_classes is None else {"num_classes": num_classes}
        generator = GENERATORS.create(
            "dcgan", latent_dim=latent_dim, image_size=image_size, channels=channels, width=width, **extra
        )
    if critic is None:
        extra = {} if num_classes is None else {"num_classes": num_classes}
        if critic_bias:
            extra["bias"] = True
        critic = CRITICS.create("dcgan", image_size=image_size, channels=channels, width=width, norm=critic_norm,
                                **extra)
    return generator, critic


def _trainer(
    G: nn.Module,
    D: nn.Module,
    loss: Any,
    regularizers: list[Any],
    num_classes: int | None,
    optimizer: Mapping[str, Any],
    **trainer_kwargs: Any,
) -> Trainer:
    """The recipe's Trainer: the unconditional game, or the conditional one with ``num_classes``."""
    optimizers: dict[str, Any] = {"generator_optimizer": dict(optimizer), "critic_optimizer": dict(optimizer)}
    if num_classes is None:
        return Trainer(G, D, loss, regularizers, **optimizers, **trainer_kwargs)
    game = Conditional(G, D, loss, regularizers, num_classes=num_classes)
    return Trainer(game, **optimizers, **trainer_kwargs)


logger = logging.getLogger("ganzoo.recipes")

# Smallest image size at which the DCGAN recipe's reference nets are known to train (see dcgan()).
_DCGAN_MIN_SIZE = 32


def _adam(lr: float, betas: Sequence[float]) -> dict[str, Any]:
    # a scalar or a wrong length reaches build_optimizer as given, which names it
    return {"name": "adam", "lr": lr, "betas": list(betas) if isinstance(betas, (list, tuple)) else betas}


@_checked_keywords
def dcgan(
    image_size: int = 64,
    channels: int = 3,
    *,
    latent_dim: int = 100,
    width: int = 64,
    generator: nn.Module | None = None,
    critic: nn.Module | None = None,
    lr: float = 2e-4,
    betas: Sequence[float] = (0.5, 0.999),
    real_label: float = 0.9,
    seed: int | None = None,
    num_classes: int | None = None,
    **trainer_kwargs: Any,
) -> Trainer:
    """DCGAN (Radford et al. 2016): batch-norm discriminator, non-saturating BCE loss with
    one-sided label smoothing (real label 0.9, as in the notebook), Adam 2e-4 (0.5, 0.999),
    one critic step per generator step.

    Below 32 px the reference nets are known not to train: at 16 px (width 16 or 32) the
    generator collapsed to one constant grey image within 250 steps, on sklearn's real digits
    as well as on the synthetic faces, and a plain PyTorch loop with the same nets did the
    same (BENCHMARKS.md section 5). The recipe logs a warning then (logger
    ``ganzoo.recipes``) and points at ``image_size=32``; pass your own ``generator`` and
    ``critic`` to silence it.
    """
    if image_size < _DCGAN_MIN_SIZE and generator is None and critic is None:
        logger.warning(
            "dcgan(image_size=%d): the reference DCGAN nets below %d px are known to collapse to one constant "
            "image (at 16 px within 250 steps, on real digits too); use image_size=%d (width >= 32) or a "
            "Wasserstein recipe, or pass your own generator and critic",
            image_size, _DCGAN_MIN_SIZE, _DCGAN_MIN_SIZE,
        )
    G, D = _networks(generator, critic, image_size=image_size, channels=channels, latent_dim=latent_dim,
                     width=width, critic_norm="batch", seed=seed, num_classes=num_classes)
    trainer_kwargs.setdefault("critic_steps", 1)
    return _trainer(G, D, BCELoss(real_label=real_label), [], num_classes, _adam(lr, betas), seed=seed, **trainer_kwargs)


@_checked_keywords
def wgan_clip(
    image_size: int = 64,
    channels: int = 3,
    *,
    latent_dim: int = 100,
    width: int = 64,
    generator: nn.Module | None = None,
    critic: nn.Module | None = None,
    lr: float = 5e-5,
    clip: float = 0.01,
    seed: int | None = None,
    num_classes: int | None = None,
    **trainer_kwargs: Any,
) -> Trainer:
    """WGAN with weight clipping (Arjovsky et al. 2017, Algorithm 1): Wasserstein loss,
    every critic weight clipped to [-0.01, 0.01], RMSprop 5e-5, 5 critic steps. The
    critic keeps batch norm, as in the paper's DCGAN-based critic."""
    G, D = _networks(generator, critic, image_size=image_size, channels=channels, latent_dim=latent_dim,
                     width=width, critic_norm="batch", seed=seed, num_classes=num_classes)
    trainer_kwargs.setdefault("critic_steps", 5)
    rmsprop = {"name": "rmsprop", "lr": lr}
    return _trainer(G, D, WassersteinLoss(), [WeightClipping(clip=clip)], num_classes, rmsprop, seed=seed,
                    **trainer_kwargs)


@_checked_keywords
def wgan_gp(
    image_size: int = 64,
    channels: int = 3,
    *,
    latent_dim: int = 100,
    width: int = 64,
    generator: nn.Module | None = None,
    critic: nn.Module | None = None,
    lr: float = 1e-4,
    betas: Sequence[float] = (0.0, 0.9),
    gp_weight: float = 10.0,
    gp_every: int = 1,
    seed: int | None = None,
    num_classes: int | None = None,
    **trainer_kwargs: Any,
) -> Trainer:
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1): Wasserstein loss, gradient penalty
    lambda=10, Adam 1e-4 betas (0.0, 0.9), 5 critic steps, critic without batch norm.
    For the 2-D toy sets the paper uses ``gp_weight=0.1`` and ``betas=(0.5, 0.9)``.
    ``gp_every=k`` applies the penalty lazily, on one critic update in k, scaled by k
    (not the paper's algorithm; see :class:`~ganzoo.regularizers.GradientPenalty`)."""
    G, D = _networks(generator, critic, image_size=image_size, channels=channels, latent_dim=latent_dim,
                     width=width, critic_norm="none", seed=seed, num_classes=num_classes)
    trainer_kwargs.setdefault("critic_steps", 5)
    return _trainer(G, D, WassersteinLoss(), [GradientPenalty(weight=gp_weight, every=gp_every)], num_classes,
                    _adam(lr, betas), seed=seed, **trainer_kwargs)


@_checked_keywords
def sngan(
    image_size: int = 64,
    channels: int = 3,
    *,
    latent_dim: int = 100,
    width: int = 64,
    generator: nn.Module | None = None,
    critic: nn.Module | None = None,
    lr: float = 2e-4,
    betas: Sequence[float] = (0.0, 0.9),
    seed: int | None = None,
    num_classes: int | None = None,
    critic_bias: bool = True,
    **trainer_kwargs: Any,
) -> Trainer:
    """SN-GAN (Miyato et al. 2018): hinge loss, spectral norm on every critic layer, Adam
    2e-4 betas (0.0, 0.9), 5 critic steps (the paper's CIFAR-10 ResNet setting).

    The DCGAN critic the recipe builds has biases (``critic_bias=True``, as the paper's CNN):
    without them a critic without normalisation scores the zero image 0 whatever its weights,
    and the generator collapses onto that grey image (see :class:`~ganzoo.models.dcgan.DCGANCritic`).
    ``critic_bias=False`` builds the bias-free critic this recipe used before; a ``critic``
    you pass is used as it is."""
    G, D = _networks(generator, critic, image_size=image_size, channels=channels, latent_dim=latent_dim,
                     width=width, critic_norm="none", seed=seed, num_classes=num_classes, critic_bias=critic_bias)
    trainer_kwargs.setdefault("critic_steps", 5)
    return _trainer(G, D, HingeLoss(), [SpectralNorm()], num_classes, _adam(lr, betas), seed=seed, **trainer_kwargs)


@_checked_keywords
def cyclegan(
    channels: int = 3,
    *,
    blocks: int = 9,
    width: int = 64,
    critic_width: int = 64,
    lr: float = 2e-4,
    betas: Sequence[float] = (0.5, 0.999),
    loss: str = "least_squares",
    cycle_weight: float = 10.0,
    identity_weight: float = 0.5,
    pool_size: int = 50,
    steps: int | None = None,
    seed: int | None = None,
    **trainer_kwargs: Any,
) -> Trainer:
    """CycleGAN (Zhu et al. 2017) with the reference implementation's settings: two
    ``resnet`` generators (``blocks`` residual blocks; 9 for 256 px, 6 for 128 px and
    below), two 70x70 ``patchgan`` critics, least-squares loss, cycle weight 10, identity
    weight 0.5, pools of 50 fakes, Adam 2e-4 betas (0.5, 0.999), one critic update per
    step. Train it on ``ganzoo.data.Unpaired(dataset_x, dataset_y)`` with batch size 1
    (the reference's).

    The reference keeps the learning rate for 100 epochs and decays it linearly to zero
    over 100 more; give ``steps`` (the run's length in steps) and the recipe does the same
    scaled to the run: constant for ``steps // 2`` steps, then linear decay to zero at
    ``steps`` (a :class:`~ganzoo.callbacks.LinearDecay` callback).

    Args:
        channels: Channels of both domains' images.
        blocks: Residual blocks per generator.
        width: Generator width (64 in the reference).
        critic_width: Critic width (64).
        lr: Adam learning rate of both phases.
        betas: Adam betas.
        loss: Adversarial loss (any registered name).
        cycle_weight: Weight of each direction's cycle term.
        identity_weight: Identity weight relative to ``cycle_weight`` (0 turns it off).
        pool_size: Fakes kept per direction.
        steps: The run's length, for the learning-rate schedule (None: constant rate).
        seed: Seeds the networks' initial weights, the pools and training.
    """
    if seed is not None:  # seed before building so the initial weights are reproducible too
        from ._rng import seed_everything

        seed_everything(seed)
    G = GENERATORS.create("resnet", channels=channels, blocks=blocks, width=width)
    F = GENERATORS.create("resnet", channels=channels, blocks=blocks, width=width)
    D_x = CRITICS.create("patchgan", channels=channels, width=critic_width)
    D_y = CRITICS.create("patchgan", channels=channels, width=critic_width)
    game = CycleGAN(G, F, D_x, D_y, loss=loss, cycle_weight=cycle_weight, identity_weight=identity_weight,
                    pool_size=pool_size)
    callbacks = list(trainer_kwargs.pop("callbacks", ()))
    if steps is not None:
        check_int_at_least("steps", steps, 2)
        callbacks.append(LinearDecay(start=steps // 2, end=steps))
    trainer_kwargs.setdefault("critic_steps", 1)
    return Trainer(game, seed=seed, optimizers={"generator": _adam(lr, betas), "critic": _adam(lr, betas)},
                   callbacks=callbacks, **trainer_kwargs)
