"""Issue 16: nothing silent. Each test reproduces one way a run lost data, trained on something
wrong, or surfaced a raw error, and checks ganzoo's own message (the argument or file, the bad
value, the valid choices, the fix)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat

import pytest
import torch

import ganzoo
from ganzoo import Trainer
from ganzoo.callbacks import Checkpoint, GracefulStop
from ganzoo import checkpoint as ckpt_module
from ganzoo.checkpoint import load_checkpoint, save_checkpoint
from ganzoo.ema import EMA
from ganzoo.optim import build_optimizer
from ganzoo.registry import GENERATORS

from helpers import toy_pair

pytestmark = pytest.mark.usefixtures("one_thread")


def small_trainer(**kwargs):
    G, D = toy_pair()
    return ganzoo.recipes.wgan_gp(generator=G, critic=D, seed=0, device="cpu", critic_steps=1, **kwargs)


def data():
    return ganzoo.data.ring().sampler(8, seed=0)


# ------------------------------------------------------------------ checkpoint folders
def test_an_old_checkpoint_copied_back_is_not_resumed_from_and_the_newest_survives(tmp_path, capsys):
    folder = tmp_path / "mt"
    t = small_trainer()
    t.fit(data(), steps=4, callbacks=[Checkpoint(folder, every=2, keep_last=2)])
    old = folder / "ckpt_step00000002.pt"
    shutil.copy(old, tmp_path / "b.pt")
    shutil.copy(tmp_path / "b.pt", old)  # a restored backup: the newest file time, an old step
    os.utime(old, ns=(2 * 10**18, 2 * 10**18))
    t2 = Trainer.load(folder)
    assert t2.step == 4 and t2.last_checkpoint == folder / "ckpt_step00000004.pt"
    assert f"resumed from {folder / 'ckpt_step00000004.pt'} (step 4)" in capsys.readouterr().out
    t2.fit(data(), steps=1, callbacks=[Checkpoint(folder, every=2, keep_last=2)])
    assert sorted(p.name for p in folder.glob("*.pt")) == ["ckpt_step00000004.pt", "ckpt_step00000005.pt"]
    assert ckpt_module.checkpoint_step(folder / "ckpt_step00000005.pt") == 5


def test_resuming_an_older_checkpoint_never_deletes_a_newer_step(tmp_path):
    folder = tmp_path / "run"
    small_trainer().fit(data(), steps=4, callbacks=[Checkpoint(folder, every=2, keep_last=2)])
    t = Trainer.load(folder / "ckpt_step00000002.pt")  # deliberately the older one
    with pytest.warns(RuntimeWarning, match=r"newer than the current step 3: ckpt_step00000004.pt \(step 4\)"):
        t.fit(data(), steps=1, callbacks=[Checkpoint(folder, every=1, keep_last=1)])
    assert sorted(p.name for p in folder.glob("*.pt")) == ["ckpt_step00000003.pt", "ckpt_step00000004.pt"]


def test_a_checkpoint_folder_that_cannot_be_written_fails_when_fit_starts(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    t = small_trainer()
    with pytest.raises(ganzoo.ConfigError, match=r"Checkpoint\(folder='.*a-file/ckpt'\) cannot be written.*"
                                                 r"pass a folder you can write to"):
        t.fit(data(), steps=3, callbacks=[Checkpoint(blocker / "ckpt", every=1000)])
    assert t.step == 0  # before any training, not `every` steps later


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_checkpoint_files_get_the_umask_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        path = save_checkpoint({"x": torch.zeros(1)}, tmp_path / "c.pt")
        (tmp_path / "other.txt").write_text("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 == stat.S_IMODE((tmp_path / "other.txt").stat().st_mode)


# ------------------------------------------------------------------ hostile or damaged configs
def edited(path, out, edit):
    state = load_checkpoint(path)
    config = json.loads(state["config"])
    edit(config)
    state["config"] = json.dumps(config)
    state.pop("format")
    return save_checkpoint(state, out)


def test_a_checkpoint_asking_for_a_huge_model_is_refused_before_allocating(tmp_path):
    t = small_trainer()
    path = t.save(tmp_path / "c.pt")
    with pytest.raises(ganzoo.CheckpointError, match=r"c.pt.*generator.*would have 354 parameters, more than "
                                                     r"max_parameters=100.*max_parameters=None"):
        Trainer.load(path, max_parameters=100)

    def huge(config):  # 50,000 x 50,000 hidden layers: 2.5e9 parameters, 10 GB if allocated
        config["networks"]["generator"]["kwargs"]["hidden"] = [50_000, 50_000]

    hostile = edited(path, tmp_path / "hostile.pt", huge)
    with pytest.raises(ganzoo.CheckpointError, match=r"hostile.pt.*2,500,\d{3},\d{3} parameters.*1,000,000,000"):
        Trainer.load(hostile)
    assert Trainer.load(path, max_parameters=None).step == 0  # the caller's opt-in


def test_a_component_whose_module_is_not_imported_names_the_file_and_the_fix(tmp_path, monkeypatch):
    @ganzoo.register_generator("reliability_test_mlp")
    class MyGenerator(torch.nn.Module):
        def __init__(self, latent_dim: int = 2) -> None:
            super().__init__()
            self.latent_dim, self.net = latent_dim, torch.nn.Linear(latent_dim, 2)

        def forward(self, z):
            return self.net(z)

    try:
        G = MyGenerator(latent_dim=2)
        D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
        path = Trainer(G, D, "wasserstein", device="cpu").save(tmp_path / "mine.pt")
    finally:
        del GENERATORS._builders["reliability_test_mlp"]  # as in a process that never imported it
    with pytest.raises(ganzoo.CheckpointError, match=r"mine.pt.*generator 'reliability_test_mlp'.*not registered.*"
                                                     r"Import the module that registers it"):
        Trainer.load(path)


@pytest.mark.parametrize("damage", ["bad kwargs", "unknown option", "not json"])
def test_a_tampered_config_names_the_file_and_a_folder_falls_back_past_it(tmp_path, damage):
    folder = tmp_path / "run"
    t = small_trainer()
    t.fit(data(), steps=1)
    t.save(folder / "ckpt-1.pt")
    t.fit(data(), steps=1)
    good = t.save(tmp_path / "two.pt")
    if damage == "not json":
        state = load_checkpoint(good)
        state.pop("format")
        state["config"] = "{not json"
        bad = save_checkpoint(state, folder / "ckpt-2.pt")
    else:
        def edit(config):
            if damage == "bad kwargs":
                config["networks"]["generator"]["kwargs"]["hidden"] = [-3]
            else:
                config["trainer"]["critic_stpes"] = 2

        bad = edited(good, folder / "ckpt-2.pt", edit)
    with pytest.raises(ganzoo.CheckpointError, match=r"ckpt-2.pt") as caught:
        Trainer.load(bad)
    assert "edited or damaged" in str(caught.value)
    with pytest.warns(RuntimeWarning, match=r"(?s)skipped 1 unreadable checkpoint.*ckpt-2.pt"):
        assert Trainer.load(folder).step == 1


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize("spec, message", [
    ({"name": "adam", "lr": -1e-4}, r"lr=-0.0001 is not valid; it must be a finite number >= 0"),
    ({"name": "adam", "lr": 1e-4, "betas": (0.5, 1.0)}, r"betas\[1\]=1.0 is not valid; each beta must be in \[0, 1\)"),
    ({"name": "adam", "lr": 1e-4, "betas": 0.5}, r"betas=0.5 is not valid; pass two numbers in \[0, 1\)"),
    ({"name": "sgd", "lr": float("nan")}, r"lr=nan is not valid"),
])
def test_optimizer_specs_name_the_argument(spec, message):
    with pytest.raises(ganzoo.ConfigError, match=message):
        build_optimizer(spec, torch.nn.Linear(2, 1).parameters())


def test_a_misspelled_recipe_keyword_names_the_recipe_and_the_closest_keyword():
    with pytest.raises(TypeError, match=r"recipes.wgan_gp\(\) got an unexpected keyword gp_wieght=1; did you mean "
                                        r"gp_weight=\? valid keywords: .*critic_steps.*gp_every, gp_weight") as caught:
        ganzoo.recipes.wgan_gp(image_size=16, width=4, gp_wieght=1)
    assert isinstance(caught.value, ganzoo.ConfigError)
    with pytest.raises(ganzoo.ConfigError, match=r"betas=0.5 is not valid"):
        ganzoo.recipes.wgan_gp(image_size=16, width=4, betas=0.5)


@pytest.mark.parametrize("name, kwargs", [
    ("mlp", {"latent_dim": 4, "out_shape": (2,), "hidden": (8,)}),
    ("dcgan", {"latent_dim": 10, "image_size": 16, "width": 4}),
])
def test_noise_of_the_wrong_width_names_latent_dim(name, kwargs):
    G = ganzoo.create_generator(name, **kwargs)
    latent = kwargs["latent_dim"]
    with pytest.raises(ganzoo.ConfigError, match=rf"latent_dim={latent}\), got z of shape \(3, 100\); draw "
                                                 rf"z = torch.randn\(batch, {latent}\)"):
        G(torch.randn(3, 100))
    assert G(torch.randn(3, latent)).shape[0] == 3


# ------------------------------------------------------------------ callbacks
def test_a_ctrl_c_after_the_last_steps_check_is_not_lost(tmp_path):
    before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN under nohup ... &
    stop = GracefulStop(signals=[signal.SIGINT])

    class CtrlCOnTheLastStep(ganzoo.Callback):  # runs after GracefulStop's check of that step
        def on_step_end(self, trainer):
            if trainer.step == 3:
                signal.raise_signal(signal.SIGINT)  # handled synchronously by GracefulStop

    t = small_trainer()
    with pytest.raises(KeyboardInterrupt, match="stopped by signal 2 at the end of fit"):
        t.fit(data(), steps=3, callbacks=[Checkpoint(tmp_path, every=100), stop, CtrlCOnTheLastStep()])
    assert t.step == 3 and (tmp_path / "ckpt_step00000003.pt").exists()  # the end state was saved (Checkpoint listed first)
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored


def test_a_restored_ema_samples_and_keeps_its_decay_and_schedule():
    ema = EMA(decay=0.9, start_step=1, every=2, warmup=False)
    t = small_trainer(callbacks=[ema])
    t.fit(data(), steps=4)
    fresh = EMA()
    fresh.load_state_dict(ema.state_dict(), generator=t.generator)
    assert (fresh.decay, fresh.start_step, fresh.every, fresh.warmup, fresh.updates) == (0.9, 1, 2, False, ema.updates)
    z = torch.randn(5, 2)
    assert torch.equal(fresh.sample(5, z=z), ema.sample(5, z=z))
    assert fresh.sample(3).shape == (3, 2)  # knows the latent size without a fit
