"""Training history: one compact record per generator step.

The Trainer logs tensors without a host sync and turns them into floats every few
steps; :class:`History` keeps them as columns of floats (a few bytes per value), so a
long run's history stays small.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence, overload

import torch

__all__ = ["StepRecord", "History"]


@dataclass(frozen=True)
class StepRecord:
    """What happened in one generator step (the critic values are means over its critic steps).

    Attributes:
        step: Generator steps completed, counting this one (1-based).
        critic_loss: Adversarial critic loss, without penalties.
        generator_loss: Generator loss.
        wasserstein: ``-critic_loss``, the Wasserstein-1 estimate, for losses that
            estimate it; NaN otherwise.
        penalties: Each penalty regularizer's weighted value, by registry name.
        critic_grad_norm: L2 norm of the critic's parameter gradients (last critic step).
        generator_grad_norm: L2 norm of the generator's parameter gradients.
        critic_skipped: Critic updates the fp16 scaler skipped in this step.
        generator_skipped: 1 if the fp16 scaler skipped the generator update.
        metrics: Other columns (values callbacks such as :class:`~ganzoo.callbacks.FID`
            recorded with :meth:`History.set_value`), NaN at steps without a value.
    """

    step: int
    critic_loss: float
    generator_loss: float
    wasserstein: float = math.nan
    penalties: Mapping[str, float] = field(default_factory=dict)
    critic_grad_norm: float = math.nan
    generator_grad_norm: float = math.nan
    critic_skipped: int = 0
    generator_skipped: int = 0
    metrics: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A flat dict: penalties appear as ``penalty/<name>``, metrics under their own names."""
        row = {k: v for k, v in self.__dict__.items() if k not in ("penalties", "metrics")}
        row.update({f"penalty/{k}": v for k, v in self.penalties.items()})
        row.update(self.metrics)
        return row


_FIELDS = [f for f in StepRecord.__dataclass_fields__ if f not in ("penalties", "metrics")]
_INT_FIELDS = {"step", "critic_skipped", "generator_skipped"}


class History(Sequence[StepRecord]):
    """A list-like of :class:`StepRecord`, stored column by column.

    Example:
        >>> from ganzoo import History, StepRecord
        >>> h = History()
        >>> h.append(StepRecord(step=1, critic_loss=0.5, generator_loss=1.0))
        >>> len(h), h[-1].critic_loss, h.column("generator_loss")
        (1, 0.5, [1.0])
    """

    def __init__(self) -> None:
        self._columns: dict[str, array[float]] = {name: array("d") for name in _FIELDS}

    def __len__(self) -> int:
        return len(self._columns["step"])

    @overload
    def __getitem__(self, index: int) -> StepRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[StepRecord]: ...
    def __getitem__(self, index: int | slice) -> StepRecord | list[StepRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"history index {index} out of range for {n} steps")
        index %= n
        values: dict[str, Any] = {k: self._columns[k][index] for k in _FIELDS}
        for k in _INT_FIELDS:
            values[k] = int(values[k])
        penalties = {
            k.split("/", 1)[1]: col[index] for k, col in self._columns.items() if k.startswith("penalty/")
        }
        metrics = {
            k: col[index] for k, col in self._columns.items() if k not in values and not k.startswith("penalty/")
        }
        return StepRecord(penalties=penalties, metrics=metrics, **values)

    def __iter__(self) -> Iterator[StepRecord]:
        return (self[i] for i in range(len(self)))

    def append(self, record: StepRecord) -> None:
        """Add one record at the end."""
        self.append_row(record.as_dict())

    def append_row(self, row: Mapping[str, float]) -> None:
        """Add one record given as a flat dict (``penalty/<name>`` keys for penalties)."""
        n = len(self)
        for key in row:
            if key not in self._columns:
                self._columns[key] = array("d", [math.nan]) * n
        for key, column in self._columns.items():
            column.append(float(row.get(key, math.nan)))

    def set_value(self, step: int, name: str, value: float) -> None:
        """Record ``value`` in column ``name`` at an already recorded ``step`` (e.g. a metric a
        callback computed); a new column is NaN at every other step."""
        steps = self._columns["step"]
        index = step - 1 if 0 <= step - 1 < len(steps) and steps[step - 1] == step else None
        if index is None:
            found = [i for i in range(len(steps) - 1, -1, -1) if steps[i] == step]
            if not found:
                raise KeyError(f"step {step} is not in the history (steps {int(steps[0]) if steps else '-'}.."
                               f"{int(steps[-1]) if steps else '-'})")
            index = found[0]
        if name in _FIELDS or name.startswith("penalty/"):
            raise ValueError(f"{name!r} is a training column; pick another name for a metric")
        if name not in self._columns:
            self._columns[name] = array("d", [math.nan]) * len(steps)
        self._columns[name][index] = float(value)

    def column(self, name: str) -> list[float]:
        """All values of one field, e.g. ``"critic_loss"`` or ``"penalty/gradient_penalty"``."""
        try:
            return list(self._columns[name])
        except KeyError:
            raise KeyError(f"no history column {name!r}; columns: {', '.join(self.columns)}") from None

    @property
    def columns(self) -> list[str]:
        """Names of the stored columns."""
        return list(self._columns)

    def mean(self, name: str, last: int | None = None) -> float:
        """Mean of a column over the last ``last`` steps (all if None), ignoring NaN/inf
        (steps the fp16 scaler skipped). NaN if nothing finite remains."""
        values = self._columns[name][-last:] if last else self._columns[name]
        finite = [v for v in values if math.isfinite(v)]
        return sum(finite) / len(finite) if finite else math.nan

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Columns as float64 tensors (what a checkpoint stores)."""
        return {k: torch.tensor(v, dtype=torch.float64) for k, v in self._columns.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the contents with what :meth:`state_dict` returned (tensors or lists)."""
        columns = {k: array("d", torch.as_tensor(v, dtype=torch.float64).tolist()) for k, v in state.items()}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"history columns have different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        self._columns = {name: array("d", [math.nan]) * n for name in _FIELDS}
        self._columns.update(columns)

    def __repr__(self) -> str:
        return f"History({len(self)} steps, columns={self.columns})"
