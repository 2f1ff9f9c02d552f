"""Mode-collapse benchmark: the recipes dcgan, wgan_clip, wgan_gp and sngan on the ring, the
grid (BENCHMARKS.md, section 1) and the synthetic faces (section 2), several seeds, one budget
per dataset for every recipe.

    python benchmarks/mode_collapse.py                 # the committed results (see --help)
    python benchmarks/mode_collapse.py --quick         # smoke test: < 5 min on 2 CPU cores
    python benchmarks/mode_collapse.py --study collapse --datasets ring grid   # issue item 5

Writes to ``--out`` (default ``benchmarks/results``; ``benchmarks/results/quick`` with
``--quick``): ``mode_collapse.json`` (one record per recipe x dataset x seed: modes, hq_pct,
reverse_kl, steps, cpu_seconds, the EMA generator's numbers, the budget curve and the loss
stability), ``mode_collapse.md`` (mean +- standard error beside the published rows),
``mode_collapse_<dataset>.png`` (2-D samples over the true modes; face sample grids) and
``mode_collapse_budget.png`` (modes, % HQ and reverse KL against generator steps).
Each finished run is also kept in ``<out>/runs_cache/``: an interrupted or partial invocation
(e.g. ``--datasets ring grid`` first, then ``--datasets faces``) is resumed, and a later
invocation with the same settings only assembles the tables.

Every run uses one CPU thread (``torch.set_num_threads(1)``); ``--workers`` runs that many in
parallel processes. The metrics do not depend on the number of workers (each run is seeded),
only the wall time does. CPU seconds are the training process time of each run (evaluation
excluded, reported separately).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import math
import multiprocessing
import os
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

import ganzoo
from ganzoo.data import SyntheticFaces, grid, ring
from ganzoo.ema import EMA
from ganzoo.metrics import loss_stability, mode_coverage, read_faces
from ganzoo.schedules import LinearDecay

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("ring", "grid", "faces")
MODES = {"ring": 8, "grid": 25, "faces": 144}

# Published rows (modes / % HQ / reverse KL; "-" = not reported), BENCHMARKS.md section 1.
PUBLISHED = [
    ("GAN", "VEEGAN Table 1", {"ring": ("1", "99.3", "-"), "grid": ("3.3", "0.5", "-")}),
    ("ALI", "VEEGAN Table 1", {"ring": ("2.8", "0.13", "-"), "grid": ("15.8", "1.6", "-")}),
    ("Unrolled GAN", "VEEGAN Table 1", {"ring": ("7.6", "35.6", "-"), "grid": ("23.6", "16", "-")}),
    ("VEEGAN", "VEEGAN Table 1", {"ring": ("8", "52.9", "-"), "grid": ("24.6", "40", "-")}),
    ("GAN", "PacGAN Table 1", {"ring": ("6.3±0.5", "98.2±0.2", "0.45±0.09"), "grid": ("17.3±0.8", "94.8±0.7", "0.70±0.07")}),
    ("PacGAN2", "PacGAN Table 1", {"ring": ("7.9±0.1", "95.6±2.0", "0.07±0.03"), "grid": ("23.8±0.7", "91.3±0.8", "0.13±0.04")}),
    ("PacGAN4", "PacGAN Table 1", {"ring": ("7.8±0.1", "95.9±1.4", "0.07±0.02"), "grid": ("24.8±0.2", "93.6±0.6", "0.04±0.01")}),
]


# --------------------------------------------------------------------------- budgets
@dataclass(frozen=True)
class Budget:
    """What every recipe gets on one dataset."""

    steps: int  # generator steps
    batch_size: int
    eval_every: int  # budget-curve resolution (generator steps)
    eval_samples: int = 2500  # the protocol's 2,500 samples
    hidden: int = 256  # 2-D: width of the 3 hidden layers of both MLPs
    latent_dim: int = 2
    width: int = 16  # faces: DCGAN feature maps (ngf = ndf)
    image_size: int = 32
    faces_length: int = 20000  # faces: dataset size (rendered once, cached as 8-bit)
    channels_last: bool = False  # faces: 10-25 % faster convolutions on this CPU
    amp: str = "off"  # faces: the Trainer's amp ("auto": bf16 where it is faster, e.g. AMX CPUs)

    def describe(self, dataset: str) -> str:
        if dataset == "faces":
            return (f"DCGAN G/D at {self.image_size}x{self.image_size}, width {self.width}, z {self.latent_dim}, "
                    f"batch {self.batch_size}, amp {self.amp}, {self.steps} generator steps")
        return (f"MLP G/D 3x{self.hidden} ReLU, z {self.latent_dim}, batch {self.batch_size}, "
                f"{self.steps} generator steps")


FULL = {
    "ring": Budget(steps=2000, batch_size=256, eval_every=250),
    "grid": Budget(steps=3000, batch_size=256, eval_every=250),
    "faces": Budget(steps=1000, batch_size=64, eval_every=200, latent_dim=64, width=16, channels_last=True),
}
# --faces-budget long: the example's default run on the built-in faces (examples/anime_wgan_gp.py
# without --data), the budget after which strict modes separate the recipes.
FACES_LONG = Budget(steps=9000, batch_size=64, eval_every=1000, latent_dim=100, width=32, channels_last=True, amp="auto")
QUICK = {  # plumbing only: every code path, numbers meaningless
    "ring": Budget(steps=60, batch_size=128, eval_every=30, eval_samples=500, hidden=64),
    "grid": Budget(steps=60, batch_size=128, eval_every=30, eval_samples=500, hidden=64),
    "faces": Budget(steps=8, batch_size=32, eval_every=4, eval_samples=300, latent_dim=16, width=8,
                   faces_length=500),
}


# --------------------------------------------------------------------------- recipes
@dataclass(frozen=True)
class Variant:
    """A recipe and the arguments it gets (2-D and faces can differ; the note says how)."""

    name: str
    recipe: str
    toy_kwargs: dict[str, Any] = field(default_factory=dict)
    image_kwargs: dict[str, Any] = field(default_factory=dict)
    critic_hidden: int | None = None  # 2-D: a different critic width than the generator's
    decay_from: float | None = None  # linear learning-rate decay to 0 from this fraction of the steps
    note: str = ""


MAIN = [
    Variant("dcgan", "dcgan", note="BCE (non-saturating), real label 0.9, Adam 2e-4 (0.5, 0.999), 1 critic step"),
    Variant("wgan_clip", "wgan_clip", note="Wasserstein, clip 0.01, RMSprop 5e-5, 5 critic steps"),
    Variant(
        "wgan_gp", "wgan_gp", toy_kwargs={"gp_weight": 0.1, "betas": (0.5, 0.9)},
        note="Wasserstein + GP, Adam 1e-4, 5 critic steps; 2-D: lambda 0.1, betas (0.5, 0.9) (the paper's "
             "toy settings), faces: lambda 10, betas (0.0, 0.9)",
    ),
    Variant("sngan", "sngan", note="hinge, spectral norm, Adam 2e-4 (0.0, 0.9), 5 critic steps"),
]
# Issue item 5: settings under which the standard GAN collapses on the 2-D sets.
COLLAPSE = [
    Variant("dcgan", "dcgan", note="the main table's settings"),
    Variant("dcgan, lr 1e-3", "dcgan", toy_kwargs={"lr": 1e-3}, note="5x the learning rate"),
    Variant("dcgan, critic 3x64", "dcgan", critic_hidden=64, note="a 4x narrower discriminator"),
    Variant("dcgan, no smoothing", "dcgan", toy_kwargs={"real_label": 1.0}, note="real label 1.0"),
]
# The stretch goal (beat PacGAN4 on the grid): longer runs, learning-rate decay, the EMA generator.
TUNED = [
    Variant("wgan_gp, lr 1e-3", "wgan_gp", toy_kwargs={"gp_weight": 0.1, "betas": (0.5, 0.9), "lr": 1e-3},
            note="the paper's toy settings with a 10x learning rate (recipe argument lr=1e-3)"),
    Variant("wgan_gp, lr 1e-3, decay", "wgan_gp", toy_kwargs={"gp_weight": 0.1, "betas": (0.5, 0.9), "lr": 1e-3},
            decay_from=0.5, note="the same, learning rates decayed linearly to 0 over the second half "
                                 "(ganzoo.schedules.LinearDecay)"),
]
STUDIES = {"main": MAIN, "collapse": COLLAPSE, "tuned": TUNED}


# --------------------------------------------------------------------------- one run
def _build(variant: Variant, dataset: str, budget: Budget, seed: int, callbacks: list) -> ganzoo.Trainer:
    recipe = getattr(ganzoo.recipes, variant.recipe)
    if variant.decay_from is not None:
        callbacks = [*callbacks, LinearDecay(start=int(variant.decay_from * budget.steps), end=budget.steps)]
    common = {"seed": seed, "device": "cpu", "callbacks": callbacks}
    if dataset == "faces":
        return recipe(image_size=budget.image_size, channels=3, width=budget.width, latent_dim=budget.latent_dim,
                      channels_last=budget.channels_last, amp=budget.amp, **variant.image_kwargs, **common)
    torch.manual_seed(seed)  # the networks' initial weights
    G = ganzoo.create_generator("mlp", latent_dim=budget.latent_dim, out_shape=(2,), hidden=(budget.hidden,) * 3)
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(variant.critic_hidden or budget.hidden,) * 3)
    return recipe(generator=G, critic=D, **variant.toy_kwargs, **common)


def _evaluate(dataset: str, samples: torch.Tensor, mixture: Any) -> dict[str, Any]:
    if dataset != "faces":
        result = mode_coverage(samples, mixture.centres, mixture.std)
        return {**result.as_dict(), "modes_nearest": sum(c > 0 for c in result.counts)}
    readout = read_faces(samples)
    result = readout.coverage()
    return {**result.as_dict(), "modes_nearest": sum(c > 0 for c in result.counts), "pass_pct": readout.pass_rates()}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one (recipe, dataset, seed) and measure it along the way (runs in a worker)."""
    torch.set_num_threads(1)
    variant, dataset, seed = Variant(**job["variant"]), job["dataset"], job["seed"]
    budget = Budget(**job["budget"])
    mixture = None
    if dataset == "faces":
        data = SyntheticFaces(size=budget.image_size, length=budget.faces_length, seed=0, cache=True).sampler(budget.batch_size, seed=seed)
    else:
        mixture = ring() if dataset == "ring" else grid()
        data = mixture.sampler(budget.batch_size, seed=seed)
    ema = EMA(decay=job["ema_decay"])
    trainer = _build(variant, dataset, budget, seed, [ema])
    z = torch.randn(budget.eval_samples, trainer.latent_dim, generator=torch.Generator().manual_seed(10_000 + seed))

    train_cpu = eval_cpu = 0.0
    wall = time.perf_counter()
    curve, diverged = [], False
    stream = iter(data)
    while trainer.step < budget.steps and not diverged:
        start = time.process_time()
        try:
            trainer.fit(_Repeat(stream), steps=min(budget.eval_every, budget.steps - trainer.step))
        except (ganzoo.GanzooError, FloatingPointError, RuntimeError) as error:  # a diverged run is a result too
            diverged = repr(error)
        train_cpu += time.process_time() - start
        start = time.process_time()
        point = {"step": trainer.step, "cpu_seconds": round(train_cpu, 2)}
        point.update(_evaluate(dataset, trainer.sample(budget.eval_samples, z=z), mixture))
        point.update({f"ema_{k}": v for k, v in _evaluate(dataset, ema.sample(budget.eval_samples, z=z), mixture).items()})
        curve.append(point)
        eval_cpu += time.process_time() - start

    final = curve[-1]
    record = {
        "recipe": variant.name,
        "dataset": dataset,
        "seed": seed,
        "modes": final["modes"],
        "num_modes": MODES[dataset],
        "hq_pct": final["hq_pct"],
        "reverse_kl": final["reverse_kl"],
        "steps": trainer.step,
        "critic_updates": trainer.critic_updates,
        "cpu_seconds": round(train_cpu, 2),
        "eval_cpu_seconds": round(eval_cpu, 2),
        "wall_seconds": round(time.perf_counter() - wall, 2),
        "modes_nearest": final["modes_nearest"],
        "ema": {"decay": job["ema_decay"], "modes": final["ema_modes"], "hq_pct": final["ema_hq_pct"],
                "reverse_kl": final["ema_reverse_kl"], "modes_nearest": final["ema_modes_nearest"]},
        "stability": loss_stability(trainer.history, last=min(100, len(trainer.history))).as_dict(),
        "diverged": diverged,
        "curve": curve,
    }
    if "pass_pct" in final:
        record["pass_pct"], record["ema"]["pass_pct"] = final["pass_pct"], final["ema_pass_pct"]
    if job["keep_samples"]:
        record["_samples"] = trainer.sample(64 if dataset == "faces" else budget.eval_samples, z=z[:64] if dataset == "faces" else z)
    return record


