"""Training throughput: the anime-faces notebook's hand-written loop vs the ganzoo Trainer.

One process, one run: the notebook's loop (written out plainly below, fp32, NCHW) and the
equivalent ganzoo Trainer under each AMP policy and memory layout train copies of the SAME
initial networks on the SAME batches. Every contender gets a warm-up, then the repeats are
interleaved (contender order rotated each repeat) so that load from other processes hits all
of them alike; the table reports medians of wall time (and CPU time) per generator step, and
the median of the per-repeat paired ratios to the notebook loop.

    python benchmarks/throughput.py                       # 64x64 reference nets, batch 64, CPU
    python benchmarks/throughput.py --device cuda         # adds fp16 + GradScaler and bf16 rows
    python benchmarks/throughput.py --scaling             # batch 16..256 x image 32/64/128 table
    python benchmarks/throughput.py --quick               # seconds: tiny nets (the test suite runs this)

What one generator step is (BENCHMARKS.md section 4):

* DCGAN: one discriminator step (BCE, real labels 0.9, fake 0) and one generator step
  (BCE towards 1), fresh noise for each; Adam 2e-4, betas (0.5, 0.999).
* WGAN-GP: five critic steps, each with fresh noise and the gradient penalty (lambda 10),
  all five on the same real batch (as the notebook does; ganzoo ``critic_batches="reuse"``),
  then one generator step; Adam 1e-4, betas (0.0, 0.9).

Contenders (the ganzoo rows differ from each other only in the options named):

* ``notebook fp32``: the hand-written loop, the baseline.
* ``ganzoo, speed-ups off``: fp32, NCHW, unfused Adam and the generic double backward: the
  library's own cost over the hand-written loop (its abstraction overhead).
* ``ganzoo fp32 NCHW``: ``amp="off", channels_last=False``: the built-in, math-preserving
  speed-ups on (fused Adam, no_grad generator forward in critic steps, no critic weight
  gradients in the generator step, the cheap penalty double backward), the options off.
* ``ganzoo <amp> <layout>``: each AMP policy with NCHW and channels-last; the row that
  ``amp="auto", channels_last="auto"`` (the Trainer's defaults) resolves to is marked.
* ``--compile``: the defaults plus ``compile=True``; ``--lazy K``: the defaults plus the
  penalty on one critic update in K (scaled by K; a different algorithm, off by default).

After the timing, one more step of each contender runs under :class:`FlopCounter`, which
counts the matrix products and convolutions (GFLOP per generator step); with the machine's
measured matrix-product peak this gives each row's share of the peak and a roofline: the
floor time of ganzoo's arithmetic at the fp32 peak, hence the largest speed-up over the
notebook that any fp32 implementation of that arithmetic could reach on this machine.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import importlib
import inspect
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

import ganzoo
from ganzoo.amp import resolve_amp
from ganzoo.losses import WassersteinLoss
from ganzoo.regularizers import GradientPenalty

NOTEBOOK_WGAN_OVER_DCGAN = 252 / 50 / (38 / 60)  # minutes per epoch, Kaggle GPU: ~8x

SETTINGS = {
    "dcgan": {"lr": 2e-4, "betas": (0.5, 0.999), "critic_steps": 1, "norm": "batch"},
    "wgan_gp": {"lr": 1e-4, "betas": (0.0, 0.9), "critic_steps": 5, "norm": "none"},
}


# ----------------------------------------------------------------------------- the notebook's loop
def notebook_gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The notebook's ``compute_gradient_penalty``: E[(||grad C(x_hat)||_2 - 1)^2]."""
    b = real.size(0)
    alpha = torch.rand(b, 1, 1, 1, device=real.device)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(interpolates)
    gradients = torch.autograd.grad(
        outputs=scores, inputs=interpolates, grad_outputs=torch.ones_like(scores),
        create_graph=True, retain_graph=True,
    )[0]
    gradients = gradients.view(b, -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


def notebook_dcgan_steps(G, D, opt_g, opt_d, batches: Iterator[torch.Tensor], steps: int, device, latent_dim: int) -> list[float]:
    """``steps`` DCGAN iterations exactly as a notebook writes them (fp32, NCHW)."""
    criterion = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(steps):
        real = next(batches).to(device)
        b = real.size(0)
        # discriminator: real labels smoothed to 0.9, fake labels 0
        opt_d.zero_grad()
        fake = G(torch.randn(b, latent_dim, 1, 1, device=device))
        loss_d = criterion(D(real), torch.full((b,), 0.9, device=device)) + criterion(
            D(fake.detach()), torch.zeros(b, device=device)
        )
        loss_d.backward()
        opt_d.step()
        # generator
        opt_g.zero_grad()
        fake = G(torch.randn(b, latent_dim, 1, 1, device=device))
        loss_g = criterion(D(fake), torch.ones(b, device=device))
        loss_g.backward()
        opt_g.step()
        losses.append(loss_d.item() + loss_g.item())  # the notebook logs both every step
    return losses


def notebook_wgan_gp_steps(G, C, opt_g, opt_c, batches: Iterator[torch.Tensor], steps: int, device, latent_dim: int) -> list[float]:
    """``steps`` WGAN-GP generator iterations as the notebook writes them: 5 critic steps on
    one real batch (fresh noise each), gradient penalty lambda 10, fp32, then 1 generator step."""
    losses = []
    for _ in range(steps):
        real = next(batches).to(device)
        b = real.size(0)
        for _ in range(5):
            opt_c.zero_grad()
            fake = G(torch.randn(b, latent_dim, 1, 1, device=device))
            gp = notebook_gradient_penalty(C, real, fake.detach())
            loss_c = C(fake.detach()).mean() - C(real).mean() + 10 * gp
            loss_c.backward()
            opt_c.step()
        opt_g.zero_grad()
        loss_g = -C(G(torch.randn(b, latent_dim, 1, 1, device=device))).mean()
        loss_g.backward()
        opt_g.step()
        losses.append(loss_c.item() + loss_g.item())
    return losses


# ----------------------------------------------------------------------------- contenders
@dataclass
class Contender:
    """One way of training: ``run(steps)`` trains ``steps`` generator steps."""

    name: str
    run: Callable[[int], Any]
    info: dict[str, Any] = field(default_factory=dict)
    wall: list[float] = field(default_factory=list)  # seconds per generator step, one per repeat
    cpu: list[float] = field(default_factory=list)
    flops: float = 0.0  # floating-point operations per generator step (matrix products and convolutions)


def cycle_batches(batches: list[torch.Tensor]) -> Iterator[torch.Tensor]:
    return itertools.cycle(batches)


def make_notebook(recipe: str, G, D, batches, device, latent_dim) -> Contender:
    s = SETTINGS[recipe]
    G, D = copy.deepcopy(G).to(device), copy.deepcopy(D).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=s["lr"], betas=s["betas"])
    opt_d = torch.optim.Adam(D.parameters(), lr=s["lr"], betas=s["betas"])
    stream = cycle_batches(batches)
    loop = notebook_dcgan_steps if recipe == "dcgan" else notebook_wgan_gp_steps
    return Contender("notebook fp32", lambda n: loop(G, D, opt_g, opt_d, stream, n, device, latent_dim),
                     {"kind": "notebook", "amp": "off", "channels_last": False})


