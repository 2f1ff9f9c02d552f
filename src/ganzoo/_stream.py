"""Batches from any iterable, pass after pass, with a position a checkpoint can restore.

A resumed run must see exactly the batches the interrupted run would have seen next,
shuffled loaders included. :class:`BatchStream` makes that possible without knowing
the loader's internals:

* **Its own random stream.** Every call into the data (``iter(data)``, each
  ``next``) runs with torch's global CPU generator swapped for the stream's private
  state. A shuffling ``DataLoader`` draws its shuffle seed and worker base seed, and
  main-process random transforms draw their numbers, from that state, so the data
  never consumes the training's random numbers and vice versa.
* **A position per pass.** :meth:`BatchStream.position` records the pass index, the
  batches handed out in that pass and the random state (and the loader's own
  ``generator`` state, if it has one) at the *start* of the pass. Restoring rewinds
  the random state, calls ``set_epoch(pass)`` where the loader or its sampler has one
  (``DistributedSampler``), starts the pass again and discards the batches already
  used: the same shuffle, the same next batch.

Skipping costs one pass at most for an epoch-based loader (batches are loaded and
dropped); for an infinite sampler it replays every batch drawn so far (cheap for
synthetic data). Exactness needs the data to be the same and its randomness to come
from torch's global generator or the loader's ``generator`` (not from Python's
``random``, NumPy, or persistent worker processes).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Iterable, Iterator, TypeVar

import torch

from .errors import ConfigError

__all__ = ["BatchStream", "as_tensor_batch", "initial_position", "data_fingerprint"]

T = TypeVar("T")


def as_tensor_batch(batch: Any) -> torch.Tensor:
    """The sample tensor of a batch: the batch itself, or the first item of a
    ``(samples, labels, ...)`` tuple/list, or ``batch["image"]``/``batch["x"]`` of a dict."""
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]
    if isinstance(batch, dict):
        for key in ("image", "images", "x", "input"):
            if isinstance(batch.get(key), torch.Tensor):
                return batch[key]
    keys = f" with keys {sorted(map(str, batch))}" if isinstance(batch, dict) else ""
    raise ConfigError(
        f"cannot find the samples in a batch of type {type(batch).__name__}{keys}; the data must "
        "yield tensors, (samples, labels) tuples, or dicts with a tensor under one of the keys "
        "'image', 'images', 'x', 'input'"
    )


def initial_position(seed: int) -> dict[str, Any]:
    """The position of a stream that has not started: pass 0, random state from ``seed``."""
    return {
        "pass": 0,
        "batches": 0,
        "rng": torch.Generator().manual_seed(seed).get_state(),
        "generator": None,
        "world_size": 1,
        "fingerprint": None,
    }


def data_fingerprint(data: Any) -> str:
    """A short description of ``data`` that tells other data apart: its type, size,
    batch size and seed where it has them (a ``DataLoader`` is sized by its dataset, which
    does not change with the number of processes).

    Example:
        >>> import torch
        >>> data_fingerprint(torch.utils.data.DataLoader(torch.zeros(10, 2), batch_size=4))
        'torch.utils.data.dataloader.DataLoader[10, batch_size=4]'
    """
    target = getattr(data, "dataset", data) if isinstance(data, torch.utils.data.DataLoader) else data
    try:
        parts = [str(len(target))]
    except TypeError:
        parts = ["?"]
    for name in ("batch_size", "seed"):
        value = getattr(data, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{name}={value}")
    return f"{type(data).__module__}.{type(data).__qualname__}[{', '.join(parts)}]"


def _samplers(source: Any) -> list[Any]:
    """Objects of ``source`` that may have ``set_epoch`` (the loader, its samplers)."""
    found = [source, getattr(source, "sampler", None), getattr(source, "batch_sampler", None)]
    found.append(getattr(found[2], "sampler", None))
    return [s for s in found if s is not None]


class BatchStream:
    """Yield batches forever from ``data``, counting passes (epochs), resumable.

    ``data`` may be re-iterable (a DataLoader, a list, a ganzoo sampler): each pass
    starts a new iterator. A one-shot iterator (a generator) is used until it ends.
    One batch is fetched ahead, so the end of a pass is known before it is reached.

    Args:
        data: What the user passed to ``fit``.
        position: Where to start (what :meth:`position` returned, or
            :func:`initial_position`); None starts at pass 0 with a random seed.
        source: What to iterate instead of ``data`` (e.g. ``data`` re-built with a
            ``DistributedSampler``); ``data`` still identifies the stream.
        world_size: Processes reading the data now; a position recorded with another
            count is rescaled so the same fraction of the pass counts as consumed.
        warn_other_data: Warn when ``position`` was recorded with other data (see
            :func:`data_fingerprint`); the pass then starts from its first batch either way.
    """

    def __init__(
        self,
        data: Iterable[Any],
        position: dict[str, Any] | None = None,
        *,
        source: Iterable[Any] | None = None,
        world_size: int = 1,
        warn_other_data: bool = True,
    ) -> None:
        if isinstance(data, torch.Tensor):
            raise ConfigError(
                "fit() got a tensor; wrap it in a data loader, e.g. "
                "torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=64, shuffle=True)"
            )
        self.data = data
        self._source = data if source is None else source
        self._world_size = world_size
        self._warn_other_data = warn_other_data
        self._fingerprint = data_fingerprint(data)
        generator = getattr(self._source, "generator", None)
        self._generator = generator if isinstance(generator, torch.Generator) else None
        self._one_shot = isinstance(self._source, Iterator)
        if not self._one_shot and not hasattr(self._source, "__iter__"):
            raise ConfigError(
                f"fit() needs an iterable of batches (a DataLoader, a ganzoo sampler), got {type(data).__name__}"
            )
        self.batches_seen = 0
        if position is None:
            position = initial_position(int(torch.randint(2**62, ()).item()))
        self._first_pass = int(position["pass"])
        self.seek(position)

    def seek(self, position: dict[str, Any]) -> None:
        """Continue from ``position`` (what :meth:`position` returned, maybe in another run).

        Rewinds the random state to the start of the recorded pass, starts that pass
        again and discards the batches it had already handed out.
        """
        self._rng = position["rng"].clone()
        if self._generator is not None and position.get("generator") is not None:
            self._generator.set_state(position["generator"])
        self.pass_index = int(position["pass"])
        self._start_pass()
        skip = self._batches_to_skip(position)
        for done in range(skip):
            if self._fetch_raw() is _END:
                warnings.warn(
                    f"the data has only {done} batches in pass {self.pass_index} but the position "
                    f"says {skip} were used; continuing with the next pass",
                    RuntimeWarning,
                    stacklevel=2,
                )
                break
        self.batches_in_pass = skip
        self._ahead = self._fetch()

    # ---------------------------------------------------------------- random state
    def _under_data_rng(self, fn: Callable[[], T]) -> T:
        outer = torch.get_rng_state()
        torch.set_rng_state(self._rng)
        try:
            return fn()
        finally:
            self._rng = torch.get_rng_state()
            torch.set_rng_state(outer)

    def _start_pass(self) -> None:
        for sampler in _samplers(self._source):
            set_epoch = getattr(sampler, "set_epoch", None)
            if callable(set_epoch):
                set_epoch(self.pass_index)
        self._pass_rng = self._rng.clone()
        self._pass_generator = None if self._generator is None else self._generator.get_state()
        if self._one_shot:
            self._iterator: Iterator[Any] = iter(self._source)  # an iterator is its own iterator
        else:
            self._iterator = self._under_data_rng(lambda: iter(self._source))

    def _batches_to_skip(self, position: dict[str, Any]) -> int:
        batches = int(position.get("batches", 0))
        if batches == 0:
            return 0
        if self._one_shot:
            return 0  # an iterator continues from wherever its owner left it
        recorded = position.get("fingerprint")
        if recorded is not None and recorded != self._fingerprint:
            if not self._warn_other_data:
                return 0
            warnings.warn(
                f"the data ({self._fingerprint}) differs from the data the checkpoint's position "
                f"was recorded with ({recorded}); starting pass {self.pass_index} from its first batch",
                RuntimeWarning,
                stacklevel=4,
            )
            return 0
        old_world = int(position.get("world_size", 1))
        if old_world != self._world_size:
            batches = math.floor(batches * old_world / self._world_size)
        return batches

    # ---------------------------------------------------------------- iteration
    def _fetch_raw(self) -> Any:
        try:
            return self._under_data_rng(lambda: next(self._iterator))
        except StopIteration:
            return _END

    def _fetch(self) -> Any:
        batch = self._fetch_raw()
        if batch is not _END:
            return batch
        if self._one_shot:
            if self.batches_seen == 0 and self.pass_index == self._first_pass:
                raise ConfigError("the data yielded no batches")
            return _END
        self.pass_index += 1
        self.batches_in_pass = 0
        self._start_pass()
        batch = self._fetch_raw()
        if batch is _END:
            raise ConfigError("the data yielded no batches (is the dataset empty?)")
        return batch

    @property
    def uses_workers(self) -> bool:
        """True when iterating keeps worker processes alive (a DataLoader with num_workers > 0)."""
        return int(getattr(self._source, "num_workers", 0) or 0) > 0

    @property
    def epochs_done(self) -> int:
        """Passes completed since this stream was created."""
        return self.pass_index - self._first_pass

    @property
    def ends(self) -> bool:
        """False for data that says it never ends (``endless = True``: ganzoo's samplers)."""
        return not getattr(self.data, "endless", False)

    def next(self) -> Any:
        """The next raw batch (the game's ``prepare`` picks what it needs)."""
        batch = self._ahead
        if batch is _END:
            raise ConfigError(
                f"the data ran out after {self.batches_seen} batches; pass a re-iterable "
                "loader (a DataLoader) or an infinite sampler instead of a one-shot iterator"
            )
        self.batches_in_pass += 1
        self.batches_seen += 1
        self._ahead = self._fetch()
        return batch

    def position(self) -> dict[str, Any]:
        """Where the next batch comes from, as tensors and plain values (checkpointable)."""
        return {
            "pass": self.pass_index,
            "batches": self.batches_in_pass,
            "rng": self._pass_rng.clone(),
            "generator": None if self._pass_generator is None else self._pass_generator.clone(),
            "world_size": self._world_size,
            "fingerprint": self._fingerprint,
        }


_END = object()
