"""Sample quality of each recipe, measured with classifier features (no Inception weights here).

FID and KID (:mod:`ganzoo.metrics`) use the penultimate layer of a small CNN trained on the
real training images as the feature extractor (the "FID with a LeNet" of digit papers); on
the digits the same classifier's logits give a classifier-based Inception Score (10 classes:
the maximum is 10). Each recipe trains under the same step budget on

* **digits**: scikit-learn's 1,797 handwritten 8x8 scans, upscaled to 32 px (bilinear) in
  [-1, 1]; 1,297 train the GANs and the classifier, 500 are held out;
* **faces**: 32 px synthetic faces (:class:`ganzoo.data.SyntheticFaces`), the classifier
  predicting the 4 attributes (features: its penultimate layer).

The **floor** row is the held-out real images scored like a generator: the value a perfect
generator would get with this sample size (FID is biased upwards at small n). Generated sets
are as large as the held-out set. Mean +- standard error over seeds.

    python benchmarks/sample_quality.py                      # both data sets, 2 seeds
    python benchmarks/sample_quality.py --quick              # seconds, for the test suite
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo import recipes
from ganzoo.metrics import face_coverage, fid_from_features, inception_score_from_logits, kid_from_features

RESULTS = Path(__file__).parent / "results"


class Classifier(nn.Module):
    """A LeNet-style CNN: ``features(x)`` is the 64-d penultimate layer, ``forward`` the logits."""

    def __init__(self, channels: int, outputs: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 16, 64), nn.ReLU(),
        )
        self.head = nn.Linear(64, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class Penultimate(nn.Module):
    def __init__(self, net: Classifier) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.body(x)


def load(kind: str, quick: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, list[int]]:
    """(train images, train labels, held-out images, held-out labels, label sizes)."""
    if kind == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.tensor(d.images, dtype=torch.float32)[:, None] / 16.0
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False) * 2 - 1
        y = torch.tensor(d.target)[:, None]
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
        x, y = x[perm], y[perm]
        hold = 100 if quick else 500
        return x[hold:], y[hold:], x[:hold], y[:hold], [10]
    from ganzoo.data import SyntheticFaces

    n_train, n_hold = (300, 100) if quick else (2000, 500)
    ds = SyntheticFaces(size=32, length=n_train + n_hold, seed=0)
    x, a = ds.batch(range(n_train + n_hold))
    return x[:n_train], a[:n_train], x[n_train:], a[n_train:], list(ds.attribute_sizes)


def train_classifier(x: torch.Tensor, y: torch.Tensor, sizes: list[int], epochs: int) -> Classifier:
    torch.manual_seed(0)
    net = Classifier(x.shape[1], sum(sizes))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(64):
            logits = net(x[idx] + 0.05 * torch.randn_like(x[idx]))
            loss = sum(F.cross_entropy(part, y[idx, j]) for j, part in enumerate(logits.split(sizes, 1)))
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():  # one number: features in units of the real features' spread (see scores)
        net.feature_scale = float(net.body(x).std())
    return net


def accuracy(net: Classifier, x: torch.Tensor, y: torch.Tensor, sizes: list[int]) -> float:
    with torch.no_grad():
        parts = net(x).split(sizes, 1)
    return float(torch.stack([p.argmax(1) == y[:, j] for j, p in enumerate(parts)]).float().mean())


def scores(net: Classifier, real: torch.Tensor, fake: torch.Tensor, digits: bool) -> dict[str, float]:
    """FID and KID of the penultimate features divided by their standard deviation over the real
    training images (``net.feature_scale``, one number fixed per classifier): unscaled ReLU features
    are O(10), where KID's cubic kernel :math:`(x^\\top y / d + 1)^3` turns sampling noise into
    values of 10^4 and more; scaled, FID is in units of the real features' variance."""
    with torch.no_grad():
        s = net.feature_scale
        fr, ff = (net.body(real) / s).double(), (net.body(fake) / s).double()
        logits = net(fake).double()
    k = kid_from_features(fr, ff, subsets=100, subset_size=min(len(fr), len(ff), 500))
    out = {"fid": fid_from_features(fr, ff), "kid": k.mean}
    if digits:
        out["is"] = inception_score_from_logits(logits, splits=5).mean
    else:  # the faces' exact readout beside the classifier's view (a cross-check of the ranking)
        cover = face_coverage(fake)
        out.update(modes=float(cover.modes), hq_pct=cover.hq_pct, reverse_kl=cover.reverse_kl)
    return out


