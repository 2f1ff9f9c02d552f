"""Former home of :class:`~ganzoo.callbacks.LinearDecay`, which now lives with the other
callbacks (``from ganzoo.callbacks import LinearDecay``); this import path keeps working."""

from __future__ import annotations

from .callbacks._linear_decay import LinearDecay

__all__ = ["LinearDecay"]
