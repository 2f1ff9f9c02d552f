r"""Readout of :class:`~ganzoo.data.SyntheticFaces` images: attributes, quality, mode coverage.

:func:`read_faces` recovers the four attributes of any image, real or generated, at
32x32, 64x64 or 128x128 (any size >= 8 works), in three deterministic steps:

1. **Find the face.** Pixels within :data:`FACE_TOLERANCE` of the skin colour form the
   skin mask. It is compared (least squares, at 32x32) with the skin masks of the
   un-jittered face moved to 605 candidate positions and radii (1/4-pixel steps at 32x32
   over 1.25 times the jitter range); the best candidate gives the face centre and
   radius. The face is *found* when the cosine similarity of the mask and that
   candidate's mask is at least 0.8 (real faces: >= 0.88; noise: < 0.25). Otherwise the
   best candidate is still used, so every image gets its nearest attributes.
2. **Probe fixed regions** relative to that face (bilinear samples): three hair probes
   (the fringe), the two iris centres, three background probes (the top corners and top
   edge of the image), and four hair-style probes (where long hair falls beside the
   cheeks, where the buns sit).
3. **Match colours to the palettes.** Each attribute takes the palette entry with the
   smallest mean distance over its probes; the hair style takes the template (short /
   long / buns: which style probes show hair and which background) that fits best.

An image is **high quality** (HQ) when the face is found and *every* probe lies within
:data:`FACE_TOLERANCE` (Euclidean RGB distance on the [0, 1] scale) of the colour its
recovered attributes predict: 0.2, less than half the smallest distance between colours
that compete for a probe (0.42), so a match within tolerance is unique. Real images vary
by at most about 0.1 (the brightness and gradient jitter).

:func:`face_coverage` then reports the protocol numbers of the 2-D mode-collapse benchmarks
(VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018), here for images: modes captured
(distinct attribute combinations among the HQ images), % HQ, and the reverse KL of the
histogram :math:`p` of the recovered modes of all finite images against the uniform
distribution over the :math:`K = 144` modes,

.. math::
    \mathrm{KL}(p \,\|\, U_K) = \sum_{i=1}^{K} p_i \log (K p_i) \qquad (0 \log 0 = 0),

which is 0 when the images spread evenly over the modes and :math:`\log 144 \approx 4.97`
when they all read as one face.

Example:
    >>> from ganzoo.data import SyntheticFaces
    >>> from ganzoo.metrics import face_coverage, read_faces
    >>> ds = SyntheticFaces(size=32, length=500, seed=0)
    >>> images, attrs = ds.batch(range(500))
    >>> readout = read_faces(images)
    >>> bool((readout.attributes == attrs).all()), bool(readout.high_quality.all())
    (True, True)
    >>> face_coverage(images).hq_pct
    100.0
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.faces import (
    ATTRIBUTE_NAMES,
    BUNS,
    CENTRE_JITTER,
    EYES,
    NOMINAL_CENTRE,
    NOMINAL_RADIUS,
    NUM_MODES,
    PALETTES,
    RADIUS_JITTER,
    SKIN,
    STYLES,
    SyntheticFaces,
    draw_faces,
)
from ..errors import ConfigError
from .modes import ModeCoverage, reverse_kl

__all__ = ["FACE_TOLERANCE", "FaceReadout", "read_faces", "face_coverage"]

#: Default colour tolerance of :func:`read_faces`: the largest Euclidean RGB distance (on the
#: [0, 1] scale) between a probe and its predicted colour for a high-quality image.
FACE_TOLERANCE = 0.2
_MIN_SIMILARITY = 0.8
_SEARCH_SIZE = 32
_REGION = 0.06  # probe regions: 3x3 samples spaced 0.06 face radii (0.5 px at 32x32)

# Probe positions in units of the face radius, relative to the face centre (y down).
_HAIR_PROBES = ((0.0, -0.8), (-0.55, -0.7), (0.55, -0.7))
_EYE_PROBES = ((-EYES["dx"], EYES["dy"]), (EYES["dx"], EYES["dy"]))
_STYLE_PROBES = ((-1.2, 0.6), (1.2, 0.6), (-BUNS["dx"] - 0.05, BUNS["dy"]), (BUNS["dx"] + 0.05, BUNS["dy"]))
# Which style probes show hair (1) or background (0), per style in STYLES order.
_STYLE_TEMPLATES = {"short": (0, 0, 0, 0), "long": (1, 1, 0, 0), "buns": (0, 0, 1, 1)}
# Background probes in image units (top corners and top edge: never covered by the face or hair).
_BACKGROUND_PROBES = ((0.06, 0.06), (0.94, 0.06), (0.5, 0.04))
_CHUNK = 256


@dataclass(frozen=True)
class FaceReadout:
    """What :func:`read_faces` recovered from ``N`` images.

    Attributes:
        attributes: ``(N, 4)`` long: nearest value of each attribute
            (:data:`ganzoo.data.faces.ATTRIBUTE_NAMES` order).
        high_quality: ``(N,)`` bool: face found and every probe within tolerance.
        face_found: ``(N,)`` bool: the skin region has the shape of a face
            (``face_similarity >= 0.8``).
        face_similarity: ``(N,)`` float in [0, 1]: cosine similarity of the skin mask and
            the best-fitting face's skin mask (at 32x32).
        distances: ``(N, 4)`` float: for each attribute, the colour distance of its worst
            probe to the colour predicted by the recovered attributes (inf for images
            with NaN or inf pixels). HQ means the face is found and all are <= the tolerance.
        centre: ``(N, 2)`` face centre (x, y) in image units (fractions of the side).
        radius: ``(N,)`` face radius in image units.
        tolerance: The colour tolerance the flags were computed with.
    """

    attributes: Tensor
    high_quality: Tensor
    face_found: Tensor
    face_similarity: Tensor
    distances: Tensor
    centre: Tensor
    radius: Tensor
    tolerance: float = FACE_TOLERANCE

    @property
    def modes(self) -> Tensor:
        """``(N,)`` mode number of each image (:meth:`SyntheticFaces.mode_index`)."""
        return SyntheticFaces.mode_index(self.attributes)

    def __len__(self) -> int:
        return self.attributes.shape[0]

    def coverage(self) -> ModeCoverage:
        """Modes captured, % HQ and reverse KL of these images (see :func:`face_coverage`)."""
        finite = torch.isfinite(self.distances).all(dim=1)
        modes = self.modes
        counts = torch.bincount(modes[finite], minlength=NUM_MODES)
        captured = torch.bincount(modes[self.high_quality], minlength=NUM_MODES) > 0
        return ModeCoverage(
            modes=int(captured.sum()),
            num_modes=NUM_MODES,
            hq_pct=100.0 * float(self.high_quality.double().mean()),
            reverse_kl=reverse_kl(counts),
            counts=tuple(int(c) for c in counts),
        )

    def pass_rates(self) -> dict[str, float]:
        """Percentage of images whose face is found, and whose regions of each attribute are
        within the tolerance (a diagnostic of *what* fails when few images are HQ)."""
        rates = {"face_found": 100.0 * float(self.face_found.double().mean())}
        for k, name in enumerate(ATTRIBUTE_NAMES):
            rates[name] = 100.0 * float((self.distances[:, k] <= self.tolerance).double().mean())
        return rates


def _palette(name: str) -> Tensor:
    return torch.tensor(list(PALETTES[name].values()), dtype=torch.float32)


def _skin_mask(images01: Tensor, tolerance: float) -> Tensor:
    """``(N, 32 * 32)`` skin mask: pixels within ``tolerance`` of the skin colour,
    area-averaged to 32x32 (a fraction per cell for larger images)."""
    r, g, b = images01.unbind(1)
    mask = ((r - SKIN[0]) ** 2 + (g - SKIN[1]) ** 2 + (b - SKIN[2]) ** 2 <= tolerance**2).float()
    if mask.shape[-1] != _SEARCH_SIZE:
        mask = F.interpolate(mask.unsqueeze(1), size=(_SEARCH_SIZE, _SEARCH_SIZE), mode="area")
    return mask.flatten(1)


def _search_grid() -> Tensor:
    """Candidate (cx, cy, r) of the face search: steps of 1/4 pixel at 32x32 over 1.25 times
    the jitter range of the centre, 1/3 pixel over the radius range (605 candidates)."""
    cxs = NOMINAL_CENTRE[0] + torch.linspace(-1.25, 1.25, 11) * CENTRE_JITTER
    cys = NOMINAL_CENTRE[1] + torch.linspace(-1.25, 1.25, 11) * CENTRE_JITTER
    rs = NOMINAL_RADIUS + torch.linspace(-1.0, 1.0, 5) * RADIUS_JITTER
    return torch.cartesian_prod(cxs, cys, rs)


@functools.lru_cache(maxsize=8)
def _templates(size: int, tolerance: float) -> tuple[Tensor, Tensor]:
    """Skin masks of the un-jittered face moved to every search candidate, drawn at
    ``size`` (black hair, blue eyes, slate background: colours far from the skin)."""
    grid = _search_grid()
    jitter = torch.full((len(grid), 5), 0.5)
    jitter[:, 0] = (grid[:, 0] - NOMINAL_CENTRE[0]) / CENTRE_JITTER * 0.5 + 0.5
    jitter[:, 1] = (grid[:, 1] - NOMINAL_CENTRE[1]) / CENTRE_JITTER * 0.5 + 0.5
    jitter[:, 2] = (grid[:, 2] - NOMINAL_RADIUS) / RADIUS_JITTER * 0.5 + 0.5
    attrs = torch.tensor([[0, 0, 2, 0]]).expand(len(grid), -1)
    masks = torch.cat([_skin_mask(draw_faces(a, size, j) * 0.5 + 0.5, tolerance)
                       for a, j in zip(attrs.split(128), jitter.split(128))])
    return masks, grid


def _locate(m: Tensor, size: int, tolerance: float) -> tuple[Tensor, Tensor]:
    """Best search candidate (N, 3) for each skin mask, and the cosine similarity of the
    mask and the candidate's template (N,): 1 for a perfect fit."""
    templates, grid = _templates(size, tolerance)
    overlap = m @ templates.T  # (N, T)
    # least squares |m - t|^2 = |m|^2 - 2 m.t + |t|^2: maximise 2 m.t - |t|^2
    best = (2 * overlap - (templates**2).sum(dim=1)).argmax(dim=1)
    dot = overlap.gather(1, best.unsqueeze(1)).squeeze(1)
    norms = torch.linalg.vector_norm(m, dim=1) * torch.linalg.vector_norm(templates[best], dim=1)
    return grid[best], dot / norms.clamp_min(1e-6)


