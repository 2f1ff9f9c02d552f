"""The :class:`Trainer`: alternating critic and generator updates, AMP, checkpoints.

One generator step (see DESIGN.md)::

    repeat critic_steps times:
        real = next batch ("fresh") or the step's first batch again ("reuse")
        fake = G(z)                                  (no grad)
        L_C  = loss.critic_loss(C(real), C(fake)) + sum of regularizer penalties
        one backward, one critic optimizer step; then each regularizer's after_critic_step
    L_G = loss.generator_loss(C(G(z)))  -> backward -> generator optimizer step
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn

from ._rebuild import MAX_PARAMETERS, rebuild_component
from ._rng import derive_seed, rng_state, seed_everything, set_rng_state
from ._stream import BatchStream, initial_position
from ._validation import check_choice, check_int_at_least
from ._version import __version__
from .amp import AmpPolicy
from .callbacks import Callback
from .checkpoint import checkpoint_files, load_checkpoint, save_checkpoint
from .distributed import DistributedContext, convert_sync_batchnorm
from .distributed import setup as setup_distributed
from .errors import CheckpointError, ConfigError, DivergenceError
from .games import Game, Unconditional
from .guard import DivergenceGuard, as_guard
from .history import History
from .losses import AdversarialLoss
from .optim import OPTIMIZERS, build_optimizer, optimizer_spec
from .registry import LOSSES, REGULARIZERS, get_config
from .regularizers import Regularizer, has_penalty

__all__ = ["Trainer", "CRITIC_BATCHES", "DEFAULT_OPTIMIZER"]

#: The accepted values of ``Trainer(critic_batches=...)``.
CRITIC_BATCHES = ("fresh", "reuse")
#: The optimizer spec used when none is given (the DCGAN paper's Adam settings).
DEFAULT_OPTIMIZER: dict[str, Any] = {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}
OptimizerArg = torch.optim.Optimizer | Mapping[str, Any] | None


def _component_config(component: Any) -> dict[str, Any] | None:
    try:
        return get_config(component)
    except ConfigError:
        return None


def _grad_norm(params: Sequence[nn.Parameter]) -> Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.full((), math.nan)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))


def _has_conv(*models: nn.Module) -> bool:
    return any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for model in models for m in model.modules())


def _compiled(model: nn.Module, options: bool | Mapping[str, Any]) -> nn.Module:
    return torch.compile(model, **(dict(options) if isinstance(options, Mapping) else {}))


def _split_compiled(model: nn.Module) -> tuple[nn.Module, nn.Module | None]:
    """``(plain module, torch.compile wrapper or None)`` for a module that may be compiled."""
    if type(model).__name__ == "OptimizedModule" and isinstance(getattr(model, "_orig_mod", None), nn.Module):
        return model._orig_mod, model
    return model, None


class Trainer:
    """Train a generator against a critic with any loss, regularizers and AMP policy.

    Args:
        generator: Maps ``(batch, latent_dim)`` noise to samples. Needs a ``latent_dim``
            attribute unless ``latent_dim`` is given.
            Or a :class:`~ganzoo.games.Game` (``Trainer(game, ...)``; then no critic,
            loss or regularizers: the game holds them).
        critic: Maps samples to one score per sample (or a score map).
        loss: A loss strategy or its registry name (``"bce"``, ``"wasserstein"`` ...).
        regularizers: Regularizers or registry names (``"gradient_penalty"`` ...).
        critic_steps: Critic updates per generator update (5 for WGAN and WGAN-GP).
        amp: ``"auto"`` (default), ``"off"``, ``"bf16"`` or ``"fp16"`` (see :mod:`ganzoo.amp`).
            ``"auto"`` is fp16 with a gradient scaler on CUDA, bf16 on CPUs where bf16 is
            faster than float32 (AMX, AMD Zen 4), else float32.
        seed: Seeds every RNG when given, so a run is reproducible.
        generator_optimizer: A torch optimizer over the generator's parameters, or a
            spec dict (``{"name": "adam", "lr": 2e-4, "betas": (0.5, 0.999)}``, the default).
        critic_optimizer: The same for the critic. Build it after the critic is final
            or pass a spec: spectral norm re-parametrises the critic's weights.
        critic_batches: ``"fresh"`` (default): every critic update draws a new real batch,
            as in Algorithm 1 of the WGAN-GP paper. ``"reuse"``: the critic updates of one
            generator step share one real batch, as in the anime-faces notebook.
        device: Where to train; default CUDA when available, else CPU.
        channels_last: Store 4-D activations and weights channels-last (faster convs on
            recent CPUs and tensor-core GPUs). ``"auto"`` (default): on when the generator
            or critic has 2-D (transposed) convolutions. Values are unchanged either way.
        latent_dim: Noise size, when the generator has no ``latent_dim`` attribute.
        callbacks: Callbacks run by every :meth:`fit` call.
        log_every: History values are copied to the host every this many steps (one
            sync per ``log_every`` steps instead of one per step).
        fp16_init_scale: Initial loss scale under fp16 (see :class:`ganzoo.AmpPolicy`).
        divergence: What a NaN/inf in a loss, penalty or gradient does: ``"raise"``
            (default; :class:`~ganzoo.DivergenceError` naming the step and the term),
            ``"rollback"`` (back to the last checkpoint, lower learning rate), or a
            :class:`~ganzoo.DivergenceGuard`. Checked every ``log_every`` steps and
            before every checkpoint (see :mod:`ganzoo.guard`).
        distributed: ``"auto"`` (default): DistributedDataParallel when started by
            ``torchrun`` with several processes; ``"off"``; ``"on"`` (an error when
            not launched so). See :mod:`ganzoo.distributed`.
        sync_batchnorm: Under DDP, normalise batch-norm layers with the statistics of
            the global batch (:class:`torch.nn.SyncBatchNorm`; CUDA only).
        compile: Run the generator's and the critic's forward passes through
            :func:`torch.compile` (True, or a dict of its keyword arguments such as
            ``{"mode": "max-autotune"}``). Penalties run on the uncompiled critic, which
            shares the weights: torch.compile cannot differentiate twice ("torch.compile
            with aot_autograd does not currently support double backward"). Modules
            compiled beforehand are used the same way.
        grad_norms: Log the critic's and generator's gradient norms each step (two
            vector norms per step; False logs NaN and skips them).

    Attributes:
        dist: The :class:`~ganzoo.distributed.DistributedContext` (rank, world size,
            device); rank 0 of 1 when not distributed.
        guard: The :class:`~ganzoo.DivergenceGuard` (rollbacks done, fp16 skips).
        last_checkpoint: The path last written by :meth:`save` (or loaded from);
            where ``divergence="rollback"`` goes back to.

    Example:
        >>> import torch, ganzoo
        >>> G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(16,))
        >>> D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16,))
        >>> trainer = ganzoo.Trainer(G, D, loss="wasserstein", regularizers=["gradient_penalty"],
        ...                          critic_steps=5, seed=0, device="cpu")
        >>> data = torch.utils.data.DataLoader(torch.randn(640, 2), batch_size=64)
        >>> history = trainer.fit(data, steps=3)
        >>> len(history), trainer.critic_updates
        (3, 15)
        >>> trainer.sample(4).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        generator: nn.Module | Game,
        critic: nn.Module | None = None,
        loss: AdversarialLoss | str = "bce",
        regularizers: Iterable[Regularizer | str] = (),
        *,
        critic_steps: int = 1,
        amp: str = "auto",
        seed: int | None = None,
        generator_optimizer: OptimizerArg = None,
        critic_optimizer: OptimizerArg = None,
        critic_batches: str = "fresh",
        device: torch.device | str | None = None,
        channels_last: bool | str = "auto",
        latent_dim: int | None = None,
        callbacks: Iterable[Callback] = (),
        log_every: int = 10,
        fp16_init_scale: float = 2.0**10,
        divergence: DivergenceGuard | str | Mapping[str, Any] = "raise",
        distributed: str = "auto",
        sync_batchnorm: bool = False,
        compile: bool | Mapping[str, Any] = False,
        grad_norms: bool = True,
    ) -> None:
        if isinstance(generator, Game):
            if critic is not None:
                raise ConfigError("Trainer(game, ...) takes the game's networks from the game; pass no critic")
            if not isinstance(generator, Unconditional):
                raise ConfigError(
                    f"Trainer runs the games {['unconditional']} so far, got {type(generator).__name__}; "
                    "build the networks into ganzoo.games.Unconditional(G, D, loss=..., regularizers=...)"
                )
            game = generator
            generator, critic, loss, regularizers = game.generator, game.critic, game.loss, game.regularizers
        if not isinstance(generator, nn.Module) or not isinstance(critic, nn.Module):
            raise ConfigError(
                "generator and critic must be torch.nn.Module instances; build them with "
                "ganzoo.create_generator(...) / ganzoo.create_critic(...) or write your own"
            )
        self.critic_steps = check_int_at_least("critic_steps", critic_steps, 1)
        self.critic_batches = check_choice("critic_batches", critic_batches, CRITIC_BATCHES)
        self.log_every = check_int_at_least("log_every", log_every, 1)
        # reliability and scale-out (ganzoo.distributed, ganzoo.guard): process group and
        # device first, then one random stream per process (rank 0 keeps `seed` itself).
        self.distributed = distributed
        self.dist: DistributedContext = setup_distributed(distributed, device)
        self.guard = as_guard(divergence)
        self.last_checkpoint: Path | None = None
        self.seed = seed
        if seed is not None:
            check_int_at_least("seed", seed, 0)
            seed_everything(seed if self.dist.rank == 0 else derive_seed(seed, "rank", self.dist.rank))
        self._data_seed = derive_seed(seed, "data", self.dist.rank) if seed is not None else int(torch.randint(2**62, ()).item())
        self._shard_seed = self.dist.broadcast_int(seed if seed is not None else self._data_seed)
        self._data_position = initial_position(self._data_seed)
        self._position_restored = False  # True after load_state_dict, until a stream uses it
        self._stream: BatchStream | None = None
        self.device = self.dist.device
        if isinstance(channels_last, str):
            check_choice("channels_last", channels_last, ("auto",))
        self._channels_last_arg = channels_last
        self.channels_last = _has_conv(generator, critic) if channels_last == "auto" else bool(channels_last)
        self.compile = compile if isinstance(compile, Mapping) else bool(compile)
        self.grad_norms = bool(grad_norms)
        self.loss: AdversarialLoss = LOSSES.create(loss) if isinstance(loss, str) else loss
        if not callable(getattr(self.loss, "critic_loss", None)) or not callable(getattr(self.loss, "generator_loss", None)):
            raise ConfigError(
                f"loss={loss!r} is not a loss strategy; pass one of {LOSSES.list()} or an "
                "object with critic_loss(real_scores, fake_scores) and generator_loss(fake_scores)"
            )
        if isinstance(regularizers, (str, Regularizer)):
            regularizers = [regularizers]
        self.regularizers: list[Regularizer] = [
            REGULARIZERS.create(r) if isinstance(r, str) else r for r in regularizers
        ]
        # A module compiled by the user trains through its compiled forward; the plain module it
        # wraps (same weights) is what checkpoints store and what penalties differentiate twice.
        generator, generator_compiled = _split_compiled(generator)
        critic, critic_compiled = _split_compiled(critic)
        self.latent_dim = self._find_latent_dim(generator, latent_dim)

        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        self.generator = generator.to(self.device, memory_format=memory_format)
        for reg in self.regularizers:
            critic = reg.wrap(critic)
        self.critic = critic.to(self.device, memory_format=memory_format)
        self.sync_batchnorm = bool(sync_batchnorm)
        if self.sync_batchnorm:
            self.generator = convert_sync_batchnorm(self.generator, self.dist)
            self.critic = convert_sync_batchnorm(self.critic, self.dist)
        self._warn_batch_norm_with_penalty()
        self._penalty_regs = [(self._reg_name(r), r) for r in self.regularizers if has_penalty(r)]
        self._generator_params = [p for p in self.generator.parameters() if p.requires_grad]
        self._critic_params = [p for p in self.critic.parameters() if p.requires_grad]

        self.generator_optimizer = self._make_optimizer(generator_optimizer, self.generator, "generator_optimizer")
        self.critic_optimizer = self._make_optimizer(critic_optimizer, self.critic, "critic_optimizer")
        # the modules the updates run through: DDP wrappers under torchrun, else the modules
        self._train_generator = self.dist.wrap(self.generator)
        self._train_critic = self.dist.wrap(self.critic)
        # forward passes run through these (compiled when asked); penalties use _train_critic
        self._generator_fwd = self._forward_module(self._train_generator, generator_compiled)
        self._critic_fwd = self._forward_module(self._train_critic, critic_compiled)
        self.amp = amp
        self.critic_amp = AmpPolicy(amp, self.device, init_scale=fp16_init_scale)
        self.generator_amp = AmpPolicy(amp, self.device, init_scale=fp16_init_scale)
        self.fp16_init_scale = fp16_init_scale
        self.callbacks: list[Callback] = list(callbacks)
        #: The game this trainer runs (:class:`~ganzoo.games.Unconditional`).
        self.game = Unconditional(self.generator, self.critic, self.loss, self.regularizers)

        self.step = 0  # generator updates done
        self.critic_updates = 0
        self.epoch = 0
        self._history = History()
        self._pending: list[Tensor] = []
        self._pending_meta: list[tuple[int, tuple[str, ...]]] = []  # (step, columns not computed)
        self._columns = ["critic_loss", "generator_loss", "wasserstein"]
        self._columns += [f"penalty/{name}" for name, _ in self._penalty_regs]
        self._columns += ["critic_grad_norm", "generator_grad_norm", "critic_skipped", "generator_skipped"]

    # ------------------------------------------------------------------ setup helpers
    @staticmethod
    def _find_latent_dim(generator: nn.Module, latent_dim: int | None) -> int:
        value = latent_dim if latent_dim is not None else getattr(generator, "latent_dim", None)
        if value is None:
            raise ConfigError(
                f"cannot tell the noise size of {type(generator).__name__}: give it a "
                "`latent_dim` attribute or pass Trainer(..., latent_dim=N)"
            )
        return check_int_at_least("latent_dim", value, 1)

    @staticmethod
    def _reg_name(reg: Regularizer) -> str:
        config = _component_config(reg)
        return config["name"] if config else type(reg).__name__

    def _warn_batch_norm_with_penalty(self) -> None:
        per_sample = [self._reg_name(r) for r in self.regularizers if getattr(r, "per_sample", False)]
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.critic.modules())
        if per_sample and has_bn:
            warnings.warn(
                f"the critic uses batch norm together with {', '.join(per_sample)}: batch norm "
                "mixes the samples of a batch, so the per-sample gradient the penalty constrains "
                "is no longer each sample's own (Gulrajani et al. 2017, Sec. 4). Build the critic "
                "with norm='none' or norm='layer'",
                UserWarning,
                stacklevel=3,
            )

    def _forward_module(self, model: nn.Module, compiled: nn.Module | None) -> nn.Module:
        """The module forward passes run through: the user's compiled wrapper (single process),
        else ``model`` (DDP-wrapped under torchrun), compiled when ``compile`` asks for it."""
        if compiled is not None and not self.dist.enabled:
            return compiled
        return _compiled(model, self.compile) if (self.compile or compiled is not None) else model

    def _make_optimizer(self, arg: OptimizerArg, model: nn.Module, name: str) -> torch.optim.Optimizer:
        if isinstance(arg, torch.optim.Optimizer):
            model_params = {id(p) for p in model.parameters()}
            opt_params = [p for g in arg.param_groups for p in g["params"]]
            if not opt_params or any(id(p) not in model_params for p in opt_params):
                raise ConfigError(
                    f"{name} does not optimise the {name.split('_')[0]}'s parameters (built before "
                    "a regularizer re-parametrised the model?); pass a spec dict such as "
                    "{'name': 'adam', 'lr': 1e-4, 'betas': (0.0, 0.9)} and the Trainer builds it"
                )
            return arg
        return build_optimizer(DEFAULT_OPTIMIZER if arg is None else arg, model.parameters())

    # ------------------------------------------------------------------ training
    @property
    def history(self) -> History:
        """Per-generator-step records of every step so far (``len`` = generator steps)."""
        self._flush()
        return self._history

    def fit(
        self,
        data: Iterable[Any],
        steps: int | None = None,
        *,
        epochs: int | None = None,
        callbacks: Iterable[Callback] = (),
    ) -> History:
        """Train for ``steps`` more generator steps, or ``epochs`` more passes over ``data``.

        A second call continues where the first stopped (step counters, optimizer
        moments and history carry on).

        Args:
            data: An iterable of batches: a DataLoader, a ganzoo sampler, any iterable of
                tensors or ``(samples, labels)`` tuples.
            steps: Generator steps to run.
            epochs: Passes over ``data`` to run (the step that ends a pass finishes).
            callbacks: Extra callbacks for this call only.

        Returns:
            The full :attr:`history`.
        """
        if (steps is None) == (epochs is None):
            raise ConfigError("fit() needs exactly one of steps=N or epochs=N")
        if steps is not None:
            check_int_at_least("steps", steps, 0)
        else:
            check_int_at_least("epochs", epochs, 0)
        callbacks = [*self.callbacks, *callbacks]
        if not self.dist.is_main:  # sample grids, logs ...: rank 0 only
            callbacks = [cb for cb in callbacks if not getattr(cb, "main_process_only", False)]
        stream = self._batch_stream(data)
        target = self.step + steps if steps is not None else None
        self.generator.train()
        self.critic.train()
        for cb in callbacks:
            cb.on_fit_start(self)
        try:
            while True:
                try:
                    if not ((self.step < target) if target is not None else (stream.epochs_done < epochs)):
                        self._check_finite()  # the last steps' values, before fit returns
                        break
                    epochs_before = stream.epochs_done
                    self._train_step(stream)
                    for cb in callbacks:
                        cb.on_step_end(self)
                    if stream.epochs_done > epochs_before:
                        self.epoch += stream.epochs_done - epochs_before
                        for cb in callbacks:
                            cb.on_epoch_end(self)
                except DivergenceError as error:
                    self.guard.rollback(self, error)  # re-raises unless divergence="rollback"
        except BaseException as error:
            self._flush()
            for cb in callbacks:
                cb.on_interrupt(self, error)
            raise
        finally:
            self._park_stream()
        self.dist.sync_buffers(self.generator, self.critic)  # rank 0's batch-norm statistics everywhere
        self._flush()
        for cb in callbacks:
            cb.on_fit_end(self)
        return self._history

    def _batch_stream(self, data: Iterable[Any]) -> BatchStream:
        """The stream for ``data``: the live one if ``data`` is what the last fit read, else a
        new one at the trainer's data position (so a loaded trainer continues mid-epoch)."""
        if self._stream is not None and self._stream.data is data:
            return self._stream
        restored, self._position_restored = self._position_restored, False
        position = self._stream.position() if self._stream is not None else self._data_position
        source = self.dist.shard(data, self._shard_seed)
        # other data (another type, size, batch size or seed) starts from its first batch; only
        # a checkpoint's position given other data earns a warning (a deliberate switch does not)
        self._stream = BatchStream(data, position, source=source, world_size=self.dist.world_size,
                                   warn_other_data=restored)
        return self._stream

    def _park_stream(self) -> None:
        """Keep a stream between fit calls unless it holds worker processes (then keep only its position)."""
        if self._stream is not None and self._stream.uses_workers:
            self._data_position = self._stream.position()
            self._stream = None

    def _to_device(self, batch: Tensor) -> Tensor:
        if not batch.is_floating_point():
            raise ConfigError(f"real batches must be floating point, got {batch.dtype}")
        if self.device.type == "cuda" and batch.device.type == "cpu":
            # A copy from pinned memory runs asynchronously (DataLoader(pin_memory=True) pins already).
            batch = (batch if batch.is_pinned() else batch.pin_memory()).to(self.device, non_blocking=True)
        else:
            batch = batch.to(self.device)
        if self.channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _noise(self, n: int) -> Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def _train_step(self, stream: BatchStream) -> None:
        # forward passes may be compiled; penalties differentiate twice, so they run on the
        # uncompiled (DDP-wrapped under torchrun) critic that shares the weights
        G, C, C_penalty, C_plain = self._generator_fwd, self._critic_fwd, self._train_critic, self.critic
        c_amp, g_amp = self.critic_amp, self.generator_amp
        skipped_before = (c_amp.skipped_tensor(), g_amp.skipped_tensor())
        real: Tensor | None = None
        critic_losses: list[Tensor] = []
        penalty_values: dict[str, list[Tensor]] = {name: [] for name, _ in self._penalty_regs}
        critic_grad_norm = generator_grad_norm = None
        for i in range(self.critic_steps):
            if real is None or self.critic_batches == "fresh":
                real = self._to_device(stream.next())
            with torch.no_grad(), c_amp.autocast():
                fake = G(self._noise(real.shape[0]))
            fake = fake.to(real.dtype)
            with c_amp.autocast():
                loss_c = self.loss.critic_loss(C(real), C(fake))
            total = loss_c
            for name, reg in self._penalty_regs:
                every = getattr(reg, "every", 1)
                if self.critic_updates % every == 0:  # lazy regularization: 1 update in `every`, scaled
                    value = reg.penalty(C_penalty, real, fake, c_amp)
                    total = total + (value * every if every > 1 else value)
                    penalty_values[name].append(value.detach().float())
            self.critic_optimizer.zero_grad(set_to_none=True)
            c_amp.backward(total)
            if self.grad_norms and i == self.critic_steps - 1:
                c_amp.unscale_(self.critic_optimizer)
                critic_grad_norm = _grad_norm(self._critic_params)
            c_amp.step(self.critic_optimizer)
            for reg in self.regularizers:
                reg.after_critic_step(C_plain)
            self.critic_updates += 1
            critic_losses.append(loss_c.detach())

        for p in self._critic_params:  # the generator step needs no critic weight gradients
            p.requires_grad_(False)
        try:
            with g_amp.autocast():
                loss_g = self.loss.generator_loss(C(G(self._noise(real.shape[0]))))
            self.generator_optimizer.zero_grad(set_to_none=True)
            g_amp.backward(loss_g)
        finally:
            for p in self._critic_params:
                p.requires_grad_(True)
        if self.grad_norms:
            g_amp.unscale_(self.generator_optimizer)
            generator_grad_norm = _grad_norm(self._generator_params)
        g_amp.step(self.generator_optimizer)
        self.step += 1
        self._log_step(critic_losses, loss_g, penalty_values, critic_grad_norm, generator_grad_norm, skipped_before)

    def _log_step(
        self,
        critic_losses: list[Tensor],
        loss_g: Tensor,
        penalty_values: dict[str, list[Tensor]],
        critic_grad_norm: Tensor | None,
        generator_grad_norm: Tensor | None,
        skipped_before: tuple[Tensor, Tensor],
    ) -> None:
        """Queue this step's values as one device tensor; :meth:`_flush` copies them to the host."""
        loss_c_mean = torch.stack(critic_losses).float().mean()
        device = loss_c_mean.device
        nan = torch.full((), math.nan, device=device)
        wasserstein = -loss_c_mean if getattr(self.loss, "estimates_wasserstein", False) else nan
        values = [loss_c_mean, loss_g.detach().float(), wasserstein]
        values += [torch.stack(v).mean() if v else nan for v in penalty_values.values()]
        values += [nan if g is None else g for g in (critic_grad_norm, generator_grad_norm)]
        values += [self.critic_amp.skipped_tensor() - skipped_before[0], self.generator_amp.skipped_tensor() - skipped_before[1]]
        self._pending.append(torch.stack([v.reshape(()).to(device, torch.float32) for v in values]))
        absent = tuple(f"penalty/{name}" for name, v in penalty_values.items() if not v)  # lazy penalties
        if critic_grad_norm is None:
            absent += ("critic_grad_norm", "generator_grad_norm")
        self._pending_meta.append((self.step, absent))
        if len(self._pending) >= self.log_every:
            self._flush()
        if self.step % self.log_every == 0:
            self._check_finite()

    def _check_finite(self) -> None:
        """Divergence check: flush the logged values to the host and let the guard raise
        :class:`~ganzoo.DivergenceError` for a NaN/inf. A collective under DDP (every process
        agrees on the earliest bad step), so it runs at fixed points only: every
        ``log_every`` steps, at the end of fit and in :meth:`save`."""
        self._flush()
        self.guard.check(self.dist.earliest if self.dist.enabled else None)

    def _flush(self) -> None:
        if not self._pending:
            return
        rows = torch.stack(self._pending).cpu().tolist()  # the one host sync per log_every steps
        for (step, absent), row in zip(self._pending_meta, rows):
            record = dict(zip(self._columns, row))
            record.update(step=step, critic_skipped=int(record["critic_skipped"]),
                          generator_skipped=int(record["generator_skipped"]))
            self._history.append_row(record)
            self.guard.observe(record, absent=absent)
        self._pending.clear()
        self._pending_meta.clear()

    @torch.no_grad()
    def sample(self, n: int, z: Tensor | None = None, batch_size: int = 1024) -> Tensor:
        """Generate ``n`` samples in eval mode without gradients (float32, on the trainer's device).

        Args:
            n: Number of samples.
            z: Optional noise ``(n, latent_dim)`` (e.g. a fixed grid of noise to compare
                snapshots); drawn fresh when None.
            batch_size: Generate in chunks of this size.
        """
        check_int_at_least("n", n, 1)
        if z is None:
            z = self._noise(n)
        elif z.shape[0] != n:
            raise ConfigError(f"z has {z.shape[0]} rows but n={n}")
        was_training = self.generator.training
        self.generator.eval()
        try:
            chunks = [self.generator(c.to(self.device)).float().contiguous() for c in z.split(batch_size)]
        finally:
            self.generator.train(was_training)
        return torch.cat(chunks)

    # ------------------------------------------------------------------ state
    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild this trainer, as plain JSON (components whose
        config is unknown - not built from a registry - appear as None)."""
        return {
            "generator": _component_config(self.generator),
            "critic": _component_config(self.critic),
            "loss": _component_config(self.loss),
            "regularizers": [_component_config(r) for r in self.regularizers],
            "generator_optimizer": optimizer_spec(self.generator_optimizer),
            "critic_optimizer": optimizer_spec(self.critic_optimizer),
            "trainer": {
                "critic_steps": self.critic_steps,
                "amp": self.amp,
                "seed": self.seed,
                "critic_batches": self.critic_batches,
                "channels_last": self._channels_last_arg,
                "latent_dim": self.latent_dim,
                "log_every": self.log_every,
                "fp16_init_scale": self.fp16_init_scale,
                "divergence": self.guard.config(),
                "distributed": self.distributed,
                "sync_batchnorm": self.sync_batchnorm,
                "compile": self.compile,
                "grad_norms": self.grad_norms,
            },
        }

    def state_dict(self) -> dict[str, Any]:
        """The full training state: models, optimizers, scalers, RNGs, counters, history, config."""
        return {
            "ganzoo_version": __version__,
            "torch_version": str(torch.__version__),
            "config": json.dumps(self.config()),
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "generator_optimizer": self.generator_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "generator_amp": self.generator_amp.state_dict(),
            "critic_amp": self.critic_amp.state_dict(),
            "rng": rng_state(),
            "counters": {"step": self.step, "critic_updates": self.critic_updates, "epoch": self.epoch},
            "history": self.history.state_dict(),
            "data": self._stream.position() if self._stream is not None else self._data_position,
            "guard": self.guard.state_dict(),
            "world_size": self.dist.world_size,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned into this trainer."""
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.generator_optimizer.load_state_dict(state["generator_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.generator_amp.load_state_dict(state["generator_amp"])
        self.critic_amp.load_state_dict(state["critic_amp"])
        set_rng_state(state["rng"])
        counters = state["counters"]
        self.step, self.critic_updates, self.epoch = counters["step"], counters["critic_updates"], counters["epoch"]
        self._pending.clear()
        self._pending_meta.clear()
        self._history.load_state_dict(state["history"])
        self.guard.load_state_dict(state.get("guard"))
        self._restore_process_streams(state)

    def _restore_process_streams(self, state: Mapping[str, Any]) -> None:
        """Put the data stream at the checkpoint's position; under DDP give ranks > 0 their
        own random streams again (the checkpoint holds rank 0's)."""
        position = state.get("data") or initial_position(self._data_seed)  # older checkpoints: data from its start
        if self.dist.rank > 0:
            base = torch.Generator().set_state(state["rng"]["torch"]).initial_seed()
            seed_everything(derive_seed(base, "rank", self.dist.rank, "step", self.step))
            data_seed = derive_seed(base, "data", self.dist.rank, "step", self.step)
            position = {**position, "rng": torch.Generator().manual_seed(data_seed).get_state()}
        self._data_position = position
        self._position_restored = self._stream is None
        if self._stream is not None:
            self._stream.seek(position)

    @property
    def is_main_process(self) -> bool:
        """True on the process that writes files (rank 0; always True without DDP)."""
        return self.dist.is_main

    def save(self, path: str | os.PathLike[str]) -> Path | None:
        """Write the full state to ``path`` atomically (a crash never leaves half a file).

        First checks for divergence (:class:`~ganzoo.DivergenceError`, nothing written):
        a diverged state never becomes the latest checkpoint. Under DDP call it on every
        process (the check is collective); only rank 0 writes.

        Returns:
            The path written, or None on ranks other than 0.
        """
        self._check_finite()
        DivergenceGuard.check_parameters({"generator": self.generator, "critic": self.critic})
        self.last_checkpoint = Path(path)
        if not self.dist.is_main:
            return None
        return save_checkpoint(self.state_dict(), path)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        device: torch.device | str | None = None,
        generator: nn.Module | None = None,
        critic: nn.Module | None = None,
        loss: AdversarialLoss | None = None,
        regularizers: Iterable[Regularizer] | None = None,
        callbacks: Iterable[Callback] = (),
        max_parameters: int | None = MAX_PARAMETERS,
    ) -> Trainer:
        """Rebuild a trainer from a checkpoint written by :meth:`save`, ready to continue.

        Components are rebuilt from their registry configs; pass one explicitly to
        override it or when it was not built from a registry (then the checkpoint
        cannot describe it). Loading is safe: only tensors and plain values are read.

        ``path`` may be a folder of checkpoints: the ``*.pt`` with the highest step
        recorded inside it (:func:`ganzoo.checkpoint.checkpoint_files`) that loads is
        used, skipping (with a warning naming each) newer files that are truncated,
        corrupt, unsafe, or whose components cannot be rebuilt; the file resumed from is
        printed.

        Each component is first built on the ``meta`` device (no memory) and its
        parameters counted: a checkpoint asking for more than ``max_parameters``
        (default 10**9) is refused, since a
        hostile file could otherwise exhaust memory. Pass ``max_parameters=None`` for a
        file you trust.

        Raises:
            CheckpointError: If the file is missing, corrupt or unsafe (for a folder: no
                file in it is readable), or a component cannot be rebuilt.
        """
        options = {"device": device, "generator": generator, "critic": critic, "loss": loss,
                   "regularizers": None if regularizers is None else list(regularizers),
                   "callbacks": list(callbacks), "max_parameters": max_parameters}
        if not Path(path).is_dir():
            return cls._load_file(Path(path), load_checkpoint(path), **options)
        candidates = checkpoint_files(path)
        if not candidates:
            raise CheckpointError(f"no checkpoint matching '*.pt' in {str(path)!r}")
        problems = []
        for candidate in candidates:  # the highest recorded step first
            try:
                trainer = cls._load_file(candidate, load_checkpoint(candidate), **options)
            except CheckpointError as exc:
                problems.append(f"  {candidate.name}: {exc}")
                continue
            if problems:
                warnings.warn(
                    f"skipped {len(problems)} unreadable checkpoint(s) newer than {candidate.name} (they cannot be "
                    "loaded) and resumed from it:\n" + "\n".join(problems), RuntimeWarning, stacklevel=2)
            print(f"ganzoo: resumed from {candidate} (step {trainer.step})", flush=True)
            return trainer
        raise CheckpointError(
            f"none of the {len(candidates)} checkpoint(s) in {str(path)!r} can be loaded:\n" + "\n".join(problems)
        )

    @classmethod
    def _load_file(
        cls,
        path: Path,
        state: Mapping[str, Any],
        *,
        device: torch.device | str | None,
        generator: nn.Module | None,
        critic: nn.Module | None,
        loss: AdversarialLoss | None,
        regularizers: list[Regularizer] | None,
        callbacks: list[Callback],
        max_parameters: int | None,
    ) -> Trainer:
        try:
            config = json.loads(state["config"])
            config["trainer"], config["regularizers"]  # present in every checkpoint
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"checkpoint {str(path)!r} has no readable trainer config ({type(exc).__name__}: {exc}); "
                "the file was edited or damaged, resume from another checkpoint"
            ) from None

        def rebuild(name: str, given: Any, cfg: Any) -> Any:
            if given is not None:
                return given
            if cfg is None:
                raise CheckpointError(
                    f"{path}: the {name} was not built from a registry, so the checkpoint cannot "
                    f"rebuild it; pass Trainer.load(..., {name}=...) with the same architecture"
                )
            return rebuild_component(path, name, cfg, max_parameters)

        regs = regularizers if regularizers is not None else [
            rebuild("regularizer", None, c) for c in config["regularizers"]
        ]
        for name in ("generator_optimizer", "critic_optimizer"):
            if config.get(name) is None:
                raise CheckpointError(
                    f"{path}: the {name} is not a built-in torch optimizer ({', '.join(OPTIMIZERS)}), so "
                    "the checkpoint cannot rebuild it; load the state into a Trainer you build "
                    "yourself with trainer.load_state_dict(ganzoo.checkpoint.load_checkpoint(path))"
                )
        options = dict(config["trainer"])
        options.pop("seed", None)  # the RNG state below replaces re-seeding
        G = rebuild("generator", generator, config.get("generator"))
        D = rebuild("critic", critic, config.get("critic"))
        L = rebuild("loss", loss, config.get("loss"))
        try:
            trainer = cls(
                generator=G,
                critic=D,
                loss=L,
                regularizers=regs,
                generator_optimizer=config["generator_optimizer"],
                critic_optimizer=config["critic_optimizer"],
                device=device,
                callbacks=callbacks,
                **options,
            )
        except (ConfigError, TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"checkpoint {str(path)!r}: its trainer settings {options!r} are not valid "
                f"({type(exc).__name__}: {exc}); the file was edited or damaged, resume from another checkpoint"
            ) from None
        trainer.seed = config["trainer"].get("seed")
        try:
            trainer.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{path}: the checkpoint does not fit the rebuilt trainer ({exc})") from None
        trainer.last_checkpoint = Path(path)
        return trainer

    def __repr__(self) -> str:
        regs = ", ".join(self._reg_name(r) for r in self.regularizers) or "none"
        return (
            f"Trainer(loss={type(self.loss).__name__}, regularizers=[{regs}], critic_steps={self.critic_steps}, "
            f"amp={self.critic_amp.mode!r}, device={str(self.device)!r}, step={self.step})"
        )
