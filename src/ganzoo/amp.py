"""Automatic mixed precision (AMP) policy: autocast dtype, gradient scaler, skipped steps.

Policies:

* ``"off"``: full float32.
* ``"bf16"``: autocast to bfloat16; same exponent range as float32, so no scaler.
* ``"fp16"``: autocast to float16 with a :class:`torch.amp.GradScaler`. The gradient
  penalty follows PyTorch's AMP recipe (see :func:`input_gradient`).
* ``"auto"`` (the Trainer's default): fp16 on CUDA; on CPU bf16 only where bfloat16 is
  faster than float32 (see :func:`cpu_bf16_is_fast`), otherwise off.

Example:
    >>> from ganzoo import AmpPolicy
    >>> AmpPolicy("off", "cpu").mode
    'off'
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, ContextManager

import torch
from torch import Tensor

from ._validation import check_choice
from .errors import ConfigError

__all__ = ["AMP_MODES", "AmpPolicy", "resolve_amp", "cpu_supports_bf16", "cpu_bf16_is_fast", "cpu_has_amx",
           "input_gradient"]

#: The accepted values of ``amp=`` (see the module docstring).
AMP_MODES = ("off", "bf16", "fp16", "auto")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@functools.cache
def cpu_supports_bf16() -> bool:
    """Whether this CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX).

    Without it bf16 autocast still runs, emulated, and is usually slower than float32.
    """
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, probe, None)
        if check is not None:
            with contextlib.suppress(Exception):
                if check():
                    return True
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags = f.read()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        return False


def _cpu_flags() -> tuple[str, set[str]]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            text = f.read()
    except OSError:
        return "", set()
    vendor = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("vendor_id")), "")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return vendor, set(flags)


@functools.cache
def cpu_bf16_is_fast() -> bool:
    """Whether bf16 autocast speeds up training on this CPU (what ``amp="auto"`` uses).

    True with AMX (Intel Sapphire Rapids and later, when the OS exposes it) and on AMD CPUs
    with AVX-512 BF16 (Zen 4 and later): there bf16 matrix products run at about twice the
    float32 rate (BENCHMARKS.md: a WGAN-GP critic step 1.9x faster on an AMD EPYC).
    False on Intel CPUs with AVX-512 BF16 but no AMX (Cooper Lake; Sapphire/Emerald Rapids
    virtual machines that hide AMX): their bf16 dot-product instruction has the same peak
    as float32 FMA, and the conversions make autocast slower (measured here: a 2048^2 matmul
    at half the float32 speed, the WGAN-GP step 1.2-2x slower). ``amp="bf16"`` still runs there.
    """
    return cpu_has_amx() or (_cpu_flags()[0] == "AuthenticAMD" and cpu_supports_bf16())


@functools.cache
def cpu_has_amx() -> bool:
    """Whether this CPU has AMX tiles for bfloat16 (Intel Sapphire Rapids and later, where the
    OS exposes them): oneDNN's fastest bf16 kernels, and the ones ``ganzoo._conv_kernels``
    is tuned for."""
    check = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if check is not None:
        with contextlib.suppress(Exception):
            if check():
                return True
    return "amx_bf16" in _cpu_flags()[1]


def resolve_amp(mode: str, device: torch.device | str) -> str:
    """Turn a requested policy into the one that runs on ``device``: ``off``, ``bf16`` or ``fp16``.

    Raises:
        ConfigError: If ``mode`` is not one of :data:`AMP_MODES`, or the device cannot run it.
    """
    check_choice("amp", mode, AMP_MODES)
    device = torch.device(device)
    if mode == "auto":
        if device.type == "cuda":
            return "fp16"
        return "bf16" if device.type == "cpu" and cpu_bf16_is_fast() else "off"
    if mode == "off":
        return mode
    if not torch.amp.is_autocast_available(device.type):
        raise ConfigError(
            f"amp={mode!r} cannot run on device {device}: torch has no autocast there; "
            "use amp='off'"
        )
    if mode == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f"amp='bf16' cannot run on {torch.cuda.get_device_name(device)}: it has no bfloat16 "
            "support; use amp='fp16' (with a gradient scaler) or amp='off'"
        )
    if mode == "fp16":
        try:
            torch.amp.GradScaler(device.type)
            with torch.autocast(device.type, dtype=torch.float16):
                torch.ones(2, 2, device=device) @ torch.ones(2, 2, device=device)
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot run here"
            raise ConfigError(
                f"amp='fp16' cannot run on device {device} ({exc}); use amp='bf16' or amp='off'"
            ) from None
    return mode


class AmpPolicy:
    """Mixed-precision settings for one network's updates: autocast, scaling, stepping.

    The Trainer keeps one policy per phase of the game (critic and generator), so each
    has its own gradient scale. A policy's :meth:`step` steps the optimizer through the scaler,
    updates the scale and counts the steps the scaler skipped because a gradient
    overflowed (expected now and then under fp16; not divergence). The count lives on the
    device, so stepping never waits for the GPU; reading :attr:`skipped_steps` does.

    Args:
        mode: One of :data:`AMP_MODES`.
        device: The device the network runs on.
        init_scale: Initial fp16 loss scale. PyTorch's default, 2**16, overflows the
            gradient penalty's double backward in the first steps; 2**10 does not, and
            the scale grows on its own when there is headroom.
    """

    def __init__(self, mode: str = "off", device: torch.device | str = "cpu", init_scale: float = 2.0**10) -> None:
        self.requested = mode
        self.device = torch.device(device)
        self.mode = resolve_amp(mode, self.device)
        self.dtype: torch.dtype | None = _DTYPES.get(self.mode)
        self.scaler: torch.amp.GradScaler | None = (
            torch.amp.GradScaler(self.device.type, init_scale=init_scale) if self.mode == "fp16" else None
        )
        # on the device, so logging them needs no host-to-device copy (which can wait for the GPU)
        self._skipped = torch.zeros((), dtype=torch.int64, device=self.device)
        self._applied = torch.ones((), dtype=torch.bool, device=self.device)

    @property
    def skipped_steps(self) -> int:
        """Optimizer steps the fp16 scaler skipped so far (reading it syncs with the device)."""
        return int(self._skipped)

    @skipped_steps.setter
    def skipped_steps(self, value: int) -> None:
        self._skipped.fill_(int(value))

    def skipped_tensor(self) -> Tensor:
        """The skip count as a 0-d device tensor (a copy; reading it does not sync)."""
        return self._skipped.clone()

    @property
    def enabled(self) -> bool:
        """True when autocast is on (bf16 or fp16)."""
        return self.dtype is not None

    def autocast(self) -> ContextManager[Any]:
        """A context manager that runs its block under this policy's autocast."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def scale_factor(self) -> Tensor | None:
        """The current loss scale as a tensor (no host sync), or None without a scaler."""
        if self.scaler is None:
            return None
        return self.scaler.scale(torch.ones((), device=self.device))

    def backward(self, loss: Tensor) -> None:
        """Backpropagate ``loss``, scaled when a scaler is active."""
        (loss if self.scaler is None else self.scaler.scale(loss)).backward()

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        """Unscale the gradients in place (before reading or clipping them)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> Tensor:
        """Step ``optimizer`` (through the scaler) and update the scale, without a host sync.

        Returns:
            A 0-d bool tensor: False if the scaler skipped the step because a gradient was
            inf or NaN (the scale then shrank). ``bool()`` of it waits for the device.
        """
        if self.scaler is None:
            optimizer.step()
            return self._applied
        before = self.scaler.scale(torch.ones((), device=self.device))
        self.scaler.step(optimizer)
        self.scaler.update()
        skipped = self.scaler.scale(torch.ones((), device=self.device)) < before
        self._skipped += skipped
        return ~skipped

    def state_dict(self) -> dict[str, Any]:
        """Scaler state and skip count, for checkpoints."""
        return {
            "mode": self.mode,
            "skipped_steps": self.skipped_steps,
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (a scaler state is ignored under bf16/off)."""
        self.skipped_steps = int(state.get("skipped_steps", 0))
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])

    def __repr__(self) -> str:
        return f"AmpPolicy(mode={self.mode!r}, device={str(self.device)!r})"


