r"""Multi-process training with ``torchrun``: DistributedDataParallel, sharded data, rank 0 writes.

Launch an ordinary training script with ``torchrun --nproc_per_node=N train.py`` and the
:class:`~ganzoo.Trainer` (``distributed="auto"``, the default) notices the launcher's
environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``),
joins the process group (``gloo`` on CPU, ``nccl`` on CUDA, one GPU per process:
``cuda:LOCAL_RANK``) and:

* wraps the generator and the critic in :class:`~torch.nn.parallel.DistributedDataParallel`
  for the updates (gradients are averaged over processes, so the global batch is
  ``N x`` the per-process batch); ``trainer.generator`` / ``trainer.critic`` stay the
  plain modules, so checkpoints look the same whatever the number of processes;
* gives every process its own random stream (seed ``seed`` on rank 0, a seed derived
  from ``seed`` and the rank elsewhere): different noise, different penalty
  interpolation points;
* re-builds a ``DataLoader`` over a map-style dataset with a
  :class:`~torch.utils.data.DistributedSampler` (shuffling if the loader shuffled), so
  each process reads its own share of every epoch; other iterables are read as given
  (give each process its own seed, e.g. ``grid().sampler(256, seed=100 + rank)``);
* writes checkpoints on rank 0 only (:meth:`~ganzoo.Trainer.save` must still be called
  on every process) and skips callbacks marked ``main_process_only`` (sample grids,
  logs) elsewhere.

With :math:`N` processes, process :math:`k` computing the loss :math:`L_k(\theta)` on its
own batch :math:`B_k`, every optimizer step uses the average

.. math::
    g = \frac{1}{N} \sum_{k=1}^{N} \nabla_\theta L_k(\theta; B_k),

which is the gradient of the mean loss over the union of the batches when the batches are
of equal size (synchronous data parallelism; DDP's bucketed all-reduce is described in
S. Li et al., *PyTorch Distributed: Experiences on Accelerating Data Parallel Training*,
VLDB 2020).

The gradient penalty needs no special care: each process differentiates its critic
scores with respect to its own interpolates (``torch.autograd.grad`` with
``create_graph=True`` touches no parameter, so DDP's all-reduce hooks do not fire),
the penalty is added to the critic loss, and the single ``backward`` of that total
reaches every critic parameter - through the double-backward path as well - where DDP
averages it. The result equals the single-process gradient on the union of the
processes' batches (tested in ``tests/test_distributed.py``).

Example:
    >>> from ganzoo.distributed import DistributedContext
    >>> DistributedContext().is_main, DistributedContext().world_size
    (True, 1)
"""

from __future__ import annotations

import atexit
import os
import warnings
from dataclasses import dataclass
from typing import Any, Iterable

import torch
from torch import nn

from ._validation import check_choice
from .errors import ConfigError

__all__ = [
    "DISTRIBUTED_MODES",
    "DistributedContext",
    "setup",
    "launched_by_torchrun",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "shard_loader",
    "convert_sync_batchnorm",
]

#: The accepted values of ``Trainer(distributed=...)`` and :func:`setup`.
DISTRIBUTED_MODES = ("auto", "off", "on")
_NO_BAD_STEP = 2**62


def launched_by_torchrun() -> bool:
    """True when this process was started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def _initialized() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def get_rank() -> int:
    """This process's rank (0 when not distributed; read from torchrun's environment before
    the process group exists)."""
    if _initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def get_world_size() -> int:
    """How many processes train together (1 when not distributed)."""
    if _initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on rank 0, the process that writes files."""
    return get_rank() == 0


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly single-process) run.

    Attributes:
        rank: Global rank (0 .. world_size - 1).
        world_size: Number of processes.
        local_rank: Rank on this machine (picks the GPU).
        device: The device this process trains on.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        """True with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only process that writes checkpoints, samples and logs."""
        return self.rank == 0

    def wrap(self, module: nn.Module) -> nn.Module:
        """``module`` in :class:`~torch.nn.parallel.DistributedDataParallel` (itself when single-process or
        when it has nothing to train)."""
        if not self.enabled or not any(p.requires_grad for p in module.parameters()):
            return module
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)

    def shard(self, data: Iterable[Any], seed: int) -> Iterable[Any]:
        """What this process should iterate: see :func:`shard_loader`."""
        if not self.enabled:
            return data
        return shard_loader(data, self.rank, self.world_size, seed)

    def earliest(self, step: int | None) -> int | None:
        """The smallest ``step`` over all processes (None where a process has none).

        Every process must call it at the same point (a collective)."""
        if not self.enabled:
            return step
        value = torch.tensor([_NO_BAD_STEP if step is None else step], dtype=torch.int64, device=self._comm_device)
        torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MIN)
        first = int(value.item())
        return None if first == _NO_BAD_STEP else first

    def sync_buffers(self, *modules: nn.Module) -> None:
        """Copy rank 0's buffers (batch-norm running statistics ...) to every process (a
        collective). DDP broadcasts them before each forward, so after the last update each
        process holds its own; this makes the models identical again, e.g. at the end of fit."""
        if not self.enabled:
            return
        for module in modules:
            for buffer in module.buffers():
                if buffer.device.type == "cpu" and torch.distributed.get_backend() == "nccl":
                    continue  # nccl cannot broadcast CPU tensors; such buffers are not trained
                torch.distributed.broadcast(buffer.data, src=0)

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value`` on every process (a collective)."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.int64, device=self._comm_device)
        torch.distributed.broadcast(tensor, src=0)
        return int(tensor.item())

    @property
    def _comm_device(self) -> torch.device:
        backend = torch.distributed.get_backend()
        return self.device if backend == "nccl" else torch.device("cpu")


