"""Class-conditional WGAN-GP on scikit-learn's handwritten digits (BENCHMARKS.md section 5, issue 11).

Data: ``ganzoo.data.digits()``: the 1,797 real 8x8 scans, upscaled (bilinear) to 32 px in [-1, 1].
Judge: a logistic regression trained here on the real scans' 8x8 pixels after the same up-and-down
resampling (75 % train / 25 % held out, stratified, seed 0; its held-out accuracy is printed).
Test: the conditional generator, asked for each digit, draws that digit: the share of
``--samples`` samples per digit that the judge reads as the requested digit (goal >= 90 %), after
at most ``--cpu-budget`` CPU seconds of training (process time, all threads; goal 15 CPU min).

    python benchmarks/conditional_digits.py                      # the recipe: ganzoo.recipes.wgan_gp(num_classes=10)
    python benchmarks/conditional_digits.py --trainer prototype  # the same game as a plain loop (no Trainer)

``--trainer prototype`` runs the conditional WGAN-GP step written out by hand with the library's
conditional networks and ``GradientPenalty.penalty(..., condition=labels)`` (fake batches use the
real batch's labels; Adam 1e-4 (0, 0.9), 5 critic steps on fresh batches, lambda 10): the game the
recipe trains, usable before the games Trainer exists. Writes
``benchmarks/results/conditional_digits{_suffix}.{md,json,png}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.data.digits import SCAN_SIZE, digit_scans, resample

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def train_judge(seed: int = 0):
    """Logistic regression on 8x8 pixels of real scans after the 8 -> 32 -> 8 resampling."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    scans, labels = digit_scans()
    pixels = resample(resample(scans, 32), SCAN_SIZE).flatten(1).numpy()
    x_tr, x_te, y_tr, y_te = train_test_split(pixels, labels.numpy(), test_size=0.25, random_state=seed, stratify=labels.numpy())
    judge = LogisticRegression(max_iter=5000, C=1.0).fit(x_tr, y_tr)
    return judge, float(judge.score(x_te, y_te))


def classify(judge, images: torch.Tensor) -> torch.Tensor:
    pixels = resample(images.float().clamp(-1, 1), SCAN_SIZE).flatten(1).numpy()
    return torch.as_tensor(judge.predict(pixels))


def per_class_accuracy(judge, sample_fn, per_class: int) -> list[float]:
    """sample_fn(labels) -> images; the share of each digit's samples read as that digit."""
    accuracy = []
    for digit in range(10):
        labels = torch.full((per_class,), digit, dtype=torch.long)
        predicted = classify(judge, sample_fn(labels))
        accuracy.append(float((predicted == digit).float().mean()))
    return accuracy


class Prototype:
    """The conditional WGAN-GP game as a plain loop (what the Conditional game computes)."""

    def __init__(self, width: int, seed: int, lr: float = 1e-4, critic_steps: int = 5, gp: float = 10.0) -> None:
        torch.manual_seed(seed)
        self.G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=32, channels=1, width=width, num_classes=10)
        self.D = ganzoo.create_critic("dcgan", image_size=32, channels=1, width=width, norm="none", num_classes=10)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.0, 0.9))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.0, 0.9))
        self.gp = ganzoo.create_regularizer("gradient_penalty", weight=gp)
        self.critic_steps = critic_steps

    def step(self, batches) -> None:
        for _ in range(self.critic_steps):
            real, y = next(batches)
            with torch.no_grad():
                fake = self.G(torch.randn(real.shape[0], 100), y)
            loss = self.D(fake, y).mean() - self.D(real, y).mean() + self.gp.penalty(self.D, real, fake, condition=y)
            self.opt_d.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_d.step()
        for p in self.D.parameters():
            p.requires_grad_(False)
        y = torch.randint(10, (real.shape[0],))
        loss_g = -self.D(self.G(torch.randn(real.shape[0], 100), y), y).mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        for p in self.D.parameters():
            p.requires_grad_(True)

    @torch.no_grad()
    def sample(self, labels: torch.Tensor) -> torch.Tensor:
        self.G.eval()
        try:
            return self.G(torch.randn(labels.shape[0], 100), labels)
        finally:
            self.G.train()


