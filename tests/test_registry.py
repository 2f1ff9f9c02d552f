from __future__ import annotations

import pytest
import torch

import ganzoo
from ganzoo import Registry


def test_contract_listing_functions():
    assert ganzoo.list_generators() == sorted(ganzoo.list_generators())
    assert {"dcgan", "mlp"} <= set(ganzoo.list_generators())
    assert {"dcgan", "mlp"} <= set(ganzoo.list_critics())
    assert ganzoo.list_losses() == ["bce", "hinge", "least_squares", "minimax", "wasserstein"]
    assert ganzoo.list_regularizers() == ["gradient_penalty", "r1", "spectral_norm", "weight_clipping"]


def test_fnmatch_filter():
    assert ganzoo.list_generators("dcgan*") == ["dcgan"]
    assert ganzoo.list_losses("*s*") == ["least_squares", "wasserstein"]
    assert ganzoo.list_regularizers("nothing*") == []


def test_unknown_name_is_keyerror_and_ganzoo_error_with_suggestion():
    with pytest.raises(KeyError) as info:
        ganzoo.create_generator("dcgn")
    assert isinstance(info.value, ganzoo.GanzooError)
    assert isinstance(info.value, ganzoo.UnknownNameError)
    message = str(info.value)
    assert "did you mean 'dcgan'" in message.lower()
    assert "dcgan, mlp" in message  # lists the available names
    assert not message.startswith("'")  # not KeyError's quoted repr


def test_unknown_loss_lists_all_losses():
    with pytest.raises(ganzoo.UnknownNameError, match="hinge"):
        ganzoo.create_loss("wasserstien")
    with pytest.raises(ganzoo.UnknownNameError, match="Did you mean 'wasserstein'"):
        ganzoo.create_loss("wasserstien")


def test_duplicate_registration_raises():
    reg = Registry("thing")

    @reg.register("a")
    class A:
        pass

    with pytest.raises(ganzoo.DuplicateNameError, match="'a' is already registered"):
        reg.register("a")(A)
    with pytest.raises(ValueError):
        ganzoo.register_loss("hinge")(type("X", (), {}))


def test_register_default_name_is_snake_case_and_bare_decorator():
    reg = Registry("widget")

    @reg.register
    class FancyWidgetV2:
        def __init__(self, size: int = 1) -> None:
            self.size = size

    assert reg.list() == ["fancy_widget_v2"]
    w = reg.create("fancy_widget_v2", size=3)
    assert w.size == 3
    assert "fancy_widget_v2" in reg and len(reg) == 1


def test_registered_class_records_config_when_built_directly():
    g = ganzoo.models.MLPGenerator(latent_dim=3, out_shape=(2,), hidden=(8,))
    assert ganzoo.get_config(g) == {
        "kind": "generator",
        "name": "mlp",
        "kwargs": {"latent_dim": 3, "out_shape": [2], "hidden": [8]},
    }


def test_unregistered_subclass_has_no_config():
    class Custom(ganzoo.models.MLPGenerator):
        pass

    with pytest.raises(ganzoo.ConfigError, match="not built from a registry"):
        ganzoo.get_config(Custom())


def test_bad_keyword_names_the_signature():
    with pytest.raises(ganzoo.ConfigError, match="latent_dim"):
        ganzoo.create_generator("dcgan", latnet_dim=10)


def test_user_registered_generator_round_trips_through_config():
    @ganzoo.register_generator("test_tiny_gen")
    class TinyGen(torch.nn.Module):
        def __init__(self, latent_dim: int = 2, scale: float = 1.0) -> None:
            super().__init__()
            self.latent_dim, self.out_shape = latent_dim, (2,)
            self.lin = torch.nn.Linear(latent_dim, 2)
            self.scale = scale

        def forward(self, z):
            return self.scale * self.lin(z)

    try:
        g = ganzoo.create_generator("test_tiny_gen", scale=2.0)
        config = ganzoo.get_config(g)
        assert config == {"kind": "generator", "name": "test_tiny_gen", "kwargs": {"scale": 2.0}}
        clone = ganzoo.from_config(config)
        assert isinstance(clone, TinyGen) and clone.scale == 2.0
    finally:
        ganzoo.registry.GENERATORS._builders.pop("test_tiny_gen")


def test_non_json_argument_gives_clear_error():
    reg = Registry("generator")

    @reg.register("holder")
    class Holder:
        def __init__(self, module=None) -> None:
            self.module = module

    h = reg.create("holder", module=torch.nn.ReLU())
    with pytest.raises(ganzoo.ConfigError, match="not plain JSON"):
        ganzoo.get_config(h)


def test_from_config_rejects_garbage():
    with pytest.raises(ganzoo.ConfigError, match="not a ganzoo component config"):
        ganzoo.from_config({"name": "dcgan"})
