"""Anime faces: DCGAN vs WGAN-GP side by side, as a resumable program (the anime-faces notebook).

    python examples/anime_wgan_gp.py --quick --out runs/anime-quick      # ~3 min on 2 AMX CPU cores
    python examples/anime_wgan_gp.py --out runs/anime                    # 28 min on 2 AMX cores: strict modes
    python examples/anime_wgan_gp.py --data ~/data/animefaces --out runs/anime   # the notebook's run
    python examples/anime_wgan_gp.py --resume --out runs/anime           # continue after Ctrl-C or a crash

Without --data it trains on ganzoo's built-in synthetic faces, whose 144 modes are known,
and measures how many modes each model covers: by default 9,000 generator steps each at
32x32, width 32, amp auto, the budget after which WGAN-GP's samples are clean enough for
the strict count (--quick: a shorter look). With --data DIR (e.g. the Kaggle "Anime
Faces" folder, ~21.5k images, any layout) it trains on your images with the notebook's
settings: 64x64 reference architectures, batch 64, DCGAN Adam 2e-4 (0.5, 0.999) with real
labels 0.9 for 60 epochs, WGAN-GP Adam 1e-4 (0.0, 0.9), lambda 10, 5 critic updates on the
same real batch for 50 epochs. Everything is written under --out (see summary.md there).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shlex
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

import ganzoo
from ganzoo.callbacks import ProgressBar, SampleGrid, TensorBoard, standard
from ganzoo.checkpoint import latest_checkpoint
from ganzoo.data import ImageFolderDataset, SyntheticFaces
from ganzoo.data.faces import FACE_SIZES
from ganzoo.metrics import face_coverage
from ganzoo.plotting import compare_grids, plot_losses, require_matplotlib, save_image_grid

LABELS = {"dcgan": "DCGAN", "wgan_gp": "WGAN-GP", "wgan_clip": "WGAN-clip", "sngan": "SN-GAN"}
NOTEBOOK_EPOCHS = {"dcgan": 60, "wgan_gp": 50, "wgan_clip": 50, "sngan": 50}
DEFAULTS: dict[str, Any] = {
    "models": "dcgan,wgan_gp", "image_size": 64, "width": 64, "latent_dim": 100, "batch_size": 64,
    "synthetic_images": 20000, "eval_samples": 1000, "amp": "off", "critic_batches": "reuse",
    "keep_checkpoints": 3, "workers": 0, "seed": 0, "device": None,
}
# --quick: a CPU-sized run. WGAN-GP needs 5 critic updates per generator step, so it
# gets fewer generator steps for a similar share of the time budget.
# 32 px, width 32: the reference DCGAN nets collapse to one constant image at 16 px (the
# recipe warns), at 32 px they draw faces. bf16 where amp="auto" picks it (AMX CPUs).
QUICK: dict[str, Any] = {
    "image_size": 32, "width": 32, "batch_size": 64, "synthetic_images": 5000, "eval_samples": 1000,
    "amp": "auto", "steps": None, "preset": "--quick",
    "preset_steps": {"dcgan": 2000, "wgan_gp": 800, "wgan_clip": 800, "sngan": 800},
}
# No --data and no --quick: the budget measured to separate the models by strict modes on
# the built-in faces (benchmarks/results/anime_default_run.md): 32 px, width 32, bf16
# where amp="auto" picks it, 9,000 generator steps each (28 min on 2 AMX cores). The
# notebook's 64 px settings (DEFAULTS) are for --data, or for --image-size 64 --width 64 --epochs.
FACES: dict[str, Any] = {
    "image_size": 32, "width": 32, "eval_samples": 1000, "amp": "auto", "sample_every": 500,
    "preset": "built-in faces default",
    "preset_steps": {"dcgan": 9000, "wgan_gp": 9000, "wgan_clip": 9000, "sngan": 9000},
}
RESUME_OVERRIDES = ("steps", "epochs", "device", "workers", "threads", "tensorboard")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--models", help="comma-separated recipes to train, in order: dcgan, wgan_gp, wgan_clip, sngan "
                   "(default dcgan,wgan_gp)")
    p.add_argument("--data", type=Path, help="folder of training images (searched recursively; unreadable files are "
                   "skipped and reported). Default: the built-in synthetic faces")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="passes over the data for every model (default with --data: the "
                        "notebook's, DCGAN 60 and WGAN-GP 50; on the built-in faces: 9,000 generator steps each)")
    length.add_argument("--steps", type=int, help="generator steps for every model (instead of --epochs)")
    p.add_argument("--batch-size", type=int, help="images per batch (default 64)")
    p.add_argument("--image-size", type=int, help="image side in pixels, 4*2^k (default 64 with --data; built-in "
                   "faces and --quick: 32)")
    p.add_argument("--width", type=int, help="feature maps of the outer conv layers, ngf = ndf (default 64 with "
                   "--data, the reference architecture; built-in faces and --quick: 32)")
    p.add_argument("--latent-dim", type=int, help="noise size (default 100)")
    p.add_argument("--amp", choices=["off", "bf16", "fp16", "auto"], help="mixed precision (default off with --data, "
                   "as the notebook; built-in faces and --quick: auto, bf16 where it is faster, ~4x on AMX CPUs)")
    p.add_argument("--critic-batches", choices=["reuse", "fresh"], help="'reuse' (default, the notebook): the critic "
                   "updates of one generator step share one real batch; 'fresh': a new batch each (WGAN-GP paper)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--out", type=Path, default=Path("runs/anime"), help="output folder (default runs/anime)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest readable "
                   "checkpoints, with the settings saved in OUT/run.json (--steps/--epochs may extend it)")
    p.add_argument("--overwrite", action="store_true", help="delete a previous run in --out and start again")
    p.add_argument("--quick", action="store_true", help="CPU-sized run: 32x32, width 32, amp auto, DCGAN 2000 and WGAN-GP 800 "
                   "generator steps on 5,000 synthetic faces (any flag you also give wins)")
    p.add_argument("--synthetic-images", type=int, help="size of the synthetic dataset (default 20000; --quick: 5000)")
    p.add_argument("--eval-samples", type=int, help="generated images per mode-coverage measurement (default 1000)")
    p.add_argument("--sample-every", type=int, help="generator steps between sample grids and coverage measurements "
                   "(default: 16 snapshots per model; built-in faces: 500)")
    p.add_argument("--checkpoint-every", type=int, help="generator steps between checkpoints (default: a tenth of "
                   "the run, at most 500)")
    p.add_argument("--keep-checkpoints", type=int, help="checkpoints kept per model (default 3)")
    p.add_argument("--workers", type=int, help="data-loader worker processes (default 0)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--tensorboard", action="store_true", help="also log to OUT/tensorboard (needs tensorboard)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p.parse_args(argv)


# ---------------------------------------------------------------------- settings
def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Flags, then --quick values, then defaults; or the saved run's settings with --resume."""
    run_file = args.out / "run.json"
    given = {k: v for k, v in vars(args).items() if v is not None and k not in ("out", "resume", "overwrite", "quick")}
    given = {k: v for k, v in given.items() if v is not False}
    if args.resume and run_file.exists():
        settings = json.loads(run_file.read_text())
        ignored = sorted(k for k in given if k not in RESUME_OVERRIDES and given[k] != settings.get(k) and k != "no_progress")
        if ignored:
            print(f"--resume keeps the settings of {run_file}; ignoring --{', --'.join(k.replace('_', '-') for k in ignored)}")
        for key in RESUME_OVERRIDES:
            if key in given:
                settings[key] = given[key]
        if "steps" in given:
            settings["epochs"] = None
        elif "epochs" in given:
            settings["steps"] = None
        settings["no_progress"] = args.no_progress
        return settings
    settings = dict(DEFAULTS)
    settings.update(quick=args.quick, steps=None, epochs=None, sample_every=None, checkpoint_every=None, threads=None,
                    tensorboard=False, data=None, no_progress=False)
    if args.quick:
        settings.update(QUICK)
    elif args.data is None:
        settings.update(FACES)
    settings.update(given)
    if settings["data"] is not None:
        settings["data"] = str(Path(settings["data"]).expanduser().resolve())
    return settings