def make_ganzoo(recipe: str, G, D, batches, device, name: str, *, amp: str, channels_last: bool | str,
                plain: bool = False, compile: bool = False, lazy: int = 1, package: Any = ganzoo) -> Contender:
    """A Trainer of ``package``: this ganzoo, or the one of an earlier commit (throughput_vs_commit.py)."""
    s = SETTINGS[recipe]
    spec = {"name": "adam", "lr": s["lr"], "betas": list(s["betas"])}
    if plain:
        spec["foreach"] = False  # an explicit choice: no fused kernel
    if recipe == "dcgan":
        loss, regs = package.losses.BCELoss(real_label=0.9), []
    else:
        loss, regs = package.losses.WassersteinLoss(), [package.regularizers.GradientPenalty(weight=10.0, every=lazy)]
    quiet = {"progress": False} if "progress" in inspect.signature(package.Trainer).parameters else {}
    trainer = package.Trainer(
        copy.deepcopy(G), copy.deepcopy(D), loss, regs, critic_steps=s["critic_steps"], critic_batches="reuse",
        generator_optimizer=spec, critic_optimizer=dict(spec), device=device, amp=amp,
        channels_last=channels_last, compile=compile, **quiet,
    )
    if plain:  # PyTorch's generic double backward for the penalty
        importlib.import_module(f"{package.__name__}._input_gradient")._generic_critics.add(trainer.critic)
    stream = cycle_batches(batches)
    info = {"kind": "ganzoo", "amp": trainer.critic_amp.mode, "channels_last": trainer.channels_last,
            "plain": plain, "compile": bool(compile), "lazy_every": lazy}
    return Contender(name, lambda n: trainer.fit(stream, steps=n), info)


def contenders_for(recipe: str, args: argparse.Namespace, G, D, batches) -> list[Contender]:
    device, latent_dim = args.device, G.latent_dim
    policies = ["off", "bf16"] + (["fp16"] if torch.device(device).type == "cuda" else [])
    out = [
        make_notebook(recipe, G, D, batches, device, latent_dim),
        make_ganzoo(recipe, G, D, batches, device, "ganzoo, speed-ups off", amp="off", channels_last=False, plain=True),
    ]
    for amp in policies:
        for cl in (False, True):
            out.append(make_ganzoo(recipe, G, D, batches, device, f"ganzoo {amp} {'channels_last' if cl else 'NCHW'}",
                                   amp=amp, channels_last=cl))
    default = resolve_amp("auto", device), True  # channels_last="auto" is on for these conv nets
    for c in out:
        if c.info["kind"] == "ganzoo" and not c.info["plain"] and (c.info["amp"], c.info["channels_last"]) == default:
            c.info["default"] = True
            c.name += " (defaults)"
    if args.only:  # a shorter run: the notebook and the rows whose names contain one of the words
        out = [c for i, c in enumerate(out) if i == 0 or any(w in c.name for w in args.only)]
    if args.compile:
        out.append(make_ganzoo(recipe, G, D, batches, device, "ganzoo defaults + compile", amp="auto",
                               channels_last="auto", compile=True))
    if args.lazy > 1 and recipe == "wgan_gp":
        out.append(make_ganzoo(recipe, G, D, batches, device, f"ganzoo defaults + GP every {args.lazy} (lazy)",
                               amp="auto", channels_last="auto", lazy=args.lazy))
    return out


