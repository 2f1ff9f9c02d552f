"""Plot the training curves stored in a ganzoo checkpoint.

    python examples/plot_history.py runs/grid/checkpoint.pt

Loads the checkpoint with ``ganzoo.Trainer.load`` (no code of the run needed: the
checkpoint rebuilds every part from its registry config) and writes ``history.png`` next
to it: the losses, the Wasserstein estimate, each penalty and the gradient norms, one
panel each, as a moving average over ``--window`` generator steps.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import ganzoo


def moving_average(values: list[float], window: int) -> list[float]:
    """Mean of the last ``window`` finite values at each step (fp16-skipped steps are NaN)."""
    out, recent = [], []
    for value in values:
        recent = (recent + [value])[-window:]
        finite = [v for v in recent if math.isfinite(v)]
        out.append(sum(finite) / len(finite) if finite else math.nan)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a file written by Trainer.save")
    parser.add_argument("--out", type=Path, help="image to write (default: history.png beside the checkpoint)")
    parser.add_argument("--window", type=int, default=50, help="moving-average window in steps (default 50)")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trainer = ganzoo.Trainer.load(args.checkpoint, device="cpu")
    history = trainer.history
    print(f"{args.checkpoint}: {trainer!r}")
    print(f"{len(history)} generator steps, {trainer.critic_updates} critic updates; last step: {history[-1]}")
    panels = [name for name in history.columns if name not in ("step", "critic_skipped", "generator_skipped")]
    panels = [name for name in panels if any(math.isfinite(v) for v in history.column(name))]
    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    steps = history.column("step")
    for ax, name in zip(axes.flat, panels):
        ax.plot(steps, history.column(name), color="#bbbbbb", linewidth=0.6, label="per step")
        ax.plot(steps, moving_average(history.column(name), args.window), color="#1f77b4",
                label=f"mean of {args.window}")
        ax.set_title(name)
        ax.set_xlabel("generator step")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    out = args.out or args.checkpoint.with_name("history.png")
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
