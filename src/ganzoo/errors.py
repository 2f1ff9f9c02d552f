"""Exceptions raised by ganzoo.

Every error ganzoo raises on purpose derives from :class:`GanzooError`; the specific
subclasses also derive from the matching builtin, so ``except KeyError`` or
``except ValueError`` keeps working in user code.
"""

from __future__ import annotations

__all__ = [
    "GanzooError",
    "ConfigError",
    "UnknownNameError",
    "DuplicateNameError",
    "CheckpointError",
    "DivergenceError",
]


class GanzooError(Exception):
    """Base class of every error raised by ganzoo."""


class ConfigError(GanzooError, ValueError):
    """An argument has a value ganzoo cannot use; the message says how to fix it."""


class UnknownNameError(GanzooError, KeyError):
    """A registry lookup used a name that is not registered.

    ``KeyError`` quotes its message when printed; this class prints it as written.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(GanzooError, ValueError):
    """A component was registered under a name that is already taken."""


class CheckpointError(GanzooError, RuntimeError):
    """A checkpoint file is missing, truncated, corrupt, unsafe or from an incompatible version."""


class DivergenceError(GanzooError, FloatingPointError):
    """Training produced a NaN or inf in a loss, a penalty or a gradient.

    Attributes:
        step: The generator step of the first non-finite value (None when unknown, e.g.
            non-finite parameters found before a checkpoint).
        terms: The non-finite terms at that step (``"critic_loss"``,
            ``"penalty/gradient_penalty"``, ``"generator_grad_norm"`` ...).
    """

    def __init__(self, message: str, step: int | None = None, terms: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.step = step
        self.terms = tuple(terms)

    def __reduce__(self) -> tuple[type, tuple[str, int | None, tuple[str, ...]]]:
        return (type(self), (str(self), self.step, self.terms))