# ----------------------------------------------------------------------------- timing
def synchronize(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_interleaved(contenders: list[Contender], steps: int, warmup: int, repeats: int, device: str, label: str) -> None:
    """Warm every contender up, then run ``repeats`` rounds, rotating the order each round."""
    progress = _progress(total=len(contenders) * (warmup + repeats), desc=label)
    for c in contenders:
        for _ in range(warmup):
            c.run(1)
            synchronize(device)
            progress.update(1)
    for r in range(repeats):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            synchronize(device)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            c.run(steps)
            synchronize(device)
            c.wall.append((time.perf_counter() - wall0) / steps)
            c.cpu.append((time.process_time() - cpu0) / steps)
            progress.update(1)
    progress.close()


def summarize(contenders: list[Contender], batch_size: int) -> list[dict[str, Any]]:
    base = contenders[0]
    rows = []
    for c in contenders:
        paired = [b / t for b, t in zip(base.wall, c.wall)]  # >1: faster than the notebook
        rows.append({
            "name": c.name, **c.info,
            "ms_per_step": 1e3 * statistics.median(c.wall),
            "cpu_ms_per_step": 1e3 * statistics.median(c.cpu),
            "images_per_s": batch_size / statistics.median(c.wall),
            "time_ratio_to_notebook": statistics.median([t / b for b, t in zip(base.wall, c.wall)]),
            "speedup_vs_notebook": statistics.median(paired),
            "gflop_per_step": c.flops / 1e9, "gflop_per_s": c.flops / 1e9 / statistics.median(c.wall),
            "wall_s_per_step": c.wall, "cpu_s_per_step": c.cpu,
        })
    return rows


# ----------------------------------------------------------------------------- roofline
class FlopCounter(TorchDispatchMode):
    """Counts the floating-point operations of the matrix products and convolutions (forward
    and backward, double backward included) that run inside it, with PyTorch's own formulas
    (``torch.utils.flop_counter``). Elementwise ops are not counted: they are memory-bound.

    ``torch.utils.flop_counter.FlopCounterMode`` itself cannot be used here: its module tracker
    fails inside ``torch.autograd.grad`` ("A leaf node was passed to _will_engine_execute_node"),
    which every gradient penalty calls.
    """

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out


def count_flops(contender: Contender, steps: int) -> float:
    """Floating-point operations per generator step of ``contender`` (runs ``steps`` more steps)."""
    with FlopCounter() as counter:
        contender.run(steps)
    return counter.flops / steps


def matmul_peak(device: str, dtype: torch.dtype, size: int, repeats: int = 5) -> float:
    """GFLOP/s of a square matrix product on ``device``: what this machine's kernels reach at
    best in ``dtype`` (the fastest of ``repeats`` products after one warm-up: a ceiling, so
    the best observation is the conservative one)."""
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    a @ b
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        a @ b
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return 2 * size**3 / min(times) / 1e9


def machine_peaks(device: str, quick: bool) -> dict[str, float]:
    """Matrix-product GFLOP/s per AMP policy's compute type (``off`` is fp32). A shared machine's
    peak varies from minute to minute, so the benchmark measures it before and after every
    recipe's timing and keeps the best."""
    size = 256 if quick else (8192 if torch.device(device).type == "cuda" else 4096)  # large enough to saturate
    dtypes = {"off": torch.float32, "bf16": torch.bfloat16}
    if torch.device(device).type == "cuda":
        dtypes["fp16"] = torch.float16
    return {amp: matmul_peak(device, dtype, size) for amp, dtype in dtypes.items()}


def roofline(rows: list[dict[str, Any]], peaks: dict[str, float]) -> dict[str, Any]:
    """The fastest a contender's arithmetic can run here, per compute type: the defaults' FLOPs
    at the fp32 peak and at the peak of their own compute type (bf16 where ``amp="auto"``
    picks it), and the speed-up over the notebook that each allows at most."""
    notebook, default = rows[0], next(r for r in rows if r.get("default"))
    floor_ms = 1e3 * default["gflop_per_step"] / peaks["off"]
    own = default["amp"]
    own_floor_ms = 1e3 * default["gflop_per_step"] / peaks[own]
    needed = default["gflop_per_step"] / (notebook["ms_per_step"] / 2e3)  # GFLOP/s for half the notebook's time
    return {
        "notebook_gflop": notebook["gflop_per_step"], "ganzoo_gflop": default["gflop_per_step"],
        "fp32_peak_gflop_per_s": peaks["off"], "ganzoo_floor_ms": floor_ms,
        "max_speedup_at_fp32_peak": notebook["ms_per_step"] / floor_ms,
        "gflop_per_s_needed_for_2x": needed, "pct_of_peak_needed_for_2x": 100 * needed / peaks["off"],
        "ganzoo_pct_of_peak": default["pct_of_peak"],
        "defaults_compute_type": "fp32" if own == "off" else own, "own_peak_gflop_per_s": peaks[own],
        "own_floor_ms": own_floor_ms, "max_speedup_at_own_peak": notebook["ms_per_step"] / own_floor_ms,
        "pct_of_own_peak_needed_for_2x": 100 * needed / peaks[own],
    }


# ----------------------------------------------------------------------------- profile breakdown
_CONVERSION_OPS = ("aten::_to_copy", "aten::copy_", "aten::contiguous", "aten::clone", "aten::to_mkldnn",
                   "aten::_to_dense")


def _region(name: str, counters: dict[str, float], count: bool) -> Any:
    """A ``torch.profiler.record_function`` range that also counts the FLOPs inside when ``count``."""
    import contextlib

    @contextlib.contextmanager
    def ctx() -> Iterator[None]:
        with torch.profiler.record_function(name):
            if not count:
                yield
                return
            with FlopCounter() as counter:
                yield
            counters[name] = counters.get(name, 0.0) + counter.flops
    return ctx()


def _instrumented_wgan_gp_step(trainer: Any, batch: torch.Tensor, counters: dict[str, float], count: bool) -> None:
    """One WGAN-GP generator step of the Trainer, split into labelled parts. It runs the same
    calls as ``Trainer._train_step`` (same modules, policy, loss, penalty, optimizers), except
    that the critic's backward is taken in two calls, the loss terms then the penalty (the
    gradients accumulate to the same sum; the two graphs share nothing), so that the penalty's
    double backward can be timed on its own. Logging is left out."""
    G, C, C_pen = trainer._forward["generator"], trainer._forward["critic"], trainer._train["critic"]
    c_amp, g_amp = trainer.critic_amp, trainer.generator_amp
    (_, reg), = trainer._penalty_regs
    with _region("batch to device / layout", counters, count):
        real = trainer._ctx.to_device(batch)
    for _ in range(trainer.critic_steps):
        with _region("generator forward (no grad, critic step)", counters, count):
            with torch.no_grad(), c_amp.autocast():
                fake = G(trainer._ctx.noise(real.shape[0]))
            fake = fake.to(real.dtype)
        with _region("critic forward (real + fake)", counters, count):
            with c_amp.autocast():
                loss_c = trainer.loss.critic_loss(C(real), C(fake))
        with _region("penalty: critic forward + input gradient", counters, count):
            value = reg.penalty(C_pen, real, fake, c_amp)
        trainer.critic_optimizer.zero_grad(set_to_none=True)
        with _region("critic backward (loss terms)", counters, count):
            c_amp.backward(loss_c)
        with _region("penalty double backward", counters, count):
            c_amp.backward(value)
        with _region("critic optimizer step", counters, count):
            c_amp.step(trainer.critic_optimizer)
    for p in trainer._params["critic"]:
        p.requires_grad_(False)
    with _region("generator step: forward (G + critic)", counters, count):
        with g_amp.autocast():
            loss_g = trainer.loss.generator_loss(C(G(trainer._ctx.noise(real.shape[0]))))
    trainer.generator_optimizer.zero_grad(set_to_none=True)
    with _region("generator step: backward", counters, count):
        g_amp.backward(loss_g)
    for p in trainer._params["critic"]:
        p.requires_grad_(True)
    with _region("generator optimizer step", counters, count):
        g_amp.step(trainer.generator_optimizer)


def profile_breakdown(args: argparse.Namespace, peaks: dict[str, float], amp: str = "auto",
                      channels_last: bool | str = "auto", repeats: int = 3) -> dict[str, Any]:
    """Time and GFLOP/s of each part of one WGAN-GP generator step of the Trainer's defaults,
    from ``torch.profiler`` (medians over ``repeats`` profiled steps after a warm-up), with the
    dtype / layout conversions (copies) inside each part."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(0)
    G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=args.image_size, channels=3, width=args.width)
    D = ganzoo.create_critic("dcgan", image_size=args.image_size, channels=3, width=args.width, norm="none")
    s = SETTINGS["wgan_gp"]
    spec = {"name": "adam", "lr": s["lr"], "betas": list(s["betas"])}
    trainer = ganzoo.Trainer(G, D, WassersteinLoss(), [GradientPenalty(weight=10.0)], critic_steps=5,
                             critic_batches="reuse", generator_optimizer=spec, critic_optimizer=dict(spec),
                             device=args.device, amp=amp, channels_last=channels_last)
    batch = torch.rand(args.batch_size, 3, args.image_size, args.image_size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    flops: dict[str, float] = {}
    _instrumented_wgan_gp_step(trainer, batch, {}, False)  # warm-up
    _instrumented_wgan_gp_step(trainer, batch, flops, True)  # FLOPs (the counter slows ops: not timed)
    per_region: dict[str, list[float]] = {}
    per_region_conv: dict[str, list[float]] = {}
    totals: list[float] = []
    top_ops: dict[str, float] = {}
    for _ in range(repeats):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            _instrumented_wgan_gp_step(trainer, batch, {}, False)
            totals.append(time.perf_counter() - t0)
        events = list(prof.events())
        regions = [e for e in events if e.name in flops or e.name in ("batch to device / layout",)]
        sums: dict[str, float] = {}
        conv: dict[str, float] = {}
        for e in regions:
            sums[e.name] = sums.get(e.name, 0.0) + e.cpu_time_total / 1e6
        for e in events:
            if e.name in flops or e.name.startswith(("ProfilerStep", "autograd::engine")):
                continue
            top_ops[e.name] = top_ops.get(e.name, 0.0) + e.self_cpu_time_total / 1e6 / repeats
            if e.name in _CONVERSION_OPS:
                start = e.time_range.start
                for r in regions:
                    if r.time_range.start <= start <= r.time_range.end:
                        conv[r.name] = conv.get(r.name, 0.0) + e.self_cpu_time_total / 1e6
                        break
        for name in flops:
            per_region.setdefault(name, []).append(sums.get(name, 0.0))
            per_region_conv.setdefault(name, []).append(conv.get(name, 0.0))
    mode = trainer.critic_amp.mode
    rows = []
    for name, f in flops.items():
        t = statistics.median(per_region[name])
        rows.append({"part": name, "ms": 1e3 * t, "gflop": f / 1e9, "gflop_per_s": f / 1e9 / t if t > 0 else 0.0,
                     "pct_of_peak": 100 * f / 1e9 / t / peaks[mode] if t > 0 else 0.0,
                     "conversion_ms": 1e3 * statistics.median(per_region_conv[name])})
    total = statistics.median(totals)
    total_flops = sum(flops.values())
    ops = sorted(top_ops.items(), key=lambda kv: -kv[1])[:15]
    return {"amp": mode, "channels_last": trainer.channels_last, "total_ms": 1e3 * total, "total_gflop": total_flops / 1e9,
            "total_gflop_per_s": total_flops / 1e9 / total, "pct_of_peak": 100 * total_flops / 1e9 / total / peaks[mode],
            "peak_gflop_per_s": peaks[mode], "parts": rows, "repeats": repeats,
            "top_ops": [{"op": k, "self_ms": 1e3 * v} for k, v in ops]}


def profile_markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = ["# Profile of one WGAN-GP generator step (ganzoo)", "",
             f"Command: `{report['command']}`  ",
             f"Date: {m['date']}; machine: {m.get('cpu', '?')} ({m['cpu_count']} cores, flags "
             f"{', '.join(m.get('cpu_flags', []))}); torch {m['torch']}, {m['threads']} threads. "
             f"Load average before / after: {report['load_before']} / {report['load_after']}.  ",
             "Matrix-product peaks: " + ", ".join(f"{'fp32' if k == 'off' else k} {v:.0f} GFLOP/s" for k, v in report["peaks"].items()) + ".",
             "",
             "Each part's time is the `torch.profiler` range around it (median of the profiled steps; the profiler "
             "adds a little overhead per op). GFLOP counts the matrix products and convolutions in it (PyTorch's "
             "formulas); % of peak is against the matrix-product peak of the part's own compute type. "
             "Conversions = self time of the copy ops (`aten::_to_copy`, `copy_`, `contiguous`, `clone`) inside the part: "
             "dtype casts and memory-layout changes. The critic backward is taken in two calls here (loss terms, then "
             "the penalty) so the penalty's double backward shows on its own; the Trainer takes one.", ""]
    for b in report["profiles"]:
        lines += [f"## amp `{b['amp']}`, channels_last {b['channels_last']}: {b['total_ms']:.0f} ms, "
                  f"{b['total_gflop']:.1f} GFLOP, {b['total_gflop_per_s']:.0f} GFLOP/s = {b['pct_of_peak']:.0f} % of the "
                  f"{'fp32' if b['amp'] == 'off' else b['amp']} peak", "",
                  "| part (x5 in the critic steps) | ms | share | GFLOP | GFLOP/s | % of peak | conversions ms |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in b["parts"]:
            lines.append(f"| {r['part']} | {r['ms']:.0f} | {100 * r['ms'] / b['total_ms']:.0f} % | {r['gflop']:.1f} | "
                         f"{r['gflop_per_s']:.0f} | {r['pct_of_peak']:.0f} % | {r['conversion_ms']:.0f} |")
        lines += ["", "Top ops by self time (ms per step):", "", "| op | ms |", "|---|---:|"]
        lines += [f"| `{o['op']}` | {o['self_ms']:.0f} |" for o in b["top_ops"]]
        lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- overheads
def trainer_overheads(G, D, device: str, repeats: int = 20) -> list[dict[str, Any]]:
    """Cost of the Trainer's per-step bookkeeping at this size, each piece on its own."""
    trainer = ganzoo.Trainer(copy.deepcopy(G), copy.deepcopy(D), "wasserstein", ["gradient_penalty"],
                             critic_steps=5, device=device, amp="off", channels_last=False)
    for p in [*trainer._params["generator"], *trainer._params["critic"]]:
        p.grad = torch.randn_like(p)
    values = [torch.randn((), device=device) for _ in range(6)]

    def grad_norms() -> None:
        ganzoo.trainer._grad_norm(trainer._params["critic"])
        ganzoo.trainer._grad_norm(trainer._params["generator"])

    def toggle() -> None:
        for p in trainer._params["critic"]:
            p.requires_grad_(False)
        for p in trainer._params["critic"]:
            p.requires_grad_(True)

    def history_row() -> None:
        trainer._pending.append((0, {f"v{i}": v.reshape(()).float() for i, v in enumerate(values)}))
        if len(trainer._pending) >= 10:
            trainer._pending.clear()

    rows = []
    for name, fn in (("gradient norms (critic + generator)", grad_norms),
                     ("requires_grad off/on for the critic", toggle),
                     ("history row (stack of logged values)", history_row)):
        fn()
        times = []
        for _ in range(repeats):
            synchronize(device)
            t0 = time.perf_counter()
            fn()
            synchronize(device)
            times.append(time.perf_counter() - t0)
        rows.append({"what": name, "ms_per_step": 1e3 * statistics.median(times)})
    return rows


# ----------------------------------------------------------------------------- scaling
def scaling_table(args: argparse.Namespace) -> list[dict[str, Any]]:
    """ganzoo (defaults) ms per generator step over batch sizes and image sizes, both recipes
    interleaved per cell, with the WGAN-GP / DCGAN ratio."""
    rows = []
    cells = [(size, batch) for size in args.scaling_sizes for batch in args.scaling_batches]
    for size, batch in cells:
        torch.manual_seed(0)
        G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=size, channels=3, width=args.width)
        batches = [torch.rand(batch, 3, size, size) * 2 - 1 for _ in range(2)]
        contenders = []
        for recipe in ("dcgan", "wgan_gp"):
            D = ganzoo.create_critic("dcgan", image_size=size, channels=3, width=args.width, norm=SETTINGS[recipe]["norm"])
            contenders.append(make_ganzoo(recipe, G, D, batches, args.device, recipe, amp="auto", channels_last="auto"))
        time_interleaved(contenders, 1, 1, args.scaling_repeats, args.device, f"scaling {size}px batch {batch}")
        dc, gp = (1e3 * statistics.median(c.wall) for c in contenders)
        rows.append({"image_size": size, "batch_size": batch, "dcgan_ms": dc, "wgan_gp_ms": gp,
                     "dcgan_images_per_s": batch / dc * 1e3, "wgan_gp_images_per_s": batch / gp * 1e3,
                     "wgan_gp_over_dcgan": gp / dc,
                     "dcgan_cpu_ms": 1e3 * statistics.median(contenders[0].cpu),
                     "wgan_gp_cpu_ms": 1e3 * statistics.median(contenders[1].cpu)})
    return rows


