"""Multi-process training: torchrun with 2 CPU processes (gloo), DDP, sharding, penalty, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.distributed import DistributedContext, convert_sync_batchnorm, setup, shard_loader

WORKER = Path(__file__).parent / "workers" / "ddp_worker.py"
SRC = Path(ganzoo.__file__).resolve().parents[1]


needs_gloo = pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available()), reason="needs torch.distributed with gloo"
)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """One torchrun launch (2 processes) doing every multi-process check; results on disk."""
    out = tmp_path_factory.mktemp("ddp")
    torch.manual_seed(0)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(32, 32))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(32, 32))
    single = ganzoo.recipes.wgan_gp(generator=G, critic=D, seed=3, device="cpu", critic_steps=2)
    single.fit(ganzoo.data.grid().sampler(64, seed=0), steps=4)
    single.save(out / "single.pt")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(WORKER), str(out), str(out / "single.pt")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    reports = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]
    tensors = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]
    return out, reports, tensors


@needs_gloo
def test_torchrun_trains_wgan_gp_on_the_grid_with_ddp(ddp_run):
    _, reports, tensors = ddp_run
    assert [r["rank"] for r in reports] == [0, 1] and all(r["world"] == 2 for r in reports)
    assert all(r["wrapped"] == "DistributedDataParallel" for r in reports)
    assert all(r["history_len"] == 6 and r["finite"] for r in reports)
    for a, b in zip(tensors[0]["grid_generator"], tensors[1]["grid_generator"]):
        assert torch.equal(a, b)  # bitwise the same generator on both processes


@needs_gloo
def test_only_rank_zero_writes_the_checkpoint_and_it_resumes_in_one_process(ddp_run, tmp_path):
    out, reports, tensors = ddp_run
    assert [r["wrote_checkpoint"] for r in reports] == [True, False]
    assert all(r["last_checkpoint"] == str(out / "grid.pt") for r in reports)
    trainer = ganzoo.Trainer.load(out / "grid.pt", device="cpu")  # 2 processes -> 1
    assert trainer.step == 6 and trainer.dist.world_size == 1
    for a, b in zip(trainer.generator.parameters(), tensors[0]["grid_generator"]):
        assert torch.equal(a.detach(), b)
    with pytest.warns(RuntimeWarning, match="differs from the data the checkpoint's position"):
        trainer.fit(ganzoo.data.grid().sampler(64, seed=1), steps=2)  # rank 0 read seed=100
    assert trainer.step == 8


@needs_gloo
def test_single_process_checkpoint_resumes_with_two_processes(ddp_run):
    _, reports, tensors = ddp_run
    assert all(r["resumed_step"] == 4 and r["resumed_step_after"] == 7 for r in reports)
    for a, b in zip(tensors[0]["resumed_generator"], tensors[1]["resumed_generator"]):
        assert torch.equal(a, b)


@needs_gloo
def test_gradient_penalty_under_ddp_matches_one_process_on_the_global_batch(ddp_run):
    _, reports, _ = ddp_run
    for r in reports:
        assert r["penalty_ddp"] == pytest.approx(r["penalty_single"], rel=1e-5)
        assert r["max_grad_diff"] <= 1e-5 * max(1.0, r["max_grad"])
        assert r["max_grad_diff_local"] > 1e-3  # control: without the all-reduce it would be off


@needs_gloo
def test_synthetic_faces_loader_is_sharded_with_a_distributed_sampler(ddp_run):
    _, reports, tensors = ddp_run
    assert all(r["image_sampler"] == "DistributedSampler" for r in reports)
    first, second = (set(r["image_indices"]) for r in reports)
    assert first.isdisjoint(second) and first | second == set(range(64))
    for a, b in zip(tensors[0]["image_generator"], tensors[1]["image_generator"]):
        assert torch.equal(a, b)


# ------------------------------------------------------------ single-process behaviour
def test_not_launched_means_single_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    context = setup("auto", "cpu")
    assert context == DistributedContext(device=torch.device("cpu"))
    module = torch.nn.Linear(2, 1)
    assert context.wrap(module) is module and context.earliest(5) == 5
    loader = torch.utils.data.DataLoader(torch.randn(8, 2), batch_size=4, shuffle=True)
    assert context.shard(loader, seed=0) is loader


def test_distributed_on_without_torchrun_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ganzoo.ConfigError, match="distributed='on'.*torchrun --nproc_per_node"):
        setup("on", "cpu")
    with pytest.raises(ganzoo.ConfigError, match="distributed='everywhere'.*'auto', 'off', 'on'"):
        setup("everywhere", "cpu")


def test_shard_loader_keeps_settings_and_splits_the_dataset():
    data = torch.utils.data.TensorDataset(torch.arange(10.0))
    loader = torch.utils.data.DataLoader(data, batch_size=3, shuffle=True, drop_last=True)
    shards = [shard_loader(loader, rank, 2, seed=4) for rank in range(2)]
    assert all(s.batch_size == 3 and s.drop_last for s in shards)
    indices = [list(s.sampler) for s in shards]
    assert set(indices[0]).isdisjoint(indices[1]) and len(indices[0]) == len(indices[1]) == 5
    assert shard_loader(shards[0], 0, 2) is shards[0]  # already distributed


def test_sync_batchnorm_needs_cuda_under_ddp():
    module = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.BatchNorm1d(4))
    cpu_ddp = DistributedContext(rank=0, world_size=2, device=torch.device("cpu"))
    with pytest.raises(ganzoo.ConfigError, match="SyncBatchNorm.*CPU"):
        convert_sync_batchnorm(module, cpu_ddp)
    converted = convert_sync_batchnorm(module, DistributedContext())
    assert isinstance(converted[1], torch.nn.SyncBatchNorm)
    assert converted.state_dict().keys() == module.state_dict().keys()


def test_other_ranks_skip_writing_callbacks_and_do_not_write_checkpoints(tmp_path):
    calls = {"writer": 0, "schedule": 0}

    class Writer(ganzoo.Callback):
        main_process_only = True

        def on_step_end(self, trainer):
            calls["writer"] += 1

    class Schedule(ganzoo.Callback):
        def on_step_end(self, trainer):
            calls["schedule"] += 1

    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(8,))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(8,))
    trainer = ganzoo.Trainer(G, D, device="cpu", callbacks=[Writer(), Schedule()])
    trainer.fit(ganzoo.data.ring().sampler(8, seed=0), steps=2)
    assert calls == {"writer": 2, "schedule": 2} and trainer.is_main_process
    trainer.dist = DistributedContext(rank=1, world_size=1, device=torch.device("cpu"))  # pretend: rank 1
    trainer.fit(ganzoo.data.ring().sampler(8, seed=0), steps=2)
    assert calls == {"writer": 2, "schedule": 4} and not trainer.is_main_process
    assert trainer.save(tmp_path / "c.pt") is None and not (tmp_path / "c.pt").exists()
    assert trainer.last_checkpoint == tmp_path / "c.pt"


@needs_gloo
def test_spectral_norm_and_batch_norm_recipes_stay_in_sync(ddp_run):
    _, _, tensors = ddp_run
    for key in ("sngan_critic", "dcgan_generator"):  # parametrization buffers, BN running stats
        for a, b in zip(tensors[0][key], tensors[1][key]):
            assert torch.equal(a, b), key


@needs_gloo
def test_fid_callback_gathers_every_ranks_samples_and_records_one_value(ddp_run):
    pytest.importorskip("torch_fidelity")
    from ganzoo.metrics.fidelity import fid_from_features

    _, reports, tensors = ddp_run
    assert all(r["fid_world"] == 2 for r in reports)
    steps = [[s for s, _ in r["fid_values"]] for r in reports]
    assert steps == [[2, 4], [2, 4]]
    assert reports[0]["fid_values"] == reports[1]["fid_values"]  # one value, broadcast to every rank
    assert reports[0]["fid_history"] == [v for _, v in reports[0]["fid_values"]]
    real = tensors[0]["fid_real_features"]
    assert torch.equal(real, tensors[1]["fid_real_features"])
    own = [t["fid_fake_features"] for t in tensors]
    assert [len(o) for o in own] == [20, 20] and not torch.equal(own[0], own[1])  # each rank its own share
    last = reports[0]["fid_values"][-1][1]
    assert last == pytest.approx(fid_from_features(real, torch.cat(own)), rel=1e-9, abs=1e-9)
    # negative control: one rank's share alone (what a missing gather would give) is another number
    assert abs(fid_from_features(real, own[0]) - last) > 1e-6 * last  # the match above holds to 1e-9
