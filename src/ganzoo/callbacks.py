"""Callbacks: code that runs at fixed points of :meth:`ganzoo.Trainer.fit`.

Subclass :class:`Callback` and override the hooks you need; every hook receives the
trainer, whose ``step``, ``epoch`` and ``history`` tell where training is.

Example:
    >>> import ganzoo
    >>> class PrintEvery(ganzoo.Callback):
    ...     def __init__(self, every: int) -> None:
    ...         self.every = every
    ...     def on_step_end(self, trainer: "ganzoo.Trainer") -> None:
    ...         if trainer.step % self.every == 0:
    ...             print(trainer.step, round(trainer.history[-1].critic_loss, 3))

Ready-made callbacks (each works with any trainer, through its public attributes):

=====================  ===================================================================
:class:`SampleGrid`    a PNG grid of samples from fixed noise every N steps or epochs
:class:`LossPlot`      loss curves as a PNG, several runs side by side on one figure
:class:`Checkpoint`    ``trainer.save`` every N steps/epochs, keep the last k, save on Ctrl-C
:class:`MetricsLog`    one CSV or JSON-Lines row per generator step, continuous across resumes
:class:`ProgressBar`   step rate and ETA (tqdm if installed, plain lines otherwise)
:class:`GracefulStop`  the first Ctrl-C (or SIGTERM) ends training after the current step
:class:`TensorBoard`   scalars and sample grids for TensorBoard (needs ``tensorboard``)
=====================  ===================================================================

To resume, ``ganzoo.Trainer.load(folder)`` loads the newest readable checkpoint of a folder
(:func:`ganzoo.checkpoint.latest_checkpoint` finds it without loading a trainer).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import torch

from ._progress import progress_bar
from ._validation import check_choice, check_int_at_least
from .checkpoint import prune_checkpoints, remove_stale_temporaries
from .errors import ConfigError

if TYPE_CHECKING:
    from .history import History
    from .trainer import Trainer

__all__ = [
    "Callback",
    "SampleGrid",
    "LossPlot",
    "Checkpoint",
    "MetricsLog",
    "ProgressBar",
    "GracefulStop",
    "TensorBoard",
]

UNITS = ("step", "epoch")


class Callback:
    """Base class of training callbacks; every hook does nothing by default.

    Attributes:
        main_process_only: Set True in callbacks that write files or print (sample
            grids, logs): under multi-process training they then run on rank 0 only.
            Leave False for callbacks every process must run (learning-rate schedules,
            checkpoints: :meth:`~ganzoo.Trainer.save` is collective and writes on rank 0).
    """

    main_process_only: bool = False

    def on_fit_start(self, trainer: Trainer) -> None:
        """Called once at the start of each :meth:`~ganzoo.Trainer.fit` call."""

    def on_step_end(self, trainer: Trainer) -> None:
        """Called after every generator step (``trainer.step`` already counts it)."""

    def on_epoch_end(self, trainer: Trainer) -> None:
        """Called after the step in which the data loader ran out (``trainer.epoch`` counts it)."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """Called when :meth:`~ganzoo.Trainer.fit` finishes normally."""

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        """Called when ``fit`` stops on an exception (Ctrl-C included), before it propagates."""


class _Periodic(Callback):
    """Runs :meth:`fire` every ``every`` steps or epochs (``unit``)."""

    def __init__(self, every: int, unit: str) -> None:
        self.every = check_int_at_least("every", every, 1)
        self.unit = check_choice("unit", unit, UNITS)

    def on_step_end(self, trainer: Trainer) -> None:
        if self.unit == "step" and trainer.step % self.every == 0:
            self.fire(trainer)

    def on_epoch_end(self, trainer: Trainer) -> None:
        if self.unit == "epoch" and trainer.epoch % self.every == 0:
            self.fire(trainer)

    def fire(self, trainer: Trainer) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------- sample grids
_GRID_NAME = re.compile(r"^(?P<prefix>.+)_step(?P<step>\d+)\.png$")


class SampleGrid(_Periodic):
    """Save a grid of samples from the same fixed noise every ``every`` steps or epochs.

    The noise comes from its own seeded generator, so grids of one run (and of a resumed
    run) show the same latent points as training goes on, and the training RNG is not
    touched. Files are ``<folder>/<prefix>_step<step>.png``.

    Args:
        folder: Where the PNGs go.
        every: Save every this many steps (or epochs, with ``unit="epoch"``).
        unit: ``"step"`` or ``"epoch"``.
        n: Samples per grid.
        nrow: Samples per grid row.
        seed: Seed of the fixed noise.
        prefix: File name prefix.
        at_start: Also save the untrained generator's grid at step 0.
        at_end: Also save when ``fit`` ends or is interrupted between two saves.
        scale: Enlarge every pixel to ``scale x scale`` (for small images).

    Attributes:
        paths: Every grid this callback wrote, in order.

    Example:
        >>> import tempfile, torch, ganzoo
        >>> from ganzoo.callbacks import SampleGrid
        >>> trainer = ganzoo.recipes.dcgan(image_size=8, width=2, latent_dim=4, device="cpu", seed=0)
        >>> grids = SampleGrid(tempfile.mkdtemp(), every=2, n=4, nrow=2)
        >>> data = torch.utils.data.DataLoader(torch.rand(32, 3, 8, 8) * 2 - 1, batch_size=8)
        >>> _ = trainer.fit(data, steps=3, callbacks=[grids])
        >>> [p.name for p in grids.paths]
        ['samples_step0000000.png', 'samples_step0000002.png', 'samples_step0000003.png']
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(
        self,
        folder: str | os.PathLike[str],
        every: int = 500,
        *,
        unit: str = "step",
        n: int = 64,
        nrow: int = 8,
        seed: int = 0,
        prefix: str = "samples",
        at_start: bool = True,
        at_end: bool = True,
        scale: int = 1,
    ) -> None:
        super().__init__(every, unit)
        self.folder = Path(folder)
        self.scale = check_int_at_least("scale", scale, 1)
        self.n = check_int_at_least("n", n, 1)
        self.nrow = check_int_at_least("nrow", nrow, 1)
        self.seed, self.prefix = seed, prefix
        self.at_start, self.at_end = at_start, at_end
        self.paths: list[Path] = []
        self._noise: torch.Tensor | None = None
        self._last_step = -1

    def noise(self, latent_dim: int) -> torch.Tensor:
        """The fixed noise ``(n, latent_dim)``: the same for every call with this seed."""
        if self._noise is None or self._noise.shape[1] != latent_dim:
            self._noise = torch.randn(self.n, latent_dim, generator=torch.Generator().manual_seed(self.seed))
        return self._noise

    def on_fit_start(self, trainer: Trainer) -> None:
        if self.at_start and trainer.step == 0:
            self.fire(trainer)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.at_end and trainer.step != self._last_step:
            self.fire(trainer)

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self.on_fit_end(trainer)

    def fire(self, trainer: Trainer) -> None:
        """Save the grid for the current step now."""
        from .plotting import save_image_grid

        images = trainer.sample(self.n, z=self.noise(trainer.latent_dim))
        path = save_image_grid(images, self.folder / f"{self.prefix}_step{trainer.step:07d}.png", nrow=self.nrow,
                               scale=self.scale)
        self.paths.append(path)
        self._last_step = trainer.step

    def saved(self) -> list[tuple[int, Path]]:
        """``(step, path)`` of every grid with this prefix in the folder, earlier runs included."""
        found = []
        for path in self.folder.glob(f"{self.prefix}_step*.png"):
            match = _GRID_NAME.match(path.name)
            if match and match["prefix"] == self.prefix:
                found.append((int(match["step"]), path))
        return sorted(found)

    def write_evolution(self, path: str | os.PathLike[str], columns: int | None = None, max_rows: int = 12) -> Path:
        """An evolution strip: the first ``columns`` samples of each saved grid, one row per
        snapshot, top to bottom (at most ``max_rows`` snapshots, evenly spread, last included).

        Raises:
            ConfigError: If no grid was saved yet.
        """
        from .plotting import evolution_strip, grid_tiles, read_image

        saved = self.saved()
        if not saved:
            raise ConfigError(f"no sample grids named {self.prefix}_step*.png in {str(self.folder)!r} yet")
        if len(saved) > max_rows:
            picks = sorted({round(i * (len(saved) - 1) / (max_rows - 1)) for i in range(max_rows)})
            saved = [saved[i] for i in picks]
        columns = columns or self.nrow
        snapshots = []
        for step, grid_path in saved:
            grid = read_image(grid_path)
            cols = min(self.nrow, self.n)
            tile = (grid.shape[2] - 2) // cols - 2
            snapshots.append((f"step {step}", grid_tiles(grid, tile)[:columns]))
        return evolution_strip(snapshots, path)


