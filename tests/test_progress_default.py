"""fit() shows progress by itself (issue 11); progress=False is silent."""

from __future__ import annotations

import torch

import ganzoo


def _trainer(**kwargs):
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    return ganzoo.Trainer(G, D, device="cpu", amp="off", seed=0, **kwargs)


DATA = torch.utils.data.DataLoader(torch.randn(64, 2), batch_size=16)


def test_fit_prints_progress_with_no_callback_given(capsys):
    _trainer().fit(DATA, steps=3)
    err = capsys.readouterr().err
    assert "ganzoo: 3/3 steps" in err and "step/s" in err


def test_progress_false_is_silent(capsys):
    _trainer(progress=False).fit(DATA, steps=3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_fit_progress_overrides_the_trainer_setting(capsys):
    trainer = _trainer(progress=False)
    trainer.fit(DATA, steps=2, progress=True)
    assert "ganzoo: 2/2 steps" in capsys.readouterr().err
    _trainer().fit(DATA, steps=2, progress=False)
    assert capsys.readouterr().err == ""


def test_a_progress_bar_callback_replaces_the_default_one(capsys):
    _trainer(callbacks=[ganzoo.callbacks.ProgressBar(desc="mine", backend="plain")]).fit(DATA, steps=2)
    err = capsys.readouterr().err
    assert "mine:" in err and "ganzoo:" not in err


def test_the_progress_setting_survives_a_checkpoint(tmp_path, capsys):
    trainer = _trainer(progress=False)
    trainer.fit(DATA, steps=1)
    trainer.save(tmp_path / "c.pt")
    loaded = ganzoo.Trainer.load(tmp_path / "c.pt")
    capsys.readouterr()
    loaded.fit(DATA, steps=1)
    assert loaded.progress is False and capsys.readouterr().err == ""
