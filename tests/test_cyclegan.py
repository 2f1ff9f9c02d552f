"""CycleGAN parts: networks, image pool, cycle/identity terms, unpaired data."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ganzoo
from ganzoo.cycle import ImagePool, cycle_loss, identity_loss
from ganzoo.data import FacesDomain, Unpaired, unpaired_faces
from ganzoo.metrics import read_faces
from ganzoo.models import PatchGANCritic, ResnetGenerator, patchgan_output_size


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- networks
def test_reference_parameter_counts_exact():
    assert n_params(ganzoo.create_generator("resnet", channels=3, blocks=6, width=64)) == 7_837_699
    assert n_params(ganzoo.create_generator("resnet", channels=3, blocks=9, width=64)) == 11_378_179
    assert n_params(ganzoo.create_critic("patchgan", channels=3, width=64)) == 2_764_737


def test_instance_norm_without_affine_and_reflection_padding():
    g = ResnetGenerator(blocks=1, width=4)
    norms = [m for m in g.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and all(not m.affine for m in norms)
    assert sum(isinstance(m, torch.nn.ReflectionPad2d) for m in g.modules()) == 4
    assert isinstance(g.net[-1], torch.nn.Tanh)


@pytest.mark.parametrize("size", [8, 12, 32, 36])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_keeps_any_size_divisible_by_4(size, channels):
    g = ResnetGenerator(channels=channels, blocks=2, width=4)
    x = torch.rand(2, channels, size, size) * 2 - 1
    y = g(x)
    assert y.shape == x.shape and y.abs().max() <= 1


def test_patchgan_score_map_sizes():
    d = PatchGANCritic(width=4)
    assert d(torch.randn(2, 3, 32, 32)).shape == (2, 1, 2, 2)
    assert d(torch.randn(1, 3, 256, 256)).shape == (1, 1, 30, 30)  # the 70x70 PatchGAN's 30x30 map
    assert patchgan_output_size(256) == 30 and d.min_size() == 24


@pytest.mark.parametrize("family,kwargs", [("resnet", {"channels": 1, "blocks": 3, "width": 8}), ("patchgan", {"channels": 1, "width": 8, "layers": 2})])
def test_configs_round_trip(family, kwargs):
    registry = ganzoo.create_generator if family == "resnet" else ganzoo.create_critic
    net = registry(family, **kwargs)
    config = ganzoo.get_config(net)
    assert config["name"] == family and config["kwargs"] == kwargs
    again = ganzoo.from_config(config)
    assert type(again) is type(net) and n_params(again) == n_params(net)


@pytest.mark.parametrize("blocks", [0, -1, 1.5, True])
def test_bad_blocks(blocks):
    with pytest.raises(ganzoo.ConfigError, match=r"blocks=.*at least one residual block"):
        ganzoo.create_generator("resnet", blocks=blocks)


@pytest.mark.parametrize("shape", [(1, 3, 30, 32), (1, 3, 4, 4), (1, 1, 32, 32)])
def test_generator_bad_input_shape(shape):
    with pytest.raises(ganzoo.ConfigError, match="resnet generator"):
        ResnetGenerator(blocks=1, width=4)(torch.zeros(shape))


def test_patchgan_too_small_input():
    with pytest.raises(ganzoo.ConfigError, match="at least 24"):
        PatchGANCritic(width=4)(torch.zeros(1, 3, 16, 16))


# ---------------------------------------------------------------- pool
@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.integers(1, 9), min_size=1, max_size=25), size=st.integers(0, 50), seed=st.integers(0, 2**31))
def test_pool_rule(batches, size, seed):
    pool = ImagePool(size=size, seed=seed)
    made = 0
    for b in batches:
        new = torch.arange(made, made + b, dtype=torch.float32).reshape(b, 1)
        out = pool.query(new)
        assert out.shape == new.shape
        for k in range(b):
            v = int(out[k, 0])
            assert v == made + k or v < made + k  # the new image, or one generated (and stored) before it
            if made + k < size:
                assert v == made + k  # the first `size` images come back unchanged
        made += b
        assert len(pool) == min(size, made) <= 50


def test_pool_returns_stored_half_the_time_once_full():
    pool = ImagePool(size=50, seed=0)
    pool.query(torch.arange(50.0).reshape(50, 1))
    new = torch.arange(50.0, 2050.0).reshape(2000, 1)
    out = pool.query(new)
    share = float((out != new).double().mean())
    assert 0.45 < share < 0.55


def test_pool_state_dict_resumes_exactly():
    a = ImagePool(size=5, seed=3)
    a.query(torch.randn(7, 2))
    state = a.state_dict()
    b = ImagePool(size=5, seed=99)
    b.load_state_dict(state)
    nxt = torch.randn(6, 2)
    assert torch.equal(a.query(nxt), b.query(nxt))
    assert torch.equal(torch.stack(a.images), torch.stack(b.images))
    with pytest.raises(ganzoo.ConfigError, match="size=5"):
        ImagePool(size=4).load_state_dict(state)


def test_bad_pool_size():
    with pytest.raises(ganzoo.ConfigError, match="size=-1"):
        ImagePool(size=-1)


# ---------------------------------------------------------------- loss terms
def test_cycle_and_identity_terms_on_hand_made_tensors():
    real = torch.tensor([[[[0.0, 1.0], [-1.0, 0.5]]]])
    rec = torch.tensor([[[[0.5, 1.0], [0.0, 0.5]]]])  # |diff| = 0.5, 0, 1, 0 -> mean 0.375
    assert cycle_loss(real, rec).item() == pytest.approx(3.75)
    assert cycle_loss(real, rec, weight=1.0).item() == pytest.approx(0.375)
    assert identity_loss(real, rec).item() == pytest.approx(0.5 * 10 * 0.375)
    with pytest.raises(ganzoo.ConfigError, match="same shape"):
        cycle_loss(real, rec[..., :1])


# ---------------------------------------------------------------- unpaired data
def test_unpaired_longer_domain_sets_epoch_and_pairing_is_random():
    x = torch.arange(10.0).reshape(10, 1, 1, 1).expand(10, 1, 4, 4)
    y = torch.arange(100.0, 103.0).reshape(3, 1, 1, 1).expand(3, 1, 4, 4)
    for a, b, nx in ((x, y, True), (y, x, False)):
        pairs = Unpaired(a, b)
        assert len(pairs) == 10
        loader = torch.utils.data.DataLoader(pairs, batch_size=10, shuffle=True)
        torch.manual_seed(0)
        epochs = [next(iter(loader)) for _ in range(2)]
        long_key, short_key = ("x", "y") if nx else ("y", "x")
        for batch in epochs:
            assert sorted(batch[long_key][:, 0, 0, 0].tolist()) == list(range(10))  # every long item once
            assert set(batch[short_key][:, 0, 0, 0].tolist()) <= {100.0, 101.0, 102.0}
        firsts = [dict(zip(e[long_key][:, 0, 0, 0].tolist(), e[short_key][:, 0, 0, 0].tolist())) for e in epochs]
        assert firsts[0] != firsts[1]  # a new pairing each epoch


def test_unpaired_is_reproducible_under_torch_seed():
    pairs = unpaired_faces(size=32, length=20, seed=1)
    torch.manual_seed(5)
    a = [pairs[i]["y"] for i in range(5)]
    torch.manual_seed(5)
    b = [pairs[i]["y"] for i in range(5)]
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_unpaired_errors():
    with pytest.raises(ganzoo.ConfigError, match="dataset_y is empty"):
        Unpaired(torch.zeros(3, 3, 8, 8), torch.zeros(0, 3, 8, 8))
    with pytest.raises(ganzoo.ConfigError, match="different channel counts.*dataset_x 3, dataset_y 1"):
        Unpaired(torch.zeros(3, 3, 8, 8), torch.zeros(2, 1, 8, 8))
    with pytest.raises(ganzoo.ConfigError, match="different sizes.*8x8.*16x16"):
        Unpaired(torch.zeros(3, 3, 8, 8), torch.zeros(2, 3, 16, 16))
    with pytest.raises(ganzoo.ConfigError, match="holds no image"):
        Unpaired([1, 2], [3])


def test_unpaired_with_image_folders(tmp_path):
    from PIL import Image

    for name, colour in (("x", (255, 0, 0)), ("y", (0, 0, 255))):
        (tmp_path / name).mkdir()
        for k in range(2 if name == "x" else 3):
            Image.new("RGB", (20, 20), colour).save(tmp_path / name / f"{k}.png")
    pairs = Unpaired(ganzoo.data.ImageFolderDataset(tmp_path / "x", image_size=16, progress=False),
                     ganzoo.data.ImageFolderDataset(tmp_path / "y", image_size=16, progress=False))
    item = pairs[0]
    assert len(pairs) == 3 and item["x"][0].mean() == 1.0 and item["y"][2].mean() == 1.0


def test_faces_task_domains_differ_in_one_attribute_only():
    task = unpaired_faces(size=32, length=300, seed=0)
    rx = read_faces(task.dataset_x.batch(range(300))[0])
    ry = read_faces(task.dataset_y.batch(range(300))[0])
    assert bool(rx.high_quality.all()) and bool(ry.high_quality.all())
    assert set(rx.attributes[:, 0].tolist()) == {0} and set(ry.attributes[:, 0].tolist()) == {1}  # black / blonde
    for k, card in enumerate((4, 4, 3, 3)):
        if k:
            assert set(rx.attributes[:, k].tolist()) == set(ry.attributes[:, k].tolist()) == set(range(card))
    cached = FacesDomain("hair_style", "buns", size=32, length=8, cache=True)
    assert set(read_faces(cached.batch(range(8))[0]).attributes[:, 3].tolist()) == {2}


def test_faces_task_bad_values():
    with pytest.raises(ganzoo.ConfigError, match="two different values"):
        unpaired_faces(values=("black", "black"))
    with pytest.raises(ganzoo.ConfigError, match="hair_colour='pink'"):
        unpaired_faces(values=("black", "pink"))
