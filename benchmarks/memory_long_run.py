"""Resident memory over a long run at tiny size: does anything grow after warm-up?

A "30-minute-equivalent" run: BENCHMARKS.md's calibration run of the WGAN-GP toy recipe does
about 8,000 generator steps in 7.5 minutes, so 30 minutes is about 32,000 steps. This script
runs that many steps (default 40,000) of WGAN-GP (5 critic steps, batch 64, gradient penalty)
with tiny MLPs on the 2-D grid, exercising everything a real run does every few steps: history
flushes and divergence checks (log_every=10), atomic checkpoints with keep-last-3 pruning
(every 500 steps), a resumable shuffled DataLoader position, and sampling. Resident set size
(RSS, from /proc/self/statm) is recorded every 250 steps.

Prints a table and writes benchmarks/results/memory_long_run.csv (+ .png with matplotlib).
Run:  PYTHONPATH=src flock /tmp/ganzoo-heavy.lock python benchmarks/memory_long_run.py [--steps N]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import tempfile
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.checkpoint import prune_checkpoints

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class Probe(ganzoo.Callback):
    def __init__(self, every: int, folder: Path, save_every: int, total: int) -> None:
        self.every, self.folder, self.save_every, self.total = every, folder, save_every, total
        self.rows: list[dict[str, float]] = []
        self.start = time.perf_counter()
        self.cpu = time.process_time()

    def on_step_end(self, trainer: ganzoo.Trainer) -> None:
        if trainer.step % self.save_every == 0:
            trainer.save(self.folder / f"ckpt-{trainer.step:07d}.pt")
            prune_checkpoints(self.folder, keep_last=3)
            trainer.sample(256)
        if trainer.step % self.every == 0:
            history = trainer.history
            self.rows.append({
                "step": trainer.step,
                "rss_mib": rss_mib(),
                "history_kib": sum(len(history._columns[c]) * 8 for c in history.columns) / 1024,
                "wall_s": time.perf_counter() - self.start,
                "cpu_s": time.process_time() - self.cpu,
            })
            if trainer.step % (self.every * 20) == 0:
                row = self.rows[-1]
                print(f"  step {row['step']:>7,} / {self.total:,}  rss {row['rss_mib']:7.1f} MiB  "
                      f"history {row['history_kib']:7.1f} KiB  {row['wall_s']:6.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--warmup", type=int, default=2_000, help="steps treated as warm-up")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--critic-steps", type=int, default=5)
    parser.add_argument("--discard-history", action="store_true",
                        help="diagnosis: drop history rows, to see what grows besides the history")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.discard_history:
        ganzoo.History.append_row = lambda self, row: None
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(32, 32))
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(32, 32))
    trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, seed=0, device="cpu", log_every=10,
                                     critic_steps=args.critic_steps)
    points = ganzoo.data.grid().sample(4096, torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(points), batch_size=64, shuffle=True)
    with tempfile.TemporaryDirectory() as folder:
        probe = Probe(250, Path(folder), 500, args.steps)
        print(f"memory_long_run: {args.steps:,} WGAN-GP steps ({args.critic_steps} critic steps each), "
              f"rss at start {rss_mib():.1f} MiB{', history discarded' if args.discard_history else ''}")
        trainer.fit(loader, steps=args.steps, callbacks=[probe])
    rows = probe.rows
    warm = [r for r in rows if r["step"] >= args.warmup]
    first, last = warm[0], warm[-1]
    peak = max(r["rss_mib"] for r in warm)
    n = len(warm)
    mean_x = sum(r["step"] for r in warm) / n
    mean_y = sum(r["rss_mib"] for r in warm) / n
    slope = sum((r["step"] - mean_x) * (r["rss_mib"] - mean_y) for r in warm) / sum((r["step"] - mean_x) ** 2 for r in warm)
    summary = {
        "steps": args.steps,
        "rss_after_warmup_mib": round(first["rss_mib"], 2),
        "rss_final_mib": round(last["rss_mib"], 2),
        "rss_peak_after_warmup_mib": round(peak, 2),
        "growth_after_warmup_mib": round(last["rss_mib"] - first["rss_mib"], 2),
        "history_growth_after_warmup_mib": round((last["history_kib"] - first["history_kib"]) / 1024, 2),
        "growth_per_step_bytes": round((last["rss_mib"] - first["rss_mib"]) * 2**20 / (last["step"] - first["step"]), 1),
        "slope_mib_per_10k_steps": round(slope * 10_000, 3),
        "history_kib_final": round(last["history_kib"], 1),
        "max_rss_kernel_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "wall_s": round(last["wall_s"], 1),
        "cpu_s": round(last["cpu_s"], 1),
        "ms_per_step_wall": round(1000 * last["wall_s"] / last["step"], 2),
    }
    print("\n| quantity | value |\n|---|---|")
    for key, value in summary.items():
        print(f"| {key} | {value} |")
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "_no_history" if args.discard_history else ""
    with open(args.out / f"memory_long_run{suffix}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot([r["step"] for r in rows], [r["rss_mib"] for r in rows], label="resident set size (MiB)")
    ax.axvline(args.warmup, color="grey", linestyle=":", label="end of warm-up")
    ax.set_xlabel("generator step")
    ax.set_ylabel("MiB")
    ax.set_title(f"RSS over {args.steps:,} WGAN-GP steps (tiny MLPs): growth after warm-up "
                 f"{summary['growth_after_warmup_mib']:+.1f} MiB", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / f"memory_long_run{suffix}.png", dpi=110)


if __name__ == "__main__":
    main()
