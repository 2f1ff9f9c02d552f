"""Pictures of a training run: sample grids, evolution strips, side-by-side comparisons, curves.

Image helpers use Pillow, which torchvision already installs. Curve plots use matplotlib,
an optional dependency (``pip install "ganzoo[examples]"``): it is imported only when a
curve is drawn, so ``import ganzoo`` never needs it.

Images are tensors ``(n, channels, h, w)`` in ``[-1, 1]`` (a Tanh generator's range).

Example:
    >>> import tempfile, pathlib, torch
    >>> from ganzoo.plotting import save_image_grid, read_image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grid.png"
    >>> _ = save_image_grid(torch.zeros(16, 3, 8, 8), path, nrow=4)
    >>> tuple(read_image(path).shape)   # 4 tiles of 8 px plus 2 px padding around each
    (3, 42, 42)
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from ._validation import check_int_at_least
from .errors import ConfigError
from .history import History

__all__ = [
    "to_uint8",
    "image_grid",
    "save_image_grid",
    "read_image",
    "grid_tiles",
    "compare_grids",
    "evolution_strip",
    "plot_losses",
    "plot_series",
    "require_matplotlib",
    "read_pil",
    "LOSS_COLUMNS",
]

#: The history columns :func:`plot_losses` draws by default (besides every penalty).
LOSS_COLUMNS = ("critic_loss", "generator_loss", "wasserstein")
PADDING = 2


def require_matplotlib() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend.

    Raises:
        ImportError: If matplotlib is not installed, saying how to install it.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "drawing curves needs matplotlib, which is optional: pip install matplotlib "
            '(or pip install "ganzoo[examples]")'
        ) from None
    return plt


def to_uint8(images: Tensor) -> Tensor:
    """Map images in ``[-1, 1]`` to ``uint8`` in ``[0, 255]`` (values outside are clipped)."""
    images = torch.as_tensor(images).detach().float().cpu()
    return images.add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


def image_grid(images: Tensor, nrow: int = 8, padding: int = PADDING, pad_value: int = 255, scale: int = 1) -> Tensor:
    """Tile ``(n, c, h, w)`` images in ``[-1, 1]`` into one ``uint8`` RGB image ``(3, H, W)``.

    ``nrow`` images per row; ``padding`` pixels of ``pad_value`` around every tile;
    ``scale`` enlarges every pixel to ``scale x scale`` (nearest neighbour: small images
    stay sharp).
    """
    images = torch.as_tensor(images)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ConfigError(
            f"images must have shape (n, 1 or 3, height, width), got {tuple(images.shape)}; "
            "sample grids need image samples"
        )
    check_int_at_least("scale", scale, 1)
    pixels = to_uint8(images)
    if scale > 1:
        pixels = pixels.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    n, _, h, w = pixels.shape
    cols = max(1, min(nrow, n))
    rows = math.ceil(n / cols)
    grid = torch.full((3, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value, dtype=torch.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        grid[:, top : top + h, left : left + w] = pixels[i]
    return grid


def grid_tiles(grid: Tensor, tile_size: int, padding: int = PADDING) -> Tensor:
    """Cut a grid made by :func:`image_grid` back into its ``uint8`` tiles ``(n, 3, s, s)``
    (row by row; the padding tiles of an incomplete last row are included)."""
    _, height, width = grid.shape
    step = tile_size + padding
    rows, cols = (height - padding) // step, (width - padding) // step
    tiles = [
        grid[:, padding + r * step : padding + r * step + tile_size, padding + c * step : padding + c * step + tile_size]
        for r in range(rows)
        for c in range(cols)
    ]
    return torch.stack(tiles)


def _pil(image: Tensor) -> Any:
    from PIL import Image

    return Image.fromarray(image.permute(1, 2, 0).contiguous().numpy(), "RGB")


def _save(image: Tensor, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _pil(image).save(path)
    return path


def save_image_grid(
    images: Tensor, path: str | os.PathLike[str], nrow: int = 8, padding: int = PADDING, scale: int = 1
) -> Path:
    """Save ``(n, c, h, w)`` images in ``[-1, 1]`` as one PNG grid (see :func:`image_grid`); returns the path."""
    return _save(image_grid(images, nrow=nrow, padding=padding, scale=scale), path)


def read_image(path: str | os.PathLike[str]) -> Tensor:
    """Read an image file as a ``uint8`` RGB tensor ``(3, h, w)``."""
    from PIL import Image

    with Image.open(path) as image:
        return read_pil(image)


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _font_size(height: int) -> int:
    """Label text size for a band ``height`` pixels tall: 60 % of it, between 8 and 16 px."""
    return min(16, max(8, int(height * 0.6)))


def _text_width(text: str, height: int) -> int:
    from PIL import Image, ImageDraw

    left, _, right, _ = ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text, font=_font(_font_size(height)))
    return int(right - left)


def _label_band(text: str, width: int, height: int) -> Tensor:
    from PIL import Image, ImageDraw

    band = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(band)
    font = _font(_font_size(height))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) / 2 - left, (height - (bottom - top)) / 2 - top), text, fill=(0, 0, 0), font=font)
    return read_pil(band)


def read_pil(image: Any) -> Tensor:
    """A PIL image as a ``uint8`` RGB tensor ``(3, h, w)``."""
    data = torch.frombuffer(bytearray(image.convert("RGB").tobytes()), dtype=torch.uint8)
    return data.view(image.height, image.width, 3).permute(2, 0, 1).contiguous()


def _hcat(images: Sequence[Tensor], gap: int, value: int = 255) -> Tensor:
    height = max(i.shape[1] for i in images)
    parts: list[Tensor] = []
    for k, image in enumerate(images):
        if image.shape[1] < height:
            pad = torch.full((3, height - image.shape[1], image.shape[2]), value, dtype=torch.uint8)
            image = torch.cat([image, pad], dim=1)
        if k:
            parts.append(torch.full((3, height, gap), value, dtype=torch.uint8))
        parts.append(image)
    return torch.cat(parts, dim=2)


def _vcat(images: Sequence[Tensor], value: int = 255) -> Tensor:
    width = max(i.shape[2] for i in images)
    padded = [
        torch.cat([i, torch.full((3, i.shape[1], width - i.shape[2]), value, dtype=torch.uint8)], dim=2)
        if i.shape[2] < width else i
        for i in images
    ]
    return torch.cat(padded, dim=1)


def compare_grids(
    grids: Mapping[str, Tensor],
    path: str | os.PathLike[str],
    nrow: int = 8,
    title_height: int = 24,
    gap: int = 12,
    scale: int = 1,
) -> Path:
    """Save labelled grids side by side, e.g. two generators on the same noise.

    Args:
        grids: ``label -> images (n, c, h, w) in [-1, 1]``, drawn left to right.
        path: PNG to write.
        nrow: Images per row in each grid.
        title_height: Pixel height of the label above each grid.
        gap: White pixels between grids.
        scale: Pixel enlargement of every image (see :func:`image_grid`).
    """
    if not grids:
        raise ConfigError("compare_grids needs at least one labelled set of images")
    panels = []
    for label, images in grids.items():
        grid = image_grid(images, nrow=nrow, scale=scale)
        width = max(grid.shape[2], _text_width(str(label), title_height) + 8)
        if width > grid.shape[2]:  # a long label: centre the grid on a wider panel
            left = (width - grid.shape[2]) // 2
            canvas = torch.full((3, grid.shape[1], width), 255, dtype=torch.uint8)
            canvas[:, :, left : left + grid.shape[2]] = grid
            grid = canvas
        panels.append(torch.cat([_label_band(str(label), grid.shape[2], title_height), grid], dim=1))
    return _save(_hcat(panels, gap), path)


def evolution_strip(
    snapshots: Sequence[tuple[str, Tensor]],
    path: str | os.PathLike[str],
    label_width: int | None = None,
) -> Path:
    """Stack one row of samples per snapshot, top to bottom, each labelled on the left.

    Args:
        snapshots: ``(label, images)`` pairs in time order; images are ``uint8``
            ``(n, 3, h, w)`` tiles (e.g. from :func:`grid_tiles`) or floats in ``[-1, 1]``.
        path: PNG to write.
        label_width: Pixel width of the label column ("step 200"); default: the widest label.
    """
    if not snapshots:
        raise ConfigError("evolution_strip needs at least one snapshot")
    rows: list[tuple[str, Tensor]] = []
    for label, images in snapshots:
        images = images if images.dtype == torch.uint8 else to_uint8(images)
        images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        rows.append((str(label), image_grid(images.float().div(127.5).sub(1.0), nrow=images.shape[0])))
    width = label_width or max(_text_width(label, row.shape[1]) for label, row in rows) + 10
    return _save(_vcat([_hcat([_label_band(label, width, row.shape[1]), row], gap=0) for label, row in rows]), path)


def _smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average over finite values (NaN where a window has none)."""
    out: list[float] = []
    total, count = 0.0, 0
    for i, v in enumerate(values):
        if math.isfinite(v):
            total, count = total + v, count + 1
        if i >= window and math.isfinite(values[i - window]):
            total, count = total - values[i - window], count - 1
        out.append(total / count if count else math.nan)
    return out


