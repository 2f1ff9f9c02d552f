"""FID: the Fréchet distance of the generator's samples every N steps, into the history."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from .._validation import check_int_at_least
from ._base import Callback, noise_size

if TYPE_CHECKING:
    from ..trainer import Trainer

__all__ = ["FID"]


class FID(Callback):
    """Compute the FID of ``n`` samples against ``real`` every ``every`` generator steps.

    The value goes into the trainer's history as column ``name`` (``trainer.history.column("fid")``,
    NaN at other steps), so :class:`MetricsLog` and :class:`TensorBoard` log it too (they write a
    step's row one step late, so their place in the callback list does not matter), and
    ``values`` keeps ``(step, fid)`` pairs. The real side's features are computed once (and
    cached on disk, see :func:`ganzoo.metrics.fid`). Samples come from fixed noise of its own
    (seeded; the training random streams are not touched), from ``ema``'s averaged generator when
    given.

    Under multi-process training (DDP) every process generates its share of the ``n`` samples
    and extracts their features; the features are gathered, the score is computed once and every
    process records the same value. So this callback must run on every rank (it is not
    main-process-only).

    Args:
        real: Real images (tensor in [-1, 1], Dataset, folder...: see :func:`ganzoo.metrics.fid`).
        every: Evaluate every this many generator steps (also at the end of ``fit`` if the
            last step was not evaluated and ``at_end``; that last value reaches the history
            and ``values``, but loggers that flushed at ``fit``'s end before it miss it).
        n: Generated samples per evaluation (over all processes).
        features: Feature ``nn.Module`` (default torch-fidelity's Inception: see the offline notes).
        ema: An :class:`~ganzoo.callbacks.EMA` to sample from instead of the trained generator.
        name: History column name.
        seed: Seed of the fixed evaluation noise.
        at_end: Also evaluate when ``fit`` ends.
        **kwargs: Passed on to the feature extraction (``weights_path``, ``batch_size``,
            ``device``, ``cache``, ``cache_dir``, ``image_size``).

    Raises:
        ConfigError: Before training starts, when the Inception weights are unavailable.
    """

    main_process_only = False  # every rank generates and extracts; rank 0 gathers and computes

    def __init__(self, real: Any, every: int = 1000, n: int = 5000, *, features: nn.Module | None = None,
                 ema: Any = None, name: str = "fid", seed: int = 0, at_end: bool = True, **kwargs: Any) -> None:
        self.real = real
        self.every = check_int_at_least("every", every, 1)
        self.n = check_int_at_least("n", n, 2)
        self.features = features
        self.ema = ema
        self.name = str(name)
        self.seed = int(seed)
        self.at_end = bool(at_end)
        self.kwargs = dict(kwargs)
        self.values: list[tuple[int, float]] = []
        self._extractor: Any = None
        self._real_features: Tensor | None = None

    def _setup(self, trainer: Trainer) -> None:
        from ..metrics import fidelity

        if self._extractor is None:
            self._extractor = fidelity._extractor(self.features, self.kwargs.get("weights_path"),
                                                  self.kwargs.get("device", trainer.device))
        if self._real_features is None:
            out = fidelity._features_with(
                self._extractor, self.real, n=None, batch_size=self.kwargs.get("batch_size", 64),
                image_size=self.kwargs.get("image_size"), cache=self.kwargs.get("cache", True),
                cache_dir=self.kwargs.get("cache_dir"))
            self._real_features = out["features"]

    def on_fit_start(self, trainer: Trainer) -> None:
        self._setup(trainer)  # the offline ConfigError comes here, before any training step

    def on_step_end(self, trainer: Trainer) -> None:
        if trainer.step % self.every == 0:
            self.evaluate(trainer)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.at_end and trainer.step > 0 and (not self.values or self.values[-1][0] != trainer.step):
            self.evaluate(trainer)

    def _real_features_now(self) -> Tensor:
        if self._real_features is None:
            raise RuntimeError("FID: the real features are computed in on_fit_start; call fit() first")
        return self._real_features

    @torch.no_grad()
    def _fake_features(self, trainer: Trainer, count: int, rank: int) -> Tensor:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + rank)
        z = torch.randn(count, noise_size(trainer, "FID"), generator=gen)
        sample = self.ema.sample if self.ema is not None else trainer.sample
        batch = int(self.kwargs.get("batch_size", 64))
        parts = [self._extractor(sample(len(c), z=c.to(trainer.device)))["features"] for c in z.split(batch)]
        return torch.cat(parts)

    def evaluate(self, trainer: Trainer) -> float:
        """Compute the FID now, record it at ``trainer.step`` and return it."""
        from ..metrics import fidelity

        self._setup(trainer)
        world, rank = trainer.dist.world_size, trainer.dist.rank
        per_rank = math.ceil(self.n / world)
        feats = self._fake_features(trainer, per_rank, rank)
        if world > 1:
            import torch.distributed as dist

            device = trainer.device if dist.get_backend() == "nccl" else torch.device("cpu")
            local = feats.to(device)
            gathered = [torch.empty_like(local) for _ in range(world)]
            dist.all_gather(gathered, local)
            feats = torch.cat([g.cpu() for g in gathered])[: self.n]
            value = torch.tensor([math.nan], dtype=torch.float64, device=device)
            if rank == 0:
                value.fill_(fidelity.fid_from_features(self._real_features_now(), feats))
            dist.broadcast(value, 0)
            result = float(value.item())
        else:
            result = fidelity.fid_from_features(self._real_features_now(), feats)
        trainer.history.set_value(trainer.step, self.name, result)
        self.values.append((trainer.step, result))
        return result

    def __repr__(self) -> str:
        return f"FID(every={self.every}, n={self.n}, name={self.name!r}, values={len(self.values)})"
