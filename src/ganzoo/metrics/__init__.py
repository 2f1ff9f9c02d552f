"""Metrics: mode coverage, high-quality fraction and reverse KL on data with known modes."""

from __future__ import annotations

from .modes import ModeCoverage, mode_coverage, reverse_kl

__all__ = ["ModeCoverage", "mode_coverage", "reverse_kl"]