def plot_losses(
    histories: Mapping[str, History],
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    smooth: int | None = None,
    title: str | None = None,
) -> Path:
    """Loss curves of one or several runs, one panel per run side by side, shared step axis.

    Args:
        histories: ``run name -> History`` (e.g. ``{"DCGAN": t1.history, "WGAN-GP": t2.history}``).
        path: PNG to write.
        columns: History columns to draw; default the losses, the Wasserstein estimate
            and every penalty that has values.
        smooth: Moving-average window in steps (faint raw curve drawn underneath);
            default about 1/50 of the run; 1 draws raw values only.
        title: Figure title.
    """
    plt = require_matplotlib()
    if not histories:
        raise ConfigError("plot_losses needs at least one history")
    fig, axes = plt.subplots(1, len(histories), figsize=(5.5 * len(histories), 3.8), squeeze=False)
    for ax, (name, history) in zip(axes[0], histories.items()):
        wanted = list(columns) if columns else [*LOSS_COLUMNS, *(c for c in history.columns if c.startswith("penalty/"))]
        steps = history.column("step")
        window = smooth or max(1, len(steps) // 50)
        drawn = [c for c in wanted if c in history.columns and any(math.isfinite(v) for v in history.column(c))]
        penalties = [c for c in drawn if c.startswith("penalty/")]
        # Penalties (10 at the start of WGAN-GP) would flatten the losses: they get the right axis.
        right = ax.twinx() if penalties and len(penalties) < len(drawn) else None
        lines = []
        for k, column in enumerate(drawn):
            target = right if right is not None and column in penalties else ax
            values, colour = history.column(column), f"C{k}"
            if window > 1:
                target.plot(steps, values, color=colour, alpha=0.25, linewidth=0.8)
            label = column.replace("penalty/", "").replace("_", " ") + (" (right axis)" if target is right else "")
            lines += target.plot(steps, _smooth(values, window), color=colour, linewidth=1.5, label=label,
                                 linestyle="--" if target is right else "-")
        ax.set_title(f"{name} ({len(steps)} steps)")
        ax.set_xlabel("generator step")
        ax.grid(alpha=0.3)
        if lines:
            ax.legend(lines, [line.get_label() for line in lines], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _savefig(fig, plt, path)


def plot_series(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike[str],
    xlabel: str = "generator step",
    ylabel: str = "",
    title: str | None = None,
    hline: float | None = None,
) -> Path:
    """Several ``name -> (x, y)`` curves on one axis (e.g. modes captured against steps)."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (x, y) in series.items():
        ax.plot(list(x), list(y), marker="o", markersize=3, label=name)
    if hline is not None:
        ax.axhline(hline, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _savefig(fig, plt, path)


def _savefig(fig: Any, plt: Any, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
