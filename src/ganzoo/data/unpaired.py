"""Two unpaired image domains as one dataset, and the built-in unpaired faces task.

:class:`Unpaired` pairs each item of the longer domain with a random item of the shorter
one, drawn afresh every time it is read (the reference's ``UnalignedDataset``), so the
pairing changes every epoch. The draw uses torch's global generator, which the Trainer's
data stream owns: a resumed run reads the same pairs.

:func:`unpaired_faces` builds a task whose answer is known: two :class:`FacesDomain` sets
of synthetic faces that differ in one attribute only (by default black hair in X, blonde
in Y), every other attribute drawn uniformly and independently in both, so
:func:`ganzoo.metrics.read_faces` tells whether a translation changed that attribute and
kept the rest.

Example:
    >>> import torch
    >>> from ganzoo.data import unpaired_faces
    >>> task = unpaired_faces(size=32, length=64, seed=0)
    >>> batch = next(iter(torch.utils.data.DataLoader(task, batch_size=4, shuffle=True)))
    >>> batch["x"].shape, batch["y"].shape
    (torch.Size([4, 3, 32, 32]), torch.Size([4, 3, 32, 32]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from .._rng import derive_seed
from .._validation import check_choice, check_int_at_least
from ..errors import ConfigError
from .faces import ATTRIBUTE_NAMES, PALETTES, STYLES, SyntheticFaces

__all__ = ["FacesDomain", "Unpaired", "unpaired_faces"]


def _image(item: Any) -> Tensor:
    if isinstance(item, Tensor):
        return item
    if isinstance(item, (tuple, list)) and item and isinstance(item[0], Tensor):
        return item[0]
    if isinstance(item, dict):
        for key in ("image", "images"):
            if isinstance(item.get(key), Tensor):
                return item[key]
    raise ConfigError(
        f"an item of type {type(item).__name__} holds no image; Unpaired needs datasets whose "
        "items are image tensors, (image, label) tuples or dicts with an 'image' tensor"
    )


class Unpaired(Dataset):
    """Two map-style datasets of images as one dataset of unpaired ``{"x": ..., "y": ...}`` items.

    Item ``i`` is image ``i`` of the longer domain with a random image of the other
    (uniform, drawn each time from torch's global generator), so ``len`` is the longer
    domain's length and a shuffling DataLoader gives a new pairing every epoch. Items of
    the domains may be image tensors (``ImageFolderDataset``), ``(image, label)`` tuples
    (``SyntheticFaces``) or dicts with an ``"image"``.

    Args:
        dataset_x: Images of domain X.
        dataset_y: Images of domain Y.

    Raises:
        ConfigError: If a domain is empty, or the domains' images differ in channels or size.

    Example:
        >>> import torch
        >>> from ganzoo.data import Unpaired
        >>> pairs = Unpaired(torch.zeros(5, 3, 8, 8), torch.ones(2, 3, 8, 8))
        >>> len(pairs), float(pairs[4]["y"].mean())
        (5, 1.0)
    """

    def __init__(self, dataset_x: Any, dataset_y: Any) -> None:
        shapes = []
        for name, dataset in (("dataset_x", dataset_x), ("dataset_y", dataset_y)):
            try:
                n = len(dataset)
            except TypeError:
                raise ConfigError(f"{name} must be a map-style dataset (with len and indexing), got {type(dataset).__name__}") from None
            if n == 0:
                raise ConfigError(f"{name} is empty; each domain needs at least one image (check the folder or dataset)")
            image = _image(dataset[0])
            if image.dim() != 3:
                raise ConfigError(f"{name} items must be images of shape (channels, H, W), got {tuple(image.shape)}")
            shapes.append(tuple(image.shape))
        if shapes[0][0] != shapes[1][0]:
            raise ConfigError(
                f"the domains have different channel counts: dataset_x {shapes[0][0]}, dataset_y {shapes[1][0]}; "
                "convert both to RGB (ImageFolderDataset does) or both to grayscale"
            )
        if shapes[0][1:] != shapes[1][1:]:
            raise ConfigError(
                f"the domains have images of different sizes: dataset_x {shapes[0][1]}x{shapes[0][2]}, "
                f"dataset_y {shapes[1][1]}x{shapes[1][2]}; load both with the same image_size"
            )
        self.dataset_x, self.dataset_y = dataset_x, dataset_y
        self.image_shape: tuple[int, int, int] = shapes[0]  # type: ignore[assignment]
        self._x_longer = len(dataset_x) >= len(dataset_y)

    def __len__(self) -> int:
        return max(len(self.dataset_x), len(self.dataset_y))

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for Unpaired of length {len(self)}")
        index %= len(self)
        longer, shorter = (self.dataset_x, self.dataset_y) if self._x_longer else (self.dataset_y, self.dataset_x)
        other = int(torch.randint(len(shorter), ()))
        a, b = _image(longer[index]), _image(shorter[other])
        x, y = (a, b) if self._x_longer else (b, a)
        return {"x": x, "y": y}

    def __repr__(self) -> str:
        return f"Unpaired(x={len(self.dataset_x)} images, y={len(self.dataset_y)} images, shape={self.image_shape})"


def _value_index(attribute: str, value: str | int) -> int:
    values = tuple(PALETTES[attribute]) if attribute != "hair_style" else STYLES
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < len(values):
            raise ConfigError(f"{attribute} value {value} out of range; choose one of {values} (or an index below {len(values)})")
        return value
    return values.index(check_choice(attribute, value, values))


class FacesDomain(SyntheticFaces):
    """Synthetic faces with one attribute held at one value, every other drawn as in :class:`SyntheticFaces`.

    Args:
        attribute: Which attribute is fixed (one of :data:`~ganzoo.data.faces.ATTRIBUTE_NAMES`).
        value: Its value, by name (``"blonde"``) or index.
        size, length, seed, cache: As for :class:`SyntheticFaces`.
    """

    def __init__(self, attribute: str = "hair_colour", value: str | int = "black", size: int = 32,
                 length: int = 2000, seed: int = 0, *, cache: bool = False) -> None:
        super().__init__(size=size, length=length, seed=seed, cache=False)
        check_choice("attribute", attribute, ATTRIBUTE_NAMES)
        self.attribute, self.value = attribute, _value_index(attribute, value)
        self.attributes[:, ATTRIBUTE_NAMES.index(attribute)] = self.value
        if cache:
            chunks = torch.arange(length).split(512)
            self._cache = torch.cat([self._render(c).add_(1).mul_(127.5).round_().to(torch.uint8) for c in chunks])


def unpaired_faces(size: int = 32, length: int = 2000, attribute: str = "hair_colour",
                   values: Sequence[str | int] = ("black", "blonde"), seed: int = 0, *, cache: bool = False) -> Unpaired:
    """The built-in unpaired task: faces with ``attribute = values[0]`` (X) and ``values[1]`` (Y).

    Both domains draw every other attribute uniformly (independent seeds derived from
    ``seed``), so a perfect translation changes ``attribute`` and keeps the rest. The
    domains are ``task.dataset_x`` and ``task.dataset_y`` (:class:`FacesDomain`).

    Args:
        size: Image side (32, 64 or 128).
        length: Images per domain.
        attribute: The attribute the domains differ in.
        values: Its value in X and in Y.
        seed: Fixes both domains.
        cache: Render once and keep 8-bit copies (see :class:`SyntheticFaces`).
    """
    check_int_at_least("length", length, 1)
    check_choice("attribute", attribute, ATTRIBUTE_NAMES)
    if len(values) != 2 or _value_index(attribute, values[0]) == _value_index(attribute, values[1]):
        raise ConfigError(f"values={tuple(values)!r} is not valid; give two different values of {attribute}, e.g. ('black', 'blonde')")
    x = FacesDomain(attribute, values[0], size, length, derive_seed(seed, "x") % 2**31, cache=cache)
    y = FacesDomain(attribute, values[1], size, length, derive_seed(seed, "y") % 2**31, cache=cache)
    return Unpaired(x, y)
