"""ImageFolderDataset: conversions, resizing, skipped files, clear errors before training."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import ganzoo
from ganzoo.data import ImageFolderDataset
from ganzoo.data.folder import find_image_files, load_image

from helpers import image_pair


pytestmark = pytest.mark.usefixtures("one_thread")


def truncated_jpeg(path: Path) -> None:
    full = path.with_name("full.jpg")
    Image.effect_noise((96, 96), 60).convert("RGB").save(full, quality=90)
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    full.unlink()


def messy_folder(root: Path) -> Path:
    """3 good images (one nested), 1 truncated JPEG, 1 text file named .png."""
    (root / "nested" / "deeper").mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 30, 30)).save(root / "red.jpg")
    Image.new("L", (25, 25), 90).save(root / "nested" / "gray.png")
    Image.new("RGBA", (20, 20), (0, 0, 255, 255)).save(root / "nested" / "deeper" / "blue.png")
    truncated_jpeg(root / "broken.jpg")
    (root / "notes.png").write_text("this is a text file with an image name")
    return root


def test_three_good_two_bad_trains_and_reports_two_skipped(tmp_path):
    root = messy_folder(tmp_path)
    with pytest.warns(UserWarning, match="2 files skipped") as caught:
        ds = ImageFolderDataset(root, image_size=8, progress=False)
    assert len([w for w in caught if "skipped" in str(w.message)]) == 1  # one warning, not one per file
    assert len(ds) == 3 and len(ds.skipped) == 2
    assert {p.name for p, _ in ds.skipped} == {"broken.jpg", "notes.png"}
    assert "truncated" in dict((p.name, why) for p, why in ds.skipped)["broken.jpg"]
    G, D = image_pair(size=8, width=2)
    trainer = ganzoo.Trainer(G, D, "bce", device="cpu", seed=0)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, shuffle=True)
    trainer.fit(loader, epochs=3)  # every epoch reads every image: nothing crashes mid-epoch
    assert trainer.epoch == 3 and trainer.step == 6


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ganzoo.ConfigError, match=r"does not exist.*folder of images"):
        ImageFolderDataset(tmp_path / "nope", image_size=8)


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(ganzoo.ConfigError, match=r"holds no image files \(1 files without an image extension"):
        ImageFolderDataset(tmp_path, image_size=8)


def test_folder_of_only_broken_images_is_a_clear_error(tmp_path):
    (tmp_path / "a.png").write_text("text")
    truncated_jpeg(tmp_path / "b.jpg")
    with pytest.raises(ganzoo.ConfigError, match="no readable image: all 2 image files failed"):
        ImageFolderDataset(tmp_path, image_size=8, progress=False)


def test_a_file_instead_of_a_folder(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    with pytest.raises(ganzoo.ConfigError, match="is a file, not a folder"):
        ImageFolderDataset(tmp_path / "x.png", image_size=8)


def test_bad_arguments(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    with pytest.raises(ganzoo.ConfigError, match="image_size=0"):
        ImageFolderDataset(tmp_path, image_size=0)
    with pytest.raises(ganzoo.ConfigError, match="channels=2"):
        ImageFolderDataset(tmp_path, image_size=8, channels=2)


def test_modes_are_converted_to_rgb_in_minus_one_one(tmp_path):
    Image.new("L", (10, 10), 255).save(tmp_path / "1_gray.png")
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(tmp_path / "2_transparent.png")  # -> white background
    Image.new("RGBA", (10, 10), (0, 255, 0, 255)).save(tmp_path / "3_opaque.png")
    Image.new("I;16", (10, 10), 0).save(tmp_path / "4_sixteen_bit.png")
    Image.new("CMYK", (10, 10), (0, 0, 0, 0)).save(tmp_path / "5_cmyk.jpg")
    Image.new("1", (10, 10), 1).save(tmp_path / "6_bilevel.bmp")
    ds = ImageFolderDataset(tmp_path, image_size=4, progress=False)
    assert [p.name for p in ds.files] == sorted(p.name for p in tmp_path.iterdir())
    expected = {
        "1_gray.png": (1.0, 1.0, 1.0),
        "2_transparent.png": (1.0, 1.0, 1.0),
        "3_opaque.png": (-1.0, 1.0, -1.0),
        "4_sixteen_bit.png": (-1.0, -1.0, -1.0),
        "5_cmyk.jpg": (1.0, 1.0, 1.0),
        "6_bilevel.bmp": (1.0, 1.0, 1.0),
    }
    for i, path in enumerate(ds.files):
        image = ds[i]
        assert image.shape == (3, 4, 4) and image.dtype == torch.float32
        torch.testing.assert_close(image.mean(dim=(1, 2)), torch.tensor(expected[path.name]), atol=0.02, rtol=0)


def test_grayscale_output_and_background(tmp_path):
    Image.new("RGBA", (6, 6), (0, 0, 0, 0)).save(tmp_path / "t.png")
    ds = ImageFolderDataset(tmp_path, image_size=6, channels=1, background=(0, 0, 0), progress=False)
    assert ds[0].shape == (1, 6, 6)
    assert float(ds[0].max()) == -1.0  # transparent on a black background


def test_centre_crop_keeps_the_middle_square(tmp_path):
    image = Image.new("RGB", (30, 10), (255, 0, 0))  # red sides ...
    image.paste((0, 255, 0), (10, 0, 20, 10))  # ... green centre square
    image.save(tmp_path / "wide.png")
    tall = Image.new("RGB", (10, 30), (255, 0, 0))
    tall.paste((0, 0, 255), (0, 10, 10, 20))
    tall.save(tmp_path / "tall.png")
    ds = ImageFolderDataset(tmp_path, image_size=5, progress=False)
    torch.testing.assert_close(ds[1], torch.tensor([-1.0, 1.0, -1.0]).view(3, 1, 1).expand(3, 5, 5))  # wide
    torch.testing.assert_close(ds[0], torch.tensor([-1.0, -1.0, 1.0]).view(3, 1, 1).expand(3, 5, 5))  # tall


def test_exact_scaling_of_pixel_values(tmp_path):
    image = Image.new("RGB", (2, 1))
    image.putpixel((0, 0), (0, 128, 255))
    image.putpixel((1, 0), (0, 128, 255))
    image.save(tmp_path / "p.png")
    pixels = load_image(tmp_path / "p.png", image_size=1)
    assert pixels.dtype == torch.uint8 and pixels.flatten().tolist() == [0, 128, 255]
    ds = ImageFolderDataset(tmp_path, image_size=1, progress=False)
    torch.testing.assert_close(ds[0].flatten(), torch.tensor([-1.0, 128 / 127.5 - 1, 1.0]))


def test_hidden_and_non_image_files_are_ignored_not_skipped(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "ok.PNG")  # extensions are case-insensitive
    (tmp_path / ".DS_Store").write_bytes(b"\0\1")
    (tmp_path / ".hidden").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / ".hidden" / "x.png")
    (tmp_path / "labels.csv").write_text("a,b")
    files, others = find_image_files(tmp_path)
    assert [f.name for f in files] == ["ok.PNG"] and others == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = ImageFolderDataset(tmp_path, image_size=8, progress=False)
    assert len(ds) == 1 and ds.skipped == [] and ds.ignored == 1


def test_uncached_reads_replace_a_file_that_broke_after_the_scan(tmp_path):
    Image.new("RGB", (8, 8), (255, 255, 255)).save(tmp_path / "a.png")
    Image.new("RGB", (8, 8), (0, 0, 0)).save(tmp_path / "b.png")
    ds = ImageFolderDataset(tmp_path, image_size=8, cache=False, progress=False)
    assert float(ds[0].mean()) == 1.0
    (tmp_path / "a.png").write_text("gone bad")
    with pytest.warns(UserWarning, match="became unreadable"):
        assert float(ds[0].mean()) == -1.0  # the next readable image instead of a crash


@settings(max_examples=15)
@given(width=st.integers(1, 40), height=st.integers(1, 40), size=st.integers(1, 12),
       mode=st.sampled_from(["RGB", "L", "RGBA", "P"]))
def test_any_shape_and_mode_gives_size_by_size_in_range(tmp_path_factory, width, height, size, mode):
    folder = tmp_path_factory.mktemp("img")
    Image.effect_noise((width, height), 80).convert(mode).save(folder / "x.png")
    image = ImageFolderDataset(folder, image_size=size, progress=False)[0]
    assert image.shape == (3, size, size)
    assert float(image.min()) >= -1.0 and float(image.max()) <= 1.0
