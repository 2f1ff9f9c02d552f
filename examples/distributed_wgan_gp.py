"""WGAN-GP on the 25-Gaussian grid with any number of processes, crash-safe and resumable.

    python examples/distributed_wgan_gp.py --steps 500 --out runs/ddp            # one process
    torchrun --nproc_per_node=2 examples/distributed_wgan_gp.py --steps 500 --out runs/ddp

Run the same command again after a crash (or Ctrl-C, or with another --nproc_per_node) and it
continues from the newest readable checkpoint in --out. See docs/guide/how-to/multi-process.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import ganzoo
from ganzoo.checkpoint import latest_checkpoint, prune_checkpoints, remove_stale_temporaries
from ganzoo.distributed import get_rank


class Checkpoints(ganzoo.Callback):
    """Save every ``every`` steps and keep the last 3. Runs on every process: ``save`` is
    collective under DDP and only rank 0 writes."""

    def __init__(self, folder: Path, every: int) -> None:
        self.folder, self.every = folder, every

    def on_step_end(self, trainer: ganzoo.Trainer) -> None:
        if trainer.step % self.every == 0:
            trainer.save(self.folder / f"ckpt-{trainer.step:07d}.pt")
            if trainer.is_main_process:
                prune_checkpoints(self.folder, keep_last=3, pattern="ckpt-*.pt")


class Report(ganzoo.Callback):
    main_process_only = True  # printing: rank 0 only

    def __init__(self, every: int) -> None:
        self.every = every

    def on_step_end(self, trainer: ganzoo.Trainer) -> None:
        if trainer.step % self.every == 0:
            print(f"step {trainer.step:6d}  W1 estimate {trainer.history.mean('wasserstein', last=50):.3f}  "
                  f"processes {trainer.dist.world_size}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="total generator steps")
    parser.add_argument("--batch-size", type=int, default=128, help="batch size per process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--every", type=int, default=50, help="checkpoint every N steps")
    parser.add_argument("--out", type=Path, default=Path("runs/ddp"))
    args = parser.parse_args()

    if latest_checkpoint(args.out, "ckpt-*.pt") is not None:  # resume: newest readable checkpoint
        if get_rank() == 0:
            remove_stale_temporaries(args.out)
        trainer = ganzoo.Trainer.load(args.out, device="cpu")
    else:
        torch.manual_seed(args.seed)
        G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(128,) * 3)
        D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(128,) * 3)
        trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, gp_weight=0.1, betas=(0.5, 0.9),
                                         seed=args.seed, device="cpu")
    # an infinite sampler is not sharded automatically: give each process its own seed
    data = ganzoo.data.grid().sampler(args.batch_size, seed=args.seed * 1000 + trainer.dist.rank)
    trainer.fit(data, steps=max(0, args.steps - trainer.step),
                callbacks=[Checkpoints(args.out, args.every), Report(args.every)])
    trainer.save(args.out / f"ckpt-{trainer.step:07d}.pt")


if __name__ == "__main__":
    main()