def check_settings(settings: dict[str, Any]) -> list[str]:
    models = [m.strip() for m in settings["models"].split(",") if m.strip()]
    unknown = [m for m in models if m not in LABELS]
    if unknown or not models:
        raise ganzoo.ConfigError(f"--models {settings['models']!r}: unknown {unknown}; choose from {', '.join(LABELS)}")
    for key in ("batch_size", "width", "latent_dim", "synthetic_images", "eval_samples", "keep_checkpoints"):
        if settings[key] < 1:
            raise ganzoo.ConfigError(f"--{key.replace('_', '-')} {settings[key]} is not valid; it must be >= 1")
    for key in ("steps", "epochs", "sample_every", "checkpoint_every"):
        if settings.get(key) is not None and settings[key] < 1:
            raise ganzoo.ConfigError(f"--{key.replace('_', '-')} {settings[key]} is not valid; it must be >= 1")
    return models


# ---------------------------------------------------------------------- data
class ResizedFaces(torch.utils.data.Dataset):
    """Synthetic faces rendered at a supported size and resized (area) to any image size."""

    def __init__(self, faces: SyntheticFaces, image_size: int) -> None:
        self.faces, self.image_size = faces, image_size

    def __len__(self) -> int:
        return len(self.faces)

    def _resize(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] == self.image_size:
            return images
        return F.interpolate(images, size=(self.image_size, self.image_size), mode="area")

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, attrs = self.faces[index]
        return self._resize(image[None])[0], attrs

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        images, attrs = self.faces.batch(indices)  # one vectorised render per batch
        return list(zip(self._resize(images).unbind(0), attrs.unbind(0)))


