"""ganzoo: pluggable GAN training for PyTorch.

Pick parts by name (or register your own), hand them to a :class:`Trainer`, train::

    import ganzoo
    trainer = ganzoo.recipes.wgan_gp(image_size=64, channels=3)
    history = trainer.fit(loader, steps=1000)
    images = trainer.sample(64)
"""

from __future__ import annotations

from typing import Any, Callable

from . import callbacks, data, games, metrics, models, plotting, recipes
from ._version import __version__
from .amp import AmpPolicy
from .callbacks import Callback
from .errors import (
    CheckpointError,
    ConfigError,
    DivergenceError,
    DuplicateNameError,
    GanzooError,
    UnknownNameError,
)
from .guard import DivergenceGuard
from .history import History, StepRecord
from .losses import AdversarialLoss
from .registry import CRITICS, GENERATORS, LOSSES, REGULARIZERS, Registry, from_config, get_config
from .regularizers import Regularizer
from .trainer import Trainer

__all__ = [
    "__version__",
    # registries
    "Registry",
    "list_generators",
    "list_critics",
    "list_losses",
    "list_regularizers",
    "list_games",
    "create_generator",
    "create_critic",
    "create_loss",
    "create_regularizer",
    "register_generator",
    "register_critic",
    "register_loss",
    "register_regularizer",
    "get_config",
    "from_config",
    # training
    "Trainer",
    "AmpPolicy",
    "AdversarialLoss",
    "Regularizer",
    "Callback",
    "History",
    "StepRecord",
    "DivergenceGuard",
    # errors
    "GanzooError",
    "ConfigError",
    "UnknownNameError",
    "DuplicateNameError",
    "CheckpointError",
    "DivergenceError",
    # subpackages
    "recipes",
    "games",
    "models",
    "data",
    "metrics",
    "callbacks",
    "plotting",
]


def list_generators(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered generators, optionally fnmatch-filtered (``"dcgan*"``)."""
    return GENERATORS.list(pattern)


def list_critics(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered critics, optionally fnmatch-filtered."""
    return CRITICS.list(pattern)


def list_losses(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered loss strategies, optionally fnmatch-filtered."""
    return LOSSES.list(pattern)


def list_regularizers(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered regularizers, optionally fnmatch-filtered."""
    return REGULARIZERS.list(pattern)


def list_games(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered games (``["unconditional", ...]``), optionally fnmatch-filtered."""
    from .games import GAMES

    return GAMES.list(pattern)


def create_generator(name: str, /, **kwargs: Any) -> Any:
    """Build the generator registered as ``name``, e.g. ``create_generator("dcgan", latent_dim=100)``."""
    return GENERATORS.create(name, **kwargs)


def create_critic(name: str, /, **kwargs: Any) -> Any:
    """Build the critic registered as ``name``, e.g. ``create_critic("dcgan", norm="none")``."""
    return CRITICS.create(name, **kwargs)


def create_loss(name: str, /, **kwargs: Any) -> Any:
    """Build the loss strategy registered as ``name`` (``"bce"``, ``"wasserstein"``, ...)."""
    return LOSSES.create(name, **kwargs)


def create_regularizer(name: str, /, **kwargs: Any) -> Any:
    """Build the regularizer registered as ``name`` (``"gradient_penalty"``, ...)."""
    return REGULARIZERS.create(name, **kwargs)


def register_generator(name: str | None = None) -> Callable[[Any], Any]:
    """Decorator registering a generator class or builder function under ``name``."""
    return GENERATORS.register(name)


def register_critic(name: str | None = None) -> Callable[[Any], Any]:
    """Decorator registering a critic class or builder function under ``name``."""
    return CRITICS.register(name)


def register_loss(name: str | None = None) -> Callable[[Any], Any]:
    """Decorator registering a loss strategy under ``name``."""
    return LOSSES.register(name)


def register_regularizer(name: str | None = None) -> Callable[[Any], Any]:
    """Decorator registering a regularizer under ``name``."""
    return REGULARIZERS.register(name)
