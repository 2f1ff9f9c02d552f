"""Library callbacks: sample grids, loss plots, checkpoints, metrics logs, progress, signals."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import warnings

import pytest
import torch

import ganzoo
from ganzoo import Callback, Trainer
from ganzoo.callbacks import (
    Checkpoint,
    GracefulStop,
    LossPlot,
    MetricsLog,
    ProgressBar,
    SampleGrid,
    TensorBoard,
)
from ganzoo.checkpoint import checkpoint_files, latest_checkpoint
from ganzoo.plotting import read_image

from helpers import image_loader, image_pair, toy_pair


pytestmark = pytest.mark.usefixtures("one_thread")


def image_trainer(seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    G, D = image_pair(size=8, width=2, latent_dim=4)
    return Trainer(G, D, "wasserstein", ["gradient_penalty"], critic_steps=2, device="cpu", seed=seed, log_every=4)


def toy_trainer(seed: int = 0, **kwargs) -> Trainer:
    torch.manual_seed(seed)
    G, D = toy_pair(hidden=8)
    return Trainer(G, D, "bce", device="cpu", seed=seed, log_every=3, **kwargs)


def toy_data():
    return ganzoo.data.ring().sampler(16, seed=0)


# ---------------------------------------------------------------------- SampleGrid
def test_sample_grid_every_n_steps_start_and_end(tmp_path):
    trainer = image_trainer()
    grids = SampleGrid(tmp_path, every=3, n=6, nrow=3)
    trainer.fit(image_loader(size=8), steps=7, callbacks=[grids])
    assert [s for s, _ in grids.saved()] == [0, 3, 6, 7]
    image = read_image(grids.paths[-1])
    assert image.shape == (3, 2 * (8 + 2) + 2, 3 * (8 + 2) + 2)  # 2 rows x 3 columns of 8 px tiles
    assert image.float().std() > 0  # a real picture, not a blank canvas


def test_sample_grid_uses_fixed_noise_and_leaves_training_rng_alone(tmp_path):
    grids = SampleGrid(tmp_path, every=1, n=4)
    a = image_trainer()
    a.fit(image_loader(size=8), steps=3, callbacks=[grids])
    b = image_trainer()
    b.fit(image_loader(size=8), steps=3)
    for pa, pb in zip(a.generator.parameters(), b.generator.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)  # sampling grids did not change training
    torch.testing.assert_close(grids.noise(4), SampleGrid(tmp_path, n=4).noise(4))  # same seed, same noise
    assert not torch.equal(grids.noise(4), SampleGrid(tmp_path, n=4, seed=1).noise(4))


def test_sample_grid_by_epoch(tmp_path):
    trainer = image_trainer()
    grids = SampleGrid(tmp_path, every=2, unit="epoch", n=4, at_start=False, at_end=False)
    trainer.fit(image_loader(n=32, size=8, batch_size=16), epochs=4, callbacks=[grids])  # 16 batches/epoch... 2 per epoch
    assert trainer.epoch == 4
    assert len(grids.paths) == 2


def test_evolution_strip_has_one_row_per_snapshot(tmp_path):
    trainer = image_trainer()
    grids = SampleGrid(tmp_path / "grids", every=2, n=6, nrow=3)
    trainer.fit(image_loader(size=8), steps=4, callbacks=[grids])
    strip = read_image(grids.write_evolution(tmp_path / "evolution.png", columns=2))
    assert strip.shape[1] == 3 * (8 + 2 * 2)  # steps 0, 2, 4: one 8 px row with padding each
    first_tiles = read_image(grids.paths[0])[:, 2:10, 2:10]
    assert strip.shape[2] > 2 * 8
    assert torch.equal(strip[:, 2:10, -10:-2], read_image(grids.paths[0])[:, 2:10, 12:20])  # 2nd tile of step 0
    assert first_tiles.shape == (3, 8, 8)


def test_evolution_without_grids_is_an_error(tmp_path):
    with pytest.raises(ganzoo.ConfigError, match="no sample grids"):
        SampleGrid(tmp_path).write_evolution(tmp_path / "e.png")


def test_sample_grid_on_two_d_samples_is_a_clear_error(tmp_path):
    with pytest.raises(ganzoo.ConfigError, match="sample grids need image samples"):
        toy_trainer().fit(toy_data(), steps=1, callbacks=[SampleGrid(tmp_path)])


# ---------------------------------------------------------------------- LossPlot
def test_loss_plot_draws_one_panel_per_run(tmp_path):
    first, second = toy_trainer(), toy_trainer(seed=1)
    first.fit(toy_data(), steps=5)
    plot = LossPlot(tmp_path / "one.png", every=2, name="second")
    second.fit(toy_data(), steps=4, callbacks=[plot])
    LossPlot(tmp_path / "two.png", name="second", others={"first": first, "history": first.history}).fire(second)
    one, two = read_image(tmp_path / "one.png"), read_image(tmp_path / "two.png")
    assert two.shape[2] == 3 * one.shape[2]  # three panels side by side, same height
    assert two.shape[1] == one.shape[1]


def test_loss_plot_without_matplotlib_warns_and_does_nothing(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.warns(UserWarning, match="pip install matplotlib"):
        plot = LossPlot(tmp_path / "x.png")
    toy_trainer().fit(toy_data(), steps=2, callbacks=[plot])
    assert not (tmp_path / "x.png").exists()


# ---------------------------------------------------------------------- Checkpoint
def saved_steps(folder):
    """Steps of the ``ckpt_step<N>.pt`` files in ``folder``, oldest first."""
    return sorted(int(path.stem.rsplit("_step", 1)[1]) for path in checkpoint_files(folder, "ckpt_step*.pt"))


def test_checkpoint_every_n_keeps_last_k_and_resumes(tmp_path):
    trainer = toy_trainer()
    ckpt = Checkpoint(tmp_path, every=2, keep_last=2)
    trainer.fit(toy_data(), steps=7, callbacks=[ckpt])
    assert saved_steps(tmp_path) == [6, 7]  # 2, 4 pruned; 7 saved at the end
    latest = latest_checkpoint(tmp_path)
    assert latest == ckpt.path_for(7)
    resumed = Trainer.load(latest)
    assert resumed.step == 7 and len(resumed.history) == 7


def test_prune_never_deletes_the_newest_readable_checkpoint(tmp_path):
    trainer = toy_trainer()
    ckpt = Checkpoint(tmp_path, every=1, keep_last=2)
    trainer.fit(toy_data(), steps=1, callbacks=[ckpt])  # a good checkpoint at step 1
    for step in (2, 3):  # two newer files that are corrupt (a bad disk, a foreign copy)
        ckpt.path_for(step).write_bytes(b"garbage")
    ckpt.prune()
    assert saved_steps(tmp_path) == [1, 2, 3]  # step 1 is the newest good one
    with pytest.warns(RuntimeWarning, match="skipped 2 unreadable checkpoint"):
        assert latest_checkpoint(tmp_path) == ckpt.path_for(1)
    trainer.fit(toy_data(), steps=3, callbacks=[ckpt])  # good ones at 2, 3 (overwritten), 4
    assert saved_steps(tmp_path) == [3, 4]


def test_checkpoint_saves_on_ctrl_c_but_not_on_other_errors(tmp_path):
    class Boom(Callback):
        def __init__(self, error):
            self.error = error

        def on_step_end(self, trainer):
            raise self.error

    trainer = toy_trainer()
    with pytest.raises(RuntimeError):
        trainer.fit(toy_data(), steps=10, callbacks=[Checkpoint(tmp_path / "a", every=100), Boom(RuntimeError("x"))])
    assert saved_steps(tmp_path / "a") == []
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(toy_data(), steps=10, callbacks=[Checkpoint(tmp_path / "b", every=100), Boom(KeyboardInterrupt())])
    assert saved_steps(tmp_path / "b") == [trainer.step]


def test_stale_temporary_files_are_removed_at_fit_start(tmp_path):
    stale = tmp_path / ".ckpt_step00000005.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    toy_trainer().fit(toy_data(), steps=1, callbacks=[Checkpoint(tmp_path)])
    assert not stale.exists()


def test_latest_checkpoint_of_missing_folder_is_none(tmp_path):
    assert latest_checkpoint(tmp_path / "missing") is None
    assert saved_steps(tmp_path / "missing") == []


# ---------------------------------------------------------------------- MetricsLog
def read_csv(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_metrics_csv_has_one_row_per_step_matching_history(tmp_path):
    trainer = toy_trainer()
    log = MetricsLog(tmp_path / "m.csv", every=4)
    trainer.fit(toy_data(), steps=6, callbacks=[log])
    trainer.fit(toy_data(), steps=3, callbacks=[log])  # a second fit continues the same file
    rows = read_csv(tmp_path / "m.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 10))
    for row, record in zip(rows, trainer.history):
        assert float(row["critic_loss"]) == record.critic_loss
        assert row["wasserstein"] == ""  # NaN for BCE -> empty cell
    elapsed = [float(r["elapsed_s"]) for r in rows]
    assert elapsed == sorted(elapsed)


def test_metrics_jsonl_and_bad_suffix(tmp_path):
    trainer = ganzoo.recipes.wgan_gp(generator=toy_pair(8)[0], critic=toy_pair(8)[1], device="cpu", seed=0)
    trainer.fit(toy_data(), steps=3, callbacks=[MetricsLog(tmp_path / "m.jsonl", every=2)])
    rows = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert rows[0]["penalty/gradient_penalty"] == trainer.history[0].penalties["gradient_penalty"]
    with pytest.raises(ganzoo.ConfigError, match="'.txt' is not valid; choose one of '.csv', '.jsonl'"):
        MetricsLog(tmp_path / "m.txt")


def test_metrics_log_is_continuous_after_resuming_an_older_checkpoint(tmp_path):
    """A run checkpointed at step 4, logged up to step 7 (torn last line), then killed:
    the resumed run's log has steps 1..N exactly once and matches the resumed history."""
    trainer = toy_trainer()
    ckpt = Checkpoint(tmp_path / "ckpt", every=4)
    log_path = tmp_path / "m.csv"
    trainer.fit(toy_data(), steps=7, callbacks=[ckpt, MetricsLog(log_path, every=1)])
    with open(log_path, "a") as f:
        f.write("8,0,1.0,0.5")  # torn line of a killed process
    resumed = Trainer.load(ckpt.path_for(4))
    resumed.fit(toy_data(), steps=5, callbacks=[MetricsLog(log_path, every=2)])
    rows = read_csv(log_path)
    assert [int(r["step"]) for r in rows] == list(range(1, 10))
    assert [float(r["generator_loss"]) for r in rows] == resumed.history.column("generator_loss")