def available_devices() -> list[str]:
    """The device names this machine can train on (``"cpu"``, ``"cuda:0"`` ..., ``"mps"``)."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return names


def check_device(device: torch.device | str) -> torch.device:
    """``device`` as a torch device, or a ConfigError naming the devices that exist."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        hint = " ('gpu' is called 'cuda' in PyTorch)" if str(device).lower().startswith("gpu") else ""
        raise ConfigError(f"device={device!r} is not a device name{hint} ({exc}); this machine has "
                          f"{available_devices()}") from None
    if resolved.type == "cuda" and (not torch.cuda.is_available() or (resolved.index or 0) >= torch.cuda.device_count()):
        raise ConfigError(f"device={device!r} is not available (CUDA devices here: {torch.cuda.device_count()}); "
                          f"this machine has {available_devices()}; pass device='cpu' or leave device out")
    if resolved.type == "mps" and "mps" not in available_devices():
        raise ConfigError(f"device={device!r} is not available; this machine has {available_devices()}")
    return resolved


def _default_device(local_rank: int, device: torch.device | str | None, distributed: bool) -> torch.device:
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = check_device(device)
    if distributed and device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)  # nccl's collectives use the current device
    return device


def setup(mode: str = "auto", device: torch.device | str | None = None) -> DistributedContext:
    """Join (or create) the process group when asked or launched by torchrun.

    Args:
        mode: ``"auto"``: distributed when a process group with more than one process
            exists or ``torchrun`` started this process; ``"off"``: never (each process
            trains on its own); ``"on"``: like auto, but an error when not launched
            for it.
        device: The training device; default ``cuda:LOCAL_RANK`` when CUDA is
            available, else the CPU.

    Returns:
        The context; single-process (rank 0 of 1) when not distributed.
    """
    check_choice("distributed", mode, DISTRIBUTED_MODES)
    wanted = mode != "off" and (
        (_initialized() and torch.distributed.get_world_size() > 1) or launched_by_torchrun()
    )
    if mode == "on" and not wanted:
        raise ConfigError(
            "distributed='on' but this process was not started by torchrun (WORLD_SIZE and RANK are "
            "not set) and no process group exists; launch with `torchrun --nproc_per_node=N script.py` "
            "or use distributed='auto'"
        )
    local_rank = int(os.environ.get("LOCAL_RANK", "0")) if wanted else 0
    device = _default_device(local_rank, device, wanted)
    if not wanted:
        return DistributedContext(device=device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not _initialized():
        if not torch.distributed.is_available():
            raise ConfigError("torchrun started several processes but this torch build has no torch.distributed")
        torch.distributed.init_process_group(backend=backend)
        atexit.register(_destroy)
    elif torch.distributed.get_backend() == "nccl" and device.type != "cuda":
        raise ConfigError(
            f"the process group uses nccl, which needs CUDA, but the trainer's device is {device}; "
            "initialise the group with backend='gloo' to train on the CPU"
        )
    return DistributedContext(
        rank=torch.distributed.get_rank(),
        world_size=torch.distributed.get_world_size(),
        local_rank=local_rank,
        device=device,
    )


def _destroy() -> None:
    if _initialized():
        torch.distributed.destroy_process_group()


def shard_loader(data: Iterable[Any], rank: int, world_size: int, seed: int = 0) -> Iterable[Any]:
    """``data`` as one process of ``world_size`` should read it.

    A :class:`~torch.utils.data.DataLoader` over a map-style dataset is re-built with the
    same settings and a :class:`~torch.utils.data.DistributedSampler` (shuffling with
    ``seed`` if the loader shuffled; every process must pass the same ``seed``). A
    loader that already has a ``DistributedSampler`` and any other iterable are returned
    unchanged.
    """
    from torch.utils.data import DataLoader, DistributedSampler, IterableDataset, RandomSampler

    if not isinstance(data, DataLoader) or isinstance(data.sampler, DistributedSampler):
        return data
    if isinstance(data.dataset, IterableDataset) or data.batch_size is None:
        warnings.warn(
            "cannot shard this DataLoader across processes automatically (it has an iterable "
            "dataset or a custom batch_sampler); every process reads it as given, so make it yield "
            "different batches per rank (see ganzoo.distributed.get_rank())",
            RuntimeWarning,
            stacklevel=3,
        )
        return data
    sampler: DistributedSampler[Any] = DistributedSampler(
        data.dataset,
        num_replicas=world_size,
        rank=rank,
        shuffle=isinstance(data.sampler, RandomSampler),
        seed=seed,
        drop_last=data.drop_last,
    )
    return DataLoader(
        data.dataset,
        batch_size=data.batch_size,
        sampler=sampler,
        num_workers=data.num_workers,
        collate_fn=data.collate_fn,
        pin_memory=data.pin_memory,
        drop_last=data.drop_last,
        timeout=data.timeout,
        worker_init_fn=data.worker_init_fn,
        multiprocessing_context=data.multiprocessing_context,
        generator=data.generator,
        prefetch_factor=data.prefetch_factor if data.num_workers > 0 else None,
        persistent_workers=data.persistent_workers,
        pin_memory_device=data.pin_memory_device,
    )


def convert_sync_batchnorm(module: nn.Module, context: DistributedContext) -> nn.Module:
    """Replace the batch norms of ``module`` by :class:`torch.nn.SyncBatchNorm` (statistics
    over the global batch). Keeps the parameters and the state-dict layout.

    Raises:
        ConfigError: On the CPU: torch's SyncBatchNorm runs on GPUs only.
    """
    if context.device.type == "cpu" and context.enabled:
        raise ConfigError(
            "sync_batchnorm=True needs CUDA: torch's SyncBatchNorm does not run on the CPU. On the "
            "CPU each process normalises with its own batch's statistics; set sync_batchnorm=False"
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(module)
