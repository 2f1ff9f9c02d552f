"""Former home of :class:`~ganzoo.callbacks.EMA`, which now lives with the other callbacks
(``from ganzoo.callbacks import EMA``); this import path keeps working."""

from __future__ import annotations

from .callbacks._ema import EMA

__all__ = ["EMA"]