_PATCH = torch.cartesian_prod(torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([-1.0, 0.0, 1.0]))  # (9, 2)


def _region(images01: Tensor, points: Tensor, half_width: Tensor) -> Tensor:
    """Mean colour of a small square region around each of ``points`` (N, P, 2), in image
    units: 3x3 bilinear samples spaced ``half_width`` (N, 1, 1) apart. Returns (N, P, 3)."""
    n, p = points.shape[:2]
    samples = points.unsqueeze(2) + _PATCH.reshape(1, 1, 9, 2) * half_width.reshape(n, 1, 1, 1)
    grid = (samples.reshape(n, 1, p * 9, 2) * 2 - 1)  # x then y, in [-1, 1]
    out = F.grid_sample(images01, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.reshape(n, 3, p, 9).mean(dim=3).transpose(1, 2)


def _match(colours: Tensor, palette: Tensor) -> tuple[Tensor, Tensor]:
    """Nearest palette entry by mean distance over the probes, and the worst probe's distance to it."""
    dist = torch.linalg.vector_norm(colours.unsqueeze(2) - palette.reshape(1, 1, -1, 3), dim=-1)  # (N, P, K)
    index = dist.mean(dim=1).argmin(dim=1)
    worst = dist.gather(2, index.reshape(-1, 1, 1).expand(-1, dist.shape[1], 1)).amax(dim=(1, 2))
    return index, worst


def _read_chunk(images: Tensor, tolerance: float) -> tuple[Tensor, ...]:
    n, size = images.shape[0], images.shape[-1]
    finite = torch.isfinite(images.float().sum(dim=(1, 2, 3)))  # one NaN or inf makes the sum non-finite
    images01 = torch.nan_to_num(images.float(), nan=0.0, posinf=1.0, neginf=-1.0) * 0.5 + 0.5

    geometry, similarity = _locate(_skin_mask(images01, tolerance), size, tolerance)
    found = finite & (similarity >= _MIN_SIMILARITY)
    cx, cy, radius = geometry.unbind(1)

    def at(offsets: tuple[tuple[float, float], ...]) -> Tensor:
        rel = torch.tensor(offsets, dtype=torch.float32).unsqueeze(0)  # (1, P, 2)
        centre = torch.stack([cx, cy], dim=1).unsqueeze(1)
        return _region(images01, centre + rel * radius.reshape(n, 1, 1), _REGION * radius)

    hair_palette, eye_palette, bg_palette = (_palette(a) for a in ATTRIBUTE_NAMES[:3])
    hair, hair_dist = _match(at(_HAIR_PROBES), hair_palette)
    eyes, eye_dist = _match(at(_EYE_PROBES), eye_palette)
    bg_points = torch.tensor(_BACKGROUND_PROBES, dtype=torch.float32).expand(n, -1, -1)
    background, bg_dist = _match(_region(images01, bg_points, torch.full((n,), _REGION * NOMINAL_RADIUS)), bg_palette)

    style_colours = at(_STYLE_PROBES)  # (N, 4, 3)
    shows_hair = torch.tensor([_STYLE_TEMPLATES[s] for s in STYLES], dtype=torch.bool)  # (styles, 4)
    expected = torch.where(
        shows_hair.reshape(1, len(STYLES), -1, 1),
        hair_palette[hair].reshape(n, 1, 1, 3),
        bg_palette[background].reshape(n, 1, 1, 3),
    )  # (N, styles, 4, 3)
    dist = torch.linalg.vector_norm(style_colours.unsqueeze(1) - expected, dim=-1)  # (N, styles, 4)
    style = dist.mean(dim=2).argmin(dim=1)
    style_dist = dist[torch.arange(n), style].amax(dim=1)

    attributes = torch.stack([hair, eyes, background, style], dim=1)
    distances = torch.stack([hair_dist, eye_dist, bg_dist, style_dist], dim=1)
    distances = torch.where(finite.unsqueeze(1), distances, torch.full_like(distances, float("inf")))
    high_quality = found & (distances <= tolerance).all(dim=1)
    return attributes, high_quality, found, similarity, distances, torch.stack([cx, cy], dim=1), radius


def read_faces(images: Tensor, tolerance: float = FACE_TOLERANCE) -> FaceReadout:
    """Recover attributes and a quality flag from synthetic-face images (see the module docstring).

    Args:
        images: ``(N, 3, H, W)`` square images in [-1, 1] (real or generated; any device).
        tolerance: Largest Euclidean RGB distance (on the [0, 1] scale) between a probe
            and its predicted colour for the image to count as high quality.

    Returns:
        A :class:`FaceReadout`.

    Raises:
        ConfigError: If ``images`` is not ``(N, 3, S, S)`` with ``S >= 8``, or the
            tolerance is not in (0, 0.5].
    """
    images = torch.as_tensor(images).detach()
    if images.dim() != 4 or images.shape[1] != 3 or images.shape[2] != images.shape[3] or images.shape[2] < 8:
        raise ConfigError(
            f"images must have shape (N, 3, S, S) with S >= 8 (RGB, square, in [-1, 1]), got {tuple(images.shape)}"
        )
    if images.shape[0] == 0:
        raise ConfigError("images is empty; give at least one image")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance <= 0.5:
        raise ConfigError(
            f"tolerance={tolerance!r} is not valid; give a colour distance in (0, 0.5] "
            f"(default {FACE_TOLERANCE}; above 0.21 two palette colours can both match a probe)"
        )
    parts = [_read_chunk(chunk, float(tolerance)) for chunk in images.to("cpu").split(_CHUNK)]
    columns = [torch.cat(column) for column in zip(*parts)]
    return FaceReadout(*columns, tolerance=float(tolerance))  # type: ignore[arg-type, misc]


def face_coverage(images: Tensor, tolerance: float = FACE_TOLERANCE) -> ModeCoverage:
    """Modes captured, % high quality and reverse KL of synthetic-face images.

    The image-level analogue of :func:`~ganzoo.metrics.mode_coverage`: a mode (one of
    the 144 attribute combinations) is captured when at least one HQ image reads as it;
    the reverse KL uses the recovered mode of every finite image, HQ or not.

    Args:
        images: ``(N, 3, S, S)`` images in [-1, 1].
        tolerance: See :func:`read_faces`.

    Example:
        >>> import torch
        >>> from ganzoo.data import SyntheticFaces
        >>> from ganzoo.metrics import face_coverage
        >>> one_face = SyntheticFaces(size=32, length=1)[0][0]
        >>> result = face_coverage(one_face.expand(100, -1, -1, -1))
        >>> result.modes, result.num_modes, result.hq_pct
        (1, 144, 100.0)
    """
    return read_faces(images, tolerance).coverage()
