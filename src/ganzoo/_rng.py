"""Seeding and capturing every random-number generator training uses."""

from __future__ import annotations

import hashlib
import random
import sys
from typing import Any

import torch

__all__ = ["seed_everything", "rng_state", "set_rng_state", "derive_seed", "cpu_generator"]


def derive_seed(seed: int, *keys: Any) -> int:
    """A seed in ``[0, 2**63)`` for one purpose, derived from ``seed`` and ``keys``.

    Used for streams that must be independent of the main one and of each other
    (the data stream, each process of a distributed run). Stable across runs and
    platforms (SHA-256 of the text ``seed:key:key...``).

    Example:
        >>> derive_seed(42, "data") == derive_seed(42, "data") != derive_seed(42, "rank", 1)
        True
    """
    text = ":".join(str(part) for part in (seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def cpu_generator(seed: int | None) -> torch.Generator:
    """A CPU generator of its own: seeded with ``seed``, or from the OS's entropy when None."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def seed_everything(seed: int) -> None:
    """Seed Python's, torch's (CPU and every CUDA device) and, if imported, NumPy's RNGs."""
    random.seed(seed)
    torch.manual_seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed % 2**32)


def rng_state() -> dict[str, Any]:
    """Every global RNG state, as tensors and plain values (safe to save)."""
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if "numpy" in sys.modules:
        kind, keys, pos, has_gauss, cached = sys.modules["numpy"].random.get_state()
        state["numpy"] = [kind, torch.from_numpy(keys.astype("int64")), pos, has_gauss, cached]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    if state.get("numpy") and "numpy" in sys.modules:
        np = sys.modules["numpy"]
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
