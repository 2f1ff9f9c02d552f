"""The 28x28 WGAN-GP tutorial: a DCGAN-style generator and an instance-norm critic on 28x28 grayscale images.

    python examples/mnist28_wgan_gp.py --out runs/wgan-gp-28            # ~3 min on 2 CPU cores

MNIST cannot be downloaded here, so the data is scikit-learn's bundled 8x8 digits scaled to
28x28 when scikit-learn is installed, else ganzoo's built-in synthetic faces in grayscale
(--data digits|faces to choose). The networks are the tutorial's: a generator from a 7x7
base doubled twice (ConvTranspose, batch norm, ReLU, Tanh) and a critic with instance norm,
which keeps the gradient penalty per sample (Gulrajani et al. 2017, Sec. 4), trained with
the WGAN-GP recipe (lambda 10, Adam 1e-4 betas (0.0, 0.9), 5 critic updates).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.data import SyntheticFaces
from ganzoo.plotting import plot_losses, require_matplotlib, save_image_grid


def digits_available() -> bool:
    try:
        import sklearn.datasets  # noqa: F401
    except ImportError:
        return False
    return True


def load_images(kind: str, size: int, n: int, seed: int) -> torch.Tensor:
    """``(n, 1, size, size)`` grayscale images in [-1, 1]."""
    if kind == "digits":
        from sklearn.datasets import load_digits

        pixels = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 16.0  # 1,797 digits, 8x8
        images = F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False) * 2 - 1
        return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))][:n]
    faces = SyntheticFaces(size=32, length=n, seed=seed).batch(range(n))[0]
    gray = (faces * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return F.interpolate(gray, size=(size, size), mode="area")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", choices=["auto", "digits", "faces"], default="auto",
                   help="digits (needs scikit-learn), faces (built in), or auto: digits if available (default)")
    p.add_argument("--steps", type=int, default=400, help="generator steps (default 400)")
    p.add_argument("--image-size", type=int, default=28, help="image side, 7*2^k (default 28)")
    p.add_argument("--width", type=int, default=32, help="conv width (default 32)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--images", type=int, default=1797, help="training images (default 1797, all the digits)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--out", type=Path, default=Path("runs/wgan-gp-28"), help="output folder")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    kind = args.data if args.data != "auto" else ("digits" if digits_available() else "faces")
    if kind == "digits" and not digits_available():
        print("error: --data digits needs scikit-learn (pip install scikit-learn); or use --data faces", file=sys.stderr)
        return 2
    print(f"data: {'scikit-learn 8x8 digits' if kind == 'digits' else 'synthetic faces in grayscale'}, "
          f"scaled to {args.image_size}x{args.image_size}", flush=True)
    images = load_images(kind, args.image_size, args.images, args.seed)
    loader = torch.utils.data.DataLoader(images, batch_size=args.batch_size, shuffle=True, drop_last=True)

    torch.manual_seed(args.seed)
    G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=args.image_size, channels=1, width=args.width)
    D = ganzoo.create_critic("dcgan", image_size=args.image_size, channels=1, width=args.width, norm="instance")
    trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, seed=args.seed, device="cpu")
    trainer.fit(loader, steps=args.steps)

    args.out.mkdir(parents=True, exist_ok=True)
    z = torch.randn(64, 100, generator=torch.Generator().manual_seed(args.seed + 1))
    save_image_grid(trainer.sample(64, z=z), args.out / "samples.png")
    save_image_grid(images[:64], args.out / "real.png")
    try:
        require_matplotlib()
        plot_losses({"WGAN-GP 28x28": trainer.history}, args.out / "loss_curves.png")
    except ImportError as exc:
        print(f"skipping loss_curves.png: {exc}")
    print(f"{trainer.step} steps: Wasserstein estimate {trainer.history.mean('wasserstein', last=50):.3f}, "
          f"gradient penalty {trainer.history.mean('penalty/gradient_penalty', last=50):.3f}")
    print(f"wrote {args.out}/samples.png, real.png, loss_curves.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
