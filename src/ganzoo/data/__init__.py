"""Built-in datasets with known modes (2-D toy mixtures, synthetic anime-style faces), scikit-learn's
handwritten digits (labelled, optional scikit-learn) and folders of images."""

from __future__ import annotations

from .digits import digits
from .faces import FacesSampler, SyntheticFaces
from .folder import ImageFolderDataset
from .toy import GaussianMixture, SwissRoll, ToyDistribution, ToySampler, gaussians8, gaussians25, grid, ring, swiss_roll
from .unpaired import FacesDomain, Unpaired, unpaired_faces

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
    "ImageFolderDataset",
    "Unpaired",
    "FacesDomain",
    "unpaired_faces",
    "digits",
]
