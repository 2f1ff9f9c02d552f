r"""Adversarial loss strategies.

Every loss has the same two methods: ``critic_loss(real_scores, fake_scores)`` and
``generator_loss(fake_scores)``. Scores are raw critic outputs (logits for the
probabilistic losses) of any shape (one per sample, or a PatchGAN map); every loss
averages over all elements and computes in float32 whatever the autocast dtype.

Example:
    >>> import torch, ganzoo
    >>> loss = ganzoo.create_loss("wasserstein")
    >>> real, fake = torch.tensor([2.0, 4.0]), torch.tensor([1.0, 1.0])
    >>> loss.critic_loss(real, fake)        # E[D(fake)] - E[D(real)]
    tensor(-2.)
    >>> loss.generator_loss(fake)           # -E[D(fake)]
    tensor(-1.)
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .errors import ConfigError
from .registry import LOSSES

__all__ = [
    "AdversarialLoss",
    "BCELoss",
    "MinimaxLoss",
    "WassersteinLoss",
    "HingeLoss",
    "LeastSquaresLoss",
]


class AdversarialLoss:
    """Base class of the loss strategies; subclasses implement the two methods.

    Attributes:
        estimates_wasserstein: True when ``-critic_loss`` estimates the Wasserstein-1
            distance (the Trainer then logs it as ``wasserstein``).
    """

    estimates_wasserstein: bool = False

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        """The critic's (discriminator's) loss, to be minimised."""
        raise NotImplementedError

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        """The generator's loss, to be minimised."""
        raise NotImplementedError

    def __repr__(self) -> str:
        config = getattr(self, "_ganzoo_config", None) or {"kwargs": {}}
        args = ", ".join(f"{k}={v!r}" for k, v in config["kwargs"].items())
        return f"{type(self).__name__}({args})"


def _bce_critic(real: Tensor, fake: Tensor, real_label: float) -> Tensor:
    # BCE(r, t) = t * softplus(-r) + (1 - t) * softplus(r); fake target is 0.
    real, fake = real.float(), fake.float()
    real_term = real_label * F.softplus(-real) + (1.0 - real_label) * F.softplus(real)
    return real_term.mean() + F.softplus(fake).mean()


def _check_label(real_label: float) -> float:
    if isinstance(real_label, bool) or not isinstance(real_label, (int, float)) or not 0.5 < real_label <= 1.0:
        raise ConfigError(
            f"real_label={real_label!r} is not valid; it must be in (0.5, 1.0]: 1.0 means no "
            "smoothing, 0.9 is the one-sided smoothing of Salimans et al. 2016"
        )
    return float(real_label)


@LOSSES.register("bce")
class BCELoss(AdversarialLoss):
    r"""Non-saturating GAN loss (Goodfellow et al. 2014, Sec. 3; used by DCGAN).

    .. math::

        L_D = -\mathbb{E}_x[t \log \sigma(D(x)) + (1 - t)\log(1 - \sigma(D(x)))]
              - \mathbb{E}_z[\log(1 - \sigma(D(G(z))))], \qquad
        L_G = -\mathbb{E}_z[\log \sigma(D(G(z)))]

    Args:
        real_label: Target ``t`` for real samples; values below 1 give one-sided label
            smoothing (Salimans et al. 2016, "Improved Techniques for Training GANs").
            The DCGAN recipe uses 0.9.
    """

    def __init__(self, real_label: float = 1.0) -> None:
        self.real_label = _check_label(real_label)

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return _bce_critic(real_scores, fake_scores, self.real_label)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return F.softplus(-fake_scores.float()).mean()


@LOSSES.register("minimax")
class MinimaxLoss(AdversarialLoss):
    r"""The original, saturating minimax GAN loss (Goodfellow et al. 2014, Eq. 1).

    .. math::

        L_D = -\mathbb{E}_x[\log \sigma(D(x))] - \mathbb{E}_z[\log(1 - \sigma(D(G(z))))], \qquad
        L_G = \mathbb{E}_z[\log(1 - \sigma(D(G(z))))]

    The generator's gradient vanishes when the critic confidently rejects fakes, which
    is why the paper itself recommends the non-saturating :class:`BCELoss` in practice.

    Args:
        real_label: Target for real samples, as in :class:`BCELoss`.
    """

    def __init__(self, real_label: float = 1.0) -> None:
        self.real_label = _check_label(real_label)

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return _bce_critic(real_scores, fake_scores, self.real_label)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return -F.softplus(fake_scores.float()).mean()  # log(1 - sigmoid(s)) = -softplus(s)


@LOSSES.register("wasserstein")
class WassersteinLoss(AdversarialLoss):
    r"""Wasserstein GAN loss (Arjovsky et al. 2017, "Wasserstein GAN").

    .. math::

        L_D = \mathbb{E}_z[D(G(z))] - \mathbb{E}_x[D(x)], \qquad L_G = -\mathbb{E}_z[D(G(z))]

    With a 1-Lipschitz critic (weight clipping, gradient penalty or spectral norm),
    :math:`-L_D` estimates the Wasserstein-1 distance between data and generator.
    """

    estimates_wasserstein = True

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return fake_scores.float().mean() - real_scores.float().mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.float().mean()


@LOSSES.register("hinge")
class HingeLoss(AdversarialLoss):
    r"""Hinge loss (Lim & Ye 2017; Miyato et al. 2018, "Spectral Normalization for GANs").

    .. math::

        L_D = \mathbb{E}_x[\max(0, 1 - D(x))] + \mathbb{E}_z[\max(0, 1 + D(G(z)))], \qquad
        L_G = -\mathbb{E}_z[D(G(z))]
    """

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return F.relu(1.0 - real_scores.float()).mean() + F.relu(1.0 + fake_scores.float()).mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.float().mean()


@LOSSES.register("least_squares")
class LeastSquaresLoss(AdversarialLoss):
    r"""Least-squares GAN loss (Mao et al. 2017, "Least Squares Generative Adversarial Networks").

    .. math::

        L_D = \tfrac12\mathbb{E}_x[(D(x) - b)^2] + \tfrac12\mathbb{E}_z[(D(G(z)) - a)^2], \qquad
        L_G = \tfrac12\mathbb{E}_z[(D(G(z)) - c)^2]

    Args:
        real_target: ``b``, the critic's target for real samples.
        fake_target: ``a``, the critic's target for generated samples.
        generator_target: ``c``, the value the generator wants the critic to give its
            samples. The defaults (b=1, a=0, c=1) are the paper's Eq. 9 choice.
    """

    def __init__(self, real_target: float = 1.0, fake_target: float = 0.0, generator_target: float = 1.0) -> None:
        if real_target == fake_target:
            raise ConfigError(
                f"real_target={real_target!r} equals fake_target={fake_target!r}; the critic "
                "needs two different targets (the paper uses 1 and 0)"
            )
        self.real_target, self.fake_target = float(real_target), float(fake_target)
        self.generator_target = float(generator_target)

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        real_term = (real_scores.float() - self.real_target).square().mean()
        fake_term = (fake_scores.float() - self.fake_target).square().mean()
        return 0.5 * (real_term + fake_term)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return 0.5 * (fake_scores.float() - self.generator_target).square().mean()

