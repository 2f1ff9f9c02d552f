"""scikit-learn's handwritten digits as a small, real, labelled image set (no download).

``sklearn.datasets.load_digits()`` ships 1,797 real 8x8 scans of handwritten digits (the
test part of UCI "optdigits"; pixel values 0..16; 174 to 183 per digit). :func:`digits`
scales them to [-1, 1] and upscales them (bilinear) to ``image_size`` pixels, so they train
the DCGAN networks; :func:`resample` is the resampling it uses, and takes generated images
back to 8x8, so a classifier trained on the real scans can read samples (BENCHMARKS.md,
section 5). Needs the optional scikit-learn: ``pip install 'ganzoo[digits]'``.

Example:
    >>> import ganzoo
    >>> ds = ganzoo.data.digits(image_size=32)
    >>> len(ds)
    1797
    >>> image, label = ds[0]
    >>> image.shape, label.item(), float(image.min()) >= -1.0, float(image.max()) <= 1.0
    (torch.Size([1, 32, 32]), 0, True, True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import TensorDataset

from .._validation import check_int_at_least
from ..errors import ConfigError

__all__ = ["digits", "digit_scans", "resample", "SCAN_SIZE", "NUM_DIGITS"]

#: Side length of the original scans.
SCAN_SIZE = 8
#: Number of classes (the digits 0-9).
NUM_DIGITS = 10


def digit_scans() -> tuple[Tensor, Tensor]:
    """The 1,797 original scans, ``(images, labels)``.

    Returns:
        ``images``: float32 ``(1797, 1, 8, 8)`` in [-1, 1] (pixel value ``v`` in 0..16 maps to
        ``v / 8 - 1``); ``labels``: int64 ``(1797,)``, the digit of each scan.

    Raises:
        ImportError: scikit-learn is not installed (the message says how to install it).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "ganzoo.data.digits needs scikit-learn (it ships the scans); install it with "
            "pip install 'ganzoo[digits]' (or pip install scikit-learn)"
        ) from None
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).reshape(-1, 1, SCAN_SIZE, SCAN_SIZE)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return images / 8.0 - 1.0, labels


def resample(images: Tensor, size: int) -> Tensor:
    """Resize a batch ``(N, C, H, W)`` to ``size x size``, bilinear (``align_corners=False``;
    antialiased when shrinking, so 32 -> 8 averages like an area filter). Values stay in the
    input's range."""
    check_int_at_least("size", size, 1)
    if images.dim() != 4:
        raise ConfigError(f"resample() takes a batch (N, C, H, W), got shape {tuple(images.shape)}")
    if images.shape[-2:] == (size, size):
        return images
    shrink = size < images.shape[-1] or size < images.shape[-2]
    return F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)


def digits(image_size: int = 32) -> TensorDataset:
    """The digits as a labelled dataset for a (conditional) GAN: ``(image, label)`` pairs.

    Args:
        image_size: Side length of the images; the scans are upscaled from 8x8 with
            :func:`resample` (32 is the size measured in BENCHMARKS.md: at 16 the DCGAN
            recipe collapsed).

    Returns:
        A :class:`~torch.utils.data.TensorDataset` of float32 images ``(1, image_size,
        image_size)`` in [-1, 1] and int64 labels in ``[0, 10)``; a
        ``DataLoader(ds, batch_size=64, shuffle=True)`` yields ``(images, labels)`` batches,
        what a class-conditional game reads.
    """
    check_int_at_least("image_size", image_size, SCAN_SIZE)
    images, labels = digit_scans()
    return TensorDataset(resample(images, image_size).clamp_(-1.0, 1.0).contiguous(), labels)
