"""SampleGrid: fixed-noise sample grids during training, and their evolution strip."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .._validation import check_int_at_least
from ..errors import ConfigError
from ._base import _Periodic, noise_size

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["SampleGrid"]


_GRID_NAME = re.compile(r"^(?P<prefix>.+)_step(?P<step>\d+)\.png$")


class SampleGrid(_Periodic):
    """Save a grid of samples from the same fixed noise every ``every`` steps or epochs.

    The noise comes from its own seeded generator, so grids of one run (and of a resumed
    run) show the same latent points as training goes on, and the training RNG is not
    touched. Files are ``<folder>/<prefix>_step<step>.png``.

    Args:
        folder: Where the PNGs go.
        every: Save every this many steps (or epochs, with ``unit="epoch"``).
        unit: ``"step"`` or ``"epoch"``.
        n: Samples per grid.
        nrow: Samples per grid row.
        seed: Seed of the fixed noise.
        prefix: File name prefix.
        at_start: Also save the untrained generator's grid at step 0.
        at_end: Also save when ``fit`` ends or is interrupted between two saves.
        scale: Enlarge every pixel to ``scale x scale`` (for small images).

    Attributes:
        paths: Every grid this callback wrote, in order.

    Example:
        >>> import tempfile, torch, ganzoo
        >>> from ganzoo.callbacks import SampleGrid
        >>> trainer = ganzoo.recipes.dcgan(image_size=8, width=2, latent_dim=4, device="cpu", seed=0)
        >>> grids = SampleGrid(tempfile.mkdtemp(), every=2, n=4, nrow=2)
        >>> data = torch.utils.data.DataLoader(torch.rand(32, 3, 8, 8) * 2 - 1, batch_size=8)
        >>> _ = trainer.fit(data, steps=3, callbacks=[grids])
        >>> [p.name for p in grids.paths]
        ['samples_step0000000.png', 'samples_step0000002.png', 'samples_step0000003.png']
    """

    main_process_only = True  # writes files or prints: rank 0 only under multi-process training

    def __init__(
        self,
        folder: str | os.PathLike[str],
        every: int = 500,
        *,
        unit: str = "step",
        n: int = 64,
        nrow: int = 8,
        seed: int = 0,
        prefix: str = "samples",
        at_start: bool = True,
        at_end: bool = True,
        scale: int = 1,
    ) -> None:
        super().__init__(every, unit)
        self.folder = Path(folder)
        self.scale = check_int_at_least("scale", scale, 1)
        self.n = check_int_at_least("n", n, 1)
        self.nrow = check_int_at_least("nrow", nrow, 1)
        self.seed, self.prefix = seed, prefix
        self.at_start, self.at_end = at_start, at_end
        self.paths: list[Path] = []
        self._noise: torch.Tensor | None = None
        self._last_step = -1

    def noise(self, latent_dim: int) -> torch.Tensor:
        """The fixed noise ``(n, latent_dim)``: the same for every call with this seed."""
        if self._noise is None or self._noise.shape[1] != latent_dim:
            self._noise = torch.randn(self.n, latent_dim, generator=torch.Generator().manual_seed(self.seed))
        return self._noise

    def on_fit_start(self, trainer: Trainer) -> None:
        if self.at_start and trainer.step == 0:
            self.fire(trainer)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.at_end and trainer.step != self._last_step:
            self.fire(trainer)

    def on_interrupt(self, trainer: Trainer, error: BaseException) -> None:
        self.on_fit_end(trainer)

    def fire(self, trainer: Trainer) -> None:
        """Save the grid for the current step now."""
        from ..plotting import save_image_grid

        images = trainer.sample(self.n, z=self.noise(noise_size(trainer, "SampleGrid")))
        path = save_image_grid(images, self.folder / f"{self.prefix}_step{trainer.step:07d}.png", nrow=self.nrow,
                               scale=self.scale)
        self.paths.append(path)
        self._last_step = trainer.step

    def saved(self) -> list[tuple[int, Path]]:
        """``(step, path)`` of every grid with this prefix in the folder, earlier runs included."""
        found = []
        for path in self.folder.glob(f"{self.prefix}_step*.png"):
            match = _GRID_NAME.match(path.name)
            if match and match["prefix"] == self.prefix:
                found.append((int(match["step"]), path))
        return sorted(found)

    def write_evolution(self, path: str | os.PathLike[str], columns: int | None = None, max_rows: int = 12) -> Path:
        """An evolution strip: the first ``columns`` samples of each saved grid, one row per
        snapshot, top to bottom (at most ``max_rows`` snapshots, evenly spread, last included).

        Raises:
            ConfigError: If no grid was saved yet.
        """
        from ..plotting import evolution_strip, grid_tiles, read_image

        saved = self.saved()
        if not saved:
            raise ConfigError(f"no sample grids named {self.prefix}_step*.png in {str(self.folder)!r} yet")
        if len(saved) > max_rows:
            picks = sorted({round(i * (len(saved) - 1) / (max_rows - 1)) for i in range(max_rows)})
            saved = [saved[i] for i in picks]
        columns = columns or self.nrow
        snapshots = []
        for step, grid_path in saved:
            grid = read_image(grid_path)
            cols = min(self.nrow, self.n)
            tile = (grid.shape[2] - 2) // cols - 2
            snapshots.append((f"step {step}", grid_tiles(grid, tile)[:columns]))
        return evolution_strip(snapshots, path)
