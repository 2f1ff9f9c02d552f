"""What the Trainer checks before the first update (issue 16): the data against the networks,
dtypes, batch layout, devices; each a clear error (or a warning) instead of silent training."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo import ConfigError


def image_trainer(size: int = 32, channels: int = 3, **kwargs):
    torch.manual_seed(0)
    kwargs = {"device": "cpu", "amp": "off", "progress": False, **kwargs}
    return ganzoo.recipes.wgan_gp(image_size=size, channels=channels, width=8, latent_dim=8, critic_steps=1, **kwargs)


def loader(images, *extra, batch_size=8, **kwargs):
    data = torch.utils.data.TensorDataset(images, *extra) if extra else images
    return torch.utils.data.DataLoader(data, batch_size=batch_size, **kwargs)


def untouched(trainer):
    return {k: v.clone() for m in trainer.networks.values() for k, v in m.state_dict().items()}


class MeanCritic(nn.Module):
    """Returns one score per batch: the mistake the check exists for."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x):
        return self.linear(x).mean()


def test_a_critic_that_averages_over_the_batch_is_refused_before_training():
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
    trainer = ganzoo.Trainer(G, MeanCritic(), "wasserstein", ["gradient_penalty"], device="cpu", progress=False)
    with pytest.raises(ConfigError, match=r"returned scores of shape \(\) for a batch of 16 samples.*Remove any mean"):
        trainer.fit(loader(torch.randn(64, 2), batch_size=16), steps=1)
    assert trainer.step == 0 and trainer.critic_updates == 0


def test_images_of_another_size_than_the_generator_makes_are_an_error_naming_both():
    trainer = image_trainer(32)
    before = untouched(trainer)
    with pytest.raises(ConfigError, match=r"shape \(3, 35, 35\) per sample but the generator makes \(3, 32, 32\).*image_size=35"):
        trainer.fit(loader(torch.rand(16, 3, 35, 35) * 2 - 1), steps=1)
    after = untouched(trainer)
    assert all(torch.equal(before[k], after[k]) for k in before)  # the check changed nothing


def test_channels_that_do_not_match_are_an_error():
    trainer = image_trainer(32, channels=1)
    with pytest.raises(ConfigError, match=r"\(3, 32, 32\) per sample but the generator makes \(1, 32, 32\)"):
        trainer.fit(loader(torch.rand(16, 3, 32, 32) * 2 - 1), steps=1)


@pytest.mark.parametrize("scale, advice", [(1.0, r"\[0, 1\]: use images \* 2 - 1"), (255.0, r"\[0, 255\]: use images / 127.5 - 1")])
def test_images_outside_minus_one_one_train_with_a_warning_saying_how_to_normalise(scale, advice):
    trainer = image_trainer(32)
    with pytest.warns(UserWarning, match=advice):
        trainer.fit(loader(torch.rand(16, 3, 32, 32) * scale), steps=1)
    assert trainer.step == 1


def test_images_in_minus_one_one_give_no_warning():
    trainer = image_trainer(32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer.fit(loader(torch.rand(16, 3, 32, 32) * 2 - 1), steps=1)


def test_the_check_leaves_training_bitwise_unchanged():
    data = torch.rand(32, 3, 32, 32) * 2 - 1
    a = image_trainer(32, seed=0)
    a.fit(loader(data), steps=2)
    b = image_trainer(32, seed=0)  # built after a trained: the global random stream is seeded here
    b.game.check_batch = lambda batch, ctx: None  # as if the check did not exist
    b.fit(loader(data), steps=2)
    for (k, x), y in zip(a.networks["generator"].state_dict().items(), b.networks["generator"].state_dict().values()):
        assert torch.equal(x, y), k


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_float64_and_half_batches_are_cast(dtype):
    trainer = image_trainer(32)
    trainer.fit(loader((torch.rand(16, 3, 32, 32) * 2 - 1).to(dtype)), steps=1)
    assert trainer.step == 1 and torch.isfinite(torch.tensor(trainer.history.column("critic_loss"))).all()


def test_uint8_batches_say_how_to_convert():
    trainer = image_trainer(32)
    with pytest.raises(ConfigError, match=r"uint8.*images.float\(\) / 127.5 - 1"):
        trainer.fit(loader(torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)), steps=1)


