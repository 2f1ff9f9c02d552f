"""Synthetic anime-style faces with known modes, for measuring image-level mode collapse.

Every image is drawn procedurally from a discrete attribute grid (4 hair colours x 4 eye
colours x 3 backgrounds x 3 hair styles = **144 modes**) plus small continuous jitter
(face position +-0.03 and radius 0.23-0.27 of the image side, a brightness shift of
+-0.04 and a vertical light gradient of +-0.04 per unit height), so the data is not a
lookup table. :func:`ganzoo.metrics.read_faces` recovers the attributes of any image
(real or generated) and says whether it is high quality, so modes captured, % high
quality and reverse KL are computed exactly as for the 2-D mixtures (BENCHMARKS.md,
section 2). Nothing is downloaded or stored: images are rendered on the fly by a
vectorised torch painter (a few milliseconds for a batch of 64 at 64x64 on one core).

The picture, in units of the face radius ``r`` around the face centre ``(cx, cy)`` (y
grows downwards): a background; long hair (a band of half-width 1.4r from 0.3r above the
centre to the bottom edge) or two buns (circles of radius 0.4r at (+-1.5r, -0.25r)) or
neither (short hair); a back-hair disc of radius 1.12r; the skin-coloured face disc of
radius r; zig-zag bangs down to about 0.45r above the centre; two big eyes (dark rims,
iris ellipses of semi-axes 0.24r x 0.33r at (+-0.45r, 0.12r)); a small mouth.

Example:
    >>> from ganzoo.data import SyntheticFaces
    >>> ds = SyntheticFaces(size=32, length=100, seed=0)
    >>> image, attrs = ds[0]
    >>> image.shape, image.dtype, attrs.shape
    (torch.Size([3, 32, 32]), torch.float32, torch.Size([4]))
    >>> ds.num_modes, ds.attribute_names
    (144, ('hair_colour', 'eye_colour', 'background', 'hair_style'))
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._rng import cpu_generator
from .._validation import check_choice, check_int_at_least
from ..errors import ConfigError

__all__ = ["SyntheticFaces", "FacesSampler", "draw_faces", "FACE_SIZES", "NUM_MODES", "ATTRIBUTE_NAMES", "PALETTES", "SKIN", "STYLES"]

#: The image sizes :class:`SyntheticFaces` renders (``size=``).
FACE_SIZES = (32, 64, 128)
#: The four attributes, in the order of an attribute row (the columns of ``attributes``).
ATTRIBUTE_NAMES = ("hair_colour", "eye_colour", "background", "hair_style")
#: The hair styles (the values of the ``hair_style`` attribute), in index order.
STYLES = ("short", "long", "buns")

#: The colours of the hair, eye and background attributes, ``attribute -> value name -> RGB``
#: in [0, 1]. Chosen so that colours the readout compares are far apart: within each
#: palette >= 0.51, any hair vs any background >= 0.42, the skin vs everything >= 0.42
#: (Euclidean), i.e. more than twice the readout tolerance (:mod:`ganzoo.metrics.faces`).
PALETTES: dict[str, dict[str, tuple[float, float, float]]] = {
    "hair_colour": {
        "black": (0.10, 0.08, 0.12),
        "blonde": (0.98, 0.86, 0.30),
        "red": (0.82, 0.14, 0.14),
        "violet": (0.62, 0.30, 0.85),
    },
    "eye_colour": {
        "blue": (0.12, 0.32, 0.92),
        "green": (0.10, 0.62, 0.22),
        "amber": (0.95, 0.55, 0.05),
        "magenta": (0.82, 0.12, 0.60),
    },
    "background": {
        "sky": (0.42, 0.66, 0.96),
        "mint": (0.52, 0.90, 0.52),
        "slate": (0.28, 0.32, 0.50),
    },
}
#: The skin colour (RGB in [0, 1]); the readout finds the face by it.
SKIN = (1.00, 0.84, 0.72)
_RIM = (0.12, 0.08, 0.10)
_MOUTH = (0.70, 0.25, 0.28)

# Geometry (fractions of the image side, or of the face radius r). The readout in
# ganzoo.metrics.faces places its probes with the same numbers.
NOMINAL_CENTRE = (0.5, 0.55)
NOMINAL_RADIUS = 0.25
CENTRE_JITTER = 0.03
RADIUS_JITTER = 0.02
BRIGHTNESS_JITTER = 0.04
GRADIENT_JITTER = 0.04
BACK_HAIR: dict[str, Any] = {"dy": -0.05, "radius": 1.12}
LONG_HAIR: dict[str, Any] = {"half_width": 1.4, "top": -0.3}
BUNS: dict[str, Any] = {"dx": 1.5, "dy": -0.25, "radius": 0.4}
BANGS: dict[str, Any] = {"edge": -0.45, "zigzag": 0.12, "period": 0.5}
EYES: dict[str, Any] = {"dx": 0.45, "dy": 0.12, "iris": (0.24, 0.33), "rim": 0.06}
MOUTH: dict[str, Any] = {"dy": 0.6, "axes": (0.12, 0.04)}


#: How many modes the faces have, 4 hair colours x 4 eye colours x 3 backgrounds x 3 hair styles = 144.
NUM_MODES = math.prod((*(len(PALETTES[a]) for a in ATTRIBUTE_NAMES[:3]), len(STYLES)))


def _palette_tensor(attribute: str) -> Tensor:
    return torch.tensor(list(PALETTES[attribute].values()), dtype=torch.float32)


def _cards() -> tuple[int, ...]:
    return (*(len(PALETTES[a]) for a in ATTRIBUTE_NAMES[:3]), len(STYLES))


def _ellipse_sd(dx: Tensor, dy: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return (torch.sqrt((dx / a) ** 2 + (dy / b) ** 2) - 1.0) * torch.minimum(a, b)


def _paint(canvas: Tensor, alpha: Tensor, colour: Tensor) -> None:
    """In place: canvas = canvas * (1 - alpha) + colour * alpha; alpha (N, S, S), colour (N, 3) or (3,)."""
    colour = colour.reshape(-1, 3, 1, 1)
    canvas.add_(alpha.unsqueeze(1) * (colour - canvas))


def draw_faces(attributes: Tensor, size: int, jitter: Tensor | None = None) -> Tensor:
    """Draw faces for the given attribute rows.

    Args:
        attributes: ``(N, 4)`` integer attribute indices in :data:`ATTRIBUTE_NAMES` order.
        size: Image side (any int >= 8; the dataset uses 32, 64 or 128).
        jitter: ``(N, 5)`` numbers in [0, 1] (centre x, centre y, radius, brightness,
            gradient); 0.5 everywhere (the nominal face) when None.

    Returns:
        ``(N, 3, size, size)`` float32 images in [-1, 1].
    """
    attributes = torch.as_tensor(attributes, dtype=torch.long)
    n = attributes.shape[0]
    if jitter is None:
        jitter = torch.full((n, 5), 0.5)
    j = (jitter.float() * 2 - 1).reshape(n, 5, 1, 1)  # in [-1, 1]
    cx = NOMINAL_CENTRE[0] + CENTRE_JITTER * j[:, 0]
    cy = NOMINAL_CENTRE[1] + CENTRE_JITTER * j[:, 1]
    r = NOMINAL_RADIUS + RADIUS_JITTER * j[:, 2]
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    dx = (coords.reshape(1, 1, size) - cx) / r  # (N, 1, S) in units of r
    dy = (coords.reshape(1, size, 1) - cy) / r  # (N, S, 1)
    r_px = r * size  # so coverage = clamp(0.5 - sd_in_r * r_px)

    def cover(sd_in_r: Tensor) -> Tensor:
        return (0.5 - sd_in_r * r_px).clamp(0.0, 1.0)

    hair = _palette_tensor("hair_colour")[attributes[:, 0]]
    eyes = _palette_tensor("eye_colour")[attributes[:, 1]]
    background = _palette_tensor("background")[attributes[:, 2]]
    style = attributes[:, 3].reshape(n, 1, 1)

    canvas = background.reshape(n, 3, 1, 1).expand(n, 3, size, size).clone()
    long_sd = torch.maximum(dx.abs() - LONG_HAIR["half_width"], LONG_HAIR["top"] - dy)
    _paint(canvas, cover(long_sd) * (style == STYLES.index("long")), hair)
    bun = torch.sqrt((dx.abs() - BUNS["dx"]) ** 2 + (dy - BUNS["dy"]) ** 2) - BUNS["radius"]
    _paint(canvas, cover(bun) * (style == STYLES.index("buns")), hair)
    back_sd = torch.sqrt(dx**2 + (dy - BACK_HAIR["dy"]) ** 2) - BACK_HAIR["radius"]
    _paint(canvas, cover(back_sd), hair)
    face_sd = torch.sqrt(dx**2 + dy**2) - 1.0
    _paint(canvas, cover(face_sd), torch.tensor(SKIN))
    phase = torch.remainder(dx / BANGS["period"], 2.0) - 1.0  # zig-zag of the fringe
    edge = BANGS["edge"] + BANGS["zigzag"] * phase.abs()
    _paint(canvas, cover(torch.maximum(dy - edge, back_sd)), hair)
    eye_dx, eye_dy = dx.abs() - EYES["dx"], dy - EYES["dy"]
    a, b = (torch.tensor(v) for v in EYES["iris"])
    rim = EYES["rim"]
    _paint(canvas, cover(_ellipse_sd(eye_dx, eye_dy, a + rim, b + rim)), torch.tensor(_RIM))
    _paint(canvas, cover(_ellipse_sd(eye_dx, eye_dy, a, b)), eyes)
    ma, mb = (torch.tensor(v) for v in MOUTH["axes"])
    _paint(canvas, cover(_ellipse_sd(dx, dy - MOUTH["dy"], ma, mb)), torch.tensor(_MOUTH))

    brightness = BRIGHTNESS_JITTER * j[:, 3].reshape(n, 1, 1, 1)
    gradient = GRADIENT_JITTER * j[:, 4].reshape(n, 1, 1, 1) * (coords.reshape(1, 1, size, 1) - 0.5)
    canvas.add_(brightness + gradient).clamp_(0.0, 1.0)
    return canvas.mul_(2).sub_(1)


class SyntheticFaces(Dataset):
    """Procedural anime-style faces with 144 known modes (see the module docstring).

    Item ``i`` is ``(image, attributes)``: a float32 ``(3, size, size)`` image in [-1, 1]
    and a LongTensor of the 4 attribute indices (:attr:`attribute_names` order). The
    attributes (uniform over the 144 modes) and the jitter of every item are fixed by
    ``seed`` at construction; images are rendered when asked for (batched fetching
    through a DataLoader renders a whole batch at once via ``__getitems__``).

    Args:
        size: Image side: 32, 64 or 128.
        length: Number of items.
        seed: Fixes every item's attributes and jitter.
        cache: Render every item once at construction and keep it as 8-bit RGB, like an
            image file (``length * 3 * size**2`` bytes: 61 MB for 20,000 items at 32x32,
            246 MB at 64x64). Reading is then an index, not a render; pixel values
            differ from the uncached ones by at most 1/255 of the range.

    Example:
        >>> import torch
        >>> from ganzoo.data import SyntheticFaces
        >>> ds = SyntheticFaces(size=32, length=256, seed=0)
        >>> loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True)
        >>> images, attrs = next(iter(loader))
        >>> images.shape, attrs.shape
        (torch.Size([64, 3, 32, 32]), torch.Size([64, 4]))
    """

    #: The attribute names, in attribute-row order (:data:`ATTRIBUTE_NAMES`).
    attribute_names: tuple[str, ...] = ATTRIBUTE_NAMES
    #: The hair styles, in index order (:data:`STYLES`).
    styles: tuple[str, ...] = STYLES

    def __init__(self, size: int = 64, length: int = 20000, seed: int = 0, *, cache: bool = False) -> None:
        self.size = check_choice("size", size, FACE_SIZES)
        self.length = check_int_at_least("length", length, 1)
        self.seed = check_int_at_least("seed", seed, 0)
        generator = torch.Generator().manual_seed(seed)
        modes = torch.randint(self.num_modes, (length,), generator=generator)
        self.attributes = self.mode_attributes(modes)
        self.jitter = torch.rand(length, 5, generator=generator)
        self._cache: Tensor | None = None
        if cache:
            chunks = torch.arange(length).split(512)
            self._cache = torch.cat([self._render(c).add_(1).mul_(127.5).round_().to(torch.uint8) for c in chunks])

    # ------------------------------------------------------------------ the attribute grid
    @property
    def num_attributes(self) -> int:
        """Number of attributes (4)."""
        return len(self.attribute_names)

    @property
    def attribute_sizes(self) -> tuple[int, ...]:
        """How many values each attribute has, ``(4, 4, 3, 3)``."""
        return _cards()

    @property
    def attribute_values(self) -> dict[str, tuple[str, ...]]:
        """The value names of each attribute, e.g. ``{"hair_style": ("short", "long", "buns"), ...}``."""
        values = {name: tuple(PALETTES[name]) for name in ATTRIBUTE_NAMES[:3]}
        values["hair_style"] = STYLES
        return values

    @property
    def num_modes(self) -> int:
        """Number of distinct attribute combinations (144)."""
        return NUM_MODES

    @staticmethod
    def mode_index(attributes: Tensor) -> Tensor:
        """Mode number (0 .. 143) of ``(..., 4)`` attribute rows (mixed radix, first attribute slowest)."""
        attributes = torch.as_tensor(attributes, dtype=torch.long)
        index = torch.zeros(attributes.shape[:-1], dtype=torch.long)
        for k, card in enumerate(_cards()):
            index = index * card + attributes[..., k]
        return index

    @staticmethod
    def mode_attributes(modes: Tensor) -> Tensor:
        """Inverse of :meth:`mode_index`: ``(...,)`` mode numbers to ``(..., 4)`` attribute rows."""
        rest = torch.as_tensor(modes, dtype=torch.long).clone()
        columns = []
        for card in reversed(_cards()):
            columns.append(rest % card)
            rest = rest // card
        return torch.stack(columns[::-1], dim=-1)

    def describe(self, attributes: Sequence[int] | Tensor) -> dict[str, str]:
        """Names of one attribute row, e.g. ``{"hair_colour": "red", ...}``."""
        row = [int(v) for v in attributes]
        return {name: self.attribute_values[name][v] for name, v in zip(self.attribute_names, row)}

    # ------------------------------------------------------------------ items
    def __len__(self) -> int:
        return self.length

    def _indices(self, indices: Sequence[int] | Tensor) -> Tensor:
        index = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        if index.numel() and (index.min() < -self.length or index.max() >= self.length):
            raise IndexError(f"index out of range for SyntheticFaces of length {self.length}")
        return torch.remainder(index, self.length)

    def _render(self, index: Tensor) -> Tensor:
        return draw_faces(self.attributes[index], self.size, self.jitter[index])

    def batch(self, indices: Sequence[int] | Tensor) -> tuple[Tensor, Tensor]:
        """Items ``indices`` rendered at once: ``(images (N, 3, S, S), attributes (N, 4))``."""
        index = self._indices(indices)
        if self._cache is not None:
            images = self._cache[index].float().div_(127.5).sub_(1.0)
        else:
            images = self._render(index)
        return images, self.attributes[index]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        if isinstance(index, bool) or not isinstance(index, int):
            index = int(index)  # numpy / torch integers
        images, attrs = self.batch([index])
        return images[0], attrs[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Tensor, Tensor]]:
        """Batched fetching (used by ``torch.utils.data.DataLoader``): one vectorised render."""
        images, attrs = self.batch(list(indices))
        return list(zip(images.unbind(0), attrs.unbind(0)))

    def sampler(self, batch_size: int = 64, seed: int | None = None) -> FacesSampler:
        """An infinite iterable of ``(images, attributes)`` batches of random items."""
        return FacesSampler(self, batch_size, seed)

    @staticmethod
    def draw(attributes: Tensor, size: int = 64, jitter: Tensor | None = None) -> Tensor:
        """Draw faces with chosen attributes (see :func:`draw_faces`); the nominal,
        un-jittered face when ``jitter`` is None."""
        attributes = torch.as_tensor(attributes, dtype=torch.long)
        if attributes.dim() != 2 or attributes.shape[1] != len(ATTRIBUTE_NAMES):
            raise ConfigError(f"attributes must have shape (N, {len(ATTRIBUTE_NAMES)}), got {tuple(attributes.shape)}")
        if ((attributes < 0) | (attributes >= torch.tensor(_cards()))).any():
            raise ConfigError(f"attribute indices out of range; sizes are {dict(zip(ATTRIBUTE_NAMES, _cards()))}")
        check_int_at_least("size", size, 8)
        return draw_faces(attributes, size, jitter)

    def __repr__(self) -> str:
        cached = ", cache=True" if self._cache is not None else ""
        return f"SyntheticFaces(size={self.size}, length={self.length}, seed={self.seed}{cached}, modes={self.num_modes})"


class FacesSampler:
    """Infinite iterable of random ``(images, attributes)`` batches from a :class:`SyntheticFaces`.

    Iterating twice with a seed gives the same sequence both times.
    """

    #: True; the sampler never ends, so train with ``fit(steps=N)``, not ``fit(epochs=N)``.
    endless = True

    def __init__(self, dataset: SyntheticFaces, batch_size: int = 64, seed: int | None = None) -> None:
        self.dataset = dataset
        self.batch_size = check_int_at_least("batch_size", batch_size, 1)
        self.seed = seed

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        generator = cpu_generator(self.seed)
        while True:
            yield self.dataset.batch(torch.randint(len(self.dataset), (self.batch_size,), generator=generator))
