"""The leaner Trainer settings (issue 11): amp and distributed dicts, deprecated keywords, the guard
detects and the Trainer rolls back, DivergenceError fields, old import paths."""

from __future__ import annotations

import pickle

import pytest
import torch

import ganzoo
from ganzoo import ConfigError, DivergenceError


def pair():
    torch.manual_seed(0)
    return (ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,)),
            ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,)))


def test_amp_takes_the_fp16_init_scale():
    trainer = ganzoo.Trainer(*pair(), amp={"mode": "off", "init_scale": 64.0}, device="cpu")
    assert trainer.amp == "off" and trainer.amp_init_scale == 64.0
    assert trainer.config()["trainer"]["amp"] == {"mode": "off", "init_scale": 64.0}
    assert ganzoo.Trainer(*pair(), amp="off", device="cpu").config()["trainer"]["amp"] == "off"


def test_fp16_init_scale_and_sync_batchnorm_still_work_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"amp=\{'mode': \.\.\., 'init_scale': \.\.\.\}"):
        trainer = ganzoo.Trainer(*pair(), amp="off", fp16_init_scale=8.0, device="cpu")
    assert trainer.amp_init_scale == 8.0 and trainer.fp16_init_scale == 8.0
    with pytest.warns(DeprecationWarning, match=r"distributed=\{'mode': \.\.\., 'sync_batchnorm': True\}"):
        trainer = ganzoo.Trainer(*pair(), sync_batchnorm=False, device="cpu")
    assert trainer.sync_batchnorm is False


@pytest.mark.parametrize("amp, words", [({"mode": "off", "scale": 2}, r"unknown key\(s\) \['scale'\]"),
                                        ({"mode": "off", "init_scale": -1}, r"init_scale must be a positive number")])
def test_bad_amp_dicts_name_the_key(amp, words):
    with pytest.raises(ConfigError, match=words):
        ganzoo.Trainer(*pair(), amp=amp, device="cpu")


def test_distributed_dict_names_unknown_keys():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['sync'\]"):
        ganzoo.Trainer(*pair(), distributed={"mode": "off", "sync": True}, device="cpu")


def test_a_checkpoint_with_the_old_keywords_loads_without_warnings(tmp_path, recwarn):
    trainer = ganzoo.Trainer(*pair(), amp={"mode": "off", "init_scale": 32.0}, device="cpu", progress=False)
    trainer.fit(torch.utils.data.DataLoader(torch.randn(32, 2), batch_size=16), steps=1)
    trainer.save(tmp_path / "c.pt")
    state = ganzoo.checkpoint.load_checkpoint(tmp_path / "c.pt")
    import json
    config = json.loads(state["config"])
    config["trainer"]["fp16_init_scale"] = config["trainer"].pop("amp")["init_scale"]  # as written before games
    config["trainer"]["amp"] = "off"
    config["trainer"]["sync_batchnorm"] = False
    state["config"] = json.dumps(config)
    state.pop("format", None)
    ganzoo.checkpoint.save_checkpoint(state, tmp_path / "old.pt")
    loaded = ganzoo.Trainer.load(tmp_path / "old.pt")
    assert loaded.amp_init_scale == 32.0 and not any(issubclass(w.category, DeprecationWarning) for w in recwarn)


def test_divergence_error_carries_step_and_terms_as_fields_and_pickles():
    error = DivergenceError("diverged", 7, ("critic_loss",))
    assert (error.step, error.terms, str(error)) == (7, ("critic_loss",), "diverged")
    again = pickle.loads(pickle.dumps(error))
    assert (again.step, again.terms, str(again)) == (7, ("critic_loss",), "diverged")
    assert DivergenceError("x").step is None and DivergenceError("x").terms == ()


def test_the_guard_only_detects_and_its_old_rollback_method_is_deprecated(tmp_path):
    guard = ganzoo.DivergenceGuard("raise")
    guard.observe({"step": 3, "critic_loss": float("nan")})
    error = guard.error()
    trainer = ganzoo.Trainer(*pair(), device="cpu", progress=False)
    with pytest.warns(DeprecationWarning, match="the Trainer rolls back on its own"), pytest.raises(DivergenceError):
        guard.rollback(trainer, error)  # action "raise": re-raised, through the Trainer


def test_the_guard_counts_fp16_skips_of_any_phase_name():
    guard = ganzoo.DivergenceGuard()
    guard.observe({"step": 1, "translate_loss": float("inf"), "translate_skipped": 1, "critic_skipped": 0})
    assert guard.error() is None and guard.skipped["translate"] == 1


def test_ema_and_linear_decay_live_in_callbacks_and_keep_their_old_paths():
    from ganzoo.callbacks import EMA, LinearDecay
    from ganzoo.ema import EMA as OldEMA
    from ganzoo.schedules import LinearDecay as OldDecay

    assert EMA is OldEMA and LinearDecay is OldDecay and EMA.__module__ == "ganzoo.callbacks"
