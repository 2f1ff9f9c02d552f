"""Picture helpers: exact pixel mapping and grid geometry, labelled comparisons, curves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ganzoo
from ganzoo.history import History, StepRecord
from ganzoo.plotting import (
    compare_grids,
    evolution_strip,
    grid_tiles,
    image_grid,
    plot_losses,
    plot_series,
    read_image,
    save_image_grid,
    to_uint8,
)

ROOT = Path(__file__).resolve().parents[1]


def test_to_uint8_maps_minus_one_one_to_the_byte_range():
    values = torch.tensor([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])
    assert to_uint8(values).tolist() == [0, 0, 128, 191, 255, 255]  # 127.5 rounds to even (128)


def test_grid_geometry_and_padding():
    images = torch.stack([torch.full((3, 4, 5), v) for v in (-1.0, 1.0, 0.0)])  # black, white, grey
    grid = image_grid(images, nrow=2, padding=1, pad_value=7)
    assert grid.shape == (3, 2 * (4 + 1) + 1, 2 * (5 + 1) + 1)
    assert grid[:, 0, :].eq(7).all() and grid[:, :, 0].eq(7).all()
    assert grid[:, 1:5, 1:6].eq(0).all()  # tile 0
    assert grid[:, 1:5, 7:12].eq(255).all()  # tile 1
    assert grid[:, 6:10, 1:6].eq(128).all()  # tile 2, next row
    assert grid[:, 6:10, 7:12].eq(7).all()  # the empty slot stays padding


def test_grayscale_is_drawn_as_rgb_and_scale_enlarges_pixels():
    gray = torch.tensor([[[[-1.0, 1.0]]]])  # (1, 1, 1, 2)
    grid = image_grid(gray, padding=0, scale=3)
    assert grid.shape == (3, 3, 6)
    assert grid[:, :, :3].eq(0).all() and grid[:, :, 3:].eq(255).all()


@settings(max_examples=20)
@given(n=st.integers(1, 10), nrow=st.integers(1, 5), size=st.integers(1, 6), scale=st.integers(1, 3))
def test_grid_tiles_inverts_image_grid(n, nrow, size, scale):
    images = torch.rand(n, 3, size, size) * 2 - 1
    tiles = grid_tiles(image_grid(images, nrow=nrow, scale=scale), size * scale)
    expected = to_uint8(images).repeat_interleave(scale, 2).repeat_interleave(scale, 3)
    assert torch.equal(tiles[:n], expected)


def test_grid_rejects_non_images():
    with pytest.raises(ganzoo.ConfigError, match=r"got \(4, 2\); sample grids need image samples"):
        image_grid(torch.zeros(4, 2))


def test_save_and_read_round_trip(tmp_path):
    images = torch.rand(6, 3, 5, 5) * 2 - 1
    path = save_image_grid(images, tmp_path / "sub" / "g.png", nrow=3)
    assert torch.equal(read_image(path), image_grid(images, nrow=3))


def test_compare_grids_labels_every_panel_and_widens_for_long_labels(tmp_path):
    images = torch.zeros(8, 3, 8, 8)
    short = read_image(compare_grids({"A": images, "B": images}, tmp_path / "s.png", nrow=4, gap=10))
    grid_width = image_grid(images, nrow=4).shape[2]
    assert short.shape == (3, 24 + image_grid(images, nrow=4).shape[1], 2 * grid_width + 10)
    long = read_image(compare_grids({"a very long label for a small grid": images}, tmp_path / "l.png", nrow=4))
    assert long.shape[2] > 2 * grid_width  # the panel grew so the label is not cut off
    assert long[:, :24].float().std() > 0  # the label band holds text


def test_evolution_strip_stacks_labelled_rows(tmp_path):
    rows = [("step 0", torch.zeros(3, 3, 4, 4, dtype=torch.uint8)), ("step 10", torch.ones(3, 3, 4, 4))]
    strip = read_image(evolution_strip(rows, tmp_path / "e.png", label_width=30))
    assert strip.shape == (3, 2 * (4 + 4), 30 + 3 * 6 + 2)


def history(n: int, penalty: bool) -> History:
    h = History()
    for i in range(1, n + 1):
        h.append(StepRecord(step=i, critic_loss=-1.0 / i, generator_loss=0.5, wasserstein=1.0 / i,
                            penalties={"gradient_penalty": 10.0 / i} if penalty else {}))
    return h


def test_plot_losses_one_panel_per_run(tmp_path):
    one = read_image(plot_losses({"A": history(30, True)}, tmp_path / "one.png"))
    two = read_image(plot_losses({"A": history(30, True), "B": history(10, False)}, tmp_path / "two.png"))
    assert two.shape[2] == 2 * one.shape[2] and two.shape[1] == one.shape[1]
    with pytest.raises(ganzoo.ConfigError, match="at least one history"):
        plot_losses({}, tmp_path / "none.png")


def test_plot_series(tmp_path):
    path = plot_series({"a": ([0, 1, 2], [1, 4, 9])}, tmp_path / "s.png", ylabel="modes", hline=9)
    assert read_image(path).float().std() > 0


def test_importing_ganzoo_loads_neither_matplotlib_nor_pil():
    code = "import sys, ganzoo, ganzoo.plotting, ganzoo.callbacks; print(sorted(m for m in ('matplotlib', 'PIL') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