# ----------------------------------------------------------------------------- reporting
def machine() -> dict[str, Any]:
    info = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "python": platform.python_version(),
            "torch": torch.__version__, "ganzoo": ganzoo.__version__, "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(), "platform": platform.platform()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        info["cpu"] = fields.get("Model name", "").strip()
        flags = fields.get("Flags", "").split()
        info["cpu_flags"] = [f for f in ("avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile") if f in flags]
    except (OSError, subprocess.CalledProcessError):
        info["cpu"] = platform.processor()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    info["amp_auto_cpu"] = resolve_amp("auto", "cpu")
    return info


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def markdown(report: dict[str, Any]) -> str:
    m, a = report["machine"], report["args"]
    lines = [
        "# Training throughput: notebook loop vs ganzoo",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {m['date']}; machine: {m.get('cpu', '?')} ({m['cpu_count']} cores, flags {', '.join(m.get('cpu_flags', []))}"
        f"{', GPU ' + m['gpu'] if 'gpu' in m else ''}); torch {m['torch']}, {m['threads']} threads, Python {m['python']}; "
        f"`amp=\"auto\"` resolves to `{m['amp_auto_cpu']}` on this CPU.  ",
        f"Device {a['device']}, image {a['image_size']}x{a['image_size']}, batch {a['batch_size']}, width {a['width']}; "
        f"{a['warmup']} warm-up + {a['repeats']} interleaved repeats of {a['steps']} generator step(s) "
        f"(DCGAN {a['dcgan_steps']}); medians. Load average before / after: {report['load_before']} / {report['load_after']}.",
        "",
        "Speed-up = median over repeats of (notebook time / contender time) in the same repeat; "
        "time ratio = its inverse (acceptance 1: <= 1.03).",
        "",
    ]
    peaks = report["peaks"]
    lines += ["GFLOP / step counts the matrix products and convolutions of one generator step (forward, backward "
              "and the penalty's double backward) with PyTorch's formulas; % of peak compares GFLOP/s with a "
              "square matrix product in the row's compute type on this machine (" +
              ", ".join(f"{'fp32' if k == 'off' else k} {v:.0f} GFLOP/s" for k, v in peaks.items()) + ").", ""]
    for recipe, rows in report["results"].items():
        lines += [f"## {recipe}", "", "| contender | ms / generator step | CPU ms / step | images / s | time ratio | speed-up "
                  "| GFLOP / step | GFLOP/s | % of peak |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            lines.append(f"| {r['name']} | {r['ms_per_step']:.0f} | {r['cpu_ms_per_step']:.0f} | {r['images_per_s']:.1f} | "
                         f"{r['time_ratio_to_notebook']:.3f} | {r['speedup_vs_notebook']:.2f}x | {r['gflop_per_step']:.1f} | "
                         f"{r['gflop_per_s']:.0f} | {r['pct_of_peak']:.0f} % |")
        lines.append("")
    lines += ["## Roofline: the largest speed-up this machine allows", "",
              "ganzoo's defaults do the arithmetic below per generator step. Even with every convolution as fast "
              "as the best square matrix product in fp32 (the peak), it takes the floor time, so no fp32 "
              "implementation of this arithmetic can beat the notebook by more than the max speed-up. A 2x "
              "speed-up needs the arithmetic to run at the rate in the last column.", "",
              "| recipe | notebook GFLOP | ganzoo GFLOP | fp32 peak GFLOP/s | floor ms | max speed-up | "
              "2x needs |", "|---|---:|---:|---:|---:|---:|---:|"]
    for recipe, b in report["roofline"].items():
        lines.append(f"| {recipe} | {b['notebook_gflop']:.1f} | {b['ganzoo_gflop']:.1f} | {b['fp32_peak_gflop_per_s']:.0f} | "
                     f"{b['ganzoo_floor_ms']:.0f} | {b['max_speedup_at_fp32_peak']:.2f}x | "
                     f"{b['gflop_per_s_needed_for_2x']:.0f} GFLOP/s ({b['pct_of_peak_needed_for_2x']:.0f} %) |")
    lines += ["", "Per compute type: the same arithmetic at the peak of the compute type the defaults run in "
              "(`amp=\"auto\"`: bf16 where this CPU's bf16 is fast: AMX, or AMD with AVX-512 BF16), and the share of THAT peak the defaults reach.", "",
              "| recipe | defaults compute in | its peak GFLOP/s | floor ms | max speed-up | defaults reach (own peak) | "
              "2x needs (own peak) |", "|---|---|---:|---:|---:|---:|---:|"]
    for recipe, b in report["roofline"].items():
        lines.append(f"| {recipe} | {b['defaults_compute_type']} | {b['own_peak_gflop_per_s']:.0f} | {b['own_floor_ms']:.0f} | "
                     f"{b['max_speedup_at_own_peak']:.2f}x | {b['ganzoo_pct_of_peak']:.0f} % | {b['pct_of_own_peak_needed_for_2x']:.0f} % |")
    lines.append("")
    if "dcgan" in report["results"] and "wgan_gp" in report["results"]:
        nb = {k: v[0]["ms_per_step"] for k, v in report["results"].items()}
        best = {k: min(r["ms_per_step"] for r in v if r.get("default")) for k, v in report["results"].items()
                if any(r.get("default") for r in v)}
        lines += ["## WGAN-GP / DCGAN cost per generator step", "",
                  f"- notebook loop here: {nb['wgan_gp'] / nb['dcgan']:.1f}x",
                  *([f"- ganzoo defaults here: {best['wgan_gp'] / best['dcgan']:.1f}x"] if len(best) == 2 else []),
                  f"- the notebook on a Kaggle GPU: {NOTEBOOK_WGAN_OVER_DCGAN:.1f}x (252 min / 50 epochs vs 38 min / 60 epochs)", ""]
    if report.get("overheads"):
        lines += ["## Trainer bookkeeping per generator step (measured alone)", "", "| what | ms |", "|---|---:|"]
        lines += [f"| {o['what']} | {o['ms_per_step']:.2f} |" for o in report["overheads"]]
        lines.append("")
    return "\n".join(lines)


def scaling_markdown(report: dict[str, Any]) -> str:
    m, a = report["machine"], report["args"]
    lines = [
        "# Scaling: ganzoo (defaults) time per generator step",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {m['date']}; {m.get('cpu', '?')} ({m['cpu_count']} cores); torch {m['torch']}, {m['threads']} threads; "
        f"device {a['device']}; `amp=\"auto\"` -> `{m['amp_auto_cpu']}`, channels-last on; width {a['width']}; "
        f"1 warm-up + {a['scaling_repeats']} interleaved repeats, medians. Load average before / after: "
        f"{report['load_before']} / {report['load_after']}.",
        "",
        f"The notebook reports WGAN-GP ~{NOTEBOOK_WGAN_OVER_DCGAN:.0f}x slower than DCGAN per epoch (same number of "
        "generator steps per epoch, since it reuses one real batch for the 5 critic steps).",
        "",
        "| image | batch | DCGAN ms | WGAN-GP ms | DCGAN img/s | WGAN-GP img/s | WGAN-GP / DCGAN |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["scaling"]:
        lines.append(f"| {r['image_size']} | {r['batch_size']} | {r['dcgan_ms']:.0f} | {r['wgan_gp_ms']:.0f} | "
                     f"{r['dcgan_images_per_s']:.1f} | {r['wgan_gp_images_per_s']:.1f} | {r['wgan_gp_over_dcgan']:.1f}x |")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    """Bar chart of the speed-ups (or, for the scaling table, ms per step against batch size)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figure (pip install matplotlib)")
        return
    if "scaling" in report:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, recipe in zip(axes, ("dcgan", "wgan_gp")):
            for size in sorted({r["image_size"] for r in report["scaling"]}):
                rows = [r for r in report["scaling"] if r["image_size"] == size]
                ax.plot([r["batch_size"] for r in rows], [r[f"{recipe}_ms"] for r in rows], "o-", label=f"{size}x{size}")
            ax.set(xscale="log", yscale="log", xlabel="batch size", title=f"{recipe}: ms per generator step")
            ax.legend()
    else:
        recipes = list(report["results"])
        fig, axes = plt.subplots(1, len(recipes), figsize=(6 * len(recipes), 0.45 * max(len(v) for v in report["results"].values()) + 1.5))
        for ax, recipe in zip(axes if len(recipes) > 1 else [axes], recipes):
            rows = report["results"][recipe][::-1]
            colors = ["grey" if r["kind"] == "notebook" else ("tab:green" if r.get("default") else "tab:blue") for r in rows]
            bars = ax.barh([r["name"] for r in rows], [r["speedup_vs_notebook"] for r in rows], color=colors)
            ax.bar_label(bars, labels=[f"{r['speedup_vs_notebook']:.2f}x" for r in rows], padding=2, fontsize=8)
            ax.axvline(1.0, color="black", lw=0.8)
            if recipe == "wgan_gp":
                ax.axvline(2.0, color="tab:red", lw=0.8, ls="--", label="issue goal 2x")
                ax.legend(loc="lower right", fontsize=8)
            ax.set(title=f"{recipe}: speed-up vs notebook", xlabel="notebook time / contender time")
            ax.set_xlim(0, max(2.3, 1.15 * max(r["speedup_vs_notebook"] for r in rows)))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _progress(total: int, desc: str) -> Any:
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)
    except ImportError:
        class _Silent:
            def update(self, n: int) -> None: ...
            def close(self) -> None: ...
        return _Silent()


# ----------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=64, help="feature maps of the nets (64: the reference nets)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per contender (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed generator steps per contender first")
    parser.add_argument("--steps", type=int, default=1, help="WGAN-GP generator steps per timed repeat")
    parser.add_argument("--dcgan-steps", type=int, default=3, help="DCGAN generator steps per timed repeat")
    parser.add_argument("--recipes", nargs="+", default=["dcgan", "wgan_gp"], choices=list(SETTINGS))
    parser.add_argument("--compile", action="store_true", help="add a torch.compile row (slow to warm up)")
    parser.add_argument("--lazy", type=int, default=0, help="add a WGAN-GP row with the penalty every K critic steps")
    parser.add_argument("--only", nargs="+", default=None, metavar="TEXT",
                        help="keep only the notebook and the rows whose names contain one of these (e.g. 'defaults' 'off NCHW')")
    parser.add_argument("--no-overheads", action="store_true", help="skip the bookkeeping-cost table")
    parser.add_argument("--scaling", action="store_true", help="run the scaling table instead")
    parser.add_argument("--scaling-sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--scaling-batches", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--scaling-repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true",
                        help="instead of the table: torch.profiler breakdown of one WGAN-GP generator step of the "
                             "defaults (and of fp32 NCHW) into its parts, written to throughput_profile.md/json")
    parser.add_argument("--profile-repeats", type=int, default=3, help="profiled steps per configuration (median)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds), for the test suite")
    parser.add_argument("--out", type=Path, default=None,
                        help="output path without suffix, .md and .json are written (default "
                             "benchmarks/results/throughput, or throughput_scaling with --scaling)")
    args = parser.parse_args(argv)
    if args.out is None:
        name = "throughput_scaling" if args.scaling else ("throughput_profile" if args.profile else "throughput")
        args.out = Path(__file__).parent / "results" / name
    if args.quick:
        args.image_size, args.batch_size, args.width = 16, 8, 8
        args.repeats, args.warmup, args.steps, args.dcgan_steps = 2, 1, 1, 1
        args.scaling_sizes, args.scaling_batches, args.scaling_repeats = [16], [4, 8], 1
        args.profile_repeats = 1
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    threads = torch.get_num_threads()
    if args.quick:  # tiny ops: one thread avoids thread start-up and barrier costs on a busy machine
        torch.set_num_threads(1)
    try:
        return _run(args, argv)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    command = "python benchmarks/throughput.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report: dict[str, Any] = {"command": command.strip(), "machine": machine(), "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                              "load_before": _load()}
    if args.profile:
        report["peaks"] = machine_peaks(args.device, args.quick)
        configs = [("auto", "auto"), ("off", False)]
        report["profiles"] = [profile_breakdown(args, report["peaks"], amp, cl, args.profile_repeats) for amp, cl in configs]
        report["peaks"] = {k: max(v, p) for (k, v), p in zip(report["peaks"].items(), machine_peaks(args.device, args.quick).values())}
        for b in report["profiles"]:  # share of the best peak seen
            b["peak_gflop_per_s"] = report["peaks"][b["amp"]]
            b["pct_of_peak"] = 100 * b["total_gflop_per_s"] / b["peak_gflop_per_s"]
            for r in b["parts"]:
                r["pct_of_peak"] = 100 * r["gflop_per_s"] / b["peak_gflop_per_s"]
        report["load_after"] = _load()
        text = profile_markdown(report)
    elif args.scaling:
        report["scaling"] = scaling_table(args)
        report["load_after"] = _load()
        text = scaling_markdown(report)
    else:
        report["results"], report["roofline"] = {}, {}
        report["peaks"] = machine_peaks(args.device, args.quick)
        for recipe in args.recipes:
            torch.manual_seed(0)
            G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=args.image_size, channels=3, width=args.width)
            D = ganzoo.create_critic("dcgan", image_size=args.image_size, channels=3, width=args.width,
                                     norm=SETTINGS[recipe]["norm"])
            gen = torch.Generator().manual_seed(1)
            batches = [torch.rand(args.batch_size, 3, args.image_size, args.image_size, generator=gen) * 2 - 1
                       for _ in range(4)]
            contenders = contenders_for(recipe, args, G, D, batches)
            steps = args.dcgan_steps if recipe == "dcgan" else args.steps
            time_interleaved(contenders, steps, args.warmup, args.repeats, args.device, recipe)
            for c in contenders:  # after the timing: the counter slows every op down
                c.flops = count_flops(c, 1)
            # the peak is a ceiling: keep the best seen before and after each recipe's timing
            report["peaks"] = {k: max(v, peak) for (k, v), peak in
                               zip(report["peaks"].items(), machine_peaks(args.device, args.quick).values())}
            report["results"][recipe] = summarize(contenders, args.batch_size)
            print(f"{recipe}: " + "; ".join(f"{r['name']} {r['ms_per_step']:.0f} ms ({r['speedup_vs_notebook']:.2f}x)"
                                             for r in report["results"][recipe]), flush=True)
        for recipe, rows in report["results"].items():  # share of the best peak seen in the whole run
            for r in rows:
                r["pct_of_peak"] = 100 * r["gflop_per_s"] / report["peaks"][r["amp"]]
            report["roofline"][recipe] = roofline(rows, report["peaks"])
        if not args.no_overheads:
            report["overheads"] = trainer_overheads(G, D, args.device)
        report["load_after"] = _load()
        text = markdown(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    if not args.quick and not args.profile:
        plot(report, args.out.with_suffix(".png"))
    print(text)
    return report


if __name__ == "__main__":
    main()
