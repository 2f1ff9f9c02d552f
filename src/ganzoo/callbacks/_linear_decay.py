r"""Learning-rate schedules as callbacks, counted in generator steps.

:class:`LinearDecay` scales the learning rate of the generator's and the critic's
optimizers by

.. math::
    f(t) = \begin{cases} 1 & t \le t_0 \\
    1 - (1 - f_{end}) \frac{t - t_0}{t_1 - t_0} & t_0 < t < t_1 \\
    f_{end} & t \ge t_1 \end{cases}

after generator step ``t`` (the linear decay to zero of the improved WGAN-GP code,
Gulrajani et al. 2017, and of BigGAN-style fine-tuning). Annealing the step size damps the
oscillation of the two players at the end of training, so samples settle closer to the
modes. Each parameter group's starting rate is kept as ``initial_lr`` in the optimizer
state, so a resumed run continues the same schedule.

Example:
    >>> import torch, ganzoo
    >>> from ganzoo.callbacks import LinearDecay
    >>> G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
    >>> D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    >>> trainer = ganzoo.Trainer(G, D, loss="bce", seed=0, device="cpu", progress=False,
    ...                          callbacks=[LinearDecay(start=2, end=6)])
    >>> _ = trainer.fit(torch.utils.data.DataLoader(torch.randn(256, 2), batch_size=32), steps=4)
    >>> trainer.generator_optimizer.param_groups[0]["lr"]    # 2e-4 * (1 - 2/4)
    0.0001
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .._validation import check_choice, check_int_at_least
from ..errors import ConfigError
from ._base import Callback

if TYPE_CHECKING:
    import torch

    from ..trainer import Trainer

__all__ = ["LinearDecay"]

_WHICH = ("generator", "critic")


class LinearDecay(Callback):
    """Decay the learning rates linearly between two generator steps (see the module docstring).

    Args:
        start: Generator step after which the decay begins (0: from the first step).
        end: Generator step at which the factor reaches ``final``; usually the total steps.
        final: Factor at and after ``end`` (0 decays to zero).
        which: Optimizers to schedule: ``("generator", "critic")`` by default.
    """

    def __init__(self, start: int, end: int, final: float = 0.0, which: Iterable[str] = _WHICH) -> None:
        self.start = check_int_at_least("start", start, 0)
        self.end = check_int_at_least("end", end, start + 1)
        if isinstance(final, bool) or not isinstance(final, (int, float)) or not 0.0 <= final <= 1.0:
            raise ConfigError(f"final={final!r} is not valid; give the last factor in [0, 1] (0 decays to zero)")
        self.final = float(final)
        self.which = tuple(check_choice("which", w, _WHICH) for w in which)
        if not self.which:
            raise ConfigError("which=() schedules nothing; name 'generator' and/or 'critic'")

    def factor(self, step: int) -> float:
        """The learning-rate factor after ``step`` generator steps."""
        if step <= self.start:
            return 1.0
        if step >= self.end:
            return self.final
        return 1.0 - (1.0 - self.final) * (step - self.start) / (self.end - self.start)

    def _optimizers(self, trainer: Trainer) -> list[torch.optim.Optimizer]:
        return [getattr(trainer, f"{name}_optimizer") for name in self.which]

    def on_fit_start(self, trainer: Trainer) -> None:
        for optimizer in self._optimizers(trainer):
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self._apply(trainer)

    def on_step_end(self, trainer: Trainer) -> None:
        self._apply(trainer)

    def _apply(self, trainer: Trainer) -> None:
        factor = self.factor(trainer.step)
        for optimizer in self._optimizers(trainer):
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor

    def __repr__(self) -> str:
        return f"LinearDecay(start={self.start}, end={self.end}, final={self.final}, which={self.which})"
