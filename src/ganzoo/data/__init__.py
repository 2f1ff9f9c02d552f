"""Built-in datasets with known modes: 2-D toy mixtures and synthetic anime-style faces."""

from __future__ import annotations

from .faces import FacesSampler, SyntheticFaces
from .toy import GaussianMixture, SwissRoll, ToyDistribution, ToySampler, gaussians8, gaussians25, grid, ring, swiss_roll

__all__ = [
    "ToyDistribution",
    "GaussianMixture",
    "SwissRoll",
    "ToySampler",
    "ring",
    "grid",
    "gaussians8",
    "gaussians25",
    "swiss_roll",
    "SyntheticFaces",
    "FacesSampler",
]
