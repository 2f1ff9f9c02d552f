"""Divergence guard: stop, or roll back, when training stops producing finite numbers.

The Trainer logs every generator step's losses, penalties and gradient norms as
device tensors and copies them to the host every ``log_every`` steps (no per-step
host sync). The guard looks at those host copies: a NaN or inf in

* the critic loss, the generator loss, any penalty, or
* the critic's or the generator's gradient norm (a non-finite gradient anywhere makes
  the norm non-finite)

is divergence. It is reported at the first step where it happened, naming every
non-finite term of that step in the order the step computes them (critic loss,
penalties, critic gradient, generator loss, generator gradient): the first is the
likely cause, the rest followed from it. Checks run at fixed points - every ``log_every``
generator steps, at the end of ``fit`` and before every checkpoint is written - so a
diverged state is never saved, and under multi-process training every process takes
the same decision at the same step.

fp16 overflow is not divergence: when the gradient scaler skipped an update, the
non-finite values of that network in that step are the scaler doing its job. Those
skips are counted in the history (``critic_skipped``, ``generator_skipped``) and in
:attr:`DivergenceGuard.skipped`. Skips that never stop are divergence: after
``max_skip_streak`` generator steps in a row with a skipped update the guard stops.

Actions:

* ``"raise"`` (default): raise :class:`~ganzoo.DivergenceError`.
* ``"rollback"``: reload the last checkpoint the trainer wrote (or was loaded from),
  multiply every learning rate by ``lr_factor`` and carry on; give up with
  :class:`~ganzoo.DivergenceError` after ``max_rollbacks`` rollbacks or when there is
  no checkpoint to go back to.

Example:
    >>> import ganzoo
    >>> guard = ganzoo.DivergenceGuard("rollback", lr_factor=0.5)
    >>> guard.observe({"step": 3, "critic_loss": 0.1, "generator_loss": float("nan")})
    >>> guard.error().terms
    ('generator_loss',)
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterable, Mapping

import torch
from torch import nn

from ._validation import check_choice, check_int_at_least, check_positive
from .errors import ConfigError, DivergenceError

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["DivergenceGuard", "RollbackEvent", "DIVERGENCE_ACTIONS", "as_guard"]

#: The accepted ``action`` values of :class:`DivergenceGuard` (and ``Trainer(divergence=...)``).
DIVERGENCE_ACTIONS = ("raise", "rollback")
_IGNORED = {"step", "wasserstein", "critic_skipped", "generator_skipped"}  # wasserstein = -critic_loss, NaN by design for other losses
_GENERATOR_TERMS = {"generator_loss", "generator_grad_norm"}
_DESCRIPTIONS = {"critic_grad_norm": "the critic's gradient", "generator_grad_norm": "the generator's gradient"}


@dataclass(frozen=True)
class RollbackEvent:
    """One rollback: where training diverged, where it went back to, the new learning-rate scale.

    Attributes:
        diverged_at: Generator step of the first non-finite value.
        terms: The non-finite terms at that step.
        restored_step: Generator step of the checkpoint training went back to.
        checkpoint: That checkpoint's path.
        lr_factor: Factor every learning rate was multiplied by.
    """

    diverged_at: int
    terms: tuple[str, ...]
    restored_step: int
    checkpoint: str
    lr_factor: float


def _path_order(term: str) -> int:
    """Where a term is computed in a step; the earliest non-finite one is the likely cause."""
    if term.startswith("penalty/"):
        return 1
    return {"critic_loss": 0, "critic_grad_norm": 2, "generator_loss": 3, "generator_grad_norm": 4}.get(term, 5)


def _describe(term: str) -> str:
    return _DESCRIPTIONS.get(term, term)


def _error(message: str, step: int | None = None, terms: Iterable[str] = ()) -> DivergenceError:
    return DivergenceError(message, step, tuple(terms))


class DivergenceGuard:
    """Detects NaN/inf in losses, penalties and gradients; raises or rolls back.

    Args:
        action: ``"raise"`` or ``"rollback"`` (see the module docs).
        lr_factor: Learning-rate multiplier applied at each rollback (0 < f < 1).
        max_rollbacks: Rollbacks allowed in one run before giving up.
        max_skip_streak: Generator steps in a row with an fp16-skipped update after
            which the skipping counts as divergence.

    Attributes:
        rollbacks: One :class:`RollbackEvent` per rollback done so far.
        skipped: Updates the fp16 gradient scaler skipped, ``{"critic": n, "generator": m}``.
    """

    def __init__(
        self,
        action: str = "raise",
        *,
        lr_factor: float = 0.5,
        max_rollbacks: int = 3,
        max_skip_streak: int = 20,
    ) -> None:
        self.action = check_choice("divergence action", action, DIVERGENCE_ACTIONS)
        check_positive("lr_factor", lr_factor)
        if not lr_factor < 1:
            raise ConfigError(f"lr_factor={lr_factor!r} is not valid; a rollback lowers the learning rate, so use 0 < lr_factor < 1")
        self.lr_factor = float(lr_factor)
        self.max_rollbacks = check_int_at_least("max_rollbacks", max_rollbacks, 0)
        self.max_skip_streak = check_int_at_least("max_skip_streak", max_skip_streak, 1)
        self.rollbacks: list[RollbackEvent] = []
        self.skipped = {"critic": 0, "generator": 0}
        self._skip_streak = 0
        self._first_bad: tuple[int, tuple[str, ...], str] | None = None

    # ------------------------------------------------------------------ observing
    def observe(self, record: Mapping[str, float], absent: Collection[str] = ()) -> None:
        """Look at one generator step's logged values (host floats, ``penalty/<name>`` keys).

        ``absent`` names the terms that were not computed in this step (logged as NaN by
        design: a lazy penalty between its evaluations, gradient norms when switched off)."""
        skips = {term[: -len("_skipped")]: int(value) for term, value in record.items() if term.endswith("_skipped")}
        for phase, count in skips.items():
            self.skipped[phase] = self.skipped.get(phase, 0) + count
        generator_skipped = skips.get("generator", 0)
        if self._first_bad is not None:
            return
        step = int(record.get("step", -1))
        bad = []
        for term, value in record.items():
            if term in _IGNORED or term.endswith("_skipped") or term in absent or math.isfinite(value):
                continue
            owner = next((p for p in skips if term.startswith(f"{p}_")), None)
            # a term of a known phase goes with that phase's skips; any other with any skip of the step
            skipped = skips[owner] if owner is not None else (
                generator_skipped if term in _GENERATOR_TERMS else sum(skips.values()))
            if not skipped:
                bad.append(term)
        if bad:
            bad.sort(key=_path_order)
            values = ", ".join(f"{_describe(t)} = {record[t]}" for t in bad)
            self._first_bad = (step, tuple(bad), f"training diverged at generator step {step}: {values}")
            return
        self._skip_streak = self._skip_streak + 1 if any(skips.values()) else 0
        if self._skip_streak >= self.max_skip_streak:
            self._first_bad = (
                step,
                ("fp16_loss_scale",),
                f"training diverged by generator step {step}: the fp16 gradient scaler skipped updates "
                f"in {self._skip_streak} generator steps in a row, so the gradients stay non-finite at "
                "every loss scale (occasional skips are normal; this is not)",
            )

    def error(self) -> DivergenceError | None:
        """The error describing the first divergence seen since the last reset, if any."""
        if self._first_bad is None:
            return None
        step, terms, message = self._first_bad
        return _error(message + self._advice(), step, terms)

    def _advice(self) -> str:
        if self.action == "rollback":
            return ""
        return (
            ". No checkpoint was written after the divergence. Lower the learning rate, check the "
            "data for NaN/inf, or pass Trainer(divergence='rollback') to go back to the last "
            "checkpoint and lower the learning rate automatically"
        )

    @property
    def diverged(self) -> bool:
        """True once a divergence was seen (until the trainer's state is replaced by a load)."""
        return self._first_bad is not None

    def check(self, agree: Any = None) -> None:
        """Raise :class:`~ganzoo.DivergenceError` if a divergence was seen.

        Args:
            agree: Under multi-process training, a function mapping this process's
                first bad step (or None) to the earliest over all processes (or None),
                so every process raises at the same check.
        """
        local = self._first_bad[0] if self._first_bad is not None else None
        first = agree(local) if agree is not None else local
        if first is None:
            return
        if self._first_bad is None or local != first:
            raise _error(f"training diverged at generator step {first} in another process (see its error)", first)
        raise self.error()  # type: ignore[misc]

    @staticmethod
    def check_parameters(modules: Mapping[str, nn.Module]) -> None:
        """Raise :class:`~ganzoo.DivergenceError` if a parameter holds NaN or inf (one host sync)."""
        for name, module in modules.items():
            params = [p.detach() for p in module.parameters()]
            if params and not bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
                raise _error(
                    f"the {name}'s parameters hold NaN or inf; refusing to write them as a checkpoint",
                    None,
                    (f"{name}_parameters",),
                )

    # ------------------------------------------------------------------ recovering
    def allow_rollback(self, trainer: Trainer, error: DivergenceError) -> Path:
        """Re-raise ``error`` unless a rollback is allowed: ``action="rollback"``, rollbacks
        left, and a checkpoint to go back to (``trainer.last_checkpoint``, returned). The
        Trainer then does the rollback and reports it with :meth:`record_rollback`."""
        if self.action != "rollback":
            raise error
        if len(self.rollbacks) >= self.max_rollbacks:
            raise _error(
                f"{error} - giving up after {len(self.rollbacks)} rollback(s) (max_rollbacks={self.max_rollbacks})",
                error.step, error.terms,
            ) from error
        if trainer.last_checkpoint is None:
            raise _error(
                f"{error} - and there is no checkpoint to roll back to: save checkpoints during "
                "training (trainer.save or a checkpoint callback) to use divergence='rollback'",
                error.step, error.terms,
            ) from error
        return trainer.last_checkpoint

    def record_rollback(
        self, trainer: Trainer, error: DivergenceError, path: str | os.PathLike[str], before: list[RollbackEvent]
    ) -> None:
        """Note a rollback the Trainer did and warn about it. Loading ``path`` replaced this
        guard's state with the checkpoint's; ``before`` is the list of rollbacks done
        before it, which the new one joins."""
        done = list(before)
        event = RollbackEvent(
            diverged_at=error.step if error.step is not None else -1,
            terms=tuple(error.terms),
            restored_step=trainer.step,
            checkpoint=os.fspath(path),
            lr_factor=self.lr_factor,
        )
        self.rollbacks = done + [event]
        warnings.warn(
            f"{error}; rolled back to {Path(path).name} (step {trainer.step}) and multiplied the "
            f"learning rates by {self.lr_factor} (rollback {len(self.rollbacks)} of at most {self.max_rollbacks})",
            RuntimeWarning,
            stacklevel=5,
        )

    def rollback(self, trainer: Trainer, error: DivergenceError) -> None:
        """Deprecated: the Trainer rolls back itself (the guard only detects)."""
        warnings.warn("DivergenceGuard.rollback(trainer, error) is deprecated; the Trainer rolls back on its own",
                      DeprecationWarning, stacklevel=2)
        trainer._roll_back(error)

    # ------------------------------------------------------------------ state
    def config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON."""
        return {
            "action": self.action,
            "lr_factor": self.lr_factor,
            "max_rollbacks": self.max_rollbacks,
            "max_skip_streak": self.max_skip_streak,
        }

    def state_dict(self) -> dict[str, Any]:
        """Counters worth keeping in a checkpoint (plain values)."""
        return {
            "skipped": dict(self.skipped),
            "skip_streak": self._skip_streak,
            "rollbacks": [list(e.__dict__.values()) for e in self.rollbacks],
        }

    def load_state_dict(self, state: Mapping[str, Any] | None) -> None:
        """Restore :meth:`state_dict`'s counters and forget any divergence seen (the state it
        belonged to has just been replaced)."""
        self._first_bad = None
        state = state or {}
        self.skipped = {"critic": 0, "generator": 0, **state.get("skipped", {})}
        self._skip_streak = int(state.get("skip_streak", 0))
        self.rollbacks = [
            RollbackEvent(int(a), tuple(b), int(c), str(d), float(e)) for a, b, c, d, e in state.get("rollbacks", [])
        ]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"DivergenceGuard({args})"


def as_guard(value: DivergenceGuard | str | Mapping[str, Any]) -> DivergenceGuard:
    """Accept a guard, an action name or a :meth:`DivergenceGuard.config` dict."""
    if isinstance(value, DivergenceGuard):
        return value
    if isinstance(value, str):
        return DivergenceGuard(value)
    if isinstance(value, Mapping):
        return DivergenceGuard(**value)
    raise ConfigError(
        f"divergence={value!r} is not valid; pass 'raise', 'rollback' or "
        "ganzoo.DivergenceGuard('rollback', lr_factor=0.5, max_rollbacks=3)"
    )