def test_metrics_log_fills_steps_the_file_missed(tmp_path):
    trainer = toy_trainer()
    trainer.fit(toy_data(), steps=5)  # trained without a log
    trainer.fit(toy_data(), steps=2, callbacks=[MetricsLog(tmp_path / "m.csv")])
    assert [int(r["step"]) for r in read_csv(tmp_path / "m.csv")] == list(range(1, 8))


# ---------------------------------------------------------------------- ProgressBar
def test_plain_progress_bar_shows_rate_eta_and_losses(capsys):
    bar = ProgressBar(total=6, backend="plain", interval=0.0)
    toy_trainer().fit(toy_data(), steps=6, callbacks=[bar])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("training: 6/6 steps") and "step/s" in last and "ETA 0s" in last
    assert "critic=" in last and "generator=" in last


def test_progress_bar_counts_from_the_resumed_step(capsys):
    trainer = toy_trainer()
    trainer.fit(toy_data(), steps=4)
    trainer.fit(toy_data(), steps=2, callbacks=[ProgressBar(total=6, backend="plain", interval=0.0)])
    assert "training: 5/6 steps" in capsys.readouterr().err


def test_tqdm_progress_bar(capsys):
    pytest.importorskip("tqdm")
    toy_trainer().fit(toy_data(), steps=3, callbacks=[ProgressBar(total=3, backend="tqdm")])
    assert "3/3" in capsys.readouterr().err


