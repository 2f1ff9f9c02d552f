"""MetricsLog: one CSV or JSON-Lines row per generator step, continuous across resumes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._validation import check_choice, check_int_at_least
from ._base import Callback

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["MetricsLog"]


FORMATS = (".csv", ".jsonl")


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class MetricsLog(Callback):
    """Write one row per generator step to a CSV or JSON-Lines file.

    Each row holds the step's :class:`~ganzoo.StepRecord` fields plus ``epoch`` (epochs
    completed when the step ended) and ``elapsed_s`` (training wall time so far, summed
    over resumed runs). Rows are written in batches of ``every`` steps and when ``fit``
    ends or is interrupted, so logging adds no per-step host sync.

    Resuming keeps the file continuous: at the start of ``fit`` rows after the trainer's
    step (written after the checkpoint it resumed from) are dropped, a torn last line is
    dropped, and steps missing from the file are filled in from ``trainer.history``.

    Args:
        path: ``.csv`` or ``.jsonl`` file (non-finite values are empty cells / ``null``).
        every: Write every this many steps.
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(self, path: str | os.PathLike[str], every: int = 50) -> None:
        self.path = Path(path)
        self.format = check_choice("metrics log suffix", self.path.suffix.lower(), FORMATS)
        self.every = check_int_at_least("every", every, 1)
        self._buffer: list[tuple[int, int, float]] = []  # (step, epoch, elapsed) of unwritten steps
        self._columns: list[str] | None = None
        self._elapsed_before = 0.0
        self._started = time.perf_counter()
        self._synced_step: int | None = None  # the file holds exactly steps 1..this (this process wrote it)

    # -- reading and writing rows
    def read(self) -> list[dict[str, Any]]:
        """The rows in the file (values as floats/None), skipping a torn or malformed line."""
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8")
        rows: list[dict[str, Any]] = []
        if self.format == ".csv":
            lines = text.splitlines()
            if not lines:
                return []
            header = next(csv.reader([lines[0]]))
            for line in lines[1:]:
                cells = next(csv.reader([line]), [])
                if len(cells) != len(header):
                    continue
                try:
                    row = {k: (float(v) if v != "" else None) for k, v in zip(header, cells)}
                except ValueError:
                    continue
                rows.append(row)
        else:
            for line in text.splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
        return [r for r in rows if isinstance(r.get("step"), (int, float)) and r["step"] == r["step"]]

    def _format_rows(self, rows: list[dict[str, Any]]) -> str:
        columns = self._columns or []
        if self.format == ".jsonl":
            return "".join(json.dumps({k: row.get(k) for k in columns}) + "\n" for row in rows)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in rows:
            writer.writerow(["" if row.get(k) is None else _csv_value(k, row[k]) for k in columns])
        return out.getvalue()

    def _header(self) -> str:
        if self.format == ".jsonl":
            return ""
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(self._columns or [])
        return out.getvalue()

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(self._header() + self._format_rows(rows), encoding="utf-8")
        os.replace(tmp, self.path)

    def _sync(self, trainer: Trainer) -> None:
        """Rewrite the file as exactly the trainer's history (steps 1..trainer.step), keeping
        the ``epoch``/``elapsed_s`` cells of rows already written."""
        history = trainer.history
        self._columns = ["step", "epoch", "elapsed_s", *(c for c in history.columns if c != "step")]
        extras: dict[int, dict[str, Any]] = {}
        for row in self.read():
            if 1 <= row["step"] <= trainer.step:
                extras.setdefault(int(row["step"]), {"epoch": row.get("epoch"), "elapsed_s": row.get("elapsed_s")})
        for step, epoch, elapsed in self._buffer:
            extras[step] = {"epoch": epoch, "elapsed_s": round(elapsed, 3)}
        rows = []
        for record in history:
            row = {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in record.as_dict().items()}
            rows.append({**extras.get(record.step, {}), **row})
        self._rewrite(rows)
        self._buffer.clear()
        self._synced_step = trainer.step

    # -- hooks
    def on_fit_start(self, trainer: Trainer) -> None:
        self._started = time.perf_counter()
        if self._synced_step == trainer.step and self.path.exists():
            return  # a second fit() call of the same run: the file is already continuous
        self._elapsed_before = max(
            (r["elapsed_s"] for r in self.read() if r.get("elapsed_s") is not None and r["step"] <= trainer.step),
            default=0.0,
        )
        self._sync(trainer)

    def on_step_end(self, trainer: Trainer) -> None:
        elapsed = self._elapsed_before + time.perf_counter() - self._started
        self._buffer.append((trainer.step, trainer.epoch, elapsed))
        if len(self._buffer) > self.every:
            # the current step's row waits one step, so callbacks later in the list (FID) can
            # still add values to it
            self.flush(trainer, keep_last=True)

    def on_epoch_end(self, trainer: Trainer) -> None:
        if self._buffer:  # the step that ended the epoch counts it
            step, _, elapsed = self._buffer[-1]
            self._buffer[-1] = (step, trainer.epoch, elapsed)

    def flush(self, trainer: Trainer, keep_last: bool = False) -> None:
        """Append the rows of the steps not written yet (``keep_last``: all but the newest)."""
        if not self._buffer:
            return
        history = trainer.history
        if self._columns is None or not set(history.columns) <= set(self._columns):
            self._sync(trainer)  # first rows of a run: the penalty columns exist now; or a new metric column
            return
        pending, kept = (self._buffer[:-1], self._buffer[-1:]) if keep_last else (self._buffer, [])
        rows = []
        for step, epoch, elapsed in pending:
            record = history[step - 1].as_dict()
            row = {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in record.items()}
            row.update(step=step, epoch=epoch, elapsed_s=round(elapsed, 3))
            rows.append(row)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(self._format_rows(rows))
        self._buffer = list(kept)
        self._synced_step = trainer.step - len(kept)

    def on_fit_end(self, trainer: Trainer) -> None:
        self.flush(trainer)
        self._elapsed_before += time.perf_counter() - self._started
        self._started = time.perf_counter()

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self.on_fit_end(trainer)


def _csv_value(key: str, value: Any) -> Any:
    if key in ("step", "epoch", "critic_skipped", "generator_skipped") and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
