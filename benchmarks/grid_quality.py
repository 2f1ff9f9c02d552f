"""Does a speed option change what WGAN-GP learns? The 25-Gaussian grid under each setting.

Trains the ``wgan_gp`` recipe on :func:`ganzoo.data.grid` (the published mode-collapse
protocol, BENCHMARKS.md section 1) with the WGAN-GP paper's toy settings (3 hidden layers of
ReLU units, lambda 0.1, Adam 1e-4 betas (0.5, 0.9), 5 critic steps, batch 256) under several
settings, for several seeds, and reports modes captured, % high quality and reverse KL on
2,500 samples (mean +- standard error over seeds), with the CPU time of each run.

    python benchmarks/grid_quality.py                          # off / bf16 / off + GP every 4, 5 seeds
    python benchmarks/grid_quality.py --seeds 10 --steps 3000
    python benchmarks/grid_quality.py --quick                  # seconds, for the test suite

Seeds are interleaved across settings (seed 0 of every setting, then seed 1 ...), so machine
load hits every setting alike. ``--jobs 2`` trains two runs at a time in separate processes
with one thread each (these small MLPs gain little from a second thread, and one thread per
process avoids thread-synchronisation stalls on a busy machine); the CPU time per run is
reported either way. A setting "matches" the first one (the reference, ``off``) on a
metric when the difference of the means is within the combined standard error
sqrt(SE_a^2 + SE_b^2).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import math
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

import ganzoo
from ganzoo.data import grid
from ganzoo.metrics import mode_coverage

SETTINGS = {
    "off": {"amp": "off", "every": 1},
    "bf16": {"amp": "bf16", "every": 1},
    "off, GP every 4": {"amp": "off", "every": 4},
    "bf16, GP every 4": {"amp": "bf16", "every": 4},
}
METRICS = ("modes", "hq_pct", "reverse_kl")


def train_one(setting: dict[str, Any], seed: int, args: argparse.Namespace, threads: int | None = None) -> dict[str, Any]:
    if threads is not None:
        torch.set_num_threads(threads)
    mix = grid()
    torch.manual_seed(seed)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(args.hidden,) * 3)
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(args.hidden,) * 3)
    trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, gp_weight=0.1, gp_every=setting["every"],
                                     betas=(0.5, 0.9), seed=seed, amp=setting["amp"], device="cpu")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    trainer.fit(mix.sampler(args.batch_size, seed=seed), steps=args.steps)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    samples = trainer.sample(2500, z=torch.randn(2500, 2, generator=torch.Generator().manual_seed(10_000 + seed)))
    result = mode_coverage(samples, mix.centres, mix.std).as_dict()
    return {"seed": seed, **result, "cpu_s": cpu, "wall_s": wall,
            "skipped": int(sum(r.critic_skipped + r.generator_skipped for r in trainer.history))}


def mean_se(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return mean, se


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    summary = {}
    reference = next(iter(runs))
    for name, rows in runs.items():
        entry: dict[str, Any] = {}
        for key in (*METRICS, "cpu_s", "wall_s"):
            entry[key], entry[f"{key}_se"] = mean_se([r[key] for r in rows])
        if name != reference:
            for key in METRICS:
                ref = summary[reference]
                diff = entry[key] - ref[key]
                combined = math.sqrt(entry[f"{key}_se"] ** 2 + ref[f"{key}_se"] ** 2)
                entry[f"{key}_diff"], entry[f"{key}_combined_se"] = diff, combined
                entry[f"{key}_within_se"] = abs(diff) <= combined
        summary[name] = entry
    return summary


def markdown(report: dict[str, Any]) -> str:
    a, m = report["args"], report["machine"]
    threads = f"{a['jobs']} runs at a time, one thread each" if a["jobs"] > 1 else f"one run at a time, {m['threads']} threads"
    lines = [
        "# WGAN-GP on the 25-Gaussian grid: quality under each speed setting",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {m['date']}; {m['cpu']} ({m['cpu_count']} cores); torch {m['torch']}; {threads}.  ",
        f"`wgan_gp` recipe, MLPs 3x{a['hidden']} ReLU, lambda 0.1, Adam 1e-4 betas (0.5, 0.9), 5 critic steps, "
        f"batch {a['batch_size']}, {a['steps']} generator steps, {len(a['seed_list'])} seeds "
        f"({', '.join(map(str, a['seed_list']))}); 2,500 samples (fixed noise per seed); mean +- standard error.",
        "",
        "| setting | modes (of 25) | % HQ | reverse KL | CPU s / run | wall s / run |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in report["summary"].items():
        lines.append(f"| {name} | {s['modes']:.1f} +- {s['modes_se']:.1f} | {s['hq_pct']:.1f} +- {s['hq_pct_se']:.1f} | "
                     f"{s['reverse_kl']:.3f} +- {s['reverse_kl_se']:.3f} | {s['cpu_s']:.0f} | {s['wall_s']:.0f} |")
    reference = next(iter(report["summary"]))
    lines += ["", f"Difference to `{reference}` (mean difference / combined standard error; "
                  "'yes' = within one combined SE):", ""]
    for name, s in report["summary"].items():
        if name == reference:
            continue
        parts = [f"{k}: {s[f'{k}_diff']:+.2f} / {s[f'{k}_combined_se']:.2f} ({'yes' if s[f'{k}_within_se'] else 'no'})"
                 for k in METRICS]
        lines.append(f"- {name}: " + "; ".join(parts))
    lines += ["", "Per run:", "", "| setting | seed | modes | % HQ | reverse KL | CPU s | fp16 skips |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, rows in report["runs"].items():
        lines += [f"| {name} | {r['seed']} | {r['modes']} | {r['hq_pct']:.1f} | {r['reverse_kl']:.3f} | {r['cpu_s']:.0f} | "
                  f"{r['skipped']} |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["off", "bf16", "off, GP every 4"], choices=list(SETTINGS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel, one thread each (default 1: in this process)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds), for the test suite")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "grid_quality")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.steps, args.hidden, args.batch_size = 2, 10, 16, 64
    args.seed_list = list(range(args.seeds))
    threads = torch.get_num_threads()
    if args.quick:  # tiny ops: one thread avoids thread start-up and barrier costs on a busy machine
        torch.set_num_threads(1)
    try:
        return _run(args, argv)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    command = "python benchmarks/grid_quality.py " + " ".join(sys.argv[1:] if argv is None else argv)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in args.settings}
    order = [(name, seed) for seed in args.seed_list for name in args.settings]

    def report_row(name: str, seed: int, row: dict[str, Any]) -> None:
        runs[name].append(row)
        print(f"{name:18s} seed {seed}: {row['modes']:2d} modes, {row['hq_pct']:5.1f} % HQ, "
              f"KL {row['reverse_kl']:.3f}, {row['cpu_s']:.0f} s CPU", flush=True)

    if args.jobs > 1:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
            futures = {pool.submit(train_one, SETTINGS[name], seed, args, 1): (name, seed) for name, seed in order}
            for future in concurrent.futures.as_completed(futures):
                report_row(*futures[future], future.result())
        for rows in runs.values():
            rows.sort(key=lambda r: r["seed"])
    else:
        for name, seed in order:
            report_row(name, seed, train_one(SETTINGS[name], seed, args))
    report = {
        "command": command.strip(),
        "machine": {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": _cpu_name(),
                    "cpu_count": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "python": platform.python_version()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "runs": runs,
        "summary": summarize(runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    text = markdown(report)
    args.out.with_suffix(".md").write_text(text)
    print(text)
    return report


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor()


if __name__ == "__main__":
    main()
