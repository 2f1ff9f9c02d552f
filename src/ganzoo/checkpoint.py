"""Crash-safe checkpoint files: atomic writes, safe loading, finding the newest good one.

:func:`save_checkpoint` writes to a temporary file in the same folder, flushes and
fsyncs it, then renames it over the target: a crash leaves either the old file or the
new one, never half of one. :func:`load_checkpoint` first checks every member of the
file against its CRC-32 (``torch.load`` itself does not, so a flipped bit would load
silently), then unpickles only tensors and plain containers
(``torch.load(weights_only=True)``), so a crafted file cannot run code.

A folder of checkpoints (one per save, e.g. ``run/ckpt-000500.pt``) is handled by
:func:`latest_checkpoint` / :func:`load_latest_checkpoint`, which skip unreadable files
and fall back to the previous good one, and :func:`prune_checkpoints` (keep the last
``k``; never deletes the newest intact checkpoint, whatever ``k`` is) and
:func:`remove_stale_temporaries` (what killed writers left behind).

Example:
    >>> import tempfile, torch
    >>> from ganzoo.checkpoint import save_checkpoint, latest_checkpoint, load_checkpoint
    >>> folder = tempfile.mkdtemp()
    >>> for step in (1, 2):
    ...     _ = save_checkpoint({"step": step, "w": torch.zeros(2)}, f"{folder}/ckpt-{step}.pt")
    >>> load_checkpoint(latest_checkpoint(folder))["step"]
    2
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError, ConfigError

__all__ = [
    "FORMAT",
    "save_checkpoint",
    "load_checkpoint",
    "checkpoint_files",
    "checkpoint_step",
    "latest_checkpoint",
    "load_latest_checkpoint",
    "is_intact",
    "prune_checkpoints",
    "remove_stale_temporaries",
]

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
        # mkstemp creates 0600 files; give the checkpoint the permissions any other new file
        # (a PNG, a CSV) gets from the user's umask
        with contextlib.suppress(OSError, AttributeError):
            os.fchmod(fd, 0o666 & ~_umask())
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


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu", *, verify: bool = True) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, refusing anything unsafe.

    Args:
        path: The checkpoint file.
        map_location: Where tensors go (``torch.load``'s argument); CPU by default.
        verify: Check every member of the file against its stored CRC-32 first
            (reads the file once more; catches flipped bits ``torch.load`` misses).

    Raises:
        CheckpointError: If the file is missing, truncated, corrupt, needs arbitrary
            pickled code, or is not a ganzoo checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    if verify:
        _verify_crc(path)
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


def _verify_crc(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is truncated or corrupt and cannot be read "
            f"({type(exc).__name__}: {exc}; ganzoo checkpoints are zip archives); resume from an "
            "earlier checkpoint: ganzoo.checkpoint.latest_checkpoint(folder) picks the newest readable one"
        ) from None
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt: its member {bad!r} fails the CRC-32 check "
            "(the file changed after it was written); resume from an earlier checkpoint"
        )


def is_intact(path: str | os.PathLike[str]) -> bool:
    """Cheap structural check: the file is a complete torch zip archive with a pickle.

    Reads only the archive's directory (a truncated file has none), not the data; use
    :func:`load_checkpoint` for the full check.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") or name == "data.pkl" for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def _natural_key(name: str) -> list[Any]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name)]


def _step_in_name(name: str) -> int | None:
    numbers = re.findall(r"\d+", name)
    return int(numbers[-1]) if numbers else None


_STEP_CACHE: dict[tuple[str, int, int], int | None] = {}


def checkpoint_step(path: str | os.PathLike[str]) -> int | None:
    """The training step recorded inside a checkpoint file, or None if it holds none.

    Reads the Trainer's ``counters["step"]`` (or a top-level ``"step"``) without reading
    the tensors (``torch.load(mmap=True)``); a file that cannot be read gives None.
    Results are cached per (path, modification time, size).
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), info.st_mtime_ns, info.st_size)
    if key not in _STEP_CACHE:
        step: int | None = None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            counters = state.get("counters") if isinstance(state, dict) else None
            value = counters.get("step") if isinstance(counters, dict) else state.get("step")
            if isinstance(value, int) and not isinstance(value, bool):
                step = value
        except Exception:  # noqa: BLE001 - any unreadable file simply has no recorded step
            step = None
        if len(_STEP_CACHE) > 4096:
            _STEP_CACHE.clear()
        _STEP_CACHE[key] = step
    return _STEP_CACHE[key]


def _order_key(path: Path) -> tuple[int, int, int, list[Any]]:
    step = checkpoint_step(path)
    if step is None:
        step = _step_in_name(path.name)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0
    return (0 if step is None else 1, -1 if step is None else step, mtime, _natural_key(path.name))


def checkpoint_files(folder: str | os.PathLike[str], pattern: str = "*.pt") -> list[Path]:
    """Files in ``folder`` matching ``pattern``, newest first.

    Newest means the highest training step recorded inside the file
    (:func:`checkpoint_step`); for a file that records none (unreadable, or not a
    Trainer checkpoint), the last number in its name. Files with the same step are
    ordered by modification time, then by name with numbers compared as numbers. So
    copying an old checkpoint back into the folder (a newer file time) never makes it
    "the newest". Files with no step at all come last. Hidden files (the temporaries of
    writes in progress) are never listed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=_order_key, reverse=True)