def load_data(settings: dict[str, Any]) -> tuple[torch.utils.data.Dataset, str, bool]:
    """The dataset, a one-line description, and whether it is the synthetic faces."""
    size = settings["image_size"]
    if settings["data"]:
        with warnings.catch_warnings(record=True):  # the skip report is printed below instead
            warnings.simplefilter("always")
            dataset = ImageFolderDataset(settings["data"], image_size=size, progress=not settings["no_progress"])
        skipped = f"; {dataset.skip_report()}" if dataset.skipped else "; 0 files skipped"
        return dataset, f"{len(dataset)} images from {settings['data']}{skipped}", False
    render = next((s for s in FACE_SIZES if s >= size), FACE_SIZES[-1])
    faces = SyntheticFaces(size=render, length=settings["synthetic_images"], seed=settings["seed"])
    description = (f"no --data given, so the built-in synthetic faces: {len(faces)} images with "
                   f"{faces.num_modes} known modes, {size}x{size}")
    return ResizedFaces(faces, size), description, True


def real_batch(dataset: torch.utils.data.Dataset, n: int, seed: int) -> torch.Tensor:
    picks = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n].tolist()
    items = [dataset[i] for i in picks]
    return torch.stack([item[0] if isinstance(item, (tuple, list)) else item for item in items])