RECIPES = {"dcgan": (recipes.dcgan, 1), "wgan_gp": (recipes.wgan_gp, 5), "wgan_clip": (recipes.wgan_clip, 5),
           "sngan": (recipes.sngan, 5)}  # (recipe, critic steps per generator step)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", nargs="+", default=["digits", "faces"], choices=["digits", "faces"])
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--steps", type=int, default=600, help="generator steps of 1:1 recipes (default 600)")
    p.add_argument("--critic-steps-budget", type=int, default=None,
                   help="generator steps of 5:1 recipes (default steps/3: a similar CPU time)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--suffix", default="", help="appended to the result file names (sample_quality<suffix>.md)")
    p.add_argument("--table-only", action="store_true",
                   help="only rewrite sample_quality<suffix>.md from the runs saved in its .json (a run cut short)")
    args = p.parse_args(argv)
    if args.table_only:
        saved = json.loads((args.out / f"sample_quality{args.suffix}.json").read_text())
        rows = saved["rows"]
        table = _table(rows)
        _write_table(args.out, args.suffix, saved["command"] + " (stopped early; the rows are the runs it finished)",
                     saved["cpu"], table, sum(r["cpu_s"] for r in rows))
        print(table)
        return 0
    torch.set_num_threads(args.threads)
    steps = 3 if args.quick else args.steps
    steps5 = args.critic_steps_budget or max(1, steps // 3)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    rows: list[dict[str, Any]] = []
    t_all = time.process_time()
    for kind in args.data:
        xt, yt, xh, yh, sizes = load(kind, args.quick)
        net = train_classifier(xt, yt, sizes, 1 if args.quick else 6)
        acc = accuracy(net, xh, yh, sizes)
        print(f"[{kind}] classifier held-out accuracy {acc:.3f} ({len(xt)} train, {len(xh)} held out)", flush=True)
        floor = scores(net, xt, xh, kind == "digits")
        rows.append({"data": kind, "recipe": "real held-out (floor)", "seed": 0, **floor, "steps": 0, "cpu_s": 0.0,
                     "classifier_acc": acc})
        print(f"[{kind}] floor {floor}", flush=True)
        for seed in range(args.seeds):
            for name in args.recipes:
                build, ratio = RECIPES[name]
                n_steps = steps5 if ratio > 1 else steps
                t0 = time.process_time()
                trainer = build(image_size=32, channels=xt.shape[1], width=32, seed=seed, device="cpu")
                loader = torch.utils.data.DataLoader(xt, batch_size=64, shuffle=True, drop_last=True)
                trainer.fit(loader, steps=n_steps)
                fake = trainer.sample(len(xh))
                s = scores(net, xt, fake, kind == "digits")
                cpu_s = time.process_time() - t0
                rows.append({"data": kind, "recipe": name, "seed": seed, **s, "steps": n_steps, "cpu_s": cpu_s})
                print(f"[{kind}] {name} seed {seed}: {s} ({n_steps} steps, {cpu_s:.0f} CPU s)", flush=True)
                if not args.quick:
                    _save(args.out, rows, cpu, argv, suffix=args.suffix)
    total = time.process_time() - t_all
    table = _table(rows)
    print(table)
    print(f"total CPU time {total / 60:.1f} min on {cpu}")
    if not args.quick:
        _save(args.out, rows, cpu, argv, table=table, total=total, suffix=args.suffix)
    return 0


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| data | recipe | steps | seeds | FID | KID x 1000 | classifier IS | face modes (strict) | reverse KL | CPU s/run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    keys: list[tuple[str, str]] = []
    for r in rows:
        if (r["data"], r["recipe"]) not in keys:
            keys.append((r["data"], r["recipe"]))
    for data, recipe in keys:
        rs = [r for r in rows if r["data"] == data and r["recipe"] == recipe]

        def ms(key: str, scale: float = 1.0, rs: list[dict[str, Any]] = rs) -> str:
            v = [r[key] * scale for r in rs if key in r]
            if not v:
                return "-"
            se = statistics.stdev(v) / math.sqrt(len(v)) if len(v) > 1 else 0.0
            return f"{statistics.mean(v):.2f} +- {se:.2f}" if len(v) > 1 else f"{v[0]:.2f}"

        lines.append(f"| {data} | {recipe} | {rs[0]['steps']} | {len(rs)} | {ms('fid')} | {ms('kid', 1000)} | {ms('is')} | {ms('modes')} | {ms('reverse_kl')} | "
                     f"{statistics.mean(r['cpu_s'] for r in rs):.0f} |")
    return "\n".join(lines)


def _save(out: Path, rows: list[dict[str, Any]], cpu: str, argv: list[str] | None, table: str | None = None,
          total: float | None = None, suffix: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/sample_quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command.strip(), "cpu": cpu, "torch": torch.__version__, "ganzoo": ganzoo.__version__,
            "total_cpu_s": total, "rows": rows}
    (out / f"sample_quality{suffix}.json").write_text(json.dumps(meta, indent=1))
    if table is not None:
        _write_table(out, suffix, meta["command"], cpu, table, total or 0.0)


def _write_table(out: Path, suffix: str, command: str, cpu: str, table: str, total: float) -> None:
    (out / f"sample_quality{suffix}.md").write_text(
        f"# Sample quality with classifier features\n\nCommand: `{command}`\n\nCPU: {cpu}; torch "
        f"{torch.__version__}; total {total / 60:.1f} CPU min.\n\n{table}\n")


if __name__ == "__main__":
    sys.exit(main())
