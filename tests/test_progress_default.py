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


def test_a_progress_bar_without_a_total_counts_to_the_end_of_each_fit(capsys):
    trainer = _trainer()
    bar = ganzoo.callbacks.ProgressBar(desc="mine", backend="plain")
    trainer.fit(DATA, steps=3, callbacks=[bar])
    assert "mine: 3/3 steps" in capsys.readouterr().err
    trainer.fit(DATA, steps=2, callbacks=[bar])  # a second fit continues: steps 4 and 5 of 5
    assert "mine: 5/5 steps" in capsys.readouterr().err
    trainer.fit(DATA, epochs=1, callbacks=[bar])  # an epochs= fit has no known end: a count, no total
    assert "mine: 8 steps," in capsys.readouterr().err  # the pass in progress (5 of 4-step passes) ends at 8


def test_a_second_fit_with_epochs_runs_that_many_more_passes():
    trainer = _trainer(progress=False)
    trainer.fit(DATA, epochs=1)  # 64 samples in batches of 16: 4 steps a pass
    assert (trainer.step, trainer.epoch) == (4, 1)
    trainer.fit(DATA, epochs=1)  # once ran nothing: the parked stream had one pass behind it
    assert (trainer.step, trainer.epoch) == (8, 2)
    trainer.fit(DATA, steps=1)
    trainer.fit(DATA, epochs=1)  # the pass in progress ends
    assert (trainer.step, trainer.epoch) == (12, 3)
