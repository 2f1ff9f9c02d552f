"""A folder of images as a dataset: validated once, resized, centre-cropped, in [-1, 1].

Every file with an image extension under ``root`` (sub-folders included, hidden files
ignored) is decoded once when the dataset is built. Files that cannot be decoded
(truncated downloads, text files with an image name, unsupported formats) are skipped
and reported together in one warning, so a bad file never stops training mid-epoch.
An empty folder or a missing path is an error before training starts.

Each image is converted to RGB (grayscale, palette, CMYK and 16-bit images too; a
transparent background becomes ``background``), its largest centred square is cropped
and resized to ``image_size`` (the usual "resize shorter side, then centre crop"), and
it is scaled from ``[0, 255]`` to ``[-1, 1]``, the range of a Tanh generator.

Example:
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> from ganzoo.data import ImageFolderDataset
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (80, 60), (255, 0, 0)).save(root / "red.png")
    >>> Image.new("L", (50, 50), 0).save(root / "black.jpg")
    >>> ds = ImageFolderDataset(root, image_size=32, progress=False)
    >>> len(ds), tuple(ds[0].shape), float(ds[0].min()), float(ds[1][0].mean())
    (2, (3, 32, 32), -1.0, 1.0)
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._progress import progress_bar
from .._validation import check_choice, check_int_at_least
from ..errors import ConfigError

__all__ = ["ImageFolderDataset", "IMAGE_EXTENSIONS", "find_image_files", "load_image"]

#: File name endings treated as images (compared case-insensitively).
IMAGE_EXTENSIONS = (
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff",
    ".ppm", ".pgm", ".pbm", ".pnm", ".tga",
)


def find_image_files(root: str | os.PathLike[str], extensions: Iterable[str] = IMAGE_EXTENSIONS) -> tuple[list[Path], int]:
    """Image files under ``root`` (recursive, sorted) and the number of other files.

    Hidden files and folders (names starting with ``.``) are ignored entirely.

    Raises:
        ConfigError: If ``root`` is missing or not a folder.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise ConfigError(
            f"image folder {str(root)!r} does not exist; pass the path of a folder of images "
            "(sub-folders are searched too)"
        )
    if not root.is_dir():
        raise ConfigError(f"image folder {str(root)!r} is a file, not a folder; pass the folder that holds the images")
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    images: list[Path] = []
    others = 0
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        for name in names:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in wanted:
                images.append(Path(folder) / name)
            else:
                others += 1
    return sorted(images), others


def load_image(
    path: str | os.PathLike[str],
    image_size: int,
    channels: int = 3,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Tensor:
    """Decode one image file to a ``uint8`` tensor ``(channels, image_size, image_size)``.

    The image is rotated by its EXIF orientation, converted to RGB (or grayscale for
    ``channels=1``), composited on ``background`` if it has transparency, then its
    largest centred square is resized to ``image_size`` (bicubic, antialiased).

    Raises:
        OSError, ValueError: If the file cannot be decoded (PIL's own errors).
    """
    from PIL import Image, ImageOps

    with Image.open(path) as opened:
        opened.load()  # a truncated file fails here, not later
        image = ImageOps.exif_transpose(opened)
        image = _convert(image, channels, background)
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))  # crop first: no pixels from outside
        if side != image_size:
            image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    return data.view(image_size, image_size, channels).permute(2, 0, 1).contiguous()


def _convert(image, channels: int, background: tuple[int, int, int]):  # noqa: ANN001, ANN202 (PIL types)
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grayscale: scale to 8 bits
        image = image.point(lambda v: v / 256).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        image = image.convert("RGBA")
        canvas = Image.new("RGBA", image.size, (*background, 255))
        image = Image.alpha_composite(canvas, image)
    return image.convert("L" if channels == 1 else "RGB")


