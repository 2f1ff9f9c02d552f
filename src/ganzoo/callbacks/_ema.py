r"""An exponential moving average (EMA) of the generator's weights, as a callback.

After every generator step the averaged copy moves towards the trained weights,

.. math::
    \bar\theta_t = \beta_t \bar\theta_{t-1} + (1 - \beta_t)\,\theta_t,
    \qquad \beta_t = \min\!\left(\beta, \frac{1 + t}{10 + t}\right)

(the warm-up term, as in TensorFlow's ``ExponentialMovingAverage``, keeps the early
average from remembering the random initial weights). Buffers (batch-norm running
statistics) are copied, not averaged. Sampling from the average instead of the last
weights damps the oscillation of GAN training and usually gives cleaner samples.

References:
    Y. Yazici, C.-S. Foo, S. Winkler, K.-H. Yap, G. Piliouras, V. Chandrasekhar. *The
    Unusual Effectiveness of Averaging in GAN Training.* ICLR 2019 (the analysis).

    T. Karras, T. Aila, S. Laine, J. Lehtinen. *Progressive Growing of GANs for Improved
    Quality, Stability, and Variation.* ICLR 2018 (ProGAN, which samples from a moving
    average of the generator with beta = 0.999; so does StyleGAN).

Example:
    >>> import torch, ganzoo
    >>> from ganzoo.callbacks import EMA
    >>> G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
    >>> D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
    >>> ema = EMA(decay=0.99)
    >>> trainer = ganzoo.Trainer(G, D, loss="bce", seed=0, device="cpu", callbacks=[ema], progress=False)
    >>> _ = trainer.fit(torch.utils.data.DataLoader(torch.randn(256, 2), batch_size=64), steps=5)
    >>> ema.updates, ema.sample(3).shape
    (5, torch.Size([3, 2]))
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Mapping

import torch
from torch import Tensor, nn

from .._validation import check_int_at_least
from ..errors import ConfigError
from ._base import Callback

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["EMA"]


class EMA(Callback):
    """Keep an exponential moving average of a trainer's generator and sample from it.

    Args:
        decay: The averaging factor ``beta`` in [0, 1): 0.999 averages over roughly the
            last 1,000 generator steps.
        start_step: Until the trainer reaches this generator step the average simply
            copies the weights (averaging the chaotic first steps rarely helps).
        every: Update every this many generator steps (the decay is applied once per
            update, so ``every=10`` with 0.99 averages over about 1,000 steps too).
        warmup: Use ``min(decay, (1 + t) / (10 + t))`` for update ``t`` (see above).

    Attributes:
        generator: The averaged copy (eval mode, no gradients); None before the first
            :meth:`~ganzoo.Trainer.fit`.
        updates: Averaging updates done so far.
    """

    def __init__(self, decay: float = 0.999, *, start_step: int = 0, every: int = 1, warmup: bool = True) -> None:
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0.0 <= decay < 1.0:
            raise ConfigError(f"decay={decay!r} is not valid; it must be in [0, 1) (0.999 is typical)")
        self.decay = float(decay)
        self.start_step = check_int_at_least("start_step", start_step, 0)
        self.every = check_int_at_least("every", every, 1)
        self.warmup = bool(warmup)
        self.generator: nn.Module | None = None
        self.updates = 0
        self._latent_dim: int | None = None
        self._device = torch.device("cpu")

    state_key = "ema"  # the Trainer keeps this average in its checkpoints

    # ------------------------------------------------------------------ callback hooks
    def checkpoint_state(self) -> dict[str, Any] | None:
        return None if self.generator is None else self.state_dict()

    def restore_state(self, trainer: Trainer, state: Mapping[str, Any]) -> None:
        # the checkpoint's average replaces whatever this one held, in a fresh copy of the generator
        averaged = copy.deepcopy(trainer.generator).eval().requires_grad_(False)
        self.generator = averaged
        self.load_state_dict(state)
        averaged.to(trainer.device)
        self._device = trainer.device

    def on_fit_start(self, trainer: Trainer) -> None:
        self._latent_dim, self._device = trainer.latent_dim, trainer.device
        if self.generator is None:
            self.generator = copy.deepcopy(trainer.generator).eval().requires_grad_(False)
        else:
            self.generator.to(trainer.device)

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step % self.every == 0:
            self.update(trainer.generator, trainer.step)

    # ------------------------------------------------------------------ averaging
    def current_decay(self) -> float:
        """The factor the next update will use."""
        if self.warmup:
            return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        return self.decay

    @torch.no_grad()
    def update(self, model: nn.Module, step: int | None = None) -> None:
        """Move the average towards ``model``'s weights (called by the trainer; public for
        custom loops). Before ``start_step`` the weights are copied."""
        if self.generator is None:
            self.generator = copy.deepcopy(model).eval().requires_grad_(False)
        averaged = list(self.generator.parameters())
        current = [p.detach() for p in model.parameters()]
        if len(averaged) != len(current):
            raise ConfigError("the EMA copy and the generator have different parameters; build a new EMA")
        if step is not None and step < self.start_step:
            for mine, theirs in zip(averaged, current):
                mine.copy_(theirs)
        else:
            torch._foreach_lerp_([p.data for p in averaged], current, 1.0 - self.current_decay())
            self.updates += 1
        for buffer, source in zip(self.generator.buffers(), model.buffers()):
            buffer.copy_(source)

    @torch.no_grad()
    def sample(self, n: int, z: Tensor | None = None, batch_size: int = 1024) -> Tensor:
        """``n`` samples from the averaged generator (float32, on the trainer's device).

        Args:
            n: Number of samples.
            z: Optional noise ``(n, latent_dim)``; drawn fresh when None.
            batch_size: Generate in chunks of this size.
        """
        if self.generator is None or self._latent_dim is None:
            raise ConfigError("the EMA has no generator yet: pass it to Trainer(callbacks=[ema]) and call fit() first")
        check_int_at_least("n", n, 1)
        if z is None:
            z = torch.randn(n, self._latent_dim, device=self._device)
        elif z.shape[0] != n:
            raise ConfigError(f"z has {z.shape[0]} rows but n={n}")
        return torch.cat([self.generator(c.to(self._device)).float() for c in z.split(batch_size)])

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The averaged weights and counters (save it beside the trainer's checkpoint)."""
        if self.generator is None:
            raise ConfigError("the EMA has no generator yet; call fit() first")
        return {"generator": self.generator.state_dict(), "updates": self.updates, "decay": self.decay,
                "latent_dim": self._latent_dim, "start_step": self.start_step, "every": self.every,
                "warmup": self.warmup}

    def load_state_dict(self, state: Mapping[str, Any], generator: nn.Module | None = None) -> None:
        """Restore :meth:`state_dict` (weights, update count, decay, schedule and latent
        size, so the restored EMA samples at once and continues the same average);
        ``generator`` (same architecture) is needed when this EMA has not been used yet."""
        if self.generator is None:
            if generator is None:
                raise ConfigError("pass generator= (same architecture) to load an EMA that was never fitted")
            self.generator = copy.deepcopy(generator).eval().requires_grad_(False)
        self.generator.load_state_dict(state["generator"])
        self.updates = int(state["updates"])
        if "decay" in state:
            self.decay = float(state["decay"])
        for key in ("start_step", "every"):
            if key in state:
                setattr(self, key, int(state[key]))
        if "warmup" in state:
            self.warmup = bool(state["warmup"])
        latent = state.get("latent_dim")
        if latent is None:  # older states: the generator may know it
            latent = getattr(self.generator, "latent_dim", self._latent_dim)
        self._latent_dim = None if latent is None else int(latent)
        self._device = next(self.generator.parameters(), torch.empty(0)).device

    def __repr__(self) -> str:
        return f"EMA(decay={self.decay}, start_step={self.start_step}, every={self.every}, updates={self.updates})"