# ---------------------------------------------------------------------- training
class CoverageLog(ganzoo.Callback):
    """Every ``every`` steps, the mode coverage of samples from fixed noise, as CSV rows."""

    FIELDS = ("step", "modes", "num_modes", "hq_pct", "reverse_kl", "reached")

    def __init__(self, path: Path, every: int, n: int, seed: int) -> None:
        self.path, self.every, self.n, self.seed = path, every, n, seed

    def rows(self) -> list[dict[str, float]]:
        if not self.path.exists():
            return []
        with open(self.path, newline="") as f:
            return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f) if None not in row.values()]

    def measure(self, trainer: ganzoo.Trainer) -> ganzoo.metrics.ModeCoverage:
        z = torch.randn(self.n, trainer.latent_dim, generator=torch.Generator().manual_seed(self.seed))
        return face_coverage(trainer.sample(self.n, z=z))

    def record(self, trainer: ganzoo.Trainer) -> None:
        result = self.measure(trainer)
        rows = [r for r in self.rows() if r["step"] < trainer.step]  # a resumed run replaces later rows
        rows.append({"step": trainer.step, "modes": result.modes, "num_modes": result.num_modes,
                     "hq_pct": round(result.hq_pct, 2), "reverse_kl": round(result.reverse_kl, 4),
                     "reached": modes_reached(result)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.FIELDS)
            writer.writeheader()
            writer.writerows({k: int(v) if k in ("step", "modes", "num_modes", "reached") else v for k, v in r.items()}
                             for r in rows)

    def on_fit_start(self, trainer: ganzoo.Trainer) -> None:
        if trainer.step == 0:
            self.record(trainer)

    def on_step_end(self, trainer: ganzoo.Trainer) -> None:
        if trainer.step % self.every == 0:
            self.record(trainer)

    def on_fit_end(self, trainer: ganzoo.Trainer) -> None:
        rows = self.rows()
        if not rows or rows[-1]["step"] != trainer.step:
            self.record(trainer)


def total_steps(model: str, settings: dict[str, Any], batches_per_epoch: int) -> tuple[int, str]:
    """Generator steps for ``model`` and how they were chosen."""
    if settings.get("steps"):
        return settings["steps"], "--steps"
    preset_steps = settings.get("preset_steps") or settings.get("quick_steps")  # quick_steps: older run.json files
    if preset_steps and not settings.get("epochs"):
        return preset_steps[model], settings.get("preset", "--quick")
    epochs = settings.get("epochs") or NOTEBOOK_EPOCHS[model]
    reuse = settings["critic_batches"] == "reuse" or model == "dcgan"
    critic_steps = 1 if model == "dcgan" else 5
    per_epoch = batches_per_epoch if reuse else max(1, batches_per_epoch // critic_steps)
    return epochs * per_epoch, f"{epochs} epochs x {per_epoch} steps"


def build_trainer(model: str, settings: dict[str, Any]) -> ganzoo.Trainer:
    recipe = getattr(ganzoo.recipes, model)
    return recipe(image_size=settings["image_size"], channels=3, latent_dim=settings["latent_dim"],
                  width=settings["width"], seed=settings["seed"], amp=settings["amp"], device=settings["device"],
                  critic_batches=settings["critic_batches"])


def train_model(model: str, settings: dict[str, Any], loader: torch.utils.data.DataLoader, out: Path,
                synthetic: bool, resume: bool) -> tuple[ganzoo.Trainer, dict[str, Any]]:
    label, folder = LABELS[model], out / model
    steps, how = total_steps(model, settings, len(loader))
    trainer, resumed_from = None, None
    if resume:
        path = latest_checkpoint(folder / "checkpoints")
        if path is not None:
            trainer = ganzoo.Trainer.load(path, device=settings["device"])
            resumed_from = path
            print(f"{label}: resuming from {path} at step {trainer.step}")
    if trainer is None:
        trainer = build_trainer(model, settings)
    every = settings.get("sample_every") or max(1, steps // 16)
    ckpt_every = settings.get("checkpoint_every") or max(1, min(500, steps // 10))
    # sample grids, checkpoints (Ctrl-C saves one), metrics log, collapse warning: one library call
    callbacks = standard(folder, samples_every=every, checkpoint_every=ckpt_every, keep_last=settings["keep_checkpoints"],
                         scale=picture_scale(settings), seed=settings["seed"] + 1, metrics_every=25, progress=False)
    grids = next(cb for cb in callbacks if isinstance(cb, SampleGrid))
    callbacks.append(ProgressBar(desc=label, backend="plain" if settings["no_progress"] else "auto",
                                 interval=1e9 if settings["no_progress"] else 15.0))
    if synthetic:
        callbacks.append(CoverageLog(folder / "coverage.csv", every, settings["eval_samples"], settings["seed"] + 2))
    if settings.get("tensorboard"):
        callbacks.append(TensorBoard(out / "tensorboard" / model, every=25, sample_every=every))
    start_wall, start_cpu, start_step = time.perf_counter(), time.process_time(), trainer.step
    if trainer.step < steps:
        print(f"{label}: training to step {steps} ({how}; {steps - trainer.step} to go), samples"
              f"{' and coverage' if synthetic else ''} every {every}, checkpoints every {ckpt_every}", flush=True)
        trainer.fit(loader, steps=steps - trainer.step, callbacks=callbacks)
    else:
        print(f"{label}: already trained ({trainer.step} of {steps} steps)")
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(trainer.generator.state_dict(), folder / "generator.pt")
    (folder / "generator.json").write_text(json.dumps(ganzoo.get_config(trainer.generator), indent=2))
    grids.write_evolution(folder / "evolution.png", columns=8)
    info = {"steps": trainer.step, "how": how, "epochs": trainer.epoch, "critic_updates": trainer.critic_updates,
            "session_wall_s": time.perf_counter() - start_wall, "session_cpu_s": time.process_time() - start_cpu,
            "session_steps": trainer.step - start_step, "resumed_from": str(resumed_from) if resumed_from else None,
            "grids": grids}
    return trainer, info


# ---------------------------------------------------------------------- reporting
def last_elapsed(path: Path) -> float | None:
    if not path.exists():
        return None
    with open(path, newline="") as f:
        values = [row.get("elapsed_s") for row in csv.DictReader(f)]
    values = [float(v) for v in values if v]
    return values[-1] if values else None


def picture_scale(settings: dict[str, Any]) -> int:
    """Enlarge small images in the pictures so that each is at least 48 pixels wide."""
    return max(1, math.ceil(48 / settings["image_size"]))


def write_pictures(trainers: dict[str, ganzoo.Trainer], dataset: torch.utils.data.Dataset, out: Path,
                   settings: dict[str, Any]) -> list[str]:
    written = []
    seed, scale = settings["seed"], picture_scale(settings)
    for model, trainer in trainers.items():
        z = torch.randn(64, trainer.latent_dim, generator=torch.Generator().manual_seed(seed + 3))
        save_image_grid(trainer.sample(64, z=z), out / model / "diversity_64.png", nrow=8, scale=scale)
        written.append(f"{model}/diversity_64.png")
    real = real_batch(dataset, 64, seed)
    save_image_grid(real, out / "real_samples.png", nrow=8, scale=scale)
    written.append("real_samples.png")
    latent_dim = next(iter(trainers.values())).latent_dim
    z = torch.randn(32, latent_dim, generator=torch.Generator().manual_seed(seed + 4))
    panels = {"real data (reference)": real[:32]}
    panels.update({f"{LABELS[m]}, step {t.step}": t.sample(32, z=z) for m, t in trainers.items()})
    compare_grids(panels, out / "comparison_same_noise.png", nrow=4, scale=scale)
    written.append("comparison_same_noise.png")
    try:
        plt = require_matplotlib()
    except ImportError as exc:
        print(f"skipping loss_curves.png and coverage.png: {exc}")
        return written
    plot_losses({LABELS[m]: t.history for m, t in trainers.items()}, out / "loss_curves.png")
    written.append("loss_curves.png")
    curves = {LABELS[m]: CoverageLog(out / m / "coverage.csv", 1, 1, 0).rows() for m in trainers}
    curves = {name: rows for name, rows in curves.items() if rows}
    if curves:
        plot_coverage(plt, curves, out / "coverage.png")
        written.append("coverage.png")
    return written


def plot_coverage(plt: Any, curves: dict[str, list[dict[str, float]]], path: Path) -> None:
    """Modes captured and reached (left) and reverse KL (right) against generator steps."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for k, (name, rows) in enumerate(curves.items()):
        steps = [r["step"] for r in rows]
        left.plot(steps, [r["modes"] for r in rows], color=f"C{k}", marker="o", markersize=3, label=f"{name}: captured")
        if all("reached" in r for r in rows):
            left.plot(steps, [r["reached"] for r in rows], color=f"C{k}", linestyle="--", label=f"{name}: reached")
        right.plot(steps, [r["reverse_kl"] for r in rows], color=f"C{k}", marker="o", markersize=3, label=name)
    left.axhline(144, color="grey", linewidth=1, linestyle=":")
    right.axhline(math.log(144), color="grey", linewidth=1, linestyle=":")
    left.set_title("modes of 144: captured (clean samples) and reached (any sample)")
    right.set_title(f"reverse KL (0 = all modes evenly, {math.log(144):.2f} = one mode)")
    for ax in (left, right):
        ax.set_xlabel("generator step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def modes_reached(result: ganzoo.metrics.ModeCoverage) -> int:
    """Modes that at least one sample reads as, clean or not."""
    return sum(1 for c in result.counts if c > 0)


def verdict(results: dict[str, ganzoo.metrics.ModeCoverage]) -> str:
    """One honest paragraph, computed from the numbers (never written in advance)."""
    if "dcgan" not in results or "wgan_gp" not in results:
        return "Train both dcgan and wgan_gp (--models dcgan,wgan_gp) to compare their mode coverage."
    d, w = results["dcgan"], results["wgan_gp"]
    numbers = (f"WGAN-GP captured {w.modes} of {w.num_modes} modes ({w.hq_pct:.1f} % of samples high quality), "
               f"DCGAN {d.modes} ({d.hq_pct:.1f} %).")
    if max(d.hq_pct, w.hq_pct) >= 5:
        if w.modes > d.modes:
            return f"WGAN-GP covered more synthetic-face modes than DCGAN. {numbers}"
        outcome = "a tie" if w.modes == d.modes else "DCGAN covered more"
        return (f"WGAN-GP did NOT cover more modes than DCGAN in this run ({outcome}). {numbers} "
                "This budget does not show the claim; train longer (--steps) and compare again.")
    text = (f"By the strict measure the budget was too small: {numbers} Fewer than 5 % of either model's samples "
            "are clean enough to count, so 'modes captured' cannot separate them yet.")
    rw, rd = modes_reached(w), modes_reached(d)
    spread = (f"WGAN-GP's samples read as {rw} different modes (reverse KL {w.reverse_kl:.2f}), DCGAN's as {rd} "
              f"(reverse KL {d.reverse_kl:.2f}; 0 = spread evenly over all {w.num_modes}, "
              f"{math.log(w.num_modes):.2f} = every sample the same face)")
    if w.reverse_kl < d.reverse_kl - 0.25 and rw > rd:
        return f"{text} What this budget does show: {spread}, so WGAN-GP covered more modes in this looser sense."
    if d.reverse_kl < w.reverse_kl - 0.25 and rd > rw:
        return f"{text} In the looser sense DCGAN spread more: {spread}."
    return f"{text} Nor does the looser spread separate them: {spread}."


def write_summary(out: Path, settings: dict[str, Any], data_line: str, trainers: dict[str, ganzoo.Trainer],
                  infos: dict[str, dict[str, Any]], results: dict[str, Any], real_result: Any,
                  pictures: list[str], argv: list[str], invocation: tuple[float, float]) -> str:
    command = f"python examples/anime_wgan_gp.py {' '.join(shlex.quote(a) for a in argv)}".strip()
    first = settings.get("command") or command
    lines = ["# DCGAN vs WGAN-GP: run summary", "", f"Command: `{first}`"
             + (f" (continued with `{command}`)" if first != command else ""), "",
             f"Data: {data_line}.", "",
             f"Models: {settings['image_size']}x{settings['image_size']} DCGAN generator and critic of width "
             f"{settings['width']}, latent {settings['latent_dim']}, batch {settings['batch_size']}, amp "
             f"{settings['amp']}, critic batches {settings['critic_batches']}, seed {settings['seed']}, "
             f"ganzoo {ganzoo.__version__}, torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s).", "",
             "| model | generator steps | critic updates | epochs | training wall time | final critic loss | final generator loss |",
             "|---|---|---|---|---|---|---|"]
    for model, trainer in trainers.items():
        elapsed = last_elapsed(out / model / "metrics.csv")
        lines.append(f"| {LABELS[model]} | {trainer.step} ({infos[model]['how']}) | {trainer.critic_updates} | "
                     f"{trainer.epoch} | {elapsed:.0f} s | {trainer.history.mean('critic_loss', last=50):.3f} | "
                     f"{trainer.history.mean('generator_loss', last=50):.3f} |" if elapsed is not None else
                     f"| {LABELS[model]} | {trainer.step} | {trainer.critic_updates} | {trainer.epoch} | ? | | |")
    lines += ["", "Losses are means over the last 50 steps; training wall time adds up every session of a resumed "
              f"run. This invocation took {invocation[0]:.0f} s wall and {invocation[1]:.0f} s CPU in all."]
    if results:
        lines += ["", f"## Mode coverage ({settings['eval_samples']} samples each, synthetic faces, 144 modes)", "",
                  "| | modes captured | % high quality | reverse KL | modes reached |", "|---|---|---|---|---|"]
        if real_result is not None:
            lines.append(f"| real data | {real_result.modes} | {real_result.hq_pct:.1f} | {real_result.reverse_kl:.3f} "
                         f"| {modes_reached(real_result)} |")
        for model, r in results.items():
            lines.append(f"| {LABELS[model]} | {r.modes} | {r.hq_pct:.1f} | {r.reverse_kl:.3f} | {modes_reached(r)} |")
        lines += ["", f"**{verdict(results)}**", "",
                  "A mode is *captured* when at least one high-quality sample (every colour probe within 0.2 of the "
                  "palette) reads as it (`ganzoo.metrics.face_coverage`); *reached* counts the modes any sample reads "
                  "as, clean or not; reverse KL compares the histogram of all samples' modes with the uniform one "
                  "(0 is best). The real-data row is the readout's own ceiling at this image size."]
    lines += ["", "## Pictures", ""]
    for name in pictures:
        lines.append(f"- [{name}]({name})")
    for model in trainers:
        lines.append(f"- {model}/samples/: fixed-noise grids over time; {model}/evolution.png: their first row per "
                     f"snapshot; {model}/metrics.csv: one row per step; {model}/checkpoints/: resumable state")
    if "comparison_same_noise.png" in pictures:
        lines += ["", "![same noise](comparison_same_noise.png)"]
    if "loss_curves.png" in pictures:
        lines += ["", "![loss curves](loss_curves.png)"]
    if "coverage.png" in pictures:
        lines += ["", "![coverage](coverage.png)"]
    lines += ["", "## Use a trained generator", "", "```python", "import json, torch, ganzoo",
              f"G = ganzoo.from_config(json.load(open('{out}/wgan_gp/generator.json')))",
              f"G.load_state_dict(torch.load('{out}/wgan_gp/generator.pt', weights_only=True))",
              "images = G.eval()(torch.randn(16, G.latent_dim))   # in [-1, 1]", "```", ""]
    text = "\n".join(lines)
    (out / "summary.md").write_text(text)
    return text


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    out: Path = args.out
    if args.overwrite and out.exists():
        shutil.rmtree(out)
    try:
        settings = resolve_settings(args)
        models = check_settings(settings)
        if not args.resume and any((out / m / "checkpoints").exists() for m in LABELS):
            raise ganzoo.ConfigError(f"{out} already holds a run: pass --resume to continue it, --overwrite to start "
                                     "again, or another --out")
        if settings.get("threads"):
            torch.set_num_threads(settings["threads"])
        dataset, data_line, synthetic = load_data(settings)  # a bad --data fails here, before any training
    except (ganzoo.GanzooError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"data: {data_line}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    settings.setdefault("command", f"python examples/anime_wgan_gp.py {' '.join(shlex.quote(a) for a in argv)}".strip())
    (out / "run.json").write_text(json.dumps({k: v for k, v in settings.items() if k != "no_progress"}, indent=2))
    loader = torch.utils.data.DataLoader(dataset, batch_size=settings["batch_size"], shuffle=True, drop_last=True,
                                         num_workers=settings["workers"], persistent_workers=settings["workers"] > 0)
    if len(loader) == 0:
        print(f"error: {len(dataset)} images are fewer than one batch of {settings['batch_size']}; "
              "pass a smaller --batch-size", file=sys.stderr)
        return 2
    trainers, infos = {}, {}
    try:
        for model in models:
            trainers[model], infos[model] = train_model(model, settings, loader, out, synthetic, args.resume)
    except KeyboardInterrupt:
        print(f"\nstopped. Continue with: python examples/anime_wgan_gp.py --resume --out {shlex.quote(str(out))}")
        return 130

    results, real_result = {}, None
    if synthetic:
        for model, trainer in trainers.items():
            coverage = CoverageLog(out / model / "coverage.csv", 1, settings["eval_samples"], settings["seed"] + 5)
            results[model] = coverage.measure(trainer)
        real_result = face_coverage(real_batch(dataset, min(len(dataset), settings["eval_samples"]), settings["seed"]))
    pictures = write_pictures(trainers, dataset, out, settings)
    invocation = (time.perf_counter() - start_wall, time.process_time() - start_cpu)
    write_summary(out, settings, data_line, trainers, infos, results, real_result, pictures, argv, invocation)
    if real_result is not None:
        print(f"{'real':8s} modes {real_result.modes:3d}/{real_result.num_modes}  HQ {real_result.hq_pct:5.1f} %  "
              f"reverse KL {real_result.reverse_kl:.3f}  reached {modes_reached(real_result)}")
    for model, r in results.items():
        print(f"{LABELS[model]:8s} modes {r.modes:3d}/{r.num_modes}  HQ {r.hq_pct:5.1f} %  reverse KL {r.reverse_kl:.3f}"
              f"  reached {modes_reached(r)}")
    if results:
        print(verdict(results))
    print(f"wrote {out}/summary.md and the pictures it lists ({invocation[0]:.0f} s wall, {invocation[1]:.0f} s CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