def endless(loader):
    while True:
        yield from loader


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trainer", choices=["recipe", "prototype"], default="recipe")
    p.add_argument("--steps", type=int, default=3000, help="generator steps at most (default 3000)")
    p.add_argument("--cpu-budget", type=float, default=900.0, help="training CPU seconds at most (default 900)")
    p.add_argument("--eval-every", type=int, default=250, help="quick check (100 per digit) every N steps")
    p.add_argument("--samples", type=int, default=1000, help="samples per digit in the final test")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--amp", default="off", help="Trainer amp mode (recipe only; default off)")
    p.add_argument("--suffix", default="", help="results file suffix")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "python benchmarks/conditional_digits.py " + " ".join(sys.argv[1:] if argv is None else argv)

    judge, judge_accuracy = train_judge(args.seed)
    print(f"judge: logistic regression on 8x8 (8->32->8 resampled) pixels, held-out accuracy {judge_accuracy:.3f}", flush=True)

    dataset = ganzoo.data.digits(image_size=32)
    gen = torch.Generator().manual_seed(args.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True, generator=gen)
    if args.trainer == "recipe":
        trainer = ganzoo.recipes.wgan_gp(image_size=32, channels=1, width=args.width, num_classes=10, seed=args.seed,
                                         amp=args.amp, device="cpu", progress=False)
        train_chunk = lambda n: trainer.fit(loader, steps=n)  # noqa: E731
        sample_fn = lambda labels: trainer.sample(labels.shape[0], labels=labels)  # noqa: E731
    else:
        proto = Prototype(args.width, args.seed)
        batches = endless(loader)

        def train_chunk(n: int) -> None:
            for _ in range(n):
                proto.step(batches)

        sample_fn = proto.sample

    curve = []
    steps, cpu_train, wall_start = 0, 0.0, time.time()
    while steps < args.steps and cpu_train < args.cpu_budget:
        n = min(args.eval_every, args.steps - steps)
        t0 = time.process_time()
        train_chunk(n)
        cpu_train += time.process_time() - t0
        steps += n
        quick = per_class_accuracy(judge, sample_fn, 100)
        curve.append({"step": steps, "cpu_s": round(cpu_train, 1), "mean_accuracy": round(sum(quick) / 10, 4)})
        print(f"step {steps:5d}  train CPU {cpu_train:7.1f} s  wall {time.time() - wall_start:7.1f} s  "
              f"quick accuracy {sum(quick) / 10:.3f}  min {min(quick):.2f}", flush=True)
        RESULTS.mkdir(exist_ok=True)  # the curve so far survives a run cut short
        (RESULTS / f"conditional_digits{args.suffix}_curve.json").write_text(json.dumps(
            {"command": command, "cpu": cpu_model(), "threads": args.threads, "judge_heldout_accuracy": judge_accuracy,
             "quick_samples_per_digit": 100, "curve": curve, "last_quick_per_class": quick}, indent=2) + "\n")
    torch.manual_seed(args.seed + 1)
    accuracy = per_class_accuracy(judge, sample_fn, args.samples)
    mean = sum(accuracy) / 10
    result = {
        "command": command, "cpu": cpu_model(), "threads": args.threads, "torch": torch.__version__,
        "trainer": args.trainer, "steps": steps, "train_cpu_s": round(cpu_train, 1),
        "wall_s": round(time.time() - wall_start, 1), "judge_heldout_accuracy": round(judge_accuracy, 4),
        "samples_per_digit": args.samples, "per_class_accuracy": [round(a, 4) for a in accuracy],
        "mean_accuracy": round(mean, 4), "goal": ">= 0.90 within 900 CPU s", "passed": bool(mean >= 0.9 and cpu_train <= 900),
        "curve": curve,
    }
    rows = "\n".join(f"| {d} | {a * 100:.1f} % |" for d, a in enumerate(accuracy))
    table = (
        f"# Conditional digits ({args.trainer})\n\n`{command}`\n\n"
        f"CPU: {result['cpu']}, {args.threads} threads, torch {torch.__version__}. "
        f"Judge (logistic regression, real 8x8 scans, 8->32->8 resampled): {judge_accuracy * 100:.1f} % held out.\n\n"
        f"Training: {steps} generator steps, {cpu_train:.0f} CPU s ({cpu_train / 60:.1f} CPU min), "
        f"{result['wall_s']:.0f} s wall. {args.samples} samples per requested digit.\n\n"
        f"| digit | classified as requested |\n|---|---|\n{rows}\n| **mean** | **{mean * 100:.1f} %** |\n\n"
        f"Goal: >= 90 % within 15 CPU min: {'met' if result['passed'] else 'not met'}.\n"
    )
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"conditional_digits{args.suffix}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(table)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        torch.manual_seed(args.seed + 2)
        grid = sample_fn(torch.arange(10).repeat_interleave(8))
        fig, axes = plt.subplots(10, 8, figsize=(8, 10))
        for ax, image in zip(axes.flat, grid):
            ax.imshow(image[0].numpy(), cmap="gray", vmin=-1, vmax=1)
            ax.axis("off")
        fig.suptitle(f"conditional WGAN-GP ({args.trainer}), row d = asked for digit d, step {steps}")
        fig.savefig(stem.with_suffix(".png"), dpi=80)
        plt.close(fig)
    except ImportError:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
