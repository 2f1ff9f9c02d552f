"""Batches from any iterable, restarted at the end of each epoch."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import torch

from .errors import ConfigError

__all__ = ["BatchStream", "as_tensor_batch"]


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
    raise ConfigError(
        f"cannot find the samples in a batch of type {type(batch).__name__}; the data must "
        "yield tensors, (samples, labels) tuples, or dicts with an 'image' tensor"
    )


class BatchStream:
    """Yield batches forever from ``data``, counting completed passes (epochs).

    ``data`` may be re-iterable (a DataLoader, a list, a ganzoo sampler): each pass
    starts a new iterator. A one-shot iterator (a generator) is used until it ends.
    One batch is fetched ahead, so the end of an epoch is known before it is reached.
    """

    def __init__(self, data: Iterable[Any]) -> None:
        if isinstance(data, torch.Tensor):
            raise ConfigError(
                "fit() got a tensor; wrap it in a data loader, e.g. "
                "torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=64, shuffle=True)"
            )
        try:
            self._iterator: Iterator[Any] = iter(data)
        except TypeError:
            raise ConfigError(
                f"fit() needs an iterable of batches (a DataLoader, a ganzoo sampler), got {type(data).__name__}"
            ) from None
        self._data = data
        self._one_shot = self._iterator is data
        self.epochs_done = 0
        self.batches_seen = 0
        self._ahead = self._fetch()

    def _fetch(self) -> Any:
        try:
            return next(self._iterator)
        except StopIteration:
            if self._one_shot:
                if self.batches_seen == 0 and self.epochs_done == 0:
                    raise ConfigError("the data yielded no batches") from None
                return _END
            self.epochs_done += 1
            self._iterator = iter(self._data)
            try:
                return next(self._iterator)
            except StopIteration:
                raise ConfigError("the data yielded no batches (is the dataset empty?)") from None

    def next(self) -> torch.Tensor:
        """The next batch's sample tensor."""
        batch = self._ahead
        if batch is _END:
            raise ConfigError(
                f"the data ran out after {self.batches_seen} batches; pass a re-iterable "
                "loader (a DataLoader) or an infinite sampler instead of a one-shot iterator"
            )
        self._ahead = self._fetch()
        self.batches_seen += 1
        return as_tensor_batch(batch)


_END = object()
