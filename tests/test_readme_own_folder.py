"""The README's five-line own-folder example runs as written, on a folder of generated images."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
MARK = "<!-- own-folder-snippet"


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(MARK)
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    if match is None:
        raise AssertionError("no python block after the own-folder marker in README.md")
    return match.group(1)


def test_snippet_is_about_five_lines() -> None:
    lines = [line for line in readme_snippet().splitlines() if line.strip()]
    assert len(lines) <= 6
    assert 'ganzoo.callbacks.standard("runs/mine")' in readme_snippet()


@pytest.mark.slow
def test_readme_own_folder_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: None) -> None:
    from PIL import Image

    folder = tmp_path / "my_images" / "nested"
    folder.mkdir(parents=True)
    gen = torch.Generator().manual_seed(0)
    for i in range(70):  # 70 images: one full batch of 64 per epoch
        pixels = (torch.rand(40, 40, 3, generator=gen) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"img{i:03d}.{'png' if i % 2 else 'jpg'}")
    code = readme_snippet().replace("steps=2000", "steps=3")  # the only change: a short run
    assert code != readme_snippet()
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md own-folder snippet", "exec"), {})
    run = tmp_path / "runs" / "mine"
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["samples_step0000000.png", "samples_step0000003.png"]
    assert any((run / "checkpoints").iterdir())
    rows = (run / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header + one row per step

    import ganzoo

    resumed = ganzoo.Trainer.load(run / "checkpoints")
    assert resumed.step == 3