def as_policy(amp: AmpPolicy | str | None, device: torch.device | str) -> AmpPolicy:
    """Accept a policy, a mode name or None (float32) where an :class:`AmpPolicy` is needed."""
    if isinstance(amp, AmpPolicy):
        return amp
    return AmpPolicy("off" if amp is None else amp, device)


def input_gradient(scores: Tensor, inputs: Tensor, amp: AmpPolicy | None = None) -> Tensor:
    """Gradient of ``scores.sum()`` with respect to ``inputs``, kept in the graph.

    Under fp16 this follows PyTorch's AMP recipe for gradient penalties: the **scaled**
    output goes into :func:`torch.autograd.grad` (so small gradients do not flush to
    zero in float16) and the result is multiplied by the inverse scale. The inverse is
    taken from the scale tensor, with no host sync. If the scaled gradient overflows,
    the result holds inf/NaN, the penalty does too, and the scaler skips that step.

    Args:
        scores: Critic outputs computed from ``inputs`` (any shape).
        inputs: The tensor the scores were computed from, with ``requires_grad=True``.
        amp: The critic's policy, or None for plain float32.

    Returns:
        A float32 tensor shaped like ``inputs``, differentiable (``create_graph=True``).
    """
    total = scores.float().sum()
    scale = amp.scale_factor() if amp is not None else None
    if scale is not None:
        total = total * scale
    (grad,) = torch.autograd.grad(total, inputs, create_graph=True)
    grad = grad.float()
    return grad if scale is None else grad * scale.reciprocal()