class ImageFolderDataset(Dataset[Tensor]):
    """Every readable image under a folder, as ``(channels, image_size, image_size)`` tensors in [-1, 1].

    Args:
        root: Folder of images; sub-folders are searched too (class folders are not labels).
        image_size: Side length of the square output (the model's image size).
        channels: 3 (RGB, default) or 1 (grayscale).
        cache: Keep every decoded, resized image in memory as ``uint8`` (``3*size*size``
            bytes each: 264 MB for 21.5k images at 64x64) so epochs read no files. With
            ``cache=False`` files are decoded again on every access; a file that became
            unreadable since the scan is replaced by the next readable one.
        extensions: File name endings treated as images (case-insensitive).
        background: RGB colour placed behind transparent pixels.
        workers: Threads decoding the files while scanning (default: CPU count, at most 8).
        progress: Show a progress bar while scanning.

    Attributes:
        files: The readable image files, in dataset order.
        skipped: ``(path, reason)`` of every image file that could not be decoded.
        ignored: Number of files without an image extension (not counted as skipped).

    Raises:
        ConfigError: If ``root`` is missing, not a folder, or holds no readable image.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        image_size: int = 64,
        *,
        channels: int = 3,
        cache: bool = True,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
        background: tuple[int, int, int] = (255, 255, 255),
        workers: int | None = None,
        progress: bool = True,
    ) -> None:
        self.root = Path(root).expanduser()
        self.image_size = check_int_at_least("image_size", image_size, 1)
        self.channels = check_choice("channels", channels, (1, 3))
        if len(tuple(background)) != 3:
            raise ConfigError(f"background={background!r} must be an (r, g, b) tuple of 0..255 values, e.g. (255, 255, 255)")
        r, g, b = (int(c) for c in background)
        self.background = (r, g, b)
        self.cache = bool(cache)
        candidates, self.ignored = find_image_files(self.root, extensions)
        if not candidates:
            other = f" ({self.ignored} files without an image extension were ignored)" if self.ignored else ""
            raise ConfigError(
                f"image folder {str(self.root)!r} holds no image files{other}; expected files ending in "
                f"{', '.join(IMAGE_EXTENSIONS)} (sub-folders are searched too)"
            )
        workers = workers if workers is not None else min(8, os.cpu_count() or 1)
        check_int_at_least("workers", workers, 1)
        results = self._decode_all(candidates, workers, progress)
        self.files: list[Path] = []
        self.skipped: list[tuple[Path, str]] = []
        images: list[Tensor] = []
        for path, result in zip(candidates, results):
            if isinstance(result, str):
                self.skipped.append((path, result))
            else:
                self.files.append(path)
                images.append(result)
        if not self.files:
            raise ConfigError(
                f"image folder {str(self.root)!r} holds no readable image: all {len(candidates)} image "
                f"files failed to decode (first: {self.skipped[0][0].name}: {self.skipped[0][1]})"
            )
        self._images = torch.stack(images) if self.cache else None
        if self.skipped:
            warnings.warn(self.skip_report(), UserWarning, stacklevel=2)
        self._replaced = 0

    def _decode_one(self, path: Path) -> Tensor | str:
        try:
            image = load_image(path, self.image_size, self.channels, self.background)
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "skip this file"
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}"
        return image if self.cache else torch.empty(0, dtype=torch.uint8)

    def _decode_all(self, paths: list[Path], workers: int, progress: bool) -> list[Tensor | str]:
        bar = progress_bar(total=len(paths), desc=f"reading {self.root.name or self.root}", unit="img",
                           enabled=progress and len(paths) >= 200)
        results: list[Tensor | str] = []
        with bar, ThreadPoolExecutor(max_workers=workers) as pool:  # PIL decodes without the GIL
            for result in pool.map(self._decode_one, paths, chunksize=64):
                results.append(result)
                bar.update(1)
        return results

    def skip_report(self) -> str:
        """One line saying how many files were skipped and why (empty when none)."""
        if not self.skipped:
            return ""
        n = len(self.skipped)
        examples = "; ".join(f"{p.relative_to(self.root)} ({why})" for p, why in self.skipped[:3])
        more = f"; and {n - 3} more" if n > 3 else ""
        return (
            f"{n} file{'s' if n != 1 else ''} skipped in {str(self.root)!r} because they could not be "
            f"decoded as images: {examples}{more}. Training uses the {len(self.files)} readable images"
        )

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Tensor:
        if self._images is not None:
            image = self._images[index]
        else:
            image = self._read(index)
        return image.float().div_(127.5).sub_(1.0)

    def _read(self, index: int) -> Tensor:
        for offset in range(len(self.files)):
            path = self.files[(index + offset) % len(self.files)]
            try:
                return load_image(path, self.image_size, self.channels, self.background)
            except Exception as exc:  # noqa: BLE001 - replace, never crash mid-epoch
                self._replaced += 1
                if self._replaced == 1:
                    warnings.warn(f"{path} became unreadable after the scan ({exc}); using the next image instead",
                                  UserWarning, stacklevel=3)
        raise ConfigError(f"no image under {str(self.root)!r} is readable any more")

    def __repr__(self) -> str:
        return (
            f"ImageFolderDataset({str(self.root)!r}, image_size={self.image_size}, images={len(self)}, "
            f"skipped={len(self.skipped)}, cache={self.cache})"
        )
