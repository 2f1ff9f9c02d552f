"""ganzoo.data.digits: scikit-learn's 8x8 scans as a labelled 32 px image set."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from torch.testing import assert_close

import ganzoo
from ganzoo.data.digits import digit_scans, resample


@pytest.fixture
def stand_in_sklearn(monkeypatch):
    """scikit-learn is optional: a stand-in loader of the same form (values 0..16, targets)."""
    images = np.zeros((20, 8, 8))
    images[:, :, :4] = 16.0  # left half white
    fake = types.ModuleType("sklearn")
    fake.datasets = types.ModuleType("sklearn.datasets")
    fake.datasets.load_digits = lambda: types.SimpleNamespace(images=images, target=np.arange(20) % 10)
    monkeypatch.setitem(sys.modules, "sklearn", fake)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", fake.datasets)


def test_digits_form_with_a_stand_in(stand_in_sklearn):
    ds = ganzoo.data.digits(image_size=32)
    images, labels = ds.tensors
    assert images.shape == (20, 1, 32, 32) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.tolist() == [i % 10 for i in range(20)]
    assert images.min() == -1.0 and images.max() == 1.0
    assert_close(images[:, :, :, :14], torch.ones(20, 1, 32, 14))  # away from the edge: white
    assert_close(images[:, :, :, 18:], -torch.ones(20, 1, 32, 14))
    scans, _ = digit_scans()
    round_trip = resample(resample(scans, 32), 8)  # up and down: the edge blurs, the rest is kept
    assert_close(round_trip[..., [0, 1, 2, 5, 6, 7]], scans[..., [0, 1, 2, 5, 6, 7]])
    assert_close(round_trip[0, 0, 0, 3:5], torch.tensor([0.65625, -0.65625]))


def test_resample_is_identity_at_the_same_size_and_checks_its_input():
    x = torch.rand(2, 1, 8, 8)
    assert resample(x, 8) is x
    assert resample(x, 32).shape == (2, 1, 32, 32)
    with pytest.raises(ganzoo.ConfigError, match=r"\(N, C, H, W\)"):
        resample(torch.rand(8, 8), 32)
    with pytest.raises(ganzoo.ConfigError, match="image_size=4"):
        ganzoo.data.digits(image_size=4)


def test_real_digits():
    pytest.importorskip("sklearn")
    ds = ganzoo.data.digits()
    images, labels = ds.tensors
    assert images.shape == (1797, 1, 32, 32)
    assert torch.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert images.min() >= -1 and images.max() <= 1
