r"""Sample-quality metrics: FID, KID, Inception Score and precision/recall, through torch-fidelity.

ganzoo does not reimplement Inception or the distances: it turns every kind of input (a
:class:`~ganzoo.Trainer`, an :class:`~ganzoo.callbacks.EMA`, a generator, a tensor of images in
[-1, 1], a Dataset, an image folder) into the ``uint8`` RGB batches torch-fidelity's
TF-compatible Inception expects, extracts features batch by batch (never holding all images in
memory), caches the real side's features on disk, and passes the feature arrays to
torch-fidelity's own functions (``fid_statistics_to_metric``, ``kid_features_to_metric``,
``isc_features_to_metric``, ``prc_features_to_metric``). Needs ``pip install "ganzoo[metrics]"``.

* **FID** (Heusel et al. 2017, *GANs Trained by a Two Time-Scale Update Rule Converge to a
  Local Nash Equilibrium*): with feature means :math:`\mu_r, \mu_g` and covariances
  :math:`\Sigma_r, \Sigma_g` (``N - 1`` normalisation),
  :math:`\mathrm{FID} = \|\mu_r - \mu_g\|^2 + \mathrm{tr}(\Sigma_r + \Sigma_g - 2(\Sigma_r\Sigma_g)^{1/2})`.
* **KID** (Binkowski et al. 2018, *Demystifying MMD GANs*): the unbiased MMD² with the kernel
  :math:`k(x, y) = (x^\top y / d + 1)^3`, averaged over random subsets (100 of 1,000 by default).
* **Inception Score** (Salimans et al. 2016, *Improved Techniques for Training GANs*):
  :math:`\exp(\mathbb{E}_x \mathrm{KL}(p(y|x) \,\|\, p(y)))` over 10 splits, from class logits.
* **Precision / recall** (Kynkäänniemi et al. 2019, *Improved Precision and Recall Metric for
  Assessing Generative Models*): the share of generated samples inside the real set's
  3-nearest-neighbour balls, and of real samples inside the generated set's.

Offline use: the Inception weights (``weights-inception-2015-12-05-6726825d.pth``, from
torch-fidelity's GitHub release) come from ``weights_path=``, else the environment variable
``GANZOO_INCEPTION_WEIGHTS``, else torch's hub cache, else a download when the network is
reachable (never when ``GANZOO_OFFLINE=1``); with none of these a :class:`~ganzoo.ConfigError`
is raised before any image is generated. ``features=`` takes any ``nn.Module`` instead.

Example:
    >>> import torch
    >>> from ganzoo.metrics import fid
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    >>> x = torch.rand(64, 3, 8, 8) * 2 - 1
    >>> abs(fid(x, x, features=net, cache=False)) < 1e-6
    True
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import torch
from torch import Tensor, nn

from ..errors import ConfigError

__all__ = [
    "INCEPTION_WEIGHTS_FILE",
    "INCEPTION_WEIGHTS_URL",
    "KID",
    "InceptionScore",
    "PrecisionRecall",
    "SampleQuality",
    "to_uint8",
    "resolve_inception_weights",
    "extract_features",
    "fid_from_features",
    "kid_from_features",
    "inception_score_from_logits",
    "precision_recall_from_features",
    "fid",
    "kid",
    "inception_score",
    "precision_recall",
    "evaluate",
]

#: File name of torch-fidelity's TF-compatible Inception-v3 weights.
INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
#: Where torch-fidelity downloads them from.
INCEPTION_WEIGHTS_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_WEIGHTS_FILE}"
WEIGHTS_ENV = "GANZOO_INCEPTION_WEIGHTS"
OFFLINE_ENV = "GANZOO_OFFLINE"
CACHE_ENV = "GANZOO_CACHE"


def _fidelity() -> Any:
    try:
        import torch_fidelity  # noqa: F401
        from torch_fidelity import metric_fid, metric_isc, metric_kid, metric_prc
    except ImportError:
        raise ImportError(
            "ganzoo.metrics' FID/KID/IS/precision-recall need torch-fidelity: pip install \"ganzoo[metrics]\""
        ) from None
    return metric_fid, metric_kid, metric_isc, metric_prc


# ---------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class KID:
    """Kernel Inception Distance: mean and standard deviation over the subsets."""

    mean: float
    std: float
    subsets: int
    subset_size: int


@dataclass(frozen=True)
class InceptionScore:
    """Inception Score: mean and standard deviation over the splits."""

    mean: float
    std: float
    splits: int


@dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall (k-nearest-neighbour balls) and their F-score."""

    precision: float
    recall: float
    f_score: float