def load_latest_checkpoint(
    folder: str | os.PathLike[str], pattern: str = "*.pt", map_location: Any = "cpu"
) -> tuple[Path, dict[str, Any]]:
    """Load the newest readable checkpoint in ``folder``, falling back past bad files.

    Files that are truncated, corrupt, unsafe or not ganzoo checkpoints are skipped
    with a warning naming each one and why; the next older file is tried.

    Returns:
        The path loaded and its state.

    Raises:
        CheckpointError: If ``folder`` holds no file matching ``pattern``, or none of
            them is readable (the message lists every file and its problem).
    """
    candidates = checkpoint_files(folder, pattern)
    if not candidates:
        raise CheckpointError(f"no checkpoint matching {pattern!r} in {str(folder)!r}")
    problems = []
    for path in candidates:
        try:
            state = load_checkpoint(path, map_location=map_location)
        except CheckpointError as exc:
            problems.append(f"  {path.name}: {exc}")
            continue
        if problems:
            warnings.warn(
                f"skipped {len(problems)} unreadable checkpoint(s) newer than {path.name} "
                f"and resumed from it:\n" + "\n".join(problems),
                RuntimeWarning,
                stacklevel=2,
            )
        return path, state
    raise CheckpointError(
        f"none of the {len(candidates)} checkpoint(s) in {str(folder)!r} is readable:\n" + "\n".join(problems)
    )


def latest_checkpoint(folder: str | os.PathLike[str], pattern: str = "*.pt") -> Path | None:
    """The newest readable checkpoint in ``folder``, or None if there is no candidate.

    Every candidate is fully checked by loading it (see :func:`load_latest_checkpoint`,
    which also returns the state, to avoid reading the file twice).

    Raises:
        CheckpointError: If there are candidates but none is readable (a run that lost
            all its checkpoints should not silently start again from scratch).
    """
    if not checkpoint_files(folder, pattern):
        return None
    return load_latest_checkpoint(folder, pattern)[0]


def prune_checkpoints(
    folder: str | os.PathLike[str],
    keep_last: int,
    pattern: str = "*.pt",
    *,
    protect: Any = (),
    current_step: int | None = None,
) -> list[Path]:
    """Delete all but the ``keep_last`` newest intact checkpoints; return what was deleted.

    Only intact files count towards ``keep_last`` and only intact files older than
    the kept ones are deleted, so the newest intact checkpoint always survives, even
    when newer files are damaged (those are left alone for inspection). Files in
    ``protect`` (e.g. a ``best.pt``) are never deleted.

    Args:
        folder: The checkpoint folder.
        keep_last: How many intact checkpoints to keep (at least 1).
        pattern: Which files are checkpoints.
        protect: Paths never to delete.
        current_step: The step of the checkpoint just written. Files recording a newer
            step (a run resumed from an older checkpoint) are never deleted and do not
            count towards ``keep_last``; a warning names them once per call.
    """
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
        raise ConfigError(
            f"keep_last={keep_last!r} is not valid; keep at least the newest checkpoint (keep_last >= 1)"
        )
    protected = {Path(p).resolve() for p in ([protect] if isinstance(protect, (str, os.PathLike)) else protect)}
    kept = 0
    deleted = []
    newer = []
    for path in checkpoint_files(folder, pattern):
        if path.resolve() in protected or not is_intact(path):
            continue
        step = checkpoint_step(path)
        if current_step is not None and step is not None and step > current_step:
            newer.append(f"{path.name} (step {step})")
            continue
        if kept < keep_last:
            kept += 1
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            deleted.append(path)
    if newer:
        warnings.warn(
            f"kept {len(newer)} checkpoint(s) in {str(folder)!r} newer than the current step {current_step}: "
            f"{', '.join(newer)}; this run was resumed from an older checkpoint. Move them away if "
            "this run should replace them",
            RuntimeWarning,
            stacklevel=2,
        )
    return deleted


def remove_stale_temporaries(folder: str | os.PathLike[str], min_age_s: float = 600.0) -> list[Path]:
    """Delete temporaries that killed writers left behind (``.<name>.<random>.tmp``).

    Only files untouched for ``min_age_s`` seconds are removed, so a write in
    progress in another process is safe; pass 0 when no other process writes there.
    """
    folder = Path(folder)
    now = time.time()
    removed = []
    for path in folder.glob(".*.tmp") if folder.is_dir() else ():
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime >= min_age_s:
                path.unlink()
                removed.append(path)
    return removed


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
