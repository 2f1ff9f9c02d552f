"""Crash-safe checkpoint files: atomic writes and safe (``weights_only``) loading.

:func:`save_checkpoint` writes to a temporary file in the same folder, flushes and
fsyncs it, then renames it over the target: a crash leaves either the old file or the
new one, never half of one. :func:`load_checkpoint` only unpickles tensors and plain
containers (``torch.load(weights_only=True)``), so a crafted file cannot run code.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

__all__ = ["FORMAT", "save_checkpoint", "load_checkpoint"]

#: Stored in every checkpoint; :func:`load_checkpoint` refuses files without it.
FORMAT = "ganzoo-checkpoint-v1"


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Atomically write ``state`` (tensors and plain containers) to ``path``.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, refusing anything unsafe.

    Raises:
        CheckpointError: If the file is missing, truncated, corrupt, needs arbitrary
            pickled code, or is not a ganzoo checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        culprit = next((line.strip() for line in str(exc).splitlines() if "GLOBAL" in line), "")
        raise CheckpointError(
            f"checkpoint {str(path)!r} was refused: loading it would need arbitrary Python objects, "
            f"which could run code. {culprit} A ganzoo checkpoint holds only tensors and plain "
            "values; this file was not written by Trainer.save or was tampered with"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupt and cannot be read "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{str(path)!r} is not a ganzoo checkpoint (expected format {FORMAT!r}); "
            "write checkpoints with Trainer.save"
        )
    return state


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
