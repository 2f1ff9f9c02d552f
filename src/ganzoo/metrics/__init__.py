"""Metrics: mode coverage, high-quality fraction and reverse KL on data with known modes
(2-D mixtures and synthetic faces), and a loss-stability summary."""

from __future__ import annotations

from . import faces as _faces
from .faces import FaceReadout, face_coverage, read_faces
from .modes import ModeCoverage, mode_coverage, reverse_kl
from .stability import LossStability, loss_stability

#: Default colour tolerance of :func:`read_faces` (:data:`ganzoo.metrics.faces.FACE_TOLERANCE`).
FACE_TOLERANCE = _faces.FACE_TOLERANCE

__all__ = [
    "ModeCoverage",
    "mode_coverage",
    "reverse_kl",
    "FACE_TOLERANCE",
    "FaceReadout",
    "read_faces",
    "face_coverage",
    "LossStability",
    "loss_stability",
]
