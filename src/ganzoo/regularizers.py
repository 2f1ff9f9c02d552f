r"""Lipschitz regularizers: the constraints that make a critic a Wasserstein critic.

A regularizer plugs into training at up to three points (TF-GAN's split):

* :meth:`Regularizer.wrap` - once, when the Trainer is built (spectral norm);
* :meth:`Regularizer.penalty` - a term added to the critic loss (gradient penalty, R1);
* :meth:`Regularizer.after_critic_step` - after each critic optimizer step (weight clipping).

Example:
    >>> import torch, ganzoo
    >>> critic = torch.nn.Linear(3, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0]]))   # ||w|| = 5
    >>> gp = ganzoo.create_regularizer("gradient_penalty", weight=10.0)
    >>> gp.penalty(critic, torch.randn(8, 3), torch.randn(8, 3))      # 10 * (5 - 1)^2
    tensor(160., grad_fn=<MulBackward0>)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from ._input_gradient import critic_input_gradient
from ._validation import check_int_at_least, check_non_negative, check_positive
from .amp import AmpPolicy
from .errors import ConfigError
from .registry import REGULARIZERS

__all__ = [
    "Regularizer",
    "WeightClipping",
    "GradientPenalty",
    "SpectralNorm",
    "R1Penalty",
    "has_penalty",
]


class Regularizer:
    """Base class: every hook does nothing until a subclass overrides it.

    Attributes:
        weight: Multiplier already applied inside :meth:`penalty` (0 for regularizers
            without a penalty).
        per_sample: True when the penalty assumes the critic scores each sample on its
            own (batch norm in the critic breaks that).
        every: Lazy regularization interval: the Trainer adds the penalty on one critic
            update in ``every``, multiplied by ``every`` (1 = every update).
    """

    weight: float = 0.0
    per_sample: bool = False
    every: int = 1

    def wrap(self, critic: nn.Module) -> nn.Module:
        """Transform the critic once, before training. Returns the critic to train."""
        return critic

    def penalty(
        self,
        critic: nn.Module,
        real: Tensor,
        fake: Tensor,
        amp: AmpPolicy | str | None = None,
        condition: Tensor | None = None,
    ) -> Tensor | None:
        """A scalar added to the critic loss, already multiplied by :attr:`weight`.

        ``condition``: the labels of a class-conditional game (one per row of ``real``, which
        ``fake`` shares), passed to the critic as ``critic(x, condition)``; None for an
        unconditional critic, called as ``critic(x)``.
        """
        return None

    def after_critic_step(self, critic: nn.Module) -> None:
        """Called after each critic optimizer step."""

    def __repr__(self) -> str:
        config = getattr(self, "_ganzoo_config", None) or {"kwargs": {}}
        args = ", ".join(f"{k}={v!r}" for k, v in config["kwargs"].items())
        return f"{type(self).__name__}({args})"


def has_penalty(regularizer: Regularizer) -> bool:
    """True when ``regularizer`` overrides :meth:`Regularizer.penalty`."""
    return type(regularizer).penalty is not Regularizer.penalty


@REGULARIZERS.register("weight_clipping")
class WeightClipping(Regularizer):
    r"""Clamp every critic parameter to :math:`[-c, c]` after each critic step
    (Arjovsky et al. 2017, "Wasserstein GAN", Algorithm 1).

    .. math:: w \leftarrow \operatorname{clip}(w, -c, c)

    Args:
        clip: The bound ``c``; the paper uses 0.01.
    """

    def __init__(self, clip: float = 0.01) -> None:
        self.clip = float(check_positive("clip", clip))

    @torch.no_grad()
    def after_critic_step(self, critic: nn.Module) -> None:
        for param in critic.parameters():
            param.clamp_(-self.clip, self.clip)


def _interpolate(real: Tensor, fake: Tensor) -> Tensor:
    if real.shape != fake.shape:
        raise ConfigError(
            f"real and fake batches must have the same shape for the gradient penalty, got "
            f"{tuple(real.shape)} and {tuple(fake.shape)}"
        )
    alpha_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(alpha_shape, device=real.device, dtype=real.dtype)
    return torch.lerp(fake.detach(), real.detach(), alpha).requires_grad_(True)


def _condition(condition: Tensor | None, real: Tensor) -> Tensor | None:
    if condition is not None and (not isinstance(condition, Tensor) or condition.shape[:1] != real.shape[:1]):
        shape = tuple(condition.shape) if isinstance(condition, Tensor) else type(condition).__name__
        raise ConfigError(
            f"condition={shape} does not fit the batch of {real.shape[0]} samples; pass one label "
            "per sample (the real batch's labels, which the fake batch was generated with)"
        )
    return condition


def _per_sample_norm(grad: Tensor, eps: float) -> Tensor:
    return (grad.flatten(1).square().sum(dim=1) + eps).sqrt()


@REGULARIZERS.register("gradient_penalty")
class GradientPenalty(Regularizer):
    r"""Gradient penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", Alg. 1).

    For each sample one :math:`\alpha \sim U[0, 1]` and
    :math:`\hat x = \alpha x_{real} + (1 - \alpha) x_{fake}`:

    .. math::

        \lambda\, \mathbb{E}_{\hat x}\big[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - t)^2\big]
        \quad\text{or, one-sided,}\quad
        \lambda\, \mathbb{E}_{\hat x}\big[\max(0, \lVert\nabla_{\hat x} D(\hat x)\rVert_2 - t)^2\big]

    with the norm over all non-batch dimensions, computed as
    :math:`\sqrt{\sum g^2 + \epsilon}` so a zero gradient has a finite derivative.

    Class-conditional critics (``penalty(..., condition=labels)``): each interpolate keeps the
    label that its real and fake sample share, and the gradient is
    :math:`\nabla_{\hat x} D(\hat x, y)` at that fixed label.

    Args:
        weight: :math:`\lambda` (10 in the paper; 0.1 in its 2-D toy experiments).
        target: :math:`t`, the gradient norm the penalty pulls towards (1 for 1-Lipschitz).
        one_sided: Penalise only norms above the target (the paper's Sec. 4 variant).
        eps: Added under the square root.
        every: Lazy regularization (Karras et al. 2020, "Analyzing and Improving the Image
            Quality of StyleGAN", Sec. 3.1): the Trainer adds ``every *`` the penalty on one
            critic update in ``every`` and skips it on the others. 1 (default) is the paper's
            algorithm; larger values trade exactness for speed.
    """

    per_sample = True

    def __init__(
        self, weight: float = 10.0, target: float = 1.0, one_sided: bool = False, eps: float = 1e-12, every: int = 1
    ) -> None:
        self.weight = float(check_non_negative("weight", weight))
        self.target = float(check_non_negative("target", target))
        self.one_sided = bool(one_sided)
        self.eps = float(check_non_negative("eps", eps))
        self.every = check_int_at_least("every", every, 1)

    def penalty(
        self,
        critic: nn.Module,
        real: Tensor,
        fake: Tensor,
        amp: AmpPolicy | str | None = None,
        condition: Tensor | None = None,
    ) -> Tensor:
        x_hat = _interpolate(real, fake)
        grad = critic_input_gradient(critic, x_hat, amp, condition=_condition(condition, real))
        gap = _per_sample_norm(grad, self.eps) - self.target
        if self.one_sided:
            gap = gap.clamp(min=0)
        return self.weight * gap.square().mean()


@REGULARIZERS.register("r1")
class R1Penalty(Regularizer):
    r"""R1 penalty on real data (Mescheder et al. 2018, "Which Training Methods for GANs do
    actually Converge?").

    .. math:: \frac{\gamma}{2}\, \mathbb{E}_{x \sim p_{data}}\big[\lVert\nabla_x D(x)\rVert_2^2\big]

    With ``condition=labels`` the gradient is :math:`\nabla_x D(x, y)` at the real sample's label.

    Args:
        weight: :math:`\gamma` (10 in the paper; the penalty applies :math:`\gamma / 2`).
        every: Lazy regularization interval (see :class:`GradientPenalty`); StyleGAN2 uses 16.
    """

    per_sample = True

    def __init__(self, weight: float = 10.0, every: int = 1) -> None:
        self.weight = float(check_non_negative("weight", weight))
        self.every = check_int_at_least("every", every, 1)

    def penalty(
        self,
        critic: nn.Module,
        real: Tensor,
        fake: Tensor,
        amp: AmpPolicy | str | None = None,
        condition: Tensor | None = None,
    ) -> Tensor:
        x = real.detach().requires_grad_(True)
        grad = critic_input_gradient(critic, x, amp, condition=_condition(condition, real))
        return 0.5 * self.weight * grad.flatten(1).square().sum(dim=1).mean()


_SPECTRAL_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
                    nn.Embedding)


@REGULARIZERS.register("spectral_norm")
class SpectralNorm(Regularizer):
    r"""Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for GANs").

    Wraps the weight of every Linear, Conv and Embedding layer of the critic (the embedding:
    a projection discriminator's class embedding, normalised as in Miyato & Koyama 2018) with
    :func:`torch.nn.utils.parametrizations.spectral_norm`, so each layer computes with

    .. math:: \bar W = W / \sigma(W), \qquad \sigma(W) = \max_{\lVert h\rVert_2 \le 1} \lVert W h\rVert_2

    where :math:`\sigma` is estimated by power iteration, one step per training forward.

    Args:
        n_power_iterations: Power-iteration steps per forward pass.
        eps: Numerical floor of the normalisation.
    """

    def __init__(self, n_power_iterations: int = 1, eps: float = 1e-12) -> None:
        self.n_power_iterations = check_int_at_least("n_power_iterations", n_power_iterations, 1)
        self.eps = float(check_positive("eps", eps))

    def wrap(self, critic: nn.Module) -> nn.Module:
        for module in critic.modules():
            if isinstance(module, _SPECTRAL_LAYERS) and not parametrize.is_parametrized(module, "weight"):
                nn.utils.parametrizations.spectral_norm(
                    module, n_power_iterations=self.n_power_iterations, eps=self.eps
                )
        return critic
