"""Step time of the games Trainer against the Trainer before games (issue 11, acceptance 5).

Both Trainers run in this one process: the code before the games refactor is exported from git
(``--before``, default commit f2daf09) into a temporary folder as the package ``ganzoo_before``
(ganzoo imports itself relatively only). Each contender trains the WGAN-GP step of
``benchmarks/throughput.py`` (Wasserstein loss, gradient penalty 10, 5 critic steps reusing one
batch, Adam 1e-4 (0, 0.9), the Trainer's defaults: amp="auto", channels_last="auto") on the same
networks and batches; the rounds alternate which goes first, and the result is the median of the
per-round ratios (after / before), so drifting machine speed cancels.

    python benchmarks/games_overhead.py                       # 64 px, width 64 (throughput.py's defaults)
    python benchmarks/games_overhead.py --image-size 32 --width 16 --rounds 15 --steps 5

Writes ``benchmarks/results/games_overhead{_suffix}.{md,json}``.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch

import ganzoo

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import machine  # noqa: E402


def import_before(commit: str, folder: Path):
    """The package ``ganzoo_before``: src/ganzoo as it was at ``commit``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src/ganzoo"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "src" / "ganzoo").rename(folder / "ganzoo_before")
    sys.path.insert(0, str(folder))
    return importlib.import_module("ganzoo_before")


def make(package, G, D, device: str):
    spec = {"name": "adam", "lr": 1e-4, "betas": [0.0, 0.9]}
    kwargs = dict(critic_steps=5, critic_batches="reuse", generator_optimizer=spec, critic_optimizer=dict(spec),
                  device=device)
    if package is ganzoo:
        kwargs["progress"] = False
    return package.Trainer(copy.deepcopy(G), copy.deepcopy(D), "wasserstein", ["gradient_penalty"], **kwargs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", default="f2daf09", help="git commit of the Trainer before games")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--steps", type=int, default=1, help="generator steps per timed run")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--suffix", default="")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    command = "python benchmarks/games_overhead.py " + " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        before = import_before(args.before, Path(tmp))
        torch.manual_seed(0)
        G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=args.image_size, channels=3, width=args.width)
        D = ganzoo.create_critic("dcgan", image_size=args.image_size, channels=3, width=args.width, norm="none")
        batches = [torch.rand(args.batch_size, 3, args.image_size, args.image_size) * 2 - 1 for _ in range(4)]
        trainers = {"before": make(before, G, D, args.device), "games": make(ganzoo, G, D, args.device)}
        streams = {name: iter(lambda: batches[0], None) for name in trainers}
        amp = trainers["games"].critic_amp.mode
        times: dict[str, list[float]] = {name: [] for name in trainers}
        cpu: dict[str, list[float]] = {name: [] for name in trainers}
        for name, trainer in trainers.items():  # warm-up
            trainer.fit(streams[name], steps=2)
        for r in range(args.rounds):
            order = list(trainers) if r % 2 == 0 else list(reversed(trainers))
            for name in order:
                t0, c0 = time.perf_counter(), time.process_time()
                trainers[name].fit(streams[name], steps=args.steps)
                if torch.device(args.device).type == "cuda":
                    torch.cuda.synchronize()
                times[name].append((time.perf_counter() - t0) / args.steps)
                cpu[name].append((time.process_time() - c0) / args.steps)
            print(f"round {r + 1}/{args.rounds}: before {times['before'][-1] * 1e3:.1f} ms, "
                  f"games {times['games'][-1] * 1e3:.1f} ms, ratio {times['games'][-1] / times['before'][-1]:.4f}",
                  flush=True)
    ratios = [g / b for g, b in zip(times["games"], times["before"])]
    median = statistics.median(ratios)
    cpu_ratios = [g / b for g, b in zip(cpu["games"], cpu["before"])]
    cpu_median = statistics.median(cpu_ratios)
    result = {"command": command, "machine": machine(), "amp": amp, "image_size": args.image_size, "width": args.width,
              "batch_size": args.batch_size, "rounds": args.rounds, "steps_per_round": args.steps,
              "before_ms": [round(t * 1e3, 2) for t in times["before"]],
              "games_ms": [round(t * 1e3, 2) for t in times["games"]],
              "ratios": [round(r, 4) for r in ratios], "median_ratio": round(median, 4),
              "cpu_ratios": [round(r, 4) for r in cpu_ratios], "median_cpu_ratio": round(cpu_median, 4),
              "goal": "median ratio <= 1.02", "passed": bool(median <= 1.02)}
    m = result["machine"]
    table = (
        f"# Games Trainer vs the Trainer before games: WGAN-GP step time\n\n`{command}`\n\n"
        f"CPU: {m.get('cpu', '?')}; torch {m['torch']}, {m['threads']} threads, amp {amp}; "
        f"{args.image_size} px, width {args.width}, batch {args.batch_size}, 5 critic steps.\n\n"
        f"| round | before (ms/step) | games (ms/step) | ratio |\n|---|---|---|---|\n"
        + "\n".join(f"| {i + 1} | {b:.1f} | {g:.1f} | {r:.4f} |" for i, (b, g, r) in
                    enumerate(zip(result["before_ms"], result["games_ms"], ratios)))
        + f"\n\n**Median paired ratio (games / before): {median:.4f}** wall, {cpu_median:.4f} CPU time "
        f"(goal <= 1.02: {'met' if result['passed'] else 'not met'}).\n"
    )
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"games_overhead{args.suffix}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
