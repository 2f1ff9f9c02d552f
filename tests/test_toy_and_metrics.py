from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ganzoo.data import gaussians8, gaussians25, grid, ring, swiss_roll
from ganzoo.metrics import mode_coverage, reverse_kl


def test_ring_has_eight_distinct_unit_centres():
    mix = ring()
    assert mix.centres.shape == (8, 2) and mix.std == 0.01
    assert torch.allclose(mix.centres.norm(dim=1), torch.ones(8))
    assert torch.cdist(mix.centres, mix.centres).add(torch.eye(8)).min() > 0.7  # all distinct


def test_grid_centres():
    mix = grid()
    assert mix.centres.shape == (25, 2) and mix.std == 0.05
    assert sorted(set(mix.centres[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_wgan_gp_toy_sets_scaled_as_in_the_paper_code():
    g8, g25 = gaussians8(), gaussians25()
    assert torch.allclose(g8.centres.norm(dim=1), torch.full((8,), 2 / 1.414))
    assert g25.centres.abs().max().item() == pytest.approx(4 / 2.828)
    assert swiss_roll().sample(100).shape == (100, 2)


def test_sampler_is_infinite_and_reproducible():
    sampler = grid().sampler(batch_size=32, seed=7)
    a = [b for _, b in zip(range(3), sampler)]
    b = [b for _, b in zip(range(3), sampler)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert len(grid().dataset(100)) == 100


def test_samples_on_the_centres_are_all_hq():
    mix = grid()
    result = mode_coverage(mix.centres.repeat(100, 1), mix.centres, mix.std)
    assert result.modes == 25 and result.hq_pct == 100.0 and result.reverse_kl == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("mix", [ring(), grid()], ids=["ring", "grid"])
def test_real_data_hq_is_the_2d_gaussian_3_std_mass(mix):
    """For a 2-D isotropic Gaussian, P(|x - mu| <= 3 std) = 1 - exp(-9/2) = 98.89 %: the
    ceiling any generator can reach on % HQ."""
    result = mode_coverage(mix.sample(20000, torch.Generator().manual_seed(0)), mix.centres, mix.std)
    assert result.modes == mix.num_modes and result.reverse_kl < 0.01
    assert result.hq_pct == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.3)


def test_all_samples_at_one_mode():
    mix = grid()
    samples = mix.centres[3].repeat(2500, 1)
    result = mode_coverage(samples, mix.centres, mix.std)
    assert result.modes == 1 and result.hq_pct == 100.0
    assert result.reverse_kl == pytest.approx(math.log(25))


def test_point_just_inside_and_just_outside_three_std():
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    inside = mode_coverage(torch.tensor([[0.0299, 0.0]]), centres, std=0.01)
    outside = mode_coverage(torch.tensor([[0.0301, 0.0]]), centres, std=0.01)
    assert inside.hq_pct == 100.0 and inside.modes == 1
    assert outside.hq_pct == 0.0 and outside.modes == 0
    assert outside.counts == (1, 0)  # still counted in the histogram for the KL


def test_uniform_histogram_has_zero_kl():
    assert reverse_kl(torch.full((25,), 100)) == 0.0


@given(st.lists(st.integers(0, 1000), min_size=2, max_size=30).filter(lambda c: sum(c) > 0))
def test_reverse_kl_bounds(counts):
    value = reverse_kl(torch.tensor(counts))
    assert -1e-12 <= value <= math.log(len(counts)) + 1e-9


def test_nan_samples_are_never_hq():
    centres = torch.zeros(1, 2)
    result = mode_coverage(torch.tensor([[math.nan, 0.0], [0.0, 0.0]]), centres, std=1.0)
    assert result.hq_pct == 50.0


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        mode_coverage(torch.zeros(5, 3), torch.zeros(2, 2), std=1.0)
