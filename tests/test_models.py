from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ganzoo
from ganzoo.models import DCGANCritic, DCGANGenerator, dcgan_layout


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_reference_parameter_counts_exact():
    assert n_params(ganzoo.create_generator("dcgan", latent_dim=100, image_size=64, channels=3)) == 3_576_704
    assert n_params(ganzoo.create_critic("dcgan", image_size=64, channels=3, norm="batch")) == 2_765_568
    assert n_params(ganzoo.create_critic("dcgan", image_size=64, channels=3, norm="none")) == 2_763_776


@pytest.mark.parametrize("size", [8, 16, 28, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_sizes_round_trip(size, channels):
    g = DCGANGenerator(latent_dim=10, image_size=size, channels=channels, width=4)
    d = DCGANCritic(image_size=size, channels=channels, width=4)
    x = g(torch.randn(3, 10))
    assert x.shape == (3, channels, size, size)
    assert x.abs().max() <= 1.0  # tanh output
    assert d(x).shape == (3,)
    assert g.out_shape == d.in_shape == (channels, size, size)


def test_generator_accepts_4d_noise():
    g = DCGANGenerator(latent_dim=10, image_size=16, width=4)
    z = torch.randn(2, 10)
    g.eval()
    torch.testing.assert_close(g(z), g(z.view(2, 10, 1, 1)))


def test_tutorial_28x28_instance_norm_variant():
    g = ganzoo.create_generator("dcgan", latent_dim=100, image_size=28, channels=1, norm="instance")
    assert dcgan_layout(28) == (7, 2)
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in g.modules())
    assert g(torch.randn(2, 100)).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("bad", [0, 20, 48, 100, -64, 3])
def test_bad_image_size_names_argument_and_valid_sizes(bad):
    with pytest.raises(ganzoo.ConfigError, match=r"image_size=.*(8, 16, 32, 64, 128, 256)"):
        ganzoo.create_generator("dcgan", image_size=bad)
    with pytest.raises(ValueError):
        ganzoo.create_critic("dcgan", image_size=bad)


def test_bad_norm_lists_choices():
    with pytest.raises(ganzoo.ConfigError, match="norm='group'.*'batch', 'instance', 'layer', 'none'"):
        ganzoo.create_critic("dcgan", norm="group")


def test_dcgan_init_statistics():
    g = DCGANGenerator(latent_dim=100, image_size=64)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    w = torch.cat([c.weight.flatten() for c in convs])
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3
    bns = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    bw = torch.cat([b.weight for b in bns])
    assert abs(bw.mean().item() - 1.0) < 5e-3 and all((b.bias == 0).all() for b in bns)


def test_mlp_course_guide_sizes():
    g = ganzoo.create_generator("mlp", latent_dim=100, out_shape=(1, 28, 28), hidden=(256, 512), activation="leaky_relu", out_activation="tanh")
    d = ganzoo.create_critic("mlp", in_shape=(1, 28, 28), hidden=(512, 256), activation="leaky_relu")
    assert n_params(g) == (100 * 256 + 256) + (256 * 512 + 512) + (512 * 784 + 784)
    assert n_params(d) == (784 * 512 + 512) + (512 * 256 + 256) + (256 + 1)
    x = g(torch.randn(4, 100))
    assert x.shape == (4, 1, 28, 28) and d(x).shape == (4,)


def test_mlp_toy_sizes():
    g = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(512, 512, 512))
    d = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(512, 512, 512))
    assert n_params(g) == (2 * 512 + 512) + 2 * (512 * 512 + 512) + (512 * 2 + 2)
    assert n_params(d) == (2 * 512 + 512) + 2 * (512 * 512 + 512) + (512 + 1)


@pytest.mark.parametrize("kwargs", [{"out_shape": (0,)}, {"out_shape": "2"}, {"hidden": (8, -1)}, {"latent_dim": 0}])
def test_mlp_bad_shapes(kwargs):
    with pytest.raises(ganzoo.ConfigError):
        ganzoo.create_generator("mlp", **kwargs)


@given(alpha=st.floats(0.01, 100.0), seed=st.integers(0, 2**16))
@settings(max_examples=25, deadline=None)
def test_bias_free_critic_is_positively_homogeneous(alpha, seed):
    """D(alpha x) = alpha D(x) and D(0) = 0 for any weights: why SN-GAN needs biases (recipes.sngan)."""
    torch.manual_seed(seed)
    d = DCGANCritic(image_size=16, channels=1, width=4, norm="none")
    for p in d.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(3, 1, 16, 16, dtype=torch.float64)
    d = d.double()
    assert torch.equal(d(torch.zeros_like(x)), torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(d(alpha * x), alpha * d(x), rtol=1e-9, atol=1e-12)
    biased = DCGANCritic(image_size=16, channels=1, width=4, norm="none", bias=True).double()
    for m in biased.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.bias)
    assert (biased(torch.zeros_like(x)) != 0).all()


def test_critic_bias_must_be_bool():
    with pytest.raises(ganzoo.ConfigError, match="bias must be True or False"):
        DCGANCritic(image_size=16, channels=1, width=4, bias="yes")