# ---------------------------------------------------------------------- GracefulStop
def test_first_ctrl_c_stops_after_the_step_and_checkpoints(tmp_path):
    class PressCtrlC(Callback):
        def on_step_end(self, trainer):
            if trainer.step == 2:
                os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    trainer = toy_trainer()
    with pytest.raises(KeyboardInterrupt, match="after step 2"):
        trainer.fit(toy_data(), steps=10, callbacks=[PressCtrlC(), GracefulStop(), Checkpoint(tmp_path, every=100)])
    assert trainer.step == 2 and trainer.critic_updates == 2  # stopped between steps, not inside one
    assert saved_steps(tmp_path) == [2]
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_right_after_a_periodic_save_still_reports_the_saved_step(tmp_path, capsys):
    class PressCtrlCAfterTheSave(Callback):  # runs after Checkpoint, before GracefulStop
        def on_step_end(self, trainer):
            if trainer.step == 2:
                os.kill(os.getpid(), signal.SIGINT)

    trainer = toy_trainer()
    with pytest.raises(KeyboardInterrupt, match="after step 2"):
        trainer.fit(toy_data(), steps=10,
                    callbacks=[Checkpoint(tmp_path, every=2), PressCtrlCAfterTheSave(), GracefulStop()])
    assert saved_steps(tmp_path) == [2]
    assert f"interrupted at step 2: already saved {tmp_path / 'ckpt_step00000002.pt'}" in capsys.readouterr().out


