"""Progress bars: tqdm when it is installed, otherwise a plain line every few seconds."""

from __future__ import annotations

import sys
import time
from typing import Any, Mapping, TextIO

__all__ = ["progress_bar", "PlainProgress", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``75 -> '1m15s'``, ``3725 -> '1h02m'``, ``9 -> '9s'``."""
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class PlainProgress:
    """A dependency-free progress line: count, rate and ETA, printed at most every ``interval`` s.

    Has the subset of tqdm's interface ganzoo uses: ``update``, ``set_postfix``, ``close``
    and use as a context manager.
    """

    def __init__(
        self,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        interval: float = 10.0,
        file: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.interval, self.enabled = interval, enabled
        self.file = file
        self._start_n, self._start = initial, time.perf_counter()
        self._last_print = self._start
        self._postfix = ""
        self._closed = False

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` and print if ``interval`` seconds passed since the last line."""
        self.n += n
        now = time.perf_counter()
        if self.enabled and now - self._last_print >= self.interval:
            self._last_print = now
            self._print()

    def set_postfix(self, values: Mapping[str, Any] | None = None, refresh: bool = True, **kwargs: Any) -> None:
        """Show ``key=value`` pairs after the rate (floats with 4 significant digits)."""
        items = {**(values or {}), **kwargs}
        self._postfix = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items.items())

    def line(self) -> str:
        """The current progress line."""
        elapsed = time.perf_counter() - self._start
        rate = (self.n - self._start_n) / elapsed if elapsed > 0 else 0.0
        count = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        parts = [f"{self.desc}: {count} {self.unit}s" if self.desc else f"{count} {self.unit}s",
                 f"{rate:.2f} {self.unit}/s", f"elapsed {format_seconds(elapsed)}"]
        if self.total and rate > 0:
            parts.append(f"ETA {format_seconds((self.total - self.n) / rate)}")
        if self._postfix:
            parts.append(self._postfix)
        return ", ".join(parts)

    def _print(self) -> None:
        print(self.line(), file=self.file or sys.stderr, flush=True)

    def close(self) -> None:
        """Print the final line once."""
        if self.enabled and not self._closed:
            self._print()
        self._closed = True

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    initial: int = 0,
    enabled: bool = True,
    backend: str = "auto",
) -> Any:
    """A progress bar: tqdm or :class:`PlainProgress`.

    ``backend="auto"`` uses tqdm when it is installed and stderr is a terminal, else plain
    lines (readable in log files); ``"tqdm"`` insists on tqdm; ``"plain"`` never uses it.
    ``enabled=False`` gives a bar that counts silently.
    """
    use_tqdm = backend == "tqdm" or (backend == "auto" and sys.stderr is not None and sys.stderr.isatty())
    if enabled and use_tqdm:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if backend == "tqdm":
                raise ImportError("progress bar backend 'tqdm' needs tqdm: pip install tqdm") from None
        else:
            return tqdm(total=total, desc=desc, unit=unit, initial=initial, dynamic_ncols=True)
    return PlainProgress(total=total, desc=desc, unit=unit, initial=initial, enabled=enabled)