@dataclass(frozen=True)
class SampleQuality:
    """Everything :func:`evaluate` computes from one feature pass (NaN: not computed)."""

    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float
    inception_score: float
    inception_score_std: float

    def as_dict(self) -> dict[str, float]:
        """The fields as a plain dict (for tables and JSON)."""
        return dict(self.__dict__)


# ---------------------------------------------------------------------------------------- images
def to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] (any float dtype) to ``uint8`` 0-255 with 3 channels.

    ``u = floor((x + 1) * 127.5 + 0.5)`` clamped to [0, 255]: the inverse of
    ``x = u / 127.5 - 1`` (what ganzoo's datasets produce), so 8-bit images round-trip
    exactly; out-of-range values clamp. One channel is repeated to RGB; ``uint8`` input is
    kept as it is (only the channels change).

    Raises:
        ConfigError: If ``images`` is not ``(N, C, H, W)`` with 1 or 3 channels.
    """
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] not in (1, 3):
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ConfigError(
            f"images must be a tensor (N, C, H, W) with C = 1 (gray) or 3 (RGB), got {shape}; "
            "pass images in [-1, 1] as the generator produces them"
        )
    if images.dtype != torch.uint8:
        images = ((images.detach().float() + 1.0) * 127.5 + 0.5).floor_().clamp_(0, 255).to(torch.uint8)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return images.contiguous()


def _quantised_float(images: Tensor) -> Tensor:
    """What a custom feature module sees: [-1, 1] float32, original channels, 8-bit levels."""
    if images.dtype == torch.uint8:
        return images.float() / 127.5 - 1.0
    return ((images.detach().float() + 1.0) * 127.5 + 0.5).floor_().clamp_(0, 255) / 127.5 - 1.0


# ---------------------------------------------------------------------------------------- sources
def _is_generator_source(source: Any) -> bool:
    from ..callbacks import EMA
    from ..trainer import Trainer

    return isinstance(source, (Trainer, EMA)) or (isinstance(source, nn.Module) and not isinstance(source, Tensor))


def _batches(source: Any, n: int | None, batch_size: int, *, ema: Any = None, latent_dim: int | None = None,
             image_size: int | None = None) -> Iterator[Tensor]:
    """Yield image batches (float in [-1, 1] or uint8) of ``source``, at most ``n`` images."""
    from ..callbacks import EMA
    from ..trainer import Trainer

    if isinstance(source, (Trainer, EMA)) or isinstance(source, nn.Module):
        if n is None:
            raise ConfigError(f"n=None: say how many samples to draw from the {type(source).__name__}, e.g. n=10_000")
        sampler: Callable[[int], Tensor]
        if ema is not None:
            sampler = ema.sample
        elif isinstance(source, (Trainer, EMA)):
            sampler = source.sample
        else:
            dim = latent_dim if latent_dim is not None else getattr(source, "latent_dim", None)
            if dim is None:
                raise ConfigError("the generator has no latent_dim attribute; pass latent_dim=")
            device = next(source.parameters(), torch.empty(0)).device

            @torch.no_grad()
            def sampler(k: int) -> Tensor:
                was = source.training
                source.eval()
                try:
                    return source(torch.randn(k, dim, device=device)).float()
                finally:
                    source.train(was)

        done = 0
        while done < n:
            k = min(batch_size, n - done)
            yield sampler(k)
            done += k
        return
    if isinstance(source, (str, os.PathLike)):
        from ..data.folder import ImageFolderDataset

        source = ImageFolderDataset(source, image_size=image_size or 64, progress=False)
    if isinstance(source, Tensor):
        data = source if n is None else source[:n]
        yield from data.split(batch_size)
        return
    if isinstance(source, torch.utils.data.Dataset):
        source = torch.utils.data.DataLoader(source, batch_size=batch_size, shuffle=False)
    if not isinstance(source, Iterable):
        raise ConfigError(
            f"cannot read images from a {type(source).__name__}; pass a tensor (N, C, H, W) in [-1, 1], a "
            "Dataset, an image folder path, a Trainer, an EMA or a generator"
        )
    done = 0
    for batch in source:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        if n is not None:
            batch = batch[: n - done]
        done += len(batch)
        yield batch
        if n is not None and done >= n:
            return


# ---------------------------------------------------------------------------------------- extractors
class _Extractor:
    """Maps image batches to ``{"features": (B, d), "logits": (B, k) or absent}``."""

    def __init__(self, module: nn.Module, *, inception: bool, device: torch.device, fingerprint: str,
                 logits_module: nn.Module | None = None) -> None:
        self.module, self.inception, self.device = module, inception, device
        self.fingerprint, self.logits_module = fingerprint, logits_module

    @torch.no_grad()
    def __call__(self, images: Tensor) -> dict[str, Tensor]:
        if self.inception:
            feats, logits = self.module(to_uint8(images).to(self.device))
            return {"features": feats.double().cpu(), "logits": logits.double().cpu()}
        x = _quantised_float(images).to(self.device)
        out = {"features": self._run(self.module, x)}
        if self.logits_module is not None:
            out["logits"] = self._run(self.logits_module, x)
        return out

    @staticmethod
    def _run(module: nn.Module, x: Tensor) -> Tensor:
        was = module.training
        module.eval()
        try:
            y = module(x)
        finally:
            module.train(was)
        if not isinstance(y, Tensor) or y.dim() != 2 or y.shape[0] != x.shape[0]:
            shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
            raise ConfigError(f"features= must map images (N, C, H, W) to a tensor (N, d); it returned {shape}")
        return y.detach().double().cpu()


def _module_fingerprint(module: nn.Module) -> str:
    h = hashlib.sha256(f"{type(module).__module__}.{type(module).__qualname__}|{module!r}".encode())
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:24]


def _network_available(timeout: float = 3.0) -> bool:
    try:
        socket.create_connection(("github.com", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def resolve_inception_weights(weights_path: str | os.PathLike[str] | None = None) -> Path | None:
    """The local Inception weights file to use, or None when it must be downloaded.

    Order: ``weights_path``, ``$GANZOO_INCEPTION_WEIGHTS``, torch's hub cache
    (``torch.hub.get_dir()/checkpoints``), else download (when the network is reachable and
    ``GANZOO_OFFLINE`` is not set).

    Raises:
        ConfigError: If a named file is missing, or there is no file and no network.
    """
    for given, origin in ((weights_path, "weights_path="), (os.environ.get(WEIGHTS_ENV) or None, f"${WEIGHTS_ENV}")):
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ConfigError(
                    f"{origin} points at {str(path)!r}, which is not a file; it must be torch-fidelity's "
                    f"{INCEPTION_WEIGHTS_FILE} (download it once from {INCEPTION_WEIGHTS_URL})"
                )
            return path
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILE
    if cached.is_file():
        return cached
    offline = os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0")
    if offline or not _network_available():
        why = f"${OFFLINE_ENV} is set" if offline else "the network is not reachable"
        raise ConfigError(
            f"the Inception weights {INCEPTION_WEIGHTS_FILE} are not available and cannot be downloaded ({why}). "
            f"Download the file on a machine with network from {INCEPTION_WEIGHTS_URL}, then pass "
            f"weights_path='/path/to/{INCEPTION_WEIGHTS_FILE}' or set the environment variable {WEIGHTS_ENV}; "
            "or pass features=<an nn.Module mapping images to (N, d)> to use other features"
        )
    return None


def _inception(weights_path: str | os.PathLike[str] | None, device: torch.device) -> _Extractor:
    path = resolve_inception_weights(weights_path)
    _fidelity()
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    if path is not None:
        torch.load(path, map_location="cpu", weights_only=True)  # refuse a file that is not plain tensors
        st = path.stat()
        fingerprint = f"inception-v3-compat|{path.name}|{st.st_size}"
    else:
        fingerprint = f"inception-v3-compat|{INCEPTION_WEIGHTS_FILE}"
    module = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"],
        feature_extractor_weights_path=None if path is None else str(path), verbose=False,
    ).to(device)
    return _Extractor(module, inception=True, device=device, fingerprint=fingerprint)


def _extractor(features: nn.Module | None, weights_path: Any, device: torch.device | None,
               classifier: nn.Module | None = None) -> _Extractor:
    if features is None:
        dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return _inception(weights_path, dev)
    if not isinstance(features, nn.Module):
        raise ConfigError(f"features= must be an nn.Module mapping images to (N, d), got {type(features).__name__}")
    dev = torch.device(device) if device is not None else next(features.parameters(), torch.empty(0)).device
    fp = "custom|" + _module_fingerprint(features) + ("|" + _module_fingerprint(classifier) if classifier is not None else "")
    return _Extractor(features, inception=False, device=dev, fingerprint=fp, logits_module=classifier)


# ---------------------------------------------------------------------------------------- features + cache
def _cache_dir(cache_dir: Any) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path.home() / ".cache" / "ganzoo" / "metrics"


def _folder_key(root: Path, image_size: int | None) -> str:
    from ..data.folder import find_image_files

    files, _ = find_image_files(root)
    h = hashlib.sha256(f"folder|{root.resolve()}|{image_size}".encode())
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def _collect(batches: Iterable[Tensor], extractor: _Extractor, hasher: Any = None) -> dict[str, Tensor]:
    parts: dict[str, list[Tensor]] = {}
    for batch in batches:
        if hasher is not None:
            hasher.update(to_uint8(batch.cpu()).numpy().tobytes())
        for k, v in extractor(batch).items():
            parts.setdefault(k, []).append(v)
    if not parts:
        raise ConfigError("the input holds no images")
    return {k: torch.cat(v) for k, v in parts.items()}


def extract_features(
    source: Any,
    *,
    n: int | None = None,
    features: nn.Module | None = None,
    classifier: nn.Module | None = None,
    weights_path: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    ema: Any = None,
    latent_dim: int | None = None,
    image_size: int | None = None,
    cache: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Tensor]:
    """Features (float64, ``(N, d)``) of ``source`` under ``"features"``, and class logits under
    ``"logits"`` (Inception, or ``classifier`` when given).

    With ``cache=True`` and a data source (not a model) the result is stored in ``cache_dir``
    (default ``$GANZOO_CACHE`` or ``~/.cache/ganzoo/metrics``) under a key of the data (the
    8-bit pixels, or a folder's file names, sizes and times) and the extractor (its class and
    weights), and read back next time.
    """
    extractor = _extractor(features, weights_path, None if device is None else torch.device(device), classifier)
    return _features_with(extractor, source, n=n, batch_size=batch_size, ema=ema, latent_dim=latent_dim,
                          image_size=image_size, cache=cache, cache_dir=cache_dir)


def _features_with(extractor: _Extractor, source: Any, *, n: int | None, batch_size: int, ema: Any = None,
                   latent_dim: int | None = None, image_size: int | None = None, cache: bool = False,
                   cache_dir: Any = None) -> dict[str, Tensor]:
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size} must be at least 1")
    batches = _batches(source, n, batch_size, ema=ema, latent_dim=latent_dim, image_size=image_size)
    if not cache or _is_generator_source(source) or ema is not None:
        return _collect(batches, extractor)
    folder = Path(source) if isinstance(source, (str, os.PathLike)) else None
    root = _cache_dir(cache_dir)
    if folder is not None:
        key = _folder_key(folder, image_size)
        file = root / f"{key}-{hashlib.sha256(f'{extractor.fingerprint}|{n}'.encode()).hexdigest()[:24]}.pt"
        if file.is_file():
            return _load(file)
        out = _collect(batches, extractor)
    else:
        # the key needs the pixels: hash them while extracting, and look up before extracting when cheap
        hasher = hashlib.sha256(f"data|{n}".encode())
        if isinstance(source, Tensor):
            hasher.update(str(tuple(source[:n].shape)).encode())
            for chunk in (source if n is None else source[:n]).split(1024):
                hasher.update(to_uint8(chunk.cpu()).numpy().tobytes())
            file = root / f"{hasher.hexdigest()[:24]}-{hashlib.sha256(extractor.fingerprint.encode()).hexdigest()[:24]}.pt"
            if file.is_file():
                return _load(file)
            out = _collect(batches, extractor)
        else:
            pixels = [b.cpu() for b in batches]
            for b in pixels:
                hasher.update(to_uint8(b).numpy().tobytes())
            file = root / f"{hasher.hexdigest()[:24]}-{hashlib.sha256(extractor.fingerprint.encode()).hexdigest()[:24]}.pt"
            if file.is_file():
                return _load(file)
            out = _collect(pixels, extractor)
    root.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    torch.save(out, tmp)
    os.replace(tmp, file)
    return out


def _load(file: Path) -> dict[str, Tensor]:
    return dict(torch.load(file, map_location="cpu", weights_only=True))


# ---------------------------------------------------------------------------------------- from features
def _check_pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ConfigError(f"feature arrays must be (N, d) with the same d, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a.detach().cpu().double(), b.detach().cpu().double()


def fid_from_features(real: Tensor, fake: Tensor) -> float:
    """FID between two feature arrays ``(N, d)`` (torch-fidelity's ``fid_statistics_to_metric``).

    Raises:
        ConfigError: If the shapes differ or a side has fewer than 2 rows.
    """
    real, fake = _check_pair(real, fake)
    if len(real) < 2 or len(fake) < 2:
        raise ConfigError(f"FID needs at least 2 samples per side, got {len(real)} and {len(fake)}")
    metric_fid = _fidelity()[0]
    stats_r = metric_fid.fid_features_to_statistics(real)
    stats_f = metric_fid.fid_features_to_statistics(fake)
    return float(metric_fid.fid_statistics_to_metric(stats_r, stats_f, False)[metric_fid.KEY_METRIC_FID])


def kid_from_features(real: Tensor, fake: Tensor, *, subsets: int = 100, subset_size: int | None = 1000,
                      seed: int = 2020) -> KID:
    """KID between two feature arrays (torch-fidelity's ``kid_features_to_metric``).

    Args:
        subsets: Random subsets averaged over.
        subset_size: Samples per subset; None or more than the smaller side: the smaller side's size.
        seed: Seed of the subset draws (torch-fidelity's ``rng_seed``).
    """
    real, fake = _check_pair(real, fake)
    m = min(len(real), len(fake))
    size = m if subset_size is None else min(int(subset_size), m)
    if size < 2 or subsets < 1:
        raise ConfigError(f"KID needs subsets >= 1 and at least 2 samples per side, got subsets={subsets}, {m} samples")
    metric_kid = _fidelity()[1]
    out = metric_kid.kid_features_to_metric(real, fake, kid_subsets=int(subsets), kid_subset_size=size,
                                            rng_seed=int(seed), verbose=False)
    return KID(out[metric_kid.KEY_METRIC_KID_MEAN], out[metric_kid.KEY_METRIC_KID_STD], int(subsets), size)


def inception_score_from_logits(logits: Tensor, *, splits: int = 10, seed: int = 2020) -> InceptionScore:
    """Inception Score of class logits ``(N, classes)`` (torch-fidelity's ``isc_features_to_metric``)."""
    logits = torch.as_tensor(logits).detach().cpu().double()
    if logits.dim() != 2 or len(logits) < splits or splits < 1:
        raise ConfigError(f"logits must be (N, classes) with N >= splits={splits}, got {tuple(logits.shape)}")
    metric_isc = _fidelity()[2]
    out = metric_isc.isc_features_to_metric(logits, splits=int(splits), shuffle=True, rng_seed=int(seed))
    return InceptionScore(out[metric_isc.KEY_METRIC_ISC_MEAN], out[metric_isc.KEY_METRIC_ISC_STD], int(splits))


def precision_recall_from_features(real: Tensor, fake: Tensor, *, neighborhood: int = 3) -> PrecisionRecall:
    """Improved precision/recall of two feature arrays (torch-fidelity's ``prc_features_to_metric``)."""
    real, fake = _check_pair(real, fake)
    if min(len(real), len(fake)) <= neighborhood:
        raise ConfigError(f"precision/recall needs more than neighborhood={neighborhood} samples per side")
    metric_prc = _fidelity()[3]
    out = metric_prc.prc_features_to_metric(fake.float(), real.float(), prc_neighborhood=int(neighborhood),
                                            prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    return PrecisionRecall(out["precision"], out["recall"], out["f_score"])


# ---------------------------------------------------------------------------------------- public entry points
def _pair_features(real: Any, fake: Any, n: int | None, n_real: int | None, kw: dict[str, Any],
                   classifier: nn.Module | None = None) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    features = kw.pop("features", None)
    extractor = _extractor(features, kw.pop("weights_path", None), kw.pop("device", None), classifier)
    common = {"batch_size": kw.pop("batch_size", 64), "latent_dim": kw.pop("latent_dim", None),
              "image_size": kw.pop("image_size", None)}
    cache, cache_dir, ema = kw.pop("cache", True), kw.pop("cache_dir", None), kw.pop("ema", None)
    if kw:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(kw))}")
    if n is None and _is_generator_source(fake):
        n = 10_000
    r = _features_with(extractor, real, n=n_real, cache=cache, cache_dir=cache_dir, **common)
    f = _features_with(extractor, fake, n=n, ema=ema, **common)
    return r, f


_DOC_KW = """
    Args:
        real: The real images: a tensor ``(N, C, H, W)`` in [-1, 1] (1 or 3 channels; ``uint8``
            0-255 accepted), a Dataset (items or ``(image, label)`` pairs), a DataLoader, or an
            image folder path. Its features are cached on disk (``cache=``).
        fake: The same kinds, or a :class:`~ganzoo.Trainer`, an :class:`~ganzoo.callbacks.EMA` or a
            generator to sample ``n`` images from (``ema=`` samples the EMA generator instead).
        n: Samples drawn from a model (10,000 by default), or the first ``n`` images of data.
        n_real: Use only the first ``n_real`` real images.
        features: An ``nn.Module`` mapping images (float32 ``(N, C, H, W)`` in [-1, 1], the
            input's own channels, 8-bit levels) to ``(N, d)``; default torch-fidelity's Inception
            (2048-d pool features, ``uint8`` RGB input).
        weights_path: A local Inception weights file (also ``$GANZOO_INCEPTION_WEIGHTS``).
        ema: An :class:`~ganzoo.callbacks.EMA` whose averaged generator is sampled.
        batch_size: Images per feature batch (and per generated batch).
        device: Where features are computed (default: the feature module's device; CUDA if
            available for Inception).
        cache: Cache the real side's features on disk (default True); ``cache_dir`` says where.
        latent_dim: Noise size of a bare generator without a ``latent_dim`` attribute.
        image_size: Side length images of a folder are resized to (default 64).
"""


def fid(real: Any, fake: Any, *, n: int | None = None, n_real: int | None = None, **kwargs: Any) -> float:
    r"""Fréchet Inception Distance between real and generated images (lower is better).

    :math:`\|\mu_r - \mu_g\|^2 + \mathrm{tr}(\Sigma_r + \Sigma_g - 2(\Sigma_r\Sigma_g)^{1/2})`
    (Heusel et al. 2017), computed by torch-fidelity from the two feature arrays.
    """
    r, f = _pair_features(real, fake, n, n_real, kwargs)
    return fid_from_features(r["features"], f["features"])


def kid(real: Any, fake: Any, *, n: int | None = None, n_real: int | None = None, subsets: int = 100,
        subset_size: int | None = 1000, seed: int = 2020, **kwargs: Any) -> KID:
    r"""Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD² with the kernel
    :math:`(x^\top y/d + 1)^3`, mean and std over ``subsets`` random subsets of ``subset_size``
    (shrunk to the smaller side when needed). Same inputs as :func:`fid`."""
    r, f = _pair_features(real, fake, n, n_real, kwargs)
    return kid_from_features(r["features"], f["features"], subsets=subsets, subset_size=subset_size, seed=seed)


def precision_recall(real: Any, fake: Any, *, n: int | None = None, n_real: int | None = None,
                     neighborhood: int = 3, **kwargs: Any) -> PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with ``neighborhood``-NN balls.
    Same inputs as :func:`fid`."""
    r, f = _pair_features(real, fake, n, n_real, kwargs)
    return precision_recall_from_features(r["features"], f["features"], neighborhood=neighborhood)


def inception_score(fake: Any, *, n: int | None = None, splits: int = 10, seed: int = 2020,
                    classifier: nn.Module | None = None, **kwargs: Any) -> InceptionScore:
    r"""Inception Score (Salimans et al. 2016): :math:`\exp(\mathbb{E}_x\,\mathrm{KL}(p(y|x)\,\|\,p(y)))`
    over ``splits`` splits, from Inception's 1008 logits, or from ``classifier`` (an
    ``nn.Module`` mapping images to class logits ``(N, classes)``, e.g. a digit classifier).
    Other arguments as :func:`fid`."""
    if classifier is not None:
        kwargs["features"] = classifier
    ema = kwargs.pop("ema", None)
    extractor = _extractor(kwargs.pop("features", None), kwargs.pop("weights_path", None), kwargs.pop("device", None))
    if n is None and _is_generator_source(fake):
        n = 10_000
    f = _features_with(extractor, fake, n=n, ema=ema, batch_size=kwargs.pop("batch_size", 64),
                       latent_dim=kwargs.pop("latent_dim", None), image_size=kwargs.pop("image_size", None))
    if kwargs:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(kwargs))}")
    logits = f["logits"] if extractor.inception else f["features"]
    return inception_score_from_logits(logits, splits=splits, seed=seed)


def evaluate(real: Any, fake: Any, *, n: int | None = None, n_real: int | None = None,
             classifier: nn.Module | None = None, kid_subsets: int = 100, kid_subset_size: int | None = 1000,
             neighborhood: int = 3, splits: int = 10, seed: int = 2020, **kwargs: Any) -> SampleQuality:
    """FID, KID, precision/recall and Inception Score from one feature pass per side.

    The Inception Score uses Inception's logits, or ``classifier``'s when given; with custom
    ``features=`` and no ``classifier`` it is NaN. Other arguments as :func:`fid`.
    """
    r, f = _pair_features(real, fake, n, n_real, kwargs, classifier=classifier)
    k = kid_from_features(r["features"], f["features"], subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
    pr = precision_recall_from_features(r["features"], f["features"], neighborhood=neighborhood)
    if "logits" in f and len(f["logits"]) >= splits:
        s = inception_score_from_logits(f["logits"], splits=splits, seed=seed)
        is_mean, is_std = s.mean, s.std
    else:
        is_mean = is_std = math.nan
    return SampleQuality(fid_from_features(r["features"], f["features"]), k.mean, k.std, pr.precision, pr.recall,
                         is_mean, is_std)


for _f in (fid, kid, precision_recall):
    _f.__doc__ = (_f.__doc__ or "").rstrip() + "\n" + _DOC_KW
del _f