def test_graceful_stop_restores_handlers_after_normal_fit():
    before = signal.getsignal(signal.SIGINT)
    toy_trainer().fit(toy_data(), steps=2, callbacks=[GracefulStop()])
    assert signal.getsignal(signal.SIGINT) is before


# ---------------------------------------------------------------------- TensorBoard
class FakeWriter:
    def __init__(self):
        self.scalars, self.images = [], []

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def add_image(self, tag, image, step):
        self.images.append((tag, tuple(image.shape), step))


def test_tensorboard_logs_every_step_and_sample_grids():
    writer = FakeWriter()
    trainer = image_trainer()
    trainer.fit(image_loader(size=8), steps=5, callbacks=[TensorBoard(every=2, sample_every=4, n=4, writer=writer)])
    steps = sorted({s for tag, _, s in writer.scalars if tag == "critic_loss"})
    assert steps == [1, 2, 3, 4, 5]
    assert ("penalty/gradient_penalty", trainer.history[2].penalties["gradient_penalty"], 3) in writer.scalars
    assert writer.images == [("samples", (3, 22, 22), 4)]  # 2x2 grid of 8 px tiles


def test_tensorboard_without_the_package_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "torch.utils.tensorboard":
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        TensorBoard("runs/x")


def test_tensorboard_real_writer(tmp_path):
    pytest.importorskip("tensorboard")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        callback = TensorBoard(tmp_path, every=1)
    toy_trainer().fit(toy_data(), steps=2, callbacks=[callback])
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.iterdir())


@pytest.mark.parametrize("every", [0, -1])
def test_every_must_be_positive(tmp_path, every):
    with pytest.raises(ganzoo.ConfigError, match=f"every={every}"):
        Checkpoint(tmp_path, every=every)


def test_unit_must_be_step_or_epoch(tmp_path):
    with pytest.raises(ganzoo.ConfigError, match="unit='batch' is not valid; choose one of 'step', 'epoch'"):
        SampleGrid(tmp_path, unit="batch")


def test_history_values_are_finite_in_logs(tmp_path):
    trainer = toy_trainer()
    trainer.fit(toy_data(), steps=2, callbacks=[MetricsLog(tmp_path / "m.jsonl")])
    for line in (tmp_path / "m.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert row["wasserstein"] is None and math.isfinite(row["critic_loss"])
