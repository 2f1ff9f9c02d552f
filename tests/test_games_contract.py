"""Contract tests run over every registered game (tests/games_zoo.py builds one of each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
from games_zoo import ZOO, build

GAMES = ganzoo.list_games()
WORKER = Path(__file__).parent / "workers" / "ddp_games_worker.py"
SRC = Path(ganzoo.__file__).resolve().parents[1]


def test_every_registered_game_has_a_zoo_entry():
    assert sorted(ZOO) == GAMES, "add the new game to tests/games_zoo.py so the contract tests cover it"


def _params(trainer):
    return {f"{net}.{k}": p.detach().clone() for net, m in trainer.networks.items() for k, p in m.named_parameters()}


def _grads(trainer):
    return {f"{net}.{k}": None if p.grad is None else p.grad.detach().clone()
            for net, m in trainer.networks.items() for k, p in m.named_parameters()}


@pytest.mark.parametrize("name", GAMES)
def test_an_update_changes_and_differentiates_only_its_phase(name):
    trainer, data = build(name)
    trainer.fit(data, steps=1)  # optimizer state exists, every phase has run once
    snapshots = []  # (phase, params, grads) at the start of every update
    losses = trainer.game.losses

    def spy(phase, batch, ctx):
        snapshots.append((phase, _params(trainer), _grads(trainer)))
        return losses(phase, batch, ctx)

    trainer.game.losses = spy
    trainer.fit(data, steps=1)
    snapshots.append((None, _params(trainer), _grads(trainer)))
    phases = {p.name: p for p in trainer.game.phases}
    assert [s[0] for s in snapshots[:-1]] == [
        p.name for p in trainer.game.phases for _ in range(2 if p.repeats == "critic_steps" else 1)]
    for (phase, before, grads_before), (_, after, grads_after) in zip(snapshots, snapshots[1:]):
        mine = phases[phase].networks
        for net in trainer.networks:
            keys = [k for k in before if k.startswith(f"{net}.")]
            changed = [k for k in keys if not torch.equal(before[k], after[k])]
            if net in mine:  # every parameter got a gradient; the weights moved
                for key in keys:
                    grad = grads_after[key]
                    assert grad is not None and torch.isfinite(grad).all(), f"{name}: {phase!r} gave {key} no gradient"
                    if grad.abs().sum() > 0:
                        assert key in changed, f"{name}: {phase!r} has a gradient for {key} but did not step it"
                assert changed, f"{name}: phase {phase!r} left {net} unchanged"
            else:  # another phase's network: no step, and no gradient flowed into it
                assert not changed, f"{name}: phase {phase!r} changed {changed}"
                for key in keys:
                    a, b = grads_before[key], grads_after[key]
                    assert (a is None and b is None) or torch.equal(a, b), f"{name}: {phase!r} wrote a gradient to {key}"
    for p in (p for m in trainer.networks.values() for p in m.parameters()):
        assert p.requires_grad  # nothing left frozen after a step


@pytest.mark.parametrize("name", GAMES)
def test_save_load_and_one_more_step_equals_one_uninterrupted_step(name, tmp_path):
    straight, data = build(name)
    straight.fit(data, steps=3)
    straight.save(tmp_path / "ckpt.pt")
    straight.fit(data, steps=2)
    _, fresh_data = build(name)  # a new loader over the same data: the position comes from the checkpoint
    resumed = ganzoo.Trainer.load(tmp_path / "ckpt.pt", device="cpu")
    assert type(resumed.game) is type(straight.game) and resumed.step == 3
    resumed.fit(fresh_data, steps=2, progress=False)
    for net in straight.networks:
        for (key, a), b in zip(straight.networks[net].state_dict().items(), resumed.networks[net].state_dict().values()):
            assert torch.equal(a, b), f"{name}: {net}.{key} differs after resume"
    for column in straight.history.columns:
        assert straight.history.column(column) == pytest.approx(resumed.history.column(column), nan_ok=True, abs=0)
    assert straight.game.state_dict().keys() == resumed.game.state_dict().keys()


@pytest.mark.parametrize("name", GAMES)
def test_sample_is_float32_in_eval_mode_and_leaves_training_modes(name):
    trainer, data = build(name)
    trainer.fit(data, steps=1)
    inputs = {"cyclegan": lambda: {"x": next(iter(data))["x"]}}.get(name, lambda: {"n": 4})()
    out = trainer.sample(**inputs)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert all(m.training for m in trainer.networks.values())


@pytest.mark.skipif(not (torch.distributed.is_available() and torch.distributed.is_gloo_available()),
                    reason="needs torch.distributed with gloo")
def test_torchrun_keeps_every_games_generators_equal_on_both_ranks(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parent),
                                                         os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(WORKER), str(tmp_path), *GAMES]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for name in GAMES:
        a, b = reports[0][name], reports[1][name]
        assert a["world"] == b["world"] == 2 and a["steps"] == b["steps"] == 3
        assert a["wrapped"] == "DistributedDataParallel"
        assert a["weights"] == b["weights"], f"{name}: the ranks' networks differ"
        assert a["batches_differ"], f"{name}: both ranks read the same batches"
