"""The :class:`Trainer`: runs any :class:`~ganzoo.games.Game` with AMP, checkpoints, DDP.

One step (see DESIGN.md), for each phase of the game in order::

    repeat critic_steps times (a "critic_steps" phase) or once:
        batch = next batch ("fresh") or the step's batch again ("reuse"; phases that
                repeat once always use the step's latest batch)
        freeze every network outside the phase
        terms = game.losses(phase, batch, ctx)       under the phase's autocast
        backward terms["loss"]; one step of the phase's optimizer
        critic phases: each regularizer's after_critic_step on each of the phase's networks

For the unconditional game: the critic phase minimises
``loss.critic_loss(C(real), C(G(z))) + penalties``, the generator phase
``loss.generator_loss(C(G(z)))``.
"""

from __future__ import annotations

import itertools
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
from .callbacks import Callback, ProgressBar
from .checkpoint import checkpoint_files, load_checkpoint, save_checkpoint
from .distributed import DistributedContext, convert_sync_batchnorm
from .distributed import setup as setup_distributed
from .errors import CheckpointError, ConfigError, DivergenceError
from .games import GAMES, Context, Game, Phase, Unconditional
from .guard import DivergenceGuard, as_guard
from .history import History
from .losses import AdversarialLoss
from .optim import OPTIMIZERS, build_optimizer, optimizer_spec
from .registry import get_config
from .regularizers import Regularizer, has_penalty

__all__ = ["Trainer", "CRITIC_BATCHES", "DEFAULT_OPTIMIZER", "DEFAULT_FP16_INIT_SCALE"]

#: The accepted values of ``Trainer(critic_batches=...)``.
CRITIC_BATCHES = ("fresh", "reuse")
#: The optimizer spec used when none is given (the DCGAN paper's Adam settings).
DEFAULT_OPTIMIZER: dict[str, Any] = {"name": "adam", "lr": 2e-4, "betas": [0.5, 0.999]}
#: The initial fp16 loss scale (``amp={"mode": "fp16", "init_scale": ...}`` changes it).
DEFAULT_FP16_INIT_SCALE = 2.0**10
OptimizerArg = torch.optim.Optimizer | Mapping[str, Any] | None
_UNSET: Any = object()


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
    compiled: nn.Module = torch.compile(model, **(dict(options) if isinstance(options, Mapping) else {}))  # type: ignore[assignment]
    return compiled


def _split_compiled(model: nn.Module) -> tuple[nn.Module, nn.Module | None]:
    """``(plain module, torch.compile wrapper or None)`` for a module that may be compiled."""
    inner = getattr(model, "_orig_mod", None)
    if type(model).__name__ == "OptimizedModule" and isinstance(inner, nn.Module):
        return inner, model
    return model, None


def _batch_size(batch: Any) -> int | None:
    """Rows of the first tensor in a prepared batch (a tensor, tuple/list or dict of them)."""
    if isinstance(batch, Tensor):
        return batch.shape[0] if batch.dim() else None
    items = batch.values() if isinstance(batch, Mapping) else batch if isinstance(batch, (tuple, list)) else ()
    return next((_batch_size(item) for item in items if isinstance(item, Tensor)), None)


def _amp_setting(amp: str | Mapping[str, Any], fp16_init_scale: Any) -> tuple[str, float]:
    """``(mode, fp16 init scale)`` from ``amp="bf16"`` or ``amp={"mode": ..., "init_scale": ...}``."""
    if isinstance(amp, Mapping):
        unknown = set(amp) - {"mode", "init_scale"}
        if unknown:
            raise ConfigError(f"amp={dict(amp)!r}: unknown key(s) {sorted(unknown)}; use {{'mode': 'fp16', 'init_scale': 1024}}")
        mode, scale = amp.get("mode", "auto"), float(amp.get("init_scale", DEFAULT_FP16_INIT_SCALE))
    else:
        mode, scale = amp, DEFAULT_FP16_INIT_SCALE
    if fp16_init_scale is not _UNSET:
        warnings.warn("Trainer(fp16_init_scale=...) is deprecated; pass amp={'mode': ..., 'init_scale': ...}",
                      DeprecationWarning, stacklevel=3)
        scale = float(fp16_init_scale)
    if not isinstance(mode, str):
        raise ConfigError(f"amp={amp!r} is not valid; use 'auto', 'off', 'bf16', 'fp16' or {{'mode': ..., 'init_scale': ...}}")
    if not (scale > 0 and math.isfinite(scale)):
        raise ConfigError(f"the fp16 init_scale must be a positive number, got {scale!r}")
    return mode, scale


