"""SyntheticFaces and its readout (ganzoo.data.faces, ganzoo.metrics.faces)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ganzoo.data import SyntheticFaces
from ganzoo.data.faces import PALETTES, SKIN
from ganzoo.errors import ConfigError
from ganzoo.metrics import FACE_TOLERANCE, face_coverage, read_faces

ALL_MODES = SyntheticFaces.mode_attributes(torch.arange(144))


@pytest.fixture(scope="module")
def real32():
    ds = SyntheticFaces(size=32, length=2000, seed=123)
    images, attrs = ds.batch(range(2000))
    return images, attrs


# ---------------------------------------------------------------- the dataset
@pytest.mark.parametrize("size", [32, 64, 128])
def test_items_have_the_agreed_shape_type_and_range(size):
    ds = SyntheticFaces(size=size, length=10, seed=0)
    image, attrs = ds[3]
    assert image.shape == (3, size, size) and image.dtype == torch.float32
    assert attrs.shape == (4,) and attrs.dtype == torch.long
    assert image.min() >= -1 and image.max() <= 1
    assert ds.num_modes == 144 >= 100
    assert ds.attribute_names == ("hair_colour", "eye_colour", "background", "hair_style")
    assert ds.attribute_sizes == (4, 4, 3, 3) and len(ds) == 10


def test_deterministic_given_the_seed_and_different_across_seeds():
    a, b, c = (SyntheticFaces(size=32, length=50, seed=s) for s in (7, 7, 8))
    assert torch.equal(a.batch(range(50))[0], b.batch(range(50))[0])
    assert torch.equal(a.attributes, b.attributes)
    assert not torch.equal(a.attributes, c.attributes)


def test_jitter_makes_images_of_one_mode_differ():
    ds = SyntheticFaces(size=64, length=2000, seed=0)
    mode = ds.mode_index(ds.attributes)
    same = (mode == mode[0]).nonzero().flatten()[:2]
    first, second = ds.batch(same)[0]
    assert (first - second).abs().max() > 0.1  # not a lookup table


def test_attribute_frequencies_are_uniform_over_the_modes():
    ds = SyntheticFaces(size=32, length=14400, seed=0)
    counts = torch.bincount(ds.mode_index(ds.attributes), minlength=144).float()
    assert counts.min() > 50 and counts.max() < 150  # 100 expected per mode


def test_item_loader_and_batch_agree():
    ds = SyntheticFaces(size=32, length=20, seed=1)
    loader = torch.utils.data.DataLoader(ds, batch_size=5, shuffle=False)
    images, attrs = next(iter(loader))
    one_by_one = torch.stack([ds[i][0] for i in range(5)])
    torch.testing.assert_close(images, one_by_one)
    assert torch.equal(attrs, ds.attributes[:5])
    assert torch.equal(ds[-1][0], ds[19][0])


def test_sampler_is_infinite_and_reproducible():
    ds = SyntheticFaces(size=32, length=100, seed=0)
    first = [b for _, b in zip(range(3), ds.sampler(8, seed=3))]
    again = [b for _, b in zip(range(3), ds.sampler(8, seed=3))]
    assert all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(first, again))
    assert first[0][0].shape == (8, 3, 32, 32)


@given(st.lists(st.integers(0, 143), min_size=1, max_size=20))
def test_mode_index_round_trip(modes):
    modes = torch.tensor(modes)
    assert torch.equal(SyntheticFaces.mode_index(SyntheticFaces.mode_attributes(modes)), modes)


def test_bad_arguments_explain_the_fix():
    with pytest.raises(ConfigError, match=r"size=48 .*32, 64, 128"):
        SyntheticFaces(size=48)
    with pytest.raises(ConfigError, match="length"):
        SyntheticFaces(length=0)
    with pytest.raises(IndexError, match="length 5"):
        SyntheticFaces(size=32, length=5)[5]
    with pytest.raises(ConfigError, match="out of range"):
        SyntheticFaces.draw(torch.tensor([[0, 0, 3, 0]]), size=32)


def test_palettes_are_more_than_twice_the_tolerance_apart():
    """The design invariant that makes a match within tolerance unique."""

    def min_distance(colours_a, colours_b=None):
        pairs = itertools.combinations(colours_a, 2) if colours_b is None else itertools.product(colours_a, colours_b)
        return min(math.dist(a, b) for a, b in pairs)

    hair, eyes, bg = (list(PALETTES[k].values()) for k in ("hair_colour", "eye_colour", "background"))
    for palette in (hair, eyes, bg):
        assert min_distance(palette) > 2 * FACE_TOLERANCE
    assert min_distance(hair, bg) > 2 * FACE_TOLERANCE  # compete for the hair-style probes
    assert min_distance([SKIN], hair + eyes + bg) > 2 * FACE_TOLERANCE  # the skin mask


# ---------------------------------------------------------------- the readout
def test_readout_recognises_at_least_99_percent_of_2000_real_samples(real32):
    images, attrs = real32
    readout = read_faces(images)
    correct = (readout.attributes == attrs).all(dim=1).double().mean().item()
    assert correct >= 0.99
    assert readout.high_quality.double().mean().item() >= 0.99
    assert (readout.distances[readout.high_quality] <= FACE_TOLERANCE).all()


@pytest.mark.parametrize("size", [32, 64, 128])
def test_every_mode_is_read_back_at_every_size(size):
    nominal = SyntheticFaces.draw(ALL_MODES, size=size)
    jittered = SyntheticFaces(size=size, length=150, seed=size)
    images, attrs = jittered.batch(range(150))
    for imgs, truth in ((nominal, ALL_MODES), (images, attrs)):
        readout = read_faces(imgs)
        assert torch.equal(readout.attributes, truth)
        assert readout.high_quality.all()
    result = face_coverage(nominal)
    assert result.modes == 144 and result.hq_pct == 100.0 and result.reverse_kl == pytest.approx(0.0, abs=1e-12)


def test_extreme_jitter_is_still_read():
    corners = torch.tensor(list(itertools.product([0.0, 1.0], repeat=5)), dtype=torch.float32)
    attrs = ALL_MODES[torch.arange(len(corners)) * 4]
    readout = read_faces(SyntheticFaces.draw(attrs, size=32, jitter=corners))
    assert torch.equal(readout.attributes, attrs) and readout.high_quality.all()


def test_a_generator_that_always_returns_one_face_captures_one_mode():
    face = SyntheticFaces(size=64, length=1, seed=0)[0][0]
    result = face_coverage(face.expand(500, -1, -1, -1))
    assert result.modes == 1 and result.hq_pct == 100.0
    assert result.reverse_kl == pytest.approx(math.log(144))


@pytest.mark.parametrize("size", [32, 64])
def test_blank_and_noise_images_are_not_high_quality(size):
    skin = torch.tensor(SKIN).reshape(1, 3, 1, 1) * 2 - 1
    blanks = [torch.full((1, 3, size, size), v) for v in (-1.0, 0.0, 1.0)]
    blanks.append(skin.expand(1, 3, size, size))
    noise = torch.rand(200, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    images = torch.cat([*blanks, noise])
    readout = read_faces(images)
    assert not readout.high_quality.any() and not readout.face_found.any()
    assert face_coverage(images).modes == 0


def test_wrong_or_blended_colours_are_not_high_quality():
    attrs = torch.tensor([[0, 0, 0, 1]])  # black hair, blue eyes, sky background, long hair
    face = SyntheticFaces.draw(attrs, size=64)
    other = SyntheticFaces.draw(torch.tensor([[2, 2, 1, 1]]), size=64)  # red hair, amber eyes, mint
    half_left = face.clone()
    half_left[..., :32] = other[..., :32]  # eyes, style probes disagree left vs right
    blend = 0.5 * face + 0.5 * other  # colours between two palette entries
    readout = read_faces(torch.cat([face, half_left, blend]))
    assert readout.high_quality.tolist() == [True, False, False]
    assert (readout.distances[2] > FACE_TOLERANCE).any()


def test_nan_images_are_not_hq_and_not_counted():
    images = SyntheticFaces(size=32, length=4, seed=0).batch(range(4))[0]
    images[0, 0, 5, 5] = math.nan
    readout = read_faces(images)
    assert readout.high_quality.tolist() == [False, True, True, True]
    assert math.isinf(readout.distances[0, 0])
    assert sum(face_coverage(images).counts) == 3


def test_readout_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 3, S, S\)"):
        read_faces(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="empty"):
        read_faces(torch.zeros(0, 3, 32, 32))
    with pytest.raises(ValueError, match="tolerance"):
        read_faces(torch.zeros(1, 3, 32, 32), tolerance=0.0)
