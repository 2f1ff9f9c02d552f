"""WGAN with spectral norm vs DCGAN on the same data, noise and budget.

    python examples/sngan_vs_dcgan.py --out runs/sn-vs-dcgan           # ~3 min on 2 CPU cores
    python examples/sngan_vs_dcgan.py --loss hinge                      # the SN-GAN paper's loss

The critic of the spectral-norm model is the DCGAN critic without batch norm, with every
layer's weight divided by its largest singular value (Miyato et al. 2018, power iteration),
which makes it 1-Lipschitz without a penalty or clipping; it is trained with the
Wasserstein loss (or --loss hinge, as ``ganzoo.recipes.sngan``), Adam 2e-4 betas (0.0, 0.9)
and 5 critic updates per generator update. DCGAN is the recipe of the anime-faces notebook.
Writes a same-noise comparison, both loss curves on one figure, sample grids, and (on the
synthetic faces) modes captured, % high quality and reverse KL.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.data import ImageFolderDataset, SyntheticFaces
from ganzoo.metrics import face_coverage
from ganzoo.plotting import compare_grids, plot_losses, require_matplotlib, save_image_grid


def load_faces(args: argparse.Namespace) -> tuple[torch.utils.data.Dataset, bool]:
    if args.data:
        return ImageFolderDataset(args.data, image_size=args.image_size, progress=False), False
    size = 32 if args.image_size <= 32 else 64 if args.image_size <= 64 else 128
    images = SyntheticFaces(size=size, length=args.synthetic_images, seed=args.seed).batch(range(args.synthetic_images))[0]
    if size != args.image_size:
        images = F.interpolate(images, size=(args.image_size, args.image_size), mode="area")
    return torch.utils.data.TensorDataset(images), True


def spectral_norm_wgan(args: argparse.Namespace) -> ganzoo.Trainer:
    torch.manual_seed(args.seed)  # the same initial generator as the DCGAN recipe's
    G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=args.image_size, channels=3, width=args.width)
    D = ganzoo.create_critic("dcgan", image_size=args.image_size, channels=3, width=args.width, norm="none")
    adam = {"name": "adam", "lr": 2e-4, "betas": (0.0, 0.9)}
    return ganzoo.Trainer(G, D, loss=args.loss, regularizers=[ganzoo.create_regularizer("spectral_norm")],
                          critic_steps=5, generator_optimizer=adam, critic_optimizer=dict(adam), seed=args.seed,
                          device="cpu")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--loss", choices=["wasserstein", "hinge"], default="wasserstein",
                   help="loss of the spectral-norm model (default wasserstein)")
    p.add_argument("--steps", type=int, default=400, help="generator steps per model (default 400)")
    p.add_argument("--image-size", type=int, default=32, help="image side, 4*2^k (default 32)")
    p.add_argument("--width", type=int, default=16, help="conv width of generator and critic (default 16)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--data", type=Path, help="folder of images instead of the synthetic faces")
    p.add_argument("--synthetic-images", type=int, default=4000, help="synthetic faces to train on (default 4000)")
    p.add_argument("--eval-samples", type=int, default=1000, help="samples per mode-coverage measurement")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", type=Path, default=Path("runs/sn-vs-dcgan"), help="output folder")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset, synthetic = load_faces(args)
    args.out.mkdir(parents=True, exist_ok=True)
    label = f"WGAN-SN ({args.loss})"
    trainers = {
        "DCGAN": ganzoo.recipes.dcgan(image_size=args.image_size, width=args.width, seed=args.seed, device="cpu"),
        label: spectral_norm_wgan(args),
    }
    z = torch.randn(max(64, args.eval_samples), 100, generator=torch.Generator().manual_seed(args.seed + 1))
    panels = {}
    for name, trainer in trainers.items():
        loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True)
        trainer.fit(loader, steps=args.steps)
        images = trainer.sample(len(z), z=z)
        panels[name] = images[:32]
        save_image_grid(images[:64], args.out / f"samples_{'dcgan' if name == 'DCGAN' else 'wgan_sn'}.png")
        line = f"{name}: {trainer.step} steps"
        if synthetic:
            r = face_coverage(images)
            line += f", modes {r.modes}/144, HQ {r.hq_pct:.1f} %, reverse KL {r.reverse_kl:.2f}"
        print(line, flush=True)
    compare_grids(panels, args.out / "comparison_same_noise.png", nrow=4)
    try:
        require_matplotlib()
        plot_losses({name: t.history for name, t in trainers.items()}, args.out / "loss_curves.png")
    except ImportError as exc:
        print(f"skipping loss_curves.png: {exc}")
    print(f"wrote {args.out}/comparison_same_noise.png, loss_curves.png, samples_*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