class _Repeat:
    """Lets successive fit() calls share one infinite stream (so batches never repeat)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __iter__(self) -> Any:
        return self.stream


# --------------------------------------------------------------------------- references
def reference_records(datasets: list[str], seeds: list[int], budgets: dict[str, Budget]) -> list[dict[str, Any]]:
    """Scores of the true distribution and of uniform noise, per dataset and seed (no training)."""
    out = []
    for d in datasets:
        n = budgets[d].eval_samples
        for seed in seeds:
            gen = torch.Generator().manual_seed(20_000 + seed)
            if d == "faces":
                real = SyntheticFaces(size=budgets[d].image_size, length=n, seed=1000 + seed).batch(range(n))[0]
                noise = torch.rand(n, 3, budgets[d].image_size, budgets[d].image_size, generator=gen) * 2 - 1
                scores = {"real data": read_faces(real).coverage(), "uniform noise": read_faces(noise).coverage()}
            else:
                mix = ring() if d == "ring" else grid()
                if d == "ring":
                    angle = torch.rand(n, generator=gen) * 2 * math.pi
                    radius = torch.sqrt(0.25 + torch.rand(n, generator=gen) * (2.25 - 0.25))  # uniform in area
                    noise = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
                else:
                    noise = torch.rand(n, 2, generator=gen) * 10 - 5
                scores = {"real data": mode_coverage(mix.sample(n, gen), mix.centres, mix.std),
                          "uniform noise": mode_coverage(noise, mix.centres, mix.std)}
            out += [{"recipe": k, "dataset": d, "seed": seed, **v.as_dict()} for k, v in scores.items()]
    return out


# --------------------------------------------------------------------------- tables
def _mean_se(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, math.nan
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var / len(values))


def _fmt(values: list[float], digits: int) -> str:
    mean, se = _mean_se(values)
    if math.isnan(mean):
        return "-"
    return f"{mean:.{digits}f}" if math.isnan(se) else f"{mean:.{digits}f}±{se:.{digits}f}"


def _cell(records: list[dict[str, Any]], key: str | None = None) -> str:
    source = [r[key] for r in records] if key else records
    return " / ".join([_fmt([r["modes"] for r in source], 1), _fmt([r["hq_pct"] for r in source], 1),
                       _fmt([r["reverse_kl"] for r in source], 3)])


def summarise(records: list[dict[str, Any]], variants: list[Variant], datasets: list[str], budgets: dict[str, Budget],
              header: dict[str, Any]) -> str:
    """The markdown report: results beside the published rows, cost, EMA, stability."""
    def select(name: str, dataset: str) -> list[dict[str, Any]]:
        return [r for r in records if r["recipe"] == name and r["dataset"] == dataset]

    seeds = sorted({r["seed"] for r in records})
    lines = [f"# Mode collapse: {', '.join(v.name for v in variants)} on {', '.join(datasets)}", ""]
    reused = f" ({header['reused_runs']} of the runs reused from earlier invocations)" if header["reused_runs"] else ""
    lines += [f"Command: `{header['command']}`  ", f"CPU time of all runs {header['total_cpu_seconds'] / 60:.1f} min "
              f"(training {header['train_cpu_seconds'] / 60:.1f} min, the rest evaluation); wall time of this invocation "
              f"{header['wall_seconds'] / 60:.1f} min{reused}; {header['workers']} worker process(es) x 1 thread, "
              f"{header['machine']}, torch {header['torch']}.", ""]
    lines += [f"Each cell: modes captured / % high quality / reverse KL, mean ± standard error over "
              f"{len(seeds)} seeds ({', '.join(map(str, seeds))}), {budgets[datasets[0]].eval_samples} samples "
              "(BENCHMARKS.md protocol; faces: `ganzoo.metrics.face_coverage`).", ""]
    for d in datasets:
        lines.append(f"- **{d}** (max {MODES[d]} modes): {budgets[d].describe(d)}, the same for every recipe.")
    lines.append("")
    cols = " | ".join(f"{d} (max {MODES[d]})" for d in datasets)
    lines += [f"| method | {cols} | source |", "|---" * (len(datasets) + 2) + "|"]
    for v in variants:
        cells = " | ".join(_cell(select(v.name, d)) for d in datasets)
        lines.append(f"| **ganzoo {v.name}** | {cells} | this run |")
    for v in variants:
        cells = " | ".join(_cell(select(v.name, d), "ema") for d in datasets)
        lines.append(f"| ganzoo {v.name}, EMA generator | {cells} | this run (same runs) |")
    references = reference_records(datasets, seeds, budgets)
    for label in ("real data", "uniform noise"):
        cells = " | ".join(_cell([r for r in references if r["recipe"] == label and r["dataset"] == d]) for d in datasets)
        lines.append(f"| *{label}* (reference) | {cells} | no training |")
    for method, source, rows in PUBLISHED:
        if any(d in rows for d in datasets):
            cells = " | ".join(" / ".join(rows[d]) if d in rows else "-" for d in datasets)
            lines.append(f"| {method} | {cells} | {source} |")
    lines += ["", "Published rows use their own networks and budgets (VEEGAN, PacGAN); the rows of this run "
              "share one budget per dataset. EMA generator: an exponential moving average of the generator "
              f"weights (`ganzoo.ema.EMA`, decay {header['ema_decay']}) sampled at the end of the same runs. "
              "References, same seeds and sample count: *real data* = samples of the true distribution (the "
              "best any generator can score: 98.9 % of a 2-D Gaussian lies within 3 std); *uniform noise* = "
              "a generator that learned nothing about the modes (2-D: uniform on the annulus 0.5 <= |x| <= 1.5 "
              "around the ring, on the square [-5, 5]^2 around the grid, so every mode's nearest-mode cell gets "
              "the same mass; faces: uniform pixel noise). Uniform noise captures most grid modes with a "
              "reverse KL near 0: only % HQ tells it from a generator that learned the modes.", ""]

    lines += ["## Settings and cost", "", "| recipe | settings | " + " | ".join(f"{d}: CPU s / run" for d in datasets) + " |",
              "|---" * (len(datasets) + 2) + "|"]
    for v in variants:
        cost = " | ".join(_fmt([r["cpu_seconds"] for r in select(v.name, d)], 0) for d in datasets)
        lines.append(f"| {v.name} | {v.note} | {cost} |")
    lines += ["", "## Training stability", "",
              "Standard deviation of the losses over the last 100 generator steps (`ganzoo.metrics.loss_stability`), "
              "mean over seeds: generator loss / critic loss.", "",
              "| recipe | " + " | ".join(datasets) + " |", "|---" * (len(datasets) + 1) + "|"]
    for v in variants:
        cells = []
        for d in datasets:
            rs = select(v.name, d)
            cells.append(f"{_fmt([r['stability'].get('generator_loss_std', math.nan) for r in rs], 3)} / "
                         f"{_fmt([r['stability'].get('critic_loss_std', math.nan) for r in rs], 3)}")
        lines.append(f"| {v.name} | " + " | ".join(cells) + " |")
    if "faces" in datasets:
        keys = ["face_found", "hair_colour", "eye_colour", "background", "hair_style"]
        lines += ["", "## Faces: what the readout sees", "",
                  "Percentage of generated faces whose face (skin region) is found, and whose regions of each "
                  "attribute match a palette colour within the tolerance (an image is HQ when all pass); and the "
                  "number of the 144 modes that are the nearest mode of at least one sample, whatever its quality.", "",
                  "| recipe | " + " | ".join(k.replace("_", " ") + " %" for k in keys) + " | nearest modes |",
                  "|---" * (len(keys) + 2) + "|"]
        for v in variants:
            for label, get in ((v.name, lambda r: r), (f"{v.name}, EMA", lambda r: r["ema"])):
                rs = [get(r) for r in select(v.name, "faces")]
                if not rs:
                    continue
                cells = [_fmt([r["pass_pct"][k] for r in rs], 1) for k in keys]
                lines.append(f"| {label} | " + " | ".join(cells) + f" | {_fmt([r['modes_nearest'] for r in rs], 1)} |")
    diverged = [r for r in records if r["diverged"]]
    if diverged:
        lines += ["", "Diverged runs: " + ", ".join(f"{r['recipe']}/{r['dataset']}/seed {r['seed']}" for r in diverged)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- plots
def plot(records: list[dict[str, Any]], variants: list[Variant], datasets: list[str], out: Path, prefix: str) -> list[Path]:
    """Scatter plots (2-D), sample grids (faces) and the budget curve; returns the files written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots (pip install matplotlib)")
        return []
    written = []
    first_seed = min(r["seed"] for r in records)
    for d in datasets:
        fig, axes = plt.subplots(1, len(variants) + (d == "faces"), figsize=(3.2 * (len(variants) + (d == "faces")), 3.4))
        axes = list(axes) if hasattr(axes, "__len__") else [axes]
        if d == "faces":
            from torchvision.utils import make_grid

            real = SyntheticFaces(size=32, length=64, seed=1).batch(range(64))[0]
            axes[0].imshow(make_grid(real * 0.5 + 0.5, nrow=8, padding=1).permute(1, 2, 0).clamp(0, 1).numpy())
            axes[0].set_title("real data", fontsize=9)
            axes = axes[1:]
        for ax, v in zip(axes, variants):
            rec = next((r for r in records if r["recipe"] == v.name and r["dataset"] == d and r["seed"] == first_seed
                        and "_samples" in r), None)
            if rec is None:
                continue
            title = f"{v.name}\n{rec['modes']} modes, {rec['hq_pct']:.1f} % HQ, KL {rec['reverse_kl']:.2f}"
            if d == "faces":
                from torchvision.utils import make_grid

                img = make_grid(rec["_samples"] * 0.5 + 0.5, nrow=8, padding=1).permute(1, 2, 0).clamp(0, 1)
                ax.imshow(img.numpy())
            else:
                mix = ring() if d == "ring" else grid()
                s = rec["_samples"].clamp(-6, 6)
                ax.scatter(s[:, 0], s[:, 1], s=1, alpha=0.3)
                ax.scatter(mix.centres[:, 0], mix.centres[:, 1], s=12, c="red", marker="x")
                lim = 1.6 if d == "ring" else 5.5
                ax.set_xlim(-lim, lim)
                ax.set_ylim(-lim, lim)
                ax.set_aspect("equal")
            ax.set_title(title, fontsize=9)
        for ax in fig.axes:
            if d == "faces":
                ax.axis("off")
        steps = next((r["steps"] for r in records if r["dataset"] == d), 0)
        fig.suptitle(f"{d}: samples of seed {first_seed} after {steps} steps"
                     if d != "faces" else f"faces: samples of seed {first_seed}", fontsize=10)
        fig.tight_layout()
        path = out / f"{prefix}_{d}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    metrics = [("modes", "modes captured"), ("hq_pct", "% high quality"), ("reverse_kl", "reverse KL")]
    fig, axes = plt.subplots(len(datasets), 3, figsize=(12, 3.2 * len(datasets)), squeeze=False)
    for row, d in zip(axes, datasets):
        for ax, (key, label) in zip(row, metrics):
            for v in variants:
                runs = [r["curve"] for r in records if r["recipe"] == v.name and r["dataset"] == d]
                if not runs:
                    continue
                steps = [p["step"] for p in runs[0]]
                stats = [_mean_se([run[i][key] for run in runs if i < len(run)]) for i in range(len(steps))]
                mean = [m for m, _ in stats]
                se = [0.0 if math.isnan(s) else s for _, s in stats]
                line, = ax.plot(steps, mean, marker="o", ms=3, label=v.name)
                ax.fill_between(steps, [m - s for m, s in zip(mean, se)], [m + s for m, s in zip(mean, se)],
                                color=line.get_color(), alpha=0.2)
            ax.set_title(f"{d}: {label}", fontsize=10)
            ax.set_xlabel("generator steps")
            if key == "modes":
                ax.axhline(MODES[d], color="grey", lw=0.8, ls="--")
            if key == "reverse_kl":
                ax.set_yscale("log")
        row[0].legend(fontsize=8)
    fig.tight_layout()
    path = out / f"{prefix}_budget.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, 2 seeds: a smoke test (< 5 min on 2 cores)")
    parser.add_argument("--study", choices=sorted(STUDIES), default="main",
                        help="main: the 4 recipes; collapse: dcgan settings that collapse (issue item 5); "
                             "tuned: longer runs with learning-rate decay (the stretch goal on the grid)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--recipes", nargs="+", default=None, help="subset of the study's recipes (by name)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5; 2 with --quick)")
    parser.add_argument("--steps", nargs="+", default=[], metavar="DATASET=N",
                        help="override a dataset's generator steps, e.g. grid=4000")
    parser.add_argument("--faces-budget", choices=("short", "long"), default="short",
                        help="short: 1,000 steps at width 16 (the main table); long: the anime example's default "
                             "run, 9,000 steps at width 32, amp auto (~40 CPU min per WGAN-GP run on AMX)")
    parser.add_argument("--ema-decay", type=float, default=0.999, help="decay of the EMA generator (default 0.999)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="parallel runs (1 thread each)")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument("--prefix", default=None, help="output file prefix (default mode_collapse[_<study>])")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    budgets = dict(QUICK if args.quick else FULL)
    if args.faces_budget == "long" and not args.quick:
        budgets["faces"] = FACES_LONG
    for item in args.steps:
        name, _, value = item.partition("=")
        if name not in budgets or not value.isdigit():
            raise SystemExit(f"--steps {item!r}: use DATASET=N with DATASET in {', '.join(DATASETS)}")
        budgets[name] = replace(budgets[name], steps=int(value), eval_every=min(budgets[name].eval_every, int(value)))
    variants = STUDIES[args.study]
    if args.recipes:
        unknown = set(args.recipes) - {v.name for v in variants}
        if unknown:
            raise SystemExit(f"--recipes: unknown {sorted(unknown)}; choose from {[v.name for v in variants]}")
        variants = [v for v in variants if v.name in args.recipes]
    n_seeds = args.seeds or (2 if args.quick else 5)
    out = args.out or (ROOT / "benchmarks" / "results" / ("quick" if args.quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    prefix = args.prefix or ("mode_collapse" if args.study == "main" else f"mode_collapse_{args.study}")

    jobs = [
        {"variant": asdict(v), "dataset": d, "seed": seed, "budget": asdict(budgets[d]), "ema_decay": args.ema_decay,
         "keep_samples": seed == 0}
        for d in args.datasets for v in variants for seed in range(n_seeds)
    ]
    jobs.sort(key=lambda j: -_cost_guess(j))  # longest first: better packing on the workers
    command = "python benchmarks/mode_collapse.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    print(f"{len(jobs)} runs on {args.workers} worker(s); budgets: " +
          "; ".join(f"{d}: {budgets[d].describe(d)}" for d in args.datasets), flush=True)

    start_wall, start_cpu = time.perf_counter(), time.process_time()
    cache = out / "runs_cache"
    cache.mkdir(exist_ok=True)
    records, todo = [], []
    for job in jobs:  # finished runs of an earlier (or interrupted) invocation are reused
        cached = _load_cached(cache, job)
        (records.append(cached) if cached is not None else todo.append(job))
    if records:
        print(f"reusing {len(records)} finished run(s) from {cache}", flush=True)
    if args.workers <= 1:
        torch.set_num_threads(1)
        for job in todo:
            records.append(_store(cache, job, run_job(job)))
            _progress(records[-1], len(records), len(jobs), start_wall)
    else:
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
            futures = {pool.submit(run_job, job): job for job in todo}
            for future in cf.as_completed(futures):
                records.append(_store(cache, futures[future], future.result()))
                _progress(records[-1], len(records), len(jobs), start_wall)
    records.sort(key=lambda r: (DATASETS.index(r["dataset"]), [v.name for v in variants].index(r["recipe"]), r["seed"]))

    train_cpu = sum(r["cpu_seconds"] for r in records)
    header = {
        "command": command.strip(),
        "study": args.study,
        "workers": args.workers,
        "ema_decay": args.ema_decay,
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "torch": torch.__version__,
        "wall_seconds": round(time.perf_counter() - start_wall, 1),
        "reused_runs": len(jobs) - len(todo),
        "train_cpu_seconds": round(train_cpu, 1),
        "total_cpu_seconds": round(train_cpu + sum(r["eval_cpu_seconds"] for r in records)
                                   + time.process_time() - start_cpu, 1),
    }
    written = plot(records, variants, args.datasets, out, prefix)
    report = summarise(records, variants, args.datasets, budgets, header)
    (out / f"{prefix}.md").write_text(report)
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in records]
    payload = {**header, "budgets": {d: asdict(budgets[d]) for d in args.datasets},
               "recipes": [asdict(v) for v in variants], "records": clean}
    (out / f"{prefix}.json").write_text(json.dumps(payload, indent=1, default=_json_default) + "\n")
    print("\n" + report)
    print("wrote " + ", ".join(str(p) for p in [out / f"{prefix}.md", out / f"{prefix}.json", *written]))
    return payload


def _job_key(job: dict[str, Any]) -> str:
    text = json.dumps({k: v for k, v in job.items() if k != "keep_samples"}, sort_keys=True, default=_json_default)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _store(cache: Path, job: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """Write one finished run to the cache (JSON, and its samples as a tensor file)."""
    key = _job_key(job)
    if "_samples" in record:
        torch.save(record["_samples"], cache / f"{key}.pt")
    clean = {k: v for k, v in record.items() if not k.startswith("_")}
    tmp = cache / f"{key}.json.tmp"
    tmp.write_text(json.dumps({"job": job, "record": clean}, default=_json_default))
    tmp.replace(cache / f"{key}.json")
    return record


def _load_cached(cache: Path, job: dict[str, Any]) -> dict[str, Any] | None:
    path = cache / f"{_job_key(job)}.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text())["record"]
    samples = path.with_suffix(".pt")
    if job["keep_samples"]:
        if not samples.exists():
            return None
        record["_samples"] = torch.load(samples, weights_only=True)
    return record


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _cost_guess(job: dict[str, Any]) -> float:
    per_step = {"dcgan": 1.0, "wgan_clip": 3.0, "wgan_gp": 5.0, "sngan": 4.0}.get(job["variant"]["recipe"], 3.0)
    size = 40.0 if job["dataset"] == "faces" else 1.0
    return per_step * size * job["budget"]["steps"]


def _progress(record: dict[str, Any], done: int, total: int, start: float) -> None:
    elapsed = time.perf_counter() - start
    eta = elapsed / done * (total - done)
    print(f"[{done:3d}/{total}] {record['dataset']:5s} {record['recipe']:22s} seed {record['seed']}: "
          f"{record['modes']:3d}/{record['num_modes']} modes, {record['hq_pct']:5.1f} % HQ, KL {record['reverse_kl']:.3f} "
          f"(EMA {record['ema']['modes']}, {record['ema']['hq_pct']:.1f} %, {record['ema']['reverse_kl']:.3f}); "
          f"{record['cpu_seconds']:.0f} s CPU | elapsed {elapsed / 60:.1f} min, ~{eta / 60:.1f} min left", flush=True)


if __name__ == "__main__":
    main()