def test_labels_before_images_are_named_for_the_unconditional_game():
    trainer = image_trainer(32)
    data = [(torch.randint(10, (8,)), torch.rand(8, 3, 32, 32) * 2 - 1)]
    with pytest.raises(ConfigError, match=r"looks like \(labels, images\): put the images first"):
        trainer.fit(data, steps=1)


def test_labels_before_images_are_named_for_the_conditional_game():
    trainer = image_trainer(32, num_classes=10)
    data = [(torch.randint(10, (8,)), torch.rand(8, 3, 32, 32) * 2 - 1)]
    with pytest.raises(ConfigError, match=r"columns swapped\? the batch must be \(images, labels\)"):
        trainer.fit(data, steps=1)


def test_a_batch_dict_with_other_keys_lists_its_keys_and_the_accepted_ones():
    trainer = image_trainer(32)
    with pytest.raises(ConfigError, match=r"keys \['pixels', 'target'\].*'image'"):
        trainer.fit([{"pixels": torch.rand(8, 3, 32, 32), "target": torch.zeros(8)}], steps=1)


def test_a_one_sample_batch_with_batch_norm_says_drop_last():
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,), norm="batch")
    trainer = ganzoo.Trainer(G, D, device="cpu", progress=False)
    data = loader(torch.randn(17, 2), batch_size=8)  # 8 + 8 + 1
    with pytest.raises(ConfigError, match=r"a batch of 1 sample\(s\) reached batch-norm layers \(in critic\).*drop_last=True"):
        trainer.fit(data, steps=3)
    assert trainer.step == 2  # the two full batches trained


def test_a_one_sample_batch_into_convolutional_batch_norm_trains():
    torch.manual_seed(0)  # 4x4 maps: batch norm sees 16 values per channel, which is fine
    trainer = ganzoo.recipes.dcgan(image_size=32, channels=3, width=8, latent_dim=8, device="cpu", progress=False)
    trainer.fit(loader(torch.rand(9, 3, 32, 32) * 2 - 1, batch_size=8), steps=2)
    assert trainer.step == 2


def test_a_critic_that_cannot_score_the_data_is_a_config_error_naming_the_batch():
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(3,), hidden=(8,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    trainer = ganzoo.Trainer(G, D, "wasserstein", device="cpu", progress=False)
    with pytest.raises(ConfigError, match=r"\(3,\) per sample|cannot score the real batch of shape \(16, 3\)"):
        trainer.fit(loader(torch.randn(64, 3), batch_size=16), steps=1)


def test_fit_epochs_on_an_endless_sampler_says_to_use_steps():
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    trainer = ganzoo.Trainer(G, D, device="cpu", progress=False)
    with pytest.raises(ConfigError, match=r"fit\(epochs=1\) on data that never ends.*fit\(steps=N\)"):
        trainer.fit(ganzoo.data.grid().sampler(batch_size=16, seed=0), epochs=1)


@pytest.mark.parametrize("device, words", [("gpu", r"'gpu' is called 'cuda'"), ("cuda:7", r"not available"),
                                           ("toaster", r"not a device name")])
def test_device_names_that_do_not_exist_list_the_ones_that_do(device, words):
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    with pytest.raises(ConfigError, match=words + r".*this machine has \['cpu'"):
        ganzoo.Trainer(G, D, device=device)


def test_sample_z_of_the_wrong_width_names_the_latent_size():
    trainer = image_trainer(32)
    with pytest.raises(ConfigError, match=r"z must have shape \(n, latent_dim\) = \(n, 8\), got \(4, 5\)"):
        trainer.sample(4, z=torch.randn(4, 5))