def _distributed_setting(distributed: str | Mapping[str, Any], sync_batchnorm: Any) -> tuple[str, bool]:
    """``(mode, sync_batchnorm)`` from ``"auto"`` or ``{"mode": ..., "sync_batchnorm": True}``."""
    if isinstance(distributed, Mapping):
        unknown = set(distributed) - {"mode", "sync_batchnorm"}
        if unknown:
            raise ConfigError(f"distributed={dict(distributed)!r}: unknown key(s) {sorted(unknown)}; "
                              "use {'mode': 'auto', 'sync_batchnorm': True}")
        mode, sync = distributed.get("mode", "auto"), bool(distributed.get("sync_batchnorm", False))
    else:
        mode, sync = distributed, False
    if sync_batchnorm is not _UNSET:
        warnings.warn("Trainer(sync_batchnorm=...) is deprecated; pass distributed={'mode': ..., 'sync_batchnorm': True}",
                      DeprecationWarning, stacklevel=3)
        sync = bool(sync_batchnorm)
    return mode, sync


class Trainer:
    """Train any game (a generator against a critic by default) with AMP, checkpoints, DDP.

    ``Trainer(G, D, loss=..., regularizers=...)`` trains the
    :class:`~ganzoo.games.Unconditional` game; ``Trainer(game, ...)`` any
    :class:`~ganzoo.games.Game` (:class:`~ganzoo.games.Conditional`,
    :class:`~ganzoo.games.CycleGAN`, your own).

    Args:
        generator: Maps ``(batch, latent_dim)`` noise to samples. Needs a ``latent_dim``
            attribute unless ``latent_dim`` is given.
            Or a :class:`~ganzoo.games.Game` (then no critic, loss or regularizers:
            the game holds them).
        critic: Maps samples to one score per sample (or a score map).
        loss: A loss strategy or its registry name (``"bce"``, ``"wasserstein"`` ...).
        regularizers: Regularizers or registry names (``"gradient_penalty"`` ...).
        critic_steps: Critic updates per generator update (5 for WGAN and WGAN-GP).
        amp: ``"auto"`` (default), ``"off"``, ``"bf16"`` or ``"fp16"`` (see :mod:`ganzoo.amp`).
            ``"auto"`` is fp16 with a gradient scaler on CUDA, bf16 on CPUs where bf16 is
            faster than float32 (AMX, AMD Zen 4), else float32. A dict
            ``{"mode": "fp16", "init_scale": 1024}`` also sets the initial fp16 loss scale
            (default 2**10; see :class:`ganzoo.AmpPolicy`).
        seed: Seeds every RNG when given, so a run is reproducible.
        generator_optimizer: A torch optimizer over the generator's parameters, or a
            spec dict (``{"name": "adam", "lr": 2e-4, "betas": (0.5, 0.999)}``, the default).
        critic_optimizer: The same for the critic. Build it after the critic is final
            or pass a spec: spectral norm re-parametrises the critic's weights.
        optimizers: Optimizers (or specs) by phase name, for games whose phases are not
            called ``"generator"`` and ``"critic"``; merged with the two above.
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
        fp16_init_scale: Deprecated: ``amp={"mode": ..., "init_scale": ...}``.
        divergence: What a NaN/inf in a loss, penalty or gradient does: ``"raise"``
            (default; :class:`~ganzoo.DivergenceError` naming the step and the term),
            ``"rollback"`` (back to the last checkpoint, lower learning rate), or a
            :class:`~ganzoo.DivergenceGuard`. Checked every ``log_every`` steps and
            before every checkpoint (see :mod:`ganzoo.guard`).
        distributed: ``"auto"`` (default): DistributedDataParallel when started by
            ``torchrun`` with several processes; ``"off"``; ``"on"`` (an error when
            not launched so). See :mod:`ganzoo.distributed`. A dict
            ``{"mode": "auto", "sync_batchnorm": True}`` also normalises batch-norm layers
            with the statistics of the global batch (:class:`torch.nn.SyncBatchNorm`; CUDA only).
        sync_batchnorm: Deprecated: ``distributed={"mode": ..., "sync_batchnorm": True}``.
        compile: Run the generator's and the critic's forward passes through
            :func:`torch.compile` (True, or a dict of its keyword arguments such as
            ``{"mode": "max-autotune"}``). Penalties run on the uncompiled critic, which
            shares the weights: torch.compile cannot differentiate twice ("torch.compile
            with aot_autograd does not currently support double backward"). Modules
            compiled beforehand are used the same way.
        grad_norms: Log each phase's gradient norm each step (``critic_grad_norm``,
            ``generator_grad_norm``; one vector norm per phase; False logs NaN and skips them).
        progress: Show progress during :meth:`fit` (tqdm in a terminal, else a plain line
            every 10 s) unless a :class:`~ganzoo.callbacks.ProgressBar` is given; False is silent.

    Attributes:
        game: The :class:`~ganzoo.games.Game` being trained.
        networks: The game's networks by name, on the device (what checkpoints store).
        optimizers: One optimizer per phase, by phase name.
        amp_policies: One :class:`~ganzoo.AmpPolicy` per phase, by phase name.
        amp_init_scale: The initial fp16 loss scale (``amp={"mode": ..., "init_scale": ...}``).
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
        ...                          critic_steps=5, seed=0, device="cpu", progress=False)
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
        amp: str | Mapping[str, Any] = "auto",
        seed: int | None = None,
        generator_optimizer: OptimizerArg = None,
        critic_optimizer: OptimizerArg = None,
        optimizers: Mapping[str, OptimizerArg] | None = None,
        critic_batches: str = "fresh",
        device: torch.device | str | None = None,
        channels_last: bool | str = "auto",
        latent_dim: int | None = None,
        callbacks: Iterable[Callback] = (),
        log_every: int = 10,
        fp16_init_scale: float = _UNSET,
        divergence: DivergenceGuard | str | Mapping[str, Any] = "raise",
        distributed: str | Mapping[str, Any] = "auto",
        sync_batchnorm: bool = _UNSET,
        compile: bool | Mapping[str, Any] = False,
        grad_norms: bool = True,
        progress: bool = True,
    ) -> None:
        game = self._as_game(generator, critic, loss, regularizers, latent_dim)
        game.check()
        self.game: Game = game
        self.critic_steps = check_int_at_least("critic_steps", critic_steps, 1)
        self.critic_batches = check_choice("critic_batches", critic_batches, CRITIC_BATCHES)
        self.log_every = check_int_at_least("log_every", log_every, 1)
        self.amp, self.amp_init_scale = _amp_setting(amp, fp16_init_scale)
        self.distributed, self.sync_batchnorm = _distributed_setting(distributed, sync_batchnorm)
        self.progress = bool(progress)
        # reliability and scale-out (ganzoo.distributed, ganzoo.guard): process group and
        # device first, then one random stream per process (rank 0 keeps `seed` itself).
        self.dist: DistributedContext = setup_distributed(self.distributed, device)
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
        self.compile = compile if isinstance(compile, Mapping) else bool(compile)
        self.grad_norms = bool(grad_norms)
        self.regularizers: list[Regularizer] = list(game.regularizers)
        self._penalty_regs = [(self._reg_name(r), r) for r in self.regularizers if has_penalty(r)]

        # A module compiled by the user trains through its compiled forward; the plain module it
        # wraps (same weights) is what checkpoints store and what penalties differentiate twice.
        split = {name: _split_compiled(module) for name, module in game.networks().items()}
        self.channels_last = (_has_conv(*(plain for plain, _ in split.values())) if channels_last == "auto"
                              else bool(channels_last))
        memory_format = torch.channels_last if self.channels_last else torch.preserve_format
        critic_names = {name for phase in game.phases if phase.critic for name in phase.networks}
        self.networks: dict[str, nn.Module] = {}
        for name, (module, _) in split.items():
            if name in critic_names:
                for reg in self.regularizers:
                    module = reg.wrap(module)
            module = module.to(self.device, memory_format=memory_format)  # type: ignore[call-overload]
            if self.sync_batchnorm:
                module = convert_sync_batchnorm(module, self.dist)
            game.set_network(name, module)
            self.networks[name] = module
        self._warn_batch_norm_with_penalty(critic_names)
        self._params = {name: [p for p in m.parameters() if p.requires_grad] for name, m in self.networks.items()}
        self._batch_norm_networks = [name for name, m in self.networks.items()
                                     if any(isinstance(x, nn.modules.batchnorm._BatchNorm) for x in m.modules())]
        self._check_next_batch = True

        specs = {"generator": generator_optimizer, "critic": critic_optimizer, **dict(optimizers or {})}
        phase_names = [phase.name for phase in game.phases]
        for name, spec in specs.items():
            if spec is not None and name not in phase_names:
                raise ConfigError(f"an optimizer was given for the phase {name!r}, but {type(game).__name__}'s phases are "
                                  f"{phase_names}; pass optimizers={{phase name: spec}}")
        self._phase_params = {phase.name: [p for n in phase.networks for p in self._params[n]] for phase in game.phases}
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            phase.name: self._make_optimizer(specs.get(phase.name), phase) for phase in game.phases
        }
        # the modules the updates run through: DDP wrappers under torchrun, else the modules;
        # forward passes run through _forward (compiled when asked), penalties through _train
        self._train = {name: self.dist.wrap(m) for name, m in self.networks.items()}
        self._forward = {name: self._forward_module(self._train[name], split[name][1]) for name in self.networks}
        self.amp_policies: dict[str, AmpPolicy] = {
            phase.name: AmpPolicy(self.amp, self.device, init_scale=self.amp_init_scale) for phase in game.phases
        }
        self.callbacks: list[Callback] = list(callbacks)
        self._ctx = Context(
            device=self.device, channels_last=self.channels_last, latent_dim=game.latent_dim,
            forward=self._forward, plain=self.networks, penalty_modules=self._train,
            regularizers=self._penalty_regs, amp=next(iter(self.amp_policies.values())),
        )

        self.step = 0  # generator steps (one iteration of every phase) done
        self.critic_updates = 0
        self.epoch = 0
        self._history = History()
        self._fit_callbacks: list[Callback] | None = None  # the running fit's callbacks
        self._fit_target: int | None = None  # the running fit's last step (None: an epochs= fit)
        self._callback_states: dict[str, Any] = {}  # from a checkpoint, for the callbacks of the next fit
        self._pending: list[tuple[int, dict[str, Tensor]]] = []
        self._columns: list[str] = []  # every logged column seen so far, in first-seen order

    # ------------------------------------------------------------------ setup helpers
    @staticmethod
    def _as_game(generator: Any, critic: Any, loss: Any, regularizers: Any, latent_dim: int | None) -> Game:
        if not isinstance(generator, Game):
            return Unconditional(generator, critic, loss, regularizers, latent_dim=latent_dim)
        if critic is not None or loss != "bce" or (regularizers != () and regularizers != []):
            raise ConfigError(
                f"Trainer(game, ...) takes the networks, loss and regularizers from the game; build "
                f"them into the {type(generator).__name__} and pass no critic, loss or regularizers"
            )
        if latent_dim is not None and latent_dim != generator.latent_dim:
            raise ConfigError(f"latent_dim={latent_dim} contradicts the game's latent_dim={generator.latent_dim}; "
                              "set it on the game")
        return generator

    @staticmethod
    def _reg_name(reg: Regularizer) -> str:
        config = _component_config(reg)
        return config["name"] if config else type(reg).__name__

    def _warn_batch_norm_with_penalty(self, critic_names: Iterable[str]) -> None:
        per_sample = [self._reg_name(r) for r in self.regularizers if getattr(r, "per_sample", False)]
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                     for name in critic_names for m in self.networks[name].modules())
        if per_sample and has_bn:
            warnings.warn(
                f"the critic uses batch norm together with {', '.join(per_sample)}: batch norm "
                "mixes the samples of a batch, so the per-sample gradient the penalty constrains "
                "is no longer each sample's own (Gulrajani et al. 2017, Sec. 4). Build the critic "
                "with norm='none' or norm='layer'",
                UserWarning,
                stacklevel=4,
            )

    def _forward_module(self, model: nn.Module, compiled: nn.Module | None) -> nn.Module:
        """The module forward passes run through: the user's compiled wrapper (single process),
        else ``model`` (DDP-wrapped under torchrun), compiled when ``compile`` asks for it."""
        if compiled is not None and not self.dist.enabled:
            return compiled
        return _compiled(model, self.compile) if (self.compile or compiled is not None) else model

    def _make_optimizer(self, arg: OptimizerArg, phase: Phase) -> torch.optim.Optimizer:
        modules = [self.networks[name] for name in phase.networks]
        if isinstance(arg, torch.optim.Optimizer):
            model_params = {id(p) for m in modules for p in m.parameters()}
            opt_params = [p for g in arg.param_groups for p in g["params"]]
            if not opt_params or any(id(p) not in model_params for p in opt_params):
                raise ConfigError(
                    f"{phase.name}_optimizer does not optimise the {phase.name}'s parameters (built before "
                    "a regularizer re-parametrised the model?); pass a spec dict such as "
                    "{'name': 'adam', 'lr': 1e-4, 'betas': (0.0, 0.9)} and the Trainer builds it"
                )
            return arg
        params = modules[0].parameters() if len(modules) == 1 else itertools.chain(*(m.parameters() for m in modules))
        return build_optimizer(DEFAULT_OPTIMIZER if arg is None else arg, params)

    # ------------------------------------------------------------------ the usual names
    def _network(self, name: str) -> nn.Module:
        try:
            return self.networks[name]
        except KeyError:
            raise AttributeError(f"{type(self.game).__name__} has no network {name!r}; its networks: "
                                 f"{sorted(self.networks)} (trainer.networks[name])") from None

    def _phase_item(self, table: Mapping[str, Any], name: str, what: str) -> Any:
        try:
            return table[name]
        except KeyError:
            raise AttributeError(f"{type(self.game).__name__} has no phase {name!r}; its phases: "
                                 f"{sorted(table)} (trainer.{what}[phase])") from None

    @property
    def generator(self) -> nn.Module:
        """The network called ``"generator"`` (``trainer.networks["generator"]``)."""
        return self._network("generator")

    @property
    def critic(self) -> nn.Module:
        """The network called ``"critic"`` (``trainer.networks["critic"]``)."""
        return self._network("critic")

    @property
    def generator_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer of the phase ``"generator"``."""
        return self._phase_item(self.optimizers, "generator", "optimizers")

    @property
    def critic_optimizer(self) -> torch.optim.Optimizer:
        """The optimizer of the phase ``"critic"``."""
        return self._phase_item(self.optimizers, "critic", "optimizers")

    @property
    def generator_amp(self) -> AmpPolicy:
        """The AMP policy of the phase ``"generator"``."""
        return self._phase_item(self.amp_policies, "generator", "amp_policies")

    @property
    def critic_amp(self) -> AmpPolicy:
        """The AMP policy of the phase ``"critic"``."""
        return self._phase_item(self.amp_policies, "critic", "amp_policies")

    @property
    def loss(self) -> AdversarialLoss | None:
        """The game's adversarial loss strategy (None for a game without one)."""
        return getattr(self.game, "loss", None)

    @property
    def latent_dim(self) -> int | None:
        """The game's noise size (None for a game without noise)."""
        return self.game.latent_dim

    @property
    def fp16_init_scale(self) -> float:
        """Deprecated name of ``amp_init_scale`` (the initial fp16 loss scale)."""
        return self.amp_init_scale

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
        progress: bool | None = None,
    ) -> History:
        """Train for ``steps`` more generator steps, or ``epochs`` more passes over ``data``.

        A second call continues where the first stopped (step counters, optimizer
        moments and history carry on).

        Args:
            data: An iterable of batches: a DataLoader, a ganzoo sampler, any iterable of
                what the game reads (tensors, ``(images, labels)`` tuples, ``{"x", "y"}`` dicts).
            steps: Generator steps to run.
            epochs: Passes over ``data`` to run (the step that ends a pass finishes).
            callbacks: Extra callbacks for this call only.
            progress: Override the trainer's ``progress`` setting for this call.

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
        target = self.step + steps if steps is not None else None
        if (self.progress if progress is None else progress) and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            callbacks.append(ProgressBar(desc="ganzoo"))  # counts to the fit's end (_fit_target)
        if not self.dist.is_main:  # sample grids, logs ...: rank 0 only
            callbacks = [cb for cb in callbacks if not getattr(cb, "main_process_only", False)]
        stream = self._batch_stream(data)
        if epochs is not None and not stream.ends:
            raise ConfigError(
                f"fit(epochs={epochs}) on data that never ends ({type(data).__name__} is an endless sampler); "
                "pass fit(steps=N) instead, or a DataLoader over a dataset"
            )
        for module in self.networks.values():
            module.train()
        self._fit_callbacks = callbacks
        self._fit_target = target  # what a ProgressBar without a total counts to
        self._restore_callbacks()
        for cb in callbacks:
            cb.on_fit_start(self)
        passes_before = stream.epochs_done  # a parked stream (a second fit) has passes behind it
        try:
            while True:
                try:
                    more = (self.step < target) if target is not None else (stream.epochs_done - passes_before < (epochs or 0))
                    if not more:
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
                    self._roll_back(error)  # re-raises unless divergence="rollback"
        except BaseException as error:
            self._flush()
            for cb in callbacks:
                cb.on_interrupt(self, error)
            raise
        finally:
            self._park_stream()
            self._fit_callbacks = None
        self.dist.sync_buffers(*self.networks.values())  # rank 0's batch-norm statistics everywhere
        self._flush()
        for cb in callbacks:
            cb.on_fit_end(self)
        return self._history

    @staticmethod
    def _state_keys(callbacks: Iterable[Callback]) -> dict[str, Callback]:
        """Stateful callbacks by checkpoint key (``ema``, then ``ema:1`` for a second one ...)."""
        keyed: dict[str, Callback] = {}
        for cb in callbacks:
            if cb.state_key:
                index = sum(1 for key in keyed if key.split(":")[0] == cb.state_key)
                keyed[cb.state_key if index == 0 else f"{cb.state_key}:{index}"] = cb
        return keyed

    def _restore_callbacks(self) -> None:
        """Hand the checkpoint's callback states (an EMA's average) to this fit's callbacks."""
        if not self._callback_states or self._fit_callbacks is None:
            return
        for key, cb in self._state_keys(self._fit_callbacks).items():
            if key in self._callback_states:
                cb.restore_state(self, self._callback_states.pop(key))

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
        self._check_next_batch = True  # new data: its first batch is checked against the networks
        return self._stream

    def _park_stream(self) -> None:
        """Keep a stream between fit calls unless it holds worker processes (then keep only its position)."""
        if self._stream is not None and self._stream.uses_workers:
            self._data_position = self._stream.position()
            self._stream = None

    def _freeze_outside(self, phase: Phase) -> list[nn.Parameter]:
        """Stop gradients into every network outside ``phase``; returns what to unfreeze."""
        frozen = [p for name, params in self._params.items() if name not in phase.networks for p in params]
        for p in frozen:
            p.requires_grad_(False)
        return frozen

    def _train_step(self, stream: BatchStream) -> None:
        game, ctx = self.game, self._ctx
        skipped_before = {name: amp.skipped_tensor() for name, amp in self.amp_policies.items()}
        for values in ctx.penalty_values.values():
            values.clear()
        terms: dict[str, list[Tensor]] = {}
        grad_norms: dict[str, Tensor] = {}
        batch: Any = None
        for phase in game.phases:
            repeats = self.critic_steps if phase.repeats == "critic_steps" else 1
            amp, optimizer = self.amp_policies[phase.name], self.optimizers[phase.name]
            ctx.phase, ctx.amp = phase, amp
            frozen = self._freeze_outside(phase)
            try:
                for i in range(repeats):
                    if batch is None or (i > 0 and self.critic_batches == "fresh"):
                        batch = self._next_batch(stream)
                    ctx.critic_updates = self.critic_updates
                    with amp.autocast():
                        out = self._losses(phase, batch)
                    total = self._total_loss(out, phase)
                    optimizer.zero_grad(set_to_none=True)
                    amp.backward(total)
                    if self.grad_norms and i == repeats - 1:
                        amp.unscale_(optimizer)
                        grad_norms[phase.name] = _grad_norm(self._phase_params[phase.name])
                    amp.step(optimizer)
                    if phase.critic:
                        for reg in self.regularizers:
                            for name in phase.networks:
                                reg.after_critic_step(self.networks[name])
                        self.critic_updates += 1
                    for key, value in out.items():
                        if key != "loss":
                            terms.setdefault(key, []).append(value.detach())
            finally:
                for p in frozen:
                    p.requires_grad_(True)
                ctx.phase = None
        self.step += 1
        self._log_step(terms, grad_norms, skipped_before)

    def _next_batch(self, stream: BatchStream) -> Any:
        """The next prepared batch; the first of new data is checked against the networks."""
        batch = self.game.prepare(stream.next(), self._ctx)
        if self._check_next_batch:
            self._check_next_batch = False
            self.game.check_batch(batch, self._ctx)
        return batch

    def _losses(self, phase: Phase, batch: Any) -> Any:
        try:
            return self.game.losses(phase.name, batch, self._ctx)
        except ValueError as exc:  # torch's batch norm on one value per channel
            if "Expected more than 1 value per channel" not in str(exc) or not self._batch_norm_networks:
                raise
            raise ConfigError(
                f"a batch of {_batch_size(batch)} sample(s) reached batch-norm layers (in "
                f"{', '.join(self._batch_norm_networks)}) that see one value per channel, which they cannot "
                "normalise in training. Pass drop_last=True to the DataLoader (its last batch is the remainder), "
                "use a larger batch, or build the networks without batch norm"
            ) from None

    def _total_loss(self, out: Any, phase: Phase) -> Tensor:
        total = out.get("loss") if isinstance(out, Mapping) else None
        if not isinstance(total, Tensor) or total.numel() != 1:
            raise ConfigError(
                f"{type(self.game).__name__}.losses({phase.name!r}, ...) must return a dict with a scalar tensor "
                f"'loss' (the total to minimise) and any logged terms; got {type(out).__name__}"
                + (f" with keys {sorted(out)}" if isinstance(out, Mapping) else "")
            )
        return total

    def _log_step(self, terms: dict[str, list[Tensor]], grad_norms: dict[str, Tensor],
                  skipped_before: dict[str, Tensor]) -> None:
        """Queue this step's values on the device; :meth:`_flush` copies them to the host."""
        row = {key: torch.stack(values).float().mean() for key, values in terms.items()}
        for name, values in self._ctx.penalty_values.items():
            if values:
                row[f"penalty/{name}"] = torch.stack(values).mean()
        for phase, norm in grad_norms.items():
            row[f"{phase}_grad_norm"] = norm
        for phase, amp in self.amp_policies.items():
            row[f"{phase}_skipped"] = amp.skipped_tensor() - skipped_before[phase]
        self._pending.append((self.step, row))
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

    def _expected_columns(self) -> list[str]:
        columns = [f"penalty/{name}" for name, _ in self._penalty_regs]
        if self.grad_norms:
            columns += [f"{phase.name}_grad_norm" for phase in self.game.phases]
        return columns

    def _flush(self) -> None:
        if not self._pending:
            return
        device = self.device
        flat = [v.reshape(()).to(device, torch.float32) for _, row in self._pending for v in row.values()]
        values = iter(torch.stack(flat).cpu().tolist())  # the one host sync per log_every steps
        if not self._columns:
            self._columns = self._expected_columns()
        for step, row in self._pending:
            record = {key: next(values) for key in row}
            for key in record:
                if key not in self._columns:
                    self._columns.append(key)
            absent = [key for key in self._columns if key not in record]  # lazy penalties, not computed
            full = {key: record.get(key, math.nan) for key in self._columns}
            full["step"] = step
            self._history.append_row(full)
            self.guard.observe(full, absent=absent)
        self._pending.clear()

    def _roll_back(self, error: DivergenceError) -> None:
        """Go back to :attr:`last_checkpoint` and lower every learning rate (``divergence="rollback"``);
        re-raise ``error`` when the guard's action is ``"raise"`` or no rollback is left."""
        path = self.guard.allow_rollback(self, error)  # raises when not allowed
        lrs = {name: [group["lr"] for group in opt.param_groups] for name, opt in self.optimizers.items()}
        before = list(self.guard.rollbacks)
        self.load_state_dict(load_checkpoint(path, map_location=self.device))
        for name, opt in self.optimizers.items():
            for group, lr in zip(opt.param_groups, lrs[name]):
                group["lr"] = lr * self.guard.lr_factor
        self.guard.record_rollback(self, error, path, before)

    @torch.no_grad()
    def sample(self, n: int | None = None, z: Tensor | None = None, batch_size: int = 1024, **inputs: Any) -> Tensor:
        """Generate samples in eval mode without gradients (float32, on the trainer's device).

        Args:
            n: Number of samples (may be left out when the inputs give it).
            z: Optional noise ``(n, latent_dim)`` (e.g. a fixed grid of noise to compare
                snapshots); drawn fresh when None.
            batch_size: Generate in chunks of this size.
            inputs: What the game's :meth:`~ganzoo.games.Game.sample` takes besides noise:
                ``labels=`` for :class:`~ganzoo.games.Conditional`, ``x=``/``y=`` for
                :class:`~ganzoo.games.CycleGAN`.
        """
        if n is not None:
            check_int_at_least("n", n, 1)
        check_int_at_least("batch_size", batch_size, 1)
        if z is not None:
            inputs["z"] = z
        modes = {name: m.training for name, m in self.networks.items()}
        for module in self.networks.values():
            module.eval()
        try:
            return self.game.sample(n, self._ctx, batch_size=batch_size, **inputs)
        finally:
            for name, module in self.networks.items():
                module.train(modes[name])

    # ------------------------------------------------------------------ state
    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild this trainer, as plain JSON (components whose
        config is unknown - not built from a registry - appear as None)."""
        game_name = GAMES.name_of(type(self.game))
        config: dict[str, Any] = {
            "game": {"name": game_name, **self.game.config()},
            "networks": {name: _component_config(m) for name, m in self.networks.items()},
            "loss": _component_config(self.loss) if self.loss is not None else None,
            "regularizers": [_component_config(r) for r in self.regularizers],
            "optimizers": {name: optimizer_spec(opt) for name, opt in self.optimizers.items()},
            "trainer": {
                "critic_steps": self.critic_steps,
                "amp": self.amp if self.amp_init_scale == DEFAULT_FP16_INIT_SCALE
                else {"mode": self.amp, "init_scale": self.amp_init_scale},
                "seed": self.seed,
                "critic_batches": self.critic_batches,
                "channels_last": self._channels_last_arg,
                "log_every": self.log_every,
                "divergence": self.guard.config(),
                "distributed": {"mode": self.distributed, "sync_batchnorm": True} if self.sync_batchnorm
                else self.distributed,
                "compile": self.compile,
                "grad_norms": self.grad_norms,
                "progress": self.progress,
            },
        }
        return config

    def state_dict(self) -> dict[str, Any]:
        """The full training state: networks, optimizers, scalers, game state (pools), RNGs,
        counters, history, data position and config."""
        return {
            "ganzoo_version": __version__,
            "torch_version": str(torch.__version__),
            "config": json.dumps(self.config()),
            "networks": {name: m.state_dict() for name, m in self.networks.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "amp": {name: amp.state_dict() for name, amp in self.amp_policies.items()},
            "game": self.game.state_dict(),
            "callbacks": self._callback_checkpoint_states(),
            "rng": rng_state(),
            "counters": {"step": self.step, "critic_updates": self.critic_updates, "epoch": self.epoch},
            "history": self.history.state_dict(),
            "data": self._stream.position() if self._stream is not None else self._data_position,
            "guard": self.guard.state_dict(),
            "world_size": self.dist.world_size,
        }

    def _callback_checkpoint_states(self) -> dict[str, Any]:
        callbacks = self._fit_callbacks if self._fit_callbacks is not None else self.callbacks
        states = dict(self._callback_states)  # not yet handed to a callback: keep them
        for key, cb in self._state_keys(callbacks).items():
            state = cb.checkpoint_state()
            if state is not None:
                states[key] = state
        return states

    @staticmethod
    def _by_name(state: Mapping[str, Any], key: str, names: Iterable[str], legacy: str) -> dict[str, Any]:
        """``state[key]`` (keyed by network or phase name), or the same from a checkpoint written
        before games (keys ``generator``, ``critic_optimizer``, ``generator_amp`` ...)."""
        if key in state:
            return dict(state[key])
        return {name: state[legacy.format(name)] for name in names}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned into this trainer (also reads checkpoints
        written before games, keyed ``generator``/``critic``)."""
        networks = self._by_name(state, "networks", self.networks, "{}")
        optimizers = self._by_name(state, "optimizers", self.optimizers, "{}_optimizer")
        amps = self._by_name(state, "amp", self.amp_policies, "{}_amp")
        for table, saved, what in ((self.networks, networks, "networks"), (self.optimizers, optimizers, "phases")):
            if set(saved) != set(table):
                raise KeyError(f"the checkpoint holds the {what} {sorted(saved)}, this trainer has {sorted(table)}")
        for name, module in self.networks.items():
            module.load_state_dict(networks[name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(optimizers[name])
        for name, amp in self.amp_policies.items():
            amp.load_state_dict(amps[name])
        self.game.load_state_dict(state.get("game") or {})
        self._callback_states = dict(state.get("callbacks") or {})
        set_rng_state(state["rng"])
        counters = state["counters"]
        self.step, self.critic_updates, self.epoch = counters["step"], counters["critic_updates"], counters["epoch"]
        self._pending.clear()
        self._history.load_state_dict(state["history"])
        self._columns = []
        self.guard.load_state_dict(state.get("guard"))
        self._restore_process_streams(state)
        self._restore_callbacks()  # during a fit (a rollback): at once

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
        DivergenceGuard.check_parameters(self.networks)
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
        networks: Mapping[str, nn.Module] | None = None,
        callbacks: Iterable[Callback] = (),
        max_parameters: int | None = MAX_PARAMETERS,
    ) -> Trainer:
        """Rebuild a trainer from a checkpoint written by :meth:`save`, ready to continue.

        The game and its components are rebuilt from their registry configs; pass a
        network (``generator=``, ``critic=``, or ``networks={name: module}``), the loss or
        the regularizers explicitly to override them or when they were not built from a
        registry (then the checkpoint cannot describe them). Loading is safe: only tensors
        and plain values are read. Checkpoints written before games load too.

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
        given = dict(networks or {})
        given.update({k: v for k, v in (("generator", generator), ("critic", critic)) if v is not None})
        options: dict[str, Any] = {"device": device, "networks": given, "loss": loss,
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
        networks: dict[str, nn.Module],
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
                flag = name if name in ("generator", "critic", "loss") else f"networks={{{name!r}: ...}}"
                raise CheckpointError(
                    f"{path}: the {name} was not built from a registry, so the checkpoint cannot "
                    f"rebuild it; pass Trainer.load(..., {flag if '=' in flag else flag + '=...'}) with the same architecture"
                )
            return rebuild_component(path, name, cfg, max_parameters)

        options = dict(config["trainer"])
        options.pop("seed", None)  # the RNG state below replaces re-seeding
        # settings written before games: fp16_init_scale, sync_batchnorm and latent_dim were trainer keywords
        if "fp16_init_scale" in options:
            options["amp"] = {"mode": options.get("amp", "auto"), "init_scale": options.pop("fp16_init_scale")}
        if "sync_batchnorm" in options:
            sync = options.pop("sync_batchnorm")
            options["distributed"] = {"mode": options.get("distributed", "auto"), "sync_batchnorm": bool(sync)}
        game_config = dict(config.get("game") or {"name": "unconditional"})
        if "latent_dim" in options:
            game_config.setdefault("latent_dim", options.pop("latent_dim"))
        net_configs = config.get("networks") or {k: config.get(k) for k in ("generator", "critic")}
        optimizer_specs = config.get("optimizers") or {k: config.get(f"{k}_optimizer") for k in ("generator", "critic")}
        for name, spec in optimizer_specs.items():
            if spec is None:
                raise CheckpointError(
                    f"{path}: the {name}_optimizer is not a built-in torch optimizer ({', '.join(OPTIMIZERS)}), so "
                    "the checkpoint cannot rebuild it; load the state into a Trainer you build "
                    "yourself with trainer.load_state_dict(ganzoo.checkpoint.load_checkpoint(path))"
                )
        unknown = set(networks) - set(net_configs)
        if unknown:
            raise CheckpointError(f"{path}: Trainer.load got networks {sorted(unknown)} the checkpoint does not have "
                                  f"(it has {sorted(net_configs)})")
        game_name = game_config.pop("name", None)
        try:
            game_cls = GAMES.get(game_name)
        except Exception:
            raise CheckpointError(f"{path}: the game {game_name!r} is not registered (registered: {GAMES.list()}); "
                                  "import the module that registers it before loading") from None
        nets = {name: rebuild(name, networks.get(name), cfg) for name, cfg in net_configs.items()}
        kwargs: dict[str, Any] = {**nets, **game_config}
        if config.get("loss") is not None or loss is not None:
            kwargs["loss"] = rebuild("loss", loss, config.get("loss"))
        kwargs["regularizers"] = regularizers if regularizers is not None else [
            rebuild("regularizer", None, c) for c in config["regularizers"]
        ]
        try:
            game = game_cls(**kwargs)
            trainer = cls(game, optimizers=optimizer_specs, device=device, callbacks=callbacks, **options)
        except (ConfigError, TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"checkpoint {str(path)!r}: its settings {options!r} / game {game_config!r} are not valid "
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
        loss = f"loss={type(self.loss).__name__}, " if self.loss is not None else ""
        amp = next(iter(self.amp_policies.values())).mode
        return (
            f"Trainer(game={type(self.game).__name__}, {loss}regularizers=[{regs}], critic_steps={self.critic_steps}, "
            f"amp={amp!r}, device={str(self.device)!r}, step={self.step})"
        )
