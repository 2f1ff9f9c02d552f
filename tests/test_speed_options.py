"""The Trainer's speed options: lazy penalties, compile, channels-last, fused optimizers, AMP auto."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch
from torch.testing import assert_close

import ganzoo
from ganzoo import Trainer
from ganzoo import amp as amp_module
from ganzoo.losses import AdversarialLoss
from ganzoo.optim import build_optimizer
from ganzoo.regularizers import GradientPenalty, Regularizer

from helpers import CountingLoader, image_loader, image_pair, toy_pair

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- lazy regularization
class ZeroLoss(AdversarialLoss):
    """Critic loss 0 (with a graph), so the backward sees only the penalties."""

    def critic_loss(self, real_scores, fake_scores):
        return 0.0 * (real_scores.sum() + fake_scores.sum())

    def generator_loss(self, fake_scores):
        return -fake_scores.float().mean()


class UnitPenalty(Regularizer):
    """Penalty = 1 (times a zero that keeps the graph); counts its calls."""

    def __init__(self, every: int = 1) -> None:
        self.every, self.calls = every, 0

    def penalty(self, critic, real, fake, amp=None):
        self.calls += 1
        return 1.0 + 0.0 * sum(p.sum() for p in critic.parameters())


@pytest.mark.parametrize("every", [1, 3, 4])
def test_lazy_penalty_runs_one_update_in_every_and_is_scaled(every):
    G, D = toy_pair()
    reg = UnitPenalty(every)
    trainer = Trainer(G, D, ZeroLoss(), [reg], critic_steps=5, device="cpu")
    totals = []
    backward = trainer.critic_amp.backward
    trainer.critic_amp.backward = lambda total: (totals.append(total.item()), backward(total))[1]
    history = trainer.fit(CountingLoader(batches=4), steps=4)
    expected = [float(every) if u % every == 0 else 0.0 for u in range(20)]
    assert totals == expected and reg.calls == sum(1 for v in expected if v)
    # the history logs the unscaled penalty, averaged over the updates that computed it
    assert history.column("penalty/UnitPenalty") == [1.0] * 4


def test_lazy_penalty_longer_than_a_generator_step_logs_nan_in_between():
    G, D = toy_pair()
    trainer = Trainer(G, D, "wasserstein", [GradientPenalty(every=7)], critic_steps=2, device="cpu")
    values = trainer.fit(CountingLoader(), steps=4).column("penalty/gradient_penalty")
    assert [math.isnan(v) for v in values] == [False, True, True, False]  # updates 0 and 7


def test_every_is_validated_and_in_the_config():
    with pytest.raises(ganzoo.ConfigError, match="every=0.*integer >= 1"):
        GradientPenalty(every=0)
    reg = ganzoo.create_regularizer("r1", weight=5.0, every=16)
    assert ganzoo.get_config(reg)["kwargs"]["every"] == 16
    assert ganzoo.from_config(ganzoo.get_config(reg)).every == 16


# ---------------------------------------------------------------- compile
def test_compiled_forward_passes_with_penalty_on_the_plain_critic():
    """aot_eager goes through aot_autograd, which refuses double backward: the penalty must run
    on the uncompiled critic (sharing the weights) for this to train."""
    G, D = toy_pair()
    trainer = Trainer(G, D, "wasserstein", ["gradient_penalty"], critic_steps=2, device="cpu", seed=0,
                      compile={"backend": "aot_eager"})
    assert trainer._forward["critic"] is not trainer.critic and trainer._forward["critic"]._orig_mod is trainer.critic
    history = trainer.fit(CountingLoader(), steps=2)
    assert all(math.isfinite(v) for v in history.column("penalty/gradient_penalty"))
    assert trainer.config()["trainer"]["compile"] == {"backend": "aot_eager"}


def test_compile_true_trains_on_cpu():
    """The default backend (inductor, C++ on CPU): kept tiny, compiling is slow to warm up."""
    G, D = toy_pair(hidden=8)
    trainer = Trainer(G, D, "wasserstein", ["gradient_penalty"], critic_steps=1, device="cpu", seed=0, compile=True)
    history = trainer.fit(CountingLoader(batches=2), steps=2)
    assert len(history) == 2 and math.isfinite(history[-1].generator_loss)


def test_precompiled_modules_train_with_the_penalty_on_the_plain_critic():
    G, D = toy_pair()
    trainer = Trainer(torch.compile(G, backend="aot_eager"), torch.compile(D, backend="aot_eager"), "wasserstein",
                      ["gradient_penalty"], critic_steps=2, device="cpu")
    assert trainer.critic is D and trainer.generator is G and trainer._forward["critic"]._orig_mod is D
    assert not any(k.startswith("_orig_mod") for k in trainer.state_dict()["networks"]["critic"])
    trainer.fit(CountingLoader(), steps=1)
    assert math.isfinite(trainer.history[-1].penalties["gradient_penalty"])


# ---------------------------------------------------------------- defaults and options
def test_channels_last_auto_follows_convolutions():
    assert Trainer(*image_pair(), "hinge", device="cpu").channels_last is True
    assert Trainer(*toy_pair(), "hinge", device="cpu").channels_last is False
    assert Trainer(*image_pair(), "hinge", device="cpu", channels_last=False).channels_last is False
    with pytest.raises(ganzoo.ConfigError, match="channels_last='yes'.*'auto'"):
        Trainer(*toy_pair(), channels_last="yes", device="cpu")


def test_channels_last_trains_the_same_values_and_samples_are_contiguous():
    """Layout changes no value: one WGAN-GP step (SGD, so updates are linear in the gradients)
    gives the same weights and samples to float rounding."""
    results = []
    for layout in (False, True):
        torch.manual_seed(0)
        G, D = image_pair(norm="none")
        sgd = {"name": "sgd", "lr": 0.01}
        trainer = Trainer(G, D, "wasserstein", ["gradient_penalty"], critic_steps=2, seed=0, device="cpu", amp="off",
                          channels_last=layout, generator_optimizer=sgd, critic_optimizer=dict(sgd))
        trainer.fit(image_loader(n=32, batch_size=8), steps=1)
        z = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
        results.append((trainer.sample(4, z=z), [p.detach().clone() for p in trainer.critic.parameters()]))
    (samples_a, critic_a), (samples_b, critic_b) = results
    assert samples_b.is_contiguous()
    assert_close(samples_a, samples_b, rtol=1e-4, atol=1e-5)
    for a, b in zip(critic_a, critic_b):
        assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fast, mode", [(True, "bf16"), (False, "off")])
def test_amp_default_is_auto(monkeypatch, fast, mode):
    monkeypatch.setattr(amp_module, "cpu_bf16_is_fast", lambda: fast)
    trainer = Trainer(*toy_pair(), device="cpu")
    assert trainer.amp == "auto" and trainer.critic_amp.mode == mode and trainer.generator_amp.mode == mode


def test_grad_norms_off_logs_nan():
    trainer = Trainer(*toy_pair(), "wasserstein", ["gradient_penalty"], device="cpu", grad_norms=False)
    record = trainer.fit(CountingLoader(), steps=2)[-1]
    assert math.isnan(record.critic_grad_norm) and math.isnan(record.generator_grad_norm)
    assert math.isfinite(Trainer(*toy_pair(), device="cpu").fit(CountingLoader(), steps=1)[-1].critic_grad_norm)


def test_fused_optimizers_by_default_with_the_same_updates():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    copies = [torch.nn.Linear(4, 3) for _ in range(2)]
    for c in copies:
        c.load_state_dict(model.state_dict())
    fused = build_optimizer({"name": "adam", "lr": 1e-2, "betas": [0.0, 0.9]}, copies[0].parameters())
    plain = build_optimizer({"name": "adam", "lr": 1e-2, "betas": [0.0, 0.9], "foreach": False}, copies[1].parameters())
    assert fused.defaults["fused"] is True and not plain.defaults["fused"]
    for _ in range(5):
        x = torch.randn(8, 4)
        for c, opt in zip(copies, (fused, plain)):
            opt.zero_grad()
            c(x).square().mean().backward()
            opt.step()
    for a, b in zip(copies[0].parameters(), copies[1].parameters()):
        assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not build_optimizer({"name": "rmsprop", "lr": 1e-3}, model.parameters()).defaults.get("fused")


# ---------------------------------------------------------------- amp="auto" on CPUs
@pytest.mark.parametrize("vendor, flags, amx, fast", [
    ("GenuineIntel", {"avx512_bf16"}, False, False),          # this machine kind: bf16 slower than fp32
    ("GenuineIntel", {"avx512_bf16", "amx_bf16"}, False, True),
    ("GenuineIntel", set(), True, True),
    ("AuthenticAMD", {"avx512_bf16"}, False, True),            # Zen 4 (BENCHMARKS.md: 1.9x)
    ("AuthenticAMD", set(), False, False),
])
def test_cpu_bf16_is_fast_rules(monkeypatch, vendor, flags, amx, fast):
    caches = (amp_module.cpu_bf16_is_fast, amp_module.cpu_has_amx)
    for cached in caches:
        cached.cache_clear()
    monkeypatch.setattr(amp_module, "_cpu_flags", lambda: (vendor, flags))
    monkeypatch.setattr(amp_module, "cpu_supports_bf16", lambda: "avx512_bf16" in flags)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    try:
        assert amp_module.cpu_bf16_is_fast() is fast
        assert amp_module.cpu_has_amx() is (amx or "amx_bf16" in flags)
    finally:
        for cached in caches:
            cached.cache_clear()


# ---------------------------------------------------------------- the benchmark script
def load_benchmark():
    spec = importlib.util.spec_from_file_location("throughput", ROOT / "benchmarks" / "throughput.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_throughput_benchmark_quick_run(tmp_path):
    report = load_benchmark().main(["--quick", "--lazy", "2", "--out", str(tmp_path / "t")])
    data = json.loads((tmp_path / "t.json").read_text())
    md = (tmp_path / "t.md").read_text()
    for recipe in ("dcgan", "wgan_gp"):
        rows = data["results"][recipe]
        names = [r["name"] for r in rows]
        assert names[0] == "notebook fp32" and "ganzoo, speed-ups off" in names
        assert sum(1 for r in rows if r.get("default")) == 1
        assert all(r["ms_per_step"] > 0 and len(r["wall_s_per_step"]) == 2 for r in rows)
        assert f"## {recipe}" in md
    assert any("lazy" in r["name"] for r in report["results"]["wgan_gp"])
    assert "Command: `python benchmarks/throughput.py --quick" in md and data["machine"]["torch"] == torch.__version__


def test_throughput_vs_commit_compares_every_row(tmp_path):
    """benchmarks/throughput_vs_commit.py imports src/ganzoo at a commit and times every ganzoo
    row of throughput.py against it (here HEAD against itself, tiny nets)."""
    spec = importlib.util.spec_from_file_location("throughput_vs_commit", ROOT / "benchmarks" / "throughput_vs_commit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = module.main(["--base", "HEAD", "--recipes", "dcgan", "--image-size", "16", "--width", "4",
                          "--batch-size", "4", "--repeats", "2", "--warmup", "0", "--dcgan-steps", "1",
                          "--out", str(tmp_path / "r")])
    rows = report["results"]["dcgan"]["rows"]
    assert [r["row"] for r in rows] == [name for name, *_ in module.ROWS]
    for r in rows:
        assert len(r["base_s"]) == len(r["head_s"]) == 2 and r["time_ratio"] > 0
        assert r["slower"] is (r["time_ratio"] > 1.02)
    md = (tmp_path / "r.md").read_text()
    assert "vs commit HEAD" in md and "| bf16 channels_last |" in md


def test_flop_counter_gives_the_exact_counts_of_a_linear_layer_and_a_convolution():
    counter_cls = load_benchmark().FlopCounter
    linear = torch.nn.Linear(3, 4)
    with counter_cls() as counter:
        linear(torch.randn(5, 3, requires_grad=True)).sum().backward()
    assert counter.flops == 3 * (2 * 5 * 3 * 4)  # forward, grad of input, grad of weight
    conv = torch.nn.Conv2d(2, 3, kernel_size=3, bias=False)
    with counter_cls() as counter:
        conv(torch.randn(1, 2, 5, 5))
    assert counter.flops == 2 * (3 * 3) * (3 * 2 * 3 * 3)  # 2 x output pixels x multiply-adds per pixel


def test_throughput_benchmark_reports_flops_and_the_roofline(tmp_path):
    report = load_benchmark().main(["--quick", "--recipes", "wgan_gp", "--no-overheads", "--out", str(tmp_path / "t")])
    rows = {r["name"]: r for r in report["results"]["wgan_gp"]}
    assert all(r["gflop_per_step"] > 0 and r["pct_of_peak"] > 0 for r in rows.values())
    default = next(r for r in rows.values() if r.get("default"))
    # the cheap double backward does less arithmetic than PyTorch's generic one, the algorithm is the same
    assert default["gflop_per_step"] < rows["ganzoo, speed-ups off"]["gflop_per_step"]
    bound = report["roofline"]["wgan_gp"]
    assert bound["ganzoo_gflop"] == default["gflop_per_step"]
    assert bound["max_speedup_at_fp32_peak"] == pytest.approx(
        rows["notebook fp32"]["ms_per_step"] / (1e3 * default["gflop_per_step"] / report["peaks"]["off"]))
    assert "## Roofline" in (tmp_path / "t.md").read_text()


def test_throughput_benchmark_quick_scaling(tmp_path):
    load_benchmark().main(["--quick", "--scaling", "--out", str(tmp_path / "s")])
    rows = json.loads((tmp_path / "s.json").read_text())["scaling"]
    assert [(r["image_size"], r["batch_size"]) for r in rows] == [(16, 4), (16, 8)]
    assert all(r["wgan_gp_over_dcgan"] > 0 for r in rows)


def test_grid_quality_benchmark_quick_run(tmp_path):
    spec = importlib.util.spec_from_file_location("grid_quality", ROOT / "benchmarks" / "grid_quality.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    report = module.main(["--quick", "--settings", "off", "off, GP every 4", "--out", str(tmp_path / "g")])
    assert [len(v) for v in report["runs"].values()] == [2, 2]
    summary = json.loads((tmp_path / "g.json").read_text())["summary"]
    assert set(summary) == {"off", "off, GP every 4"} and "modes_within_se" in summary["off, GP every 4"]
    assert "| off, GP every 4 |" in (tmp_path / "g.md").read_text()


def test_throughput_profile_quick_splits_the_step_into_its_parts(tmp_path):
    report = load_benchmark().main(["--quick", "--profile", "--out", str(tmp_path / "p")])
    for b in report["profiles"]:
        parts = {r["part"]: r for r in b["parts"]}
        assert {"critic forward (real + fake)", "penalty double backward", "critic backward (loss terms)",
                "critic optimizer step", "generator optimizer step"} <= set(parts)
        assert parts["penalty double backward"]["gflop"] > 0 and parts["critic optimizer step"]["gflop"] == 0
        assert b["total_gflop"] == pytest.approx(sum(r["gflop"] for r in b["parts"]))
        assert b["peak_gflop_per_s"] == report["peaks"][b["amp"]]
    assert "penalty double backward" in (tmp_path / "p.md").read_text()


def test_throughput_roofline_per_compute_type(tmp_path):
    report = load_benchmark().main(["--quick", "--recipes", "wgan_gp", "--no-overheads", "--only", "defaults",
                                    "--out", str(tmp_path / "t")])
    rows = report["results"]["wgan_gp"]
    assert len(rows) == 2  # the notebook and the defaults
    bound, default = report["roofline"]["wgan_gp"], rows[1]
    own = report["peaks"][default["amp"]]
    assert bound["own_peak_gflop_per_s"] == own
    assert bound["max_speedup_at_own_peak"] == pytest.approx(rows[0]["ms_per_step"] / (1e3 * default["gflop_per_step"] / own))
    assert default["pct_of_peak"] == pytest.approx(100 * default["gflop_per_s"] / own)
