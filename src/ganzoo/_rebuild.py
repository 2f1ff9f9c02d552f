"""Rebuilding a checkpoint's components from their registry configs, defensively.

A checkpoint's config is data from a file: a component may name a builder whose module
is not imported, the config may have been edited, or it may ask for a model far larger
than anything trained (a hostile file). Every such case becomes a
:class:`~ganzoo.CheckpointError` naming the file; the model size is checked by building
the component on torch's ``meta`` device (no memory) and counting its parameters first.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from .errors import CheckpointError, ConfigError, UnknownNameError
from .registry import from_config

__all__ = ["MAX_PARAMETERS", "rebuild_component"]

#: Largest component (in parameters) :meth:`ganzoo.Trainer.load` rebuilds unless the
#: caller passes ``max_parameters=None`` (or a larger number): 1e9 parameters, 4 GB in float32.
MAX_PARAMETERS = 1_000_000_000


def rebuild_component(path: str | os.PathLike[str], name: str, config: Any, max_parameters: int | None) -> Any:
    """Build ``config`` (from the checkpoint at ``path``), refusing anything it cannot be.

    Raises:
        CheckpointError: The builder is not registered (the module that registers it is
            not imported), the config is malformed or rejected by the builder, or the
            component would have more than ``max_parameters`` parameters.
    """
    arg = "regularizers" if name == "regularizer" else name
    label = f"{config.get('kind', name)} {config.get('name')!r}" if isinstance(config, dict) else name
    try:
        if max_parameters is not None:
            with torch.device("meta"):
                probe = from_config(config)
            count = sum(p.numel() for p in probe.parameters()) if isinstance(probe, torch.nn.Module) else 0
            del probe
            if count > max_parameters:
                raise CheckpointError(
                    f"checkpoint {str(path)!r}: its {name} ({label}, kwargs {config.get('kwargs')}) would have "
                    f"{count:,} parameters, more than max_parameters={max_parameters:,}; the file may be "
                    "hostile. If you trust it, pass Trainer.load(..., max_parameters=None) (or a larger limit)"
                )
        return from_config(config)
    except UnknownNameError as exc:
        raise CheckpointError(
            f"checkpoint {str(path)!r}: its {name} is the {label}, which is not registered in this "
            f"process ({exc}). Import the module that registers it (the one with its "
            f"@ganzoo.register_{name if name in ('generator', 'critic', 'loss') else 'regularizer'} "
            f"decorator) before Trainer.load, or pass Trainer.load(..., {arg}=...)"
        ) from None
    except (ConfigError, TypeError, ValueError, KeyError, AttributeError, RuntimeError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(
            f"checkpoint {str(path)!r}: its {name} config {config!r} cannot be rebuilt "
            f"({type(exc).__name__}: {exc}); the file was edited or damaged. Resume from another "
            f"checkpoint, or pass Trainer.load(..., {arg}=...) with the same architecture"
        ) from None
