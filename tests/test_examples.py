"""The examples run at a tiny size, write what they promise, resume after SIGKILL or
Ctrl-C with continuous step counts and logs, and use only public ganzoo names."""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.plotting import read_image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ANIME = EXAMPLES / "anime_wgan_gp.py"
# The smallest run that still goes through every code path.
TINY = ["--image-size", "16", "--width", "4", "--latent-dim", "8", "--batch-size", "8", "--synthetic-images", "64",
        "--eval-samples", "32", "--threads", "1", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_thread")


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def steps_in(path: Path) -> list[int]:
    with open(path, newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def assert_picture(path: Path, min_side: int = 16) -> torch.Tensor:
    image = read_image(path)
    assert min(image.shape[1:]) >= min_side, path
    assert image.float().std() > 1.0, f"{path} is a blank canvas"
    return image


# ---------------------------------------------------------------------- the flagship example
def test_anime_example_writes_every_artefact(tmp_path, capsys):
    out = tmp_path / "run"
    code = load_example("anime_wgan_gp").main([*TINY, "--steps", "6", "--sample-every", "3", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "built-in synthetic faces" in printed  # says where the data came from
    assert ("covered more" in printed) or ("did NOT cover more" in printed) or ("budget was too small" in printed)
    for model in ("dcgan", "wgan_gp"):
        folder = out / model
        assert [p.name for p in sorted((folder / "samples").glob("*.png"))] == [
            "samples_step0000000.png", "samples_step0000003.png", "samples_step0000006.png"]
        assert_picture(folder / "evolution.png")
        assert_picture(folder / "diversity_64.png")
        assert steps_in(folder / "metrics.csv") == [1, 2, 3, 4, 5, 6]
        assert steps_in(folder / "coverage.csv") == [0, 3, 6]
        state = torch.load(folder / "generator.pt", weights_only=True)
        G = ganzoo.from_config(json.loads((folder / "generator.json").read_text()))
        G.load_state_dict(state)
        assert G(torch.randn(2, 8)).shape == (2, 3, 16, 16)
        assert ganzoo.Trainer.load(ganzoo.checkpoint.latest_checkpoint(folder / "checkpoints")).step == 6
    real = assert_picture(out / "real_samples.png")
    comparison = assert_picture(out / "comparison_same_noise.png")
    assert comparison.shape[2] > 2 * real.shape[2] // 2  # three panels: real, DCGAN, WGAN-GP
    assert_picture(out / "loss_curves.png", min_side=100)
    assert_picture(out / "coverage.png", min_side=100)
    summary = (out / "summary.md").read_text()
    assert "| DCGAN | 6" in summary and "| WGAN-GP | 6" in summary and "real data" in summary
    assert "comparison_same_noise.png" in summary


def coverage(modes: int, hq: float, kl: float, reached: int) -> ganzoo.metrics.ModeCoverage:
    return ganzoo.metrics.ModeCoverage(modes, 144, hq, kl, tuple([1] * reached + [0] * (144 - reached)))


@pytest.mark.parametrize("wgan, dcgan, expected", [
    (coverage(90, 40.0, 0.5, 140), coverage(20, 60.0, 2.5, 60), "WGAN-GP covered more synthetic-face modes than DCGAN"),
    (coverage(20, 40.0, 0.5, 140), coverage(20, 60.0, 2.5, 60), "did NOT cover more modes than DCGAN in this run (a tie)"),
    (coverage(10, 40.0, 0.5, 140), coverage(20, 60.0, 2.5, 60), "(DCGAN covered more)"),
    (coverage(0, 0.0, 0.8, 120), coverage(0, 0.0, 4.9, 3), "so WGAN-GP covered more modes in this looser sense"),
    (coverage(0, 0.0, 4.9, 3), coverage(0, 0.0, 0.8, 120), "In the looser sense DCGAN spread more"),
    (coverage(0, 1.0, 1.0, 100), coverage(0, 0.0, 1.1, 100), "Nor does the looser spread separate them"),
])
def test_verdict_is_computed_from_the_numbers(wgan, dcgan, expected):
    text = load_example("anime_wgan_gp").verdict({"dcgan": dcgan, "wgan_gp": wgan})
    assert expected in text
    assert f"WGAN-GP captured {wgan.modes} of 144" in text
    if max(wgan.hq_pct, dcgan.hq_pct) < 5:
        assert text.startswith("By the strict measure the budget was too small")


def test_anime_example_help_documents_every_flag(capsys):
    module = load_example("anime_wgan_gp")
    with pytest.raises(SystemExit) as stopped:
        module.parse_args(["--help"])
    assert stopped.value.code == 0
    help_text = capsys.readouterr().out
    source = ANIME.read_text()
    flags = sorted(set(re.findall(r'add_argument\("(--[a-z-]+)"', source)))
    assert len(flags) >= 20
    for flag in flags:
        documented = re.search(re.escape(flag) + r"[ A-Z_{},.a-z0-9-]*\n?\s+\S", help_text)
        assert documented, f"{flag} has no help text"
    for required in ("--models", "--epochs", "--steps", "--batch-size", "--image-size", "--amp", "--device",
                     "--seed", "--out", "--data", "--resume", "--quick"):
        assert required in flags
    assert module.QUICK["image_size"] == 32 and module.QUICK["amp"] == "auto"  # DCGAN collapses at 16 px



@pytest.mark.parametrize("argv, size, width, amp, steps", [
    ([], 32, 32, "auto", {"dcgan": 9000, "wgan_gp": 9000}),  # built-in faces: the measured default run
    (["--quick"], 32, 32, "auto", {"dcgan": 2000, "wgan_gp": 800}),
    (["--data", "imgs"], 64, 64, "off", {"dcgan": 60 * 312, "wgan_gp": 50 * 312}),  # the notebook's
    (["--image-size", "16", "--steps", "7"], 16, 32, "auto", {"dcgan": 7, "wgan_gp": 7}),  # flags win
    (["--epochs", "2"], 32, 32, "auto", {"dcgan": 2 * 312, "wgan_gp": 2 * 312}),
])
def test_anime_example_defaults_per_data_source(argv, size, width, amp, steps):
    module = load_example("anime_wgan_gp")
    settings = module.resolve_settings(module.parse_args(argv))
    assert (settings["image_size"], settings["width"], settings["amp"]) == (size, width, amp)
    assert {m: module.total_steps(m, settings, 312)[0] for m in steps} == steps


def messy_folder(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    for i, path in enumerate([root / "one.png", root / "a" / "two.jpg", root / "a" / "b" / "three.png"]):
        Image.effect_noise((20 + i, 24), 70).convert("RGB").save(path)
    full = root / "full.jpg"
    Image.effect_noise((64, 64), 70).convert("RGB").save(full)
    (root / "truncated.jpg").write_bytes(full.read_bytes()[:300])
    full.unlink()
    (root / "text.png").write_text("not an image")
    return root


def test_anime_example_on_a_messy_folder_reports_two_files_skipped(tmp_path, capsys):
    data = messy_folder(tmp_path / "images")
    code = load_example("anime_wgan_gp").main([*TINY, "--image-size", "8", "--batch-size", "2", "--data", str(data),
                                               "--steps", "2", "--models", "dcgan", "--out", str(tmp_path / "o")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "3 images from" in printed and "2 files skipped" in printed
    assert steps_in(tmp_path / "o" / "dcgan" / "metrics.csv") == [1, 2]
    assert not (tmp_path / "o" / "dcgan" / "coverage.csv").exists()  # no known modes in a folder
    assert "2 files skipped" in (tmp_path / "o" / "summary.md").read_text()


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_anime_example_bad_folder_fails_before_training(tmp_path, capsys, case):
    data = tmp_path / "data"
    if case == "empty":
        data.mkdir()
    code = load_example("anime_wgan_gp").main([*TINY, "--data", str(data), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert ("does not exist" if case == "missing" else "holds no image files") in err
    assert not (tmp_path / "o" / "dcgan").exists()  # nothing trained


def test_anime_example_refuses_to_overwrite_a_run_by_accident(tmp_path, capsys):
    module = load_example("anime_wgan_gp")
    args = [*TINY, "--steps", "1", "--models", "dcgan", "--out", str(tmp_path)]
    assert module.main(args) == 0
    assert module.main(args) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert module.main([*args, "--overwrite"]) == 0


def test_anime_example_bad_models_name(tmp_path, capsys):
    assert load_example("anime_wgan_gp").main([*TINY, "--models", "dcgan,wgangp", "--out", str(tmp_path)]) == 2
    assert "choose from dcgan, wgan_gp" in capsys.readouterr().err


def run_example(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(ANIME), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for(path_glob: tuple[Path, str], process: subprocess.Popen, timeout: float = 240) -> None:
    folder, pattern = path_glob
    deadline = time.time() + timeout
    while time.time() < deadline:
        if folder.is_dir() and any(folder.glob(pattern)):
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended before its first checkpoint:\n{process.stdout.read()}")
        time.sleep(0.02)
    process.kill()
    pytest.fail("no checkpoint appeared in time")


RESUMABLE = [*TINY, "--steps", "30", "--checkpoint-every", "4", "--sample-every", "10"]


def assert_continuous_run(out: Path, steps: int) -> None:
    for model in ("dcgan", "wgan_gp"):
        assert steps_in(out / model / "metrics.csv") == list(range(1, steps + 1))
        trainer = ganzoo.Trainer.load(ganzoo.checkpoint.latest_checkpoint(out / model / "checkpoints"))
        assert trainer.step == steps and len(trainer.history) == steps
        assert [r.step for r in trainer.history] == list(range(1, steps + 1))
        coverage_steps = steps_in(out / model / "coverage.csv")
        assert coverage_steps == sorted(set(coverage_steps)) and coverage_steps[-1] == steps
    assert (out / "summary.md").exists()


def test_sigkill_after_first_checkpoint_then_resume_is_continuous(tmp_path):
    out = tmp_path / "run"
    process = run_example([*RESUMABLE, "--out", str(out)])
    wait_for((out / "dcgan" / "checkpoints", "ckpt_step*.pt"), process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert not (out / "summary.md").exists()  # it really died mid-run
    resumed = run_example(["--resume", "--out", str(out), "--no-progress"])
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert "DCGAN: resuming from" in output
    assert_continuous_run(out, 30)


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    steps = 60  # DCGAN is still training when the signal lands, even on a busy machine
    process = run_example([*TINY, "--steps", str(steps), "--checkpoint-every", "4", "--out", str(out)])
    wait_for((out / "dcgan" / "checkpoints", "ckpt_step*.pt"), process)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "stopping after this step" in output and "interrupted at step" in output, output
    assert "--resume --out" in output
    stopped_at, saved = re.search(r"interrupted at step (\d+): (?:already )?saved (\S+)", output).groups()
    assert ganzoo.Trainer.load(saved).step == int(stopped_at)  # the state at the stop, not an older one
    assert ganzoo.checkpoint.latest_checkpoint(Path(saved).parent) == Path(saved)
    resumed = run_example(["--resume", "--out", str(out), "--no-progress"])
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert_continuous_run(out, steps)


def test_resume_can_extend_the_run(tmp_path, capsys):
    module = load_example("anime_wgan_gp")
    out = tmp_path / "run"
    assert module.main([*TINY, "--steps", "3", "--models", "dcgan", "--out", str(out)]) == 0
    assert module.main(["--resume", "--steps", "5", "--image-size", "32", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "ignoring --image-size" in printed
    assert steps_in(out / "dcgan" / "metrics.csv") == [1, 2, 3, 4, 5]


# ---------------------------------------------------------------------- the short examples
SHORT = {
    "wgan_clipping_study": ["--steps", "3", "--image-size", "8", "--width", "2", "--batch-size", "8",
                            "--synthetic-images", "32", "--eval-samples", "32", "--clips", "0.01,0.1"],
    "sngan_vs_dcgan": ["--steps", "3", "--image-size", "8", "--width", "2", "--batch-size", "8",
                       "--synthetic-images", "32", "--eval-samples", "32"],
    "mnist28_wgan_gp": ["--steps", "3", "--image-size", "14", "--width", "2", "--batch-size", "8", "--images", "32"],
    "mlp_gan_vs_wgan_gp": ["--steps", "3", "--image-size", "8", "--batch-size", "8", "--images", "32", "--last", "3"],
    "cyclegan_faces": ["--quick", "--steps", "4", "--eval-every", "2", "--images", "16", "--width", "4", "--blocks", "1"],
}
SHORT_OUTPUTS = {
    "wgan_clipping_study": ["comparison_same_noise.png", "clipping_curves.png", "samples_clip0.01.png", "results.md"],
    "sngan_vs_dcgan": ["comparison_same_noise.png", "loss_curves.png", "samples_dcgan.png", "samples_wgan_sn.png"],
    "mnist28_wgan_gp": ["samples.png", "real.png", "loss_curves.png"],
    "mlp_gan_vs_wgan_gp": ["comparison_same_noise.png", "loss_curves.png", "stability.md"],
    "cyclegan_faces": ["translations.png", "translations_step000002.png", "losses.png", "metrics.csv", "summary.md",
                       "scores.json", "checkpoints/ckpt_step00000004.pt"],
}


@pytest.mark.parametrize("name", sorted(SHORT))
def test_short_example_runs_at_a_tiny_size(tmp_path, name, capsys):
    assert load_example(name).main([*SHORT[name], "--out", str(tmp_path)]) == 0
    for output in SHORT_OUTPUTS[name]:
        assert (tmp_path / output).stat().st_size > 0, output
    assert "wrote" in capsys.readouterr().out


def test_mnist28_uses_the_tutorial_networks(tmp_path, monkeypatch):
    module = load_example("mnist28_wgan_gp")
    images = module.load_images("faces", 28, 16, seed=0)
    assert images.shape == (16, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    built = {}
    real_recipe = ganzoo.recipes.wgan_gp

    def recording_recipe(**kwargs):
        built.update(kwargs)
        return real_recipe(**kwargs)

    monkeypatch.setattr(ganzoo.recipes, "wgan_gp", recording_recipe)
    assert module.main(["--steps", "1", "--image-size", "28", "--width", "2", "--batch-size", "8",
                        "--images", "16", "--data", "faces", "--out", str(tmp_path)]) == 0
    G, D = built["generator"], built["critic"]
    layers = [type(m) for m in G.modules()]
    convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    # the tutorial's generator: a 7x7 base from the noise, doubled twice, batch norm + ReLU, Tanh out
    assert convs[0].kernel_size == (7, 7) and len(convs) == 3 and convs[-1].out_channels == 1
    assert all(c.stride == (2, 2) for c in convs[1:])
    assert torch.nn.BatchNorm2d in layers and torch.nn.ReLU in layers and layers[-1] is torch.nn.Tanh
    # the tutorial's critic: instance norm (keeps the penalty per sample), never batch norm
    critic_layers = [type(m) for m in D.modules()]
    assert torch.nn.InstanceNorm2d in critic_layers and torch.nn.BatchNorm2d not in critic_layers
    assert G(torch.randn(2, 100)).shape == (2, 1, 28, 28) and D(torch.zeros(2, 1, 28, 28)).shape[0] == 2


def test_digits_path_with_a_stand_in_for_scikit_learn(tmp_path, monkeypatch):
    """scikit-learn is optional; its digits loader is replaced by 8x8 arrays of the same form."""
    import types

    import numpy as np

    fake = types.ModuleType("sklearn")
    fake.datasets = types.ModuleType("sklearn.datasets")
    fake.datasets.load_digits = lambda: types.SimpleNamespace(images=np.full((40, 8, 8), 16.0))
    monkeypatch.setitem(sys.modules, "sklearn", fake)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", fake.datasets)
    module = load_example("mlp_gan_vs_wgan_gp")
    assert module.digits_available()
    images = module.load_images("digits", 28, 10, seed=0)
    assert images.shape == (10, 1, 28, 28)
    torch.testing.assert_close(images, torch.ones_like(images))  # 16/16 -> white -> 1.0


# ---------------------------------------------------------------------- public names only
def private_uses(path: Path) -> list[str]:
    """``ganzoo`` names reached through a leading underscore (imports and attribute chains)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ganzoo":
            parts = node.module.split(".") + [alias.name for alias in node.names]
            found += [f"from {node.module} import {a.name}" for a in node.names if any(p.startswith("_") for p in parts)]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("ganzoo") and "._" in a.name]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            chain, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id == "ganzoo":
                found.append(".".join(["ganzoo", *reversed(chain)]))
    return found


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_examples_use_only_public_ganzoo_names(path):
    assert private_uses(path) == []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):  # every imported ganzoo name is in its module's __all__
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ganzoo":
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert alias.name in module.__all__, f"{node.module}.{alias.name} is not public"


def test_private_use_detector_catches_private_names(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import ganzoo\nfrom ganzoo._rng import seed_everything\nx = ganzoo.trainer._grad_norm\n")
    assert private_uses(bad) == ["from ganzoo._rng import seed_everything", "ganzoo.trainer._grad_norm"]


def test_anime_example_tensorboard_flag(tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    assert load_example("anime_wgan_gp").main([*TINY, "--steps", "2", "--models", "dcgan", "--tensorboard",
                                               "--out", str(out)]) == 0
    assert any((out / "tensorboard" / "dcgan").glob("events.out.tfevents*"))
