"""Small argument checks that produce messages naming the argument, the value and the fix."""

from __future__ import annotations

from typing import Any, Iterable

from .errors import ConfigError

__all__ = ["check_choice", "check_positive", "check_non_negative", "check_int_at_least"]


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise :class:`ConfigError`."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(
            f"{name}={value!r} is not valid; choose one of {', '.join(repr(c) for c in choices)}"
        )
    return value


def check_positive(name: str, value: float) -> float:
    """Return ``value`` if it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
        raise ConfigError(f"{name}={value!r} is not valid; it must be a finite number > 0")
    return value


def check_non_negative(name: str, value: float) -> float:
    """Return ``value`` if it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise ConfigError(
            f"{name}={value!r} is not valid; it must be a finite number >= 0 "
            "(use 0 to switch the term off)"
        )
    return value


def check_int_at_least(name: str, value: Any, minimum: int) -> int:
    """Return ``value`` if it is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name}={value!r} is not valid; it must be an integer >= {minimum}")
    return value
