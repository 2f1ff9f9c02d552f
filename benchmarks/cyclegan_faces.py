"""CycleGAN on the built-in unpaired faces task, measured exactly (issue 12).

Task: ``ganzoo.data.unpaired_faces(size=32)``: domain X has black hair, domain Y blonde hair;
every other attribute (eye colour, background, hair style) is drawn the same in both.
Training: ``ganzoo.recipes.cyclegan`` (least squares, cycle 10, identity 0.5, pools of 50,
Adam 2e-4 (0.5, 0.999), constant then linearly decayed learning rate) for at most
``--cpu-budget`` CPU seconds (process time, all threads; goal 20 CPU min).
Test, per direction, on ``--test`` held-out faces of each domain (other seeds): the share of
translations that ``ganzoo.metrics.faces.read_faces`` reads as a face with the target hair
colour, the share read as a face whose other three attributes equal the input's, and the mean absolute cycle
reconstruction error ``|F(G(x)) - x|`` (pixels in [-1, 1]).

    python benchmarks/cyclegan_faces.py --seeds 0 1

Writes ``benchmarks/results/cyclegan_faces{_suffix}.{md,json,png}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.data.faces import ATTRIBUTE_NAMES
from ganzoo.metrics.faces import read_faces

RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import machine  # noqa: E402

HAIR = ATTRIBUTE_NAMES.index("hair_colour")
OTHERS = [i for i in range(len(ATTRIBUTE_NAMES)) if i != HAIR]


@torch.no_grad()
def evaluate(trainer: ganzoo.Trainer, test: ganzoo.data.Unpaired) -> dict[str, dict[str, float]]:
    """Per direction: target attribute share, others kept share, cycle error."""
    out = {}
    for name, source, target, forward, back in (("X->Y", test.dataset_x, test.dataset_y, "x", "y"),
                                                ("Y->X", test.dataset_y, test.dataset_x, "y", "x")):
        images, attributes = source.batch(list(range(len(source))))
        translated = trainer.sample(**{forward: images}, batch_size=256).cpu()
        reconstructed = trainer.sample(**{back: translated}, batch_size=256).cpu()
        readout = read_faces(translated)
        read, face = readout.attributes, readout.face_found  # a translation must still be a face to count
        out[name] = {
            "faces": float(face.float().mean()),
            "target_attribute": float(((read[:, HAIR] == target.value) & face).float().mean()),
            "others_kept": float(((read[:, OTHERS] == attributes[:, OTHERS]).all(dim=1) & face).float().mean()),
            "cycle_error": float((reconstructed - images).abs().mean()),
            **{f"kept_{ATTRIBUTE_NAMES[i]}": float(((read[:, i] == attributes[:, i]) & face).float().mean())
               for i in OTHERS},
        }
    return out


def run_seed(args: argparse.Namespace, seed: int) -> dict:
    task = ganzoo.data.unpaired_faces(size=32, length=args.length, seed=seed)
    test = ganzoo.data.unpaired_faces(size=32, length=args.test, seed=10_000 + seed)
    trainer = ganzoo.recipes.cyclegan(channels=3, blocks=args.blocks, width=args.width, critic_width=args.width,
                                      identity_weight=args.identity_weight, steps=args.steps, seed=seed, device="cpu",
                                      amp=args.amp, progress=False)
    loader = torch.utils.data.DataLoader(task, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(seed))
    curve, cpu, wall0 = [], 0.0, time.time()
    while trainer.step < args.steps and cpu < args.cpu_budget:
        t0 = time.process_time()
        trainer.fit(loader, steps=min(args.eval_every, args.steps - trainer.step))
        cpu += time.process_time() - t0
        scores = evaluate(trainer, test)
        curve.append({"step": trainer.step, "cpu_s": round(cpu, 1), **{k: {m: round(v, 4) for m, v in d.items()}
                                                                        for k, d in scores.items()}})
        print(f"seed {seed} step {trainer.step:5d} CPU {cpu:6.0f} s wall {time.time() - wall0:6.0f} s  " + "  ".join(
            f"{k}: target {d['target_attribute']:.3f} kept {d['others_kept']:.3f} cycle {d['cycle_error']:.3f}"
            for k, d in scores.items()), flush=True)
    if args.save:
        trainer.save(RESULTS / f"cyclegan_faces{args.suffix}_seed{seed}.pt")
    return {"seed": seed, "steps": trainer.step, "train_cpu_s": round(cpu, 1), "wall_s": round(time.time() - wall0, 1),
            "final": curve[-1], "curve": curve, "trainer": trainer, "test": test}


def picture(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trainer, test = result["trainer"], result["test"]
    rows = []
    for forward, back, source in (("x", "y", test.dataset_x), ("y", "x", test.dataset_y)):
        images, _ = source.batch(list(range(8)))
        translated = trainer.sample(**{forward: images})
        rows += [images, translated, trainer.sample(**{back: translated})]
    fig, axes = plt.subplots(6, 8, figsize=(8, 6.6))
    labels = ["X (black)", "G(X)", "F(G(X))", "Y (blonde)", "F(Y)", "G(F(Y))"]
    for r, (row, label) in enumerate(zip(rows, labels)):
        for c, image in enumerate(row):
            axes[r, c].imshow(((image.cpu().permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy())
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(label, fontsize=8)
    fig.suptitle(f"CycleGAN, seed {result['seed']}, step {result['steps']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--steps", type=int, default=4000, help="generator steps (the learning rate decays over the second half)")
    p.add_argument("--cpu-budget", type=float, default=1200.0, help="training CPU seconds per seed at most")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--blocks", type=int, default=3)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--length", type=int, default=2000, help="training faces per domain")
    p.add_argument("--test", type=int, default=500, help="held-out faces per domain")
    p.add_argument("--amp", default="off")
    p.add_argument("--identity-weight", type=float, default=0.5, help="identity weight relative to the cycle weight")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--suffix", default="")
    p.add_argument("--save", action="store_true", help="also save each seed's final checkpoint next to the results")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "python benchmarks/cyclegan_faces.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results = [run_seed(args, seed) for seed in args.seeds]
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"cyclegan_faces{args.suffix}"
    try:
        picture(results[0], stem.with_suffix(".png"))
    except ImportError:
        pass
    for r in results:
        r.pop("trainer"), r.pop("test")
    met = all(r["final"][d]["target_attribute"] >= 0.9 and r["final"][d]["others_kept"] >= 0.9
              and r["train_cpu_s"] <= 1200 for r in results for d in ("X->Y", "Y->X"))
    report = {"command": command, "machine": machine(), "settings": vars(args), "results": results,
              "goal": ">= 90 % target attribute and >= 90 % others kept per direction within 1200 CPU s",
              "passed": met}
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    rows = "\n".join(
        f"| {r['seed']} | {d} | {r['final'][d]['target_attribute'] * 100:.1f} % | {r['final'][d]['others_kept'] * 100:.1f} % "
        f"| {r['final'][d]['cycle_error']:.3f} | {r['steps']} | {r['train_cpu_s'] / 60:.1f} |"
        for r in results for d in ("X->Y", "Y->X"))
    table = (
        f"# CycleGAN on the unpaired faces (black <-> blonde hair, 32 px)\n\n`{command}`\n\n"
        f"CPU: {m.get('cpu', '?')} ({', '.join(m.get('cpu_flags', []))}), {args.threads} threads, torch {m['torch']}, "
        f"amp {args.amp}. Generators: resnet, {args.blocks} blocks, width {args.width}; critics: patchgan width "
        f"{args.width}; batch {args.batch_size}; identity weight {args.identity_weight}; {args.test} held-out faces per domain.\n\n"
        "| seed | direction | target hair colour | other attributes kept | cycle error | steps | train CPU min |\n"
        f"|---|---|---|---|---|---|---|\n{rows}\n\n"
        f"Goal (>= 90 % / >= 90 % per direction within 20 CPU min): {'met' if met else 'not met'}.\n"
    )
    stem.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