# ---------------------------------------------------------------------- loss curves
class LossPlot(_Periodic):
    """Draw the loss curves to a PNG every ``every`` steps and when training ends.

    Pass ``others`` to compare runs: every run gets its own panel on the same figure.
    Needs matplotlib; without it the callback warns once and does nothing.

    Args:
        path: PNG to (over)write.
        every: Redraw every this many steps (or epochs).
        unit: ``"step"`` or ``"epoch"``.
        name: This run's panel title.
        others: More runs to draw beside it: ``name -> Trainer or History``.
        columns: History columns to draw (default: losses, Wasserstein estimate, penalties).
        smooth: Moving-average window (see :func:`ganzoo.plotting.plot_losses`).
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: int = 500,
        *,
        unit: str = "step",
        name: str = "run",
        others: Mapping[str, Any] | None = None,
        columns: Sequence[str] | None = None,
        smooth: int | None = None,
    ) -> None:
        super().__init__(every, unit)
        self.path, self.name = Path(path), name
        self.others = dict(others or {})
        self.columns, self.smooth = columns, smooth
        try:
            from .plotting import require_matplotlib

            require_matplotlib()
            self.enabled = True
        except ImportError as exc:
            warnings.warn(f"LossPlot does nothing: {exc}", UserWarning, stacklevel=2)
            self.enabled = False

    def fire(self, trainer: Trainer) -> None:
        """Redraw now."""
        if not self.enabled:
            return
        from .plotting import plot_losses

        histories: dict[str, History] = {self.name: trainer.history}
        for name, other in self.others.items():
            histories[name] = getattr(other, "history", other)
        plot_losses(histories, self.path, columns=self.columns, smooth=self.smooth)

    def on_fit_end(self, trainer: Trainer) -> None:
        self.fire(trainer)

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        with contextlib.suppress(Exception):
            self.fire(trainer)


# ---------------------------------------------------------------------- checkpoints
class Checkpoint(_Periodic):
    """Save the full training state every ``every`` steps or epochs, keeping the last ``keep_last``.

    Files are ``<folder>/<prefix>_step<step>.pt``, written by :meth:`ganzoo.Trainer.save`
    (atomic: a crash leaves the previous file intact). Older files beyond ``keep_last``
    are deleted by :func:`ganzoo.checkpoint.prune_checkpoints`, which never deletes the
    newest *intact* checkpoint. When ``fit`` is interrupted by Ctrl-C
    (``KeyboardInterrupt``, or :class:`GracefulStop`), the state is saved first; other
    errors (a divergence, a crash) save nothing, so a bad state never becomes the latest
    checkpoint. Under multi-process training every process runs this callback
    (:meth:`~ganzoo.Trainer.save` is collective); only rank 0 writes and prunes.

    Resume with ``ganzoo.Trainer.load(folder)`` (the newest readable file in it).

    Args:
        folder: Where checkpoints go.
        every: Save every this many steps (or epochs, with ``unit="epoch"``).
        unit: ``"step"`` or ``"epoch"``.
        keep_last: Checkpoints to keep (at least 1).
        prefix: File name prefix.
        save_on_interrupt: Save when Ctrl-C stops ``fit``.
        at_end: Also save when ``fit`` finishes (if the last step is not saved yet).

    Attributes:
        last_path: The file written last, or None.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        every: int = 1000,
        *,
        unit: str = "step",
        keep_last: int = 3,
        prefix: str = "ckpt",
        save_on_interrupt: bool = True,
        at_end: bool = True,
    ) -> None:
        super().__init__(every, unit)
        self.folder = Path(folder)
        self.keep_last = check_int_at_least("keep_last", keep_last, 1)
        self.prefix = prefix
        self.save_on_interrupt, self.at_end = save_on_interrupt, at_end
        self.last_path: Path | None = None

    def path_for(self, step: int) -> Path:
        """The file name used for ``step``."""
        return self.folder / f"{self.prefix}_step{step:08d}.pt"

    @property
    def pattern(self) -> str:
        """The glob that matches this callback's files in ``folder``."""
        return f"{self.prefix}_step*.pt"

    def on_fit_start(self, trainer: Trainer) -> None:
        if trainer.is_main_process:  # what a killed save left behind is never a checkpoint
            remove_stale_temporaries(self.folder, min_age_s=0.0)

    def fire(self, trainer: Trainer) -> None:
        self.save(trainer)

    def save(self, trainer: Trainer) -> Path:
        """Save now and prune older checkpoints; returns the path written."""
        path = self.path_for(trainer.step)
        trainer.save(path)
        self.last_path = path
        if trainer.is_main_process:
            self.prune()
        return path

    def prune(self) -> list[Path]:
        """Delete checkpoints beyond the newest ``keep_last`` intact ones; returns them."""
        return prune_checkpoints(self.folder, self.keep_last, self.pattern)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.at_end and (self.last_path is None or self.last_path != self.path_for(trainer.step)):
            self.save(trainer)

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        if self.save_on_interrupt and isinstance(error, KeyboardInterrupt):
            path = self.path_for(trainer.step)
            if self.last_path == path:  # the periodic save of this very step came first
                print(f"interrupted at step {trainer.step}: already saved {path}", flush=True)
            else:
                print(f"interrupted at step {trainer.step}: saved {self.save(trainer)}", flush=True)


