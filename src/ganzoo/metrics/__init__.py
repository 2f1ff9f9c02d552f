"""Metrics: FID, KID, Inception Score and precision/recall (through torch-fidelity, see
:mod:`ganzoo.metrics.fidelity`), mode coverage, high-quality fraction and reverse KL on data with
known modes (2-D mixtures and synthetic faces), and a loss-stability summary."""

from __future__ import annotations

from . import faces as _faces
from .faces import FaceReadout, face_coverage, read_faces
from .fidelity import (
    KID,
    InceptionScore,
    PrecisionRecall,
    SampleQuality,
    evaluate,
    extract_features,
    fid,
    fid_from_features,
    inception_score,
    inception_score_from_logits,
    kid,
    kid_from_features,
    precision_recall,
    precision_recall_from_features,
    to_uint8,
)
from .modes import ModeCoverage, mode_coverage, reverse_kl
from .stability import LossStability, loss_stability

#: Default colour tolerance of :func:`read_faces` (:data:`ganzoo.metrics.faces.FACE_TOLERANCE`).
FACE_TOLERANCE = _faces.FACE_TOLERANCE

__all__ = [
    "fid",
    "kid",
    "inception_score",
    "precision_recall",
    "evaluate",
    "extract_features",
    "to_uint8",
    "fid_from_features",
    "kid_from_features",
    "inception_score_from_logits",
    "precision_recall_from_features",
    "KID",
    "InceptionScore",
    "PrecisionRecall",
    "SampleQuality",
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
