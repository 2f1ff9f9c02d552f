"""Train WGAN-GP on the 25-Gaussian grid and report mode coverage (a 2-minute CPU run).

    python examples/toy_grid_wgan_gp.py --steps 2000 --out runs/grid

Writes a scatter plot of generated samples over the 25 true modes (if matplotlib is
installed) and prints modes captured, % high quality and reverse KL (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.data import grid
from ganzoo.metrics import mode_coverage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="generator steps (default 2000)")
    parser.add_argument("--batch-size", type=int, default=256, help="batch size (default 256)")
    parser.add_argument("--hidden", type=int, default=256, help="width of the 3 hidden layers (default 256)")
    parser.add_argument("--amp", default="off", choices=["off", "bf16", "fp16", "auto"], help="mixed precision")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", type=Path, default=Path("runs/grid"), help="output folder")
    args = parser.parse_args()

    mix = grid()
    torch.manual_seed(args.seed)
    G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(args.hidden,) * 3)
    D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(args.hidden,) * 3)
    # The WGAN-GP paper's toy settings: lambda 0.1, Adam 1e-4 betas (0.5, 0.9), 5 critic steps.
    trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, gp_weight=0.1, betas=(0.5, 0.9),
                                     seed=args.seed, amp=args.amp, device="cpu")
    start_cpu, start_wall = time.process_time(), time.time()
    report_every = max(1, args.steps // 5)
    while trainer.step < args.steps:
        trainer.fit(mix.sampler(args.batch_size, seed=args.seed + trainer.step), steps=min(report_every, args.steps - trainer.step))
        result = mode_coverage(trainer.sample(2500), mix.centres, mix.std)
        print(f"step {trainer.step:5d}  modes {result.modes:2d}/25  HQ {result.hq_pct:5.1f} %  "
              f"reverse KL {result.reverse_kl:.3f}  W1 estimate {trainer.history.mean('wasserstein', last=50):.3f}  "
              f"cpu {time.process_time() - start_cpu:.0f} s  wall {time.time() - start_wall:.0f} s", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    trainer.save(args.out / "checkpoint.pt")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: skipping the scatter plot (pip install matplotlib)")
        return
    samples = trainer.sample(2500).cpu()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, label="generated")
    ax.scatter(mix.centres[:, 0], mix.centres[:, 1], s=30, c="red", marker="x", label="true modes")
    ax.set_title(f"WGAN-GP, {trainer.step} steps: {result.modes}/25 modes, {result.hq_pct:.1f} % HQ")
    ax.legend(loc="upper right")
    fig.savefig(args.out / "samples.png", dpi=100, bbox_inches="tight")
    print(f"wrote {args.out / 'samples.png'} and {args.out / 'checkpoint.pt'}")


if __name__ == "__main__":
    main()
