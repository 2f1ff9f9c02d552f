"""Throughput regression check: every ganzoo row of ``throughput.py`` against an earlier commit.

One process, one run: the Trainer of this checkout (``head``) and the Trainer of ``--base``
(``src/ganzoo`` at that commit, imported as ``ganzoo_before``) train copies of the SAME initial
networks on the SAME batches, in every configuration of ``benchmarks/throughput.py`` (speed-ups
off; float32 and bf16, NCHW and channels-last), interleaved with the notebook's loop, which
both are also compared with. Each row reports the median over repeats of the paired ratio
head time / base time (below 1: head is faster) and its quartiles; a row whose median is
above ``1 + --tolerance`` is marked slower.

    python benchmarks/throughput_vs_commit.py --base d641d12      # the code when issue 15 was filed
    python benchmarks/throughput_vs_commit.py --recipes wgan_gp --repeats 9

This is how "no row slower than before" is measured on a given CPU (e.g. one without AMX, where
``amp="auto"`` may still pick bf16 and the bf16 kernels of :mod:`ganzoo._conv_kernels` apply).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

import ganzoo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import throughput as T  # noqa: E402
from games_overhead import import_before  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: (row name, amp, channels_last, plain): the ganzoo rows of throughput.py.
ROWS = [("speed-ups off", "off", False, True), ("off NCHW", "off", False, False),
        ("off channels_last", "off", True, False), ("bf16 NCHW", "bf16", False, False),
        ("bf16 channels_last", "bf16", True, False)]


def make(package, recipe: str, batches: list[torch.Tensor], width: int, tag: str,
         row: tuple[str, str, bool, bool]) -> T.Contender:
    """A Trainer of ``package`` (this ganzoo or the base commit's) in one configuration of ``ROWS``."""
    name, amp, channels_last, plain = row
    size = batches[0].shape[-1]
    torch.manual_seed(0)  # the same initial networks in every row and version
    G = package.create_generator("dcgan", latent_dim=100, image_size=size, channels=3, width=width)
    D = package.create_critic("dcgan", image_size=size, channels=3, width=width, norm=T.SETTINGS[recipe]["norm"])
    contender = T.make_ganzoo(recipe, G, D, batches, "cpu", f"{tag} {name}", amp=amp, channels_last=channels_last,
                              plain=plain, package=package)
    contender.info.update(tag=tag, row=name)
    return contender


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def compare(recipe: str, before, args: argparse.Namespace) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(1)
    batches = [torch.rand(args.batch_size, 3, args.image_size, args.image_size, generator=gen) * 2 - 1 for _ in range(4)]
    torch.manual_seed(0)
    G = ganzoo.create_generator("dcgan", latent_dim=100, image_size=args.image_size, channels=3, width=args.width)
    D = ganzoo.create_critic("dcgan", image_size=args.image_size, channels=3, width=args.width,
                             norm=T.SETTINGS[recipe]["norm"])
    contenders = [T.make_notebook(recipe, G, D, batches, "cpu", 100)]
    for row in [r for r in ROWS if not args.rows or r[0] in args.rows]:
        contenders += [make(before, recipe, batches, args.width, "base", row),
                        make(ganzoo, recipe, batches, args.width, "head", row)]
    steps = args.dcgan_steps if recipe == "dcgan" else args.steps
    T.time_interleaved(contenders, steps, args.warmup, args.repeats, "cpu", recipe)
    notebook = contenders[0]
    rows = []
    for base, head in zip(contenders[1::2], contenders[2::2]):
        ratios = [h / b for h, b in zip(head.wall, base.wall)]
        low, high = quartiles(ratios)
        median = statistics.median(ratios)
        rows.append({"row": base.info["row"], "amp": base.info["amp"],
                     "base_ms": 1e3 * statistics.median(base.wall), "head_ms": 1e3 * statistics.median(head.wall),
                     "base_speedup": statistics.median([n / t for n, t in zip(notebook.wall, base.wall)]),
                     "head_speedup": statistics.median([n / t for n, t in zip(notebook.wall, head.wall)]),
                     "time_ratio": median, "ratio_q1": low, "ratio_q3": high,
                     "slower": median > 1 + args.tolerance, "base_s": base.wall, "head_s": head.wall})
    return {"notebook_ms": 1e3 * statistics.median(notebook.wall), "notebook_s": notebook.wall, "rows": rows}


def markdown(report: dict[str, Any]) -> str:
    m, a = report["machine"], report["args"]
    lines = [
        f"# Throughput: this checkout vs commit {a['base']}", "",
        f"Command: `{report['command']}`  ",
        f"Date: {m['date']}; machine: {m.get('cpu', '?')} ({m['cpu_count']} cores, flags {', '.join(m.get('cpu_flags', []))}); "
        f"torch {m['torch']}, {m['threads']} threads, Python {m['python']}; `amp=\"auto\"` resolves to "
        f"`{m['amp_auto_cpu']}` on this CPU.  ",
        f"{a['image_size']}x{a['image_size']} nets of width {a['width']}, batch {a['batch_size']}; {a['warmup']} warm-up + {a['repeats']} interleaved repeats "
        f"(WGAN-GP {a['steps']} generator step, DCGAN {a['dcgan_steps']}); head = `{report['head']}`. "
        f"Load average before / after: {report['load_before']} / {report['load_after']}.", "",
        "Time ratio = median over repeats of head time / base time in the same repeat (quartiles in brackets); "
        f"below 1 head is faster. A row is slower when its median exceeds {1 + a['tolerance']:.2f}.", "",
    ]
    for recipe, result in report["results"].items():
        lines += [f"## {recipe} (notebook fp32 loop: {result['notebook_ms']:.0f} ms / generator step)", "",
                  "| row | base ms | head ms | base vs notebook | head vs notebook | time ratio head / base | slower? |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for r in result["rows"]:
            lines.append(f"| {r['row']} | {r['base_ms']:.0f} | {r['head_ms']:.0f} | {r['base_speedup']:.2f}x | "
                         f"{r['head_speedup']:.2f}x | {r['time_ratio']:.3f} [{r['ratio_q1']:.3f}, {r['ratio_q3']:.3f}] | "
                         f"{'**yes**' if r['slower'] else 'no'} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="d641d12", help="git commit to compare with (default: before issue 15)")
    p.add_argument("--recipes", nargs="+", default=["wgan_gp", "dcgan"], choices=list(T.SETTINGS))
    p.add_argument("--rows", nargs="+", default=None, choices=[name for name, *_ in ROWS],
                   help="only these rows (default: all)")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=1, help="WGAN-GP generator steps per timed repeat")
    p.add_argument("--dcgan-steps", type=int, default=3, help="DCGAN generator steps per timed repeat")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--width", type=int, default=64, help="feature maps of the nets (64: the reference nets)")
    p.add_argument("--tolerance", type=float, default=0.02, help="a row is slower when head/base > 1 + this")
    p.add_argument("--out", type=Path, default=RESULTS / "throughput_vs_commit")
    args = p.parse_args(argv)
    command = "python benchmarks/throughput_vs_commit.py " + " ".join(sys.argv[1:] if argv is None else argv)
    head = subprocess.run(["git", "-C", str(RESULTS.parents[1]), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    report: dict[str, Any] = {"command": command.strip(), "machine": T.machine(), "head": head,
                              "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                              "load_before": T._load(), "results": {}}
    with tempfile.TemporaryDirectory() as tmp:
        before = import_before(args.base, Path(tmp))
        for recipe in args.recipes:
            report["results"][recipe] = compare(recipe, before, args)
            print(f"{recipe}: " + "; ".join(f"{r['row']} {r['time_ratio']:.3f}" for r in report["results"][recipe]["rows"]),
                  flush=True)
    report["load_after"] = T._load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(markdown(report))
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    print(markdown(report))
    return report


if __name__ == "__main__":
    main()