# ---------------------------------------------------------------------- metrics log
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
        csv.writer(out, lineterminator="\n").writerow(self._columns)
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
        if len(self._buffer) >= self.every:
            self.flush(trainer)

    def on_epoch_end(self, trainer: Trainer) -> None:
        if self._buffer:  # the step that ended the epoch counts it
            step, _, elapsed = self._buffer[-1]
            self._buffer[-1] = (step, trainer.epoch, elapsed)

    def flush(self, trainer: Trainer) -> None:
        """Append the rows of the steps not written yet."""
        if not self._buffer:
            return
        history = trainer.history
        if self._columns is None or not set(history.columns) <= set(self._columns):
            self._sync(trainer)  # first rows of a run: the penalty columns exist now
            return
        rows = []
        for step, epoch, elapsed in self._buffer:
            record = history[step - 1].as_dict()
            row = {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in record.items()}
            row.update(step=step, epoch=epoch, elapsed_s=round(elapsed, 3))
            rows.append(row)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(self._format_rows(rows))
        self._buffer.clear()
        self._synced_step = trainer.step

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


# ---------------------------------------------------------------------- progress
class ProgressBar(Callback):
    """A progress bar over generator steps with step rate, ETA and the latest losses.

    Uses tqdm when it is installed and the output is a terminal; otherwise prints one
    plain line every ``interval`` seconds (readable in log files).

    Args:
        total: The step at which training will end (``trainer.step`` counts from the
            start of the run, resumed runs included); None shows no ETA.
        desc: Label in front of the bar.
        show: History columns shown after the rate.
        backend: ``"auto"``, ``"tqdm"`` or ``"plain"``.
        interval: Seconds between plain lines.
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(
        self,
        total: int | None = None,
        *,
        desc: str = "training",
        show: Sequence[str] = ("critic_loss", "generator_loss"),
        backend: str = "auto",
        interval: float = 10.0,
    ) -> None:
        self.total, self.desc, self.show = total, desc, tuple(show)
        self.backend = check_choice("backend", backend, ("auto", "tqdm", "plain"))
        self.interval = interval
        self.bar: Any = None

    def on_fit_start(self, trainer: Trainer) -> None:
        self.bar = progress_bar(total=self.total, desc=self.desc, unit="step", initial=trainer.step, backend=self.backend)
        if hasattr(self.bar, "interval"):
            self.bar.interval = self.interval

    def on_step_end(self, trainer: Trainer) -> None:
        if self.bar is None:
            return
        if trainer.step % trainer.log_every == 0 and self.show:
            last = trainer.history[-1].as_dict()
            self.bar.set_postfix({k.replace("_loss", ""): last[k] for k in self.show if k in last}, refresh=False)
        self.bar.update(1)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self.on_fit_end(trainer)


# ---------------------------------------------------------------------- graceful stop
class GracefulStop(Callback):
    """Let Ctrl-C (and SIGTERM) end training cleanly after the current step.

    The first signal sets a flag; after the running generator step completes, ``fit``
    stops with ``KeyboardInterrupt``, so a :class:`Checkpoint` saves a consistent state.
    A second Ctrl-C interrupts at once. Signal handlers are installed only in the main
    thread, for the duration of ``fit``.

    Args:
        signals: The signals to catch (default SIGINT and, where it exists, SIGTERM).
        message: Printed when the first signal arrives.
    """

    def __init__(self, signals: Sequence[int] | None = None, message: str = "stopping after this step "
                 "(press Ctrl-C again to stop at once)") -> None:
        if signals is None:
            signals = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
        self.signals = list(signals)
        self.message = message
        self.requested: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt
        self.requested = signum
        print(self.message, flush=True)

    def on_fit_start(self, trainer: Trainer) -> None:
        self.requested = None
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handler)

    def on_step_end(self, trainer: Trainer) -> None:
        if self.requested is not None:
            raise KeyboardInterrupt(f"stopped by signal {self.requested} after step {trainer.step}")

    def _restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def on_fit_end(self, trainer: Trainer) -> None:
        self._restore()

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self._restore()


# ---------------------------------------------------------------------- tensorboard
class TensorBoard(Callback):
    """Log every history column as a TensorBoard scalar, and fixed-noise sample grids.

    Needs the ``tensorboard`` package (``pip install tensorboard``) unless ``writer`` is
    given (any object with ``add_scalar`` and ``add_image``, e.g. a SummaryWriter).

    Args:
        log_dir: TensorBoard run folder.
        every: Write scalars every this many steps.
        sample_every: Add a sample grid every this many steps (None: never).
        n: Samples per grid.
        seed: Seed of the fixed noise.
        writer: A ready writer to use instead of creating one.
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(
        self,
        log_dir: str | os.PathLike[str] | None = None,
        every: int = 50,
        *,
        sample_every: int | None = None,
        n: int = 64,
        seed: int = 0,
        writer: Any = None,
    ) -> None:
        self.every = check_int_at_least("every", every, 1)
        self.sample_every = check_int_at_least("sample_every", sample_every, 1) if sample_every is not None else None
        if writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ImportError(
                    "the TensorBoard callback needs the tensorboard package: pip install tensorboard"
                ) from None
            writer = SummaryWriter(log_dir=None if log_dir is None else str(log_dir))
        self.writer = writer
        self._grids = SampleGrid(".", every=1, n=n, nrow=int(math.ceil(math.sqrt(n))), seed=seed)
        self._written = 0

    def on_fit_start(self, trainer: Trainer) -> None:
        self._written = trainer.step

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step % self.every == 0:
            self.flush(trainer)
        if self.sample_every and trainer.step % self.sample_every == 0:
            from .plotting import image_grid

            images = trainer.sample(self._grids.n, z=self._grids.noise(trainer.latent_dim))
            self.writer.add_image("samples", image_grid(images, nrow=self._grids.nrow), trainer.step)

    def flush(self, trainer: Trainer) -> None:
        """Write the scalars of the steps not written yet."""
        history = trainer.history
        for record in history[self._written : trainer.step]:
            for key, value in record.as_dict().items():
                if key != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key, value, record.step)
        self._written = trainer.step
        if hasattr(self.writer, "flush"):
            self.writer.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        self.flush(trainer)

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self.flush(trainer)
