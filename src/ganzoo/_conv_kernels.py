r"""Faster bf16 convolutions on CPU where oneDNN's kernels are slow: the same sums as matrix products.

**Weight gradients.** The weight gradient of a convolution :math:`y = W \star x` (stride
:math:`s`, padding :math:`p`, kernel :math:`k`) is

.. math::

    \frac{\partial L}{\partial W_{o,c,i,j}} = \sum_{b,u,v} g_{b,o,u,v}\,
    \tilde x_{b,c,\,s u + i,\, s v + j}
    \quad\Longleftrightarrow\quad
    \nabla_W = G^\top X_{\text{cols}},

with :math:`\tilde x` the zero-padded input, :math:`G` the output gradient as a
``(B*Ho*Wo, O)`` matrix and :math:`X_{\text{cols}}` the ``(B*Ho*Wo, k*k*C)`` patches of
:math:`\tilde x` (im2col). oneDNN's bf16 backward-weights kernel on CPUs with AMX is slow when
the output is small (measured on a Xeon with AMX, 2 threads, batch 64: the DCGAN critic's
256->512 layer at 8x8 input took 68 ms, the matrix product 11 ms; its 128->256 layer 28 ms vs
14 ms), while the patches of a small output are cheap to gather; for large outputs (64x64,
32x32 inputs) the gather costs more than it saves and oneDNN's kernel stays.

**Transposed convolutions of tiny maps.** A transposed convolution (a conv's input gradient,
and a generator's up-sampling layer) of a map of at most :data:`MAX_SMALL_MAP_PIXELS` pixels
(4x4) is one matrix product followed by a scatter-add of the :math:`k^2` taps (col2im):

.. math::

    y_{b,\,s u + i - p,\, s v + j - p,\, o} \mathrel{+}= \sum_c x_{b,u,v,c}\, W_{c,o,i,j}
    \quad\Longleftrightarrow\quad
    Y_{\text{cols}} = X W_{\text{mat}}, \quad y = \operatorname{col2im}(Y_{\text{cols}}).

On a CPU with AMX oneDNN's bf16 kernel takes 2.4x longer there (the DCGAN critic's 4x4 -> 8x8
input gradient, 512 -> 256 channels, batch 64: 8.9 ms against 3.7 ms; the 64x64 generator's
1x1 -> 4x4 first layer 2.0 ms against 0.8 ms); from 8x8 maps on oneDNN is faster and stays.
Without AMX (AVX-512 BF16 only) only 1x1 maps take the matrix product (:func:`small_map_pixels`):
on an AMD EPYC the generator's 1x1 -> 4x4 layer took 3.6-4.6 ms with oneDNN against 1.4-2.1 ms,
but the 4x4 -> 8x8 input gradient 12.2-13.4 ms against 15.5-15.9 ms.

**Small products stay on oneDNN.** Each path costs ~0.1 ms of Python and layout work per call, so
a product of fewer than :data:`MIN_MATMUL_MACS` multiply-adds keeps oneDNN's kernel (on an AMD
EPYC the bf16 WGAN-GP step of 16x16 nets of width 8 at batch 8, all of whose products are under
0.3 M, ran 1.5x slower through them). Every product of the 64x64 reference nets that takes these
paths is at least 0.5 M (the critic's 512 -> 1 scoring layer at batch 64, which the matrix product
runs 1.4x faster than oneDNN even on the EPYC) and up to 2,000 M.

The weight gradient accumulates the bf16 products in float32 and rounds the result to bf16
once, as oneDNN does (tested against ``torch.ops.aten.convolution_backward``). col2im rounds
each tap's product to bf16 and sums the taps that meet in an output in a float32 buffer, so it
may differ from oneDNN by a few bf16 ulps (tested against float64: at most 3x oneDNN's error).
Only bf16 on CPU, groups 1, dilation 1, zero padding take these paths; everything else (float32
included) runs PyTorch's kernels unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .amp import cpu_has_amx

#: Output maps up to this many pixels (8x8) compute the bf16 weight gradient as a matrix product.
MAX_OUTPUT_PIXELS = 64
#: Transposed convolutions of input maps up to this many pixels (4x4) run as a matrix product + col2im
#: on CPUs with AMX (see :func:`small_map_pixels`).
MAX_SMALL_MAP_PIXELS = 16
#: Products of fewer multiply-adds than this (2**19) keep oneDNN's kernels (see the module docstring).
MIN_MATMUL_MACS = 2**19


def small_map_pixels() -> int:
    """The largest input map (in pixels) whose bf16 transposed convolution takes
    :func:`conv_transpose2d_mm` on this CPU: :data:`MAX_SMALL_MAP_PIXELS` with AMX, 1 without
    (oneDNN's AVX-512 BF16 kernel is faster from 4x4 maps on; see the module docstring)."""
    return MAX_SMALL_MAP_PIXELS if cpu_has_amx() else 1


def bf16_autocast_on_cpu(x: Tensor) -> bool:
    """Whether ``x`` is a CPU tensor under bf16 autocast outside a trace (a torch-function mode,
    e.g. the penalty's, must see PyTorch's own functions): where these kernels may take over."""
    return (torch.is_autocast_enabled("cpu") and x.is_cpu  # cheapest first: called on every convolution
            and torch.get_autocast_dtype("cpu") == torch.bfloat16 and not torch._C._is_torch_function_mode_enabled())


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _applies(x: Tensor, weight: Tensor, pixels: int, max_pixels: int, dilation: Any, groups: int) -> bool:
    """The rules shared by both paths, on shapes only: CPU, groups 1, dilation 1, at most
    ``max_pixels`` positions, at least :data:`MIN_MATMUL_MACS` multiply-adds."""
    return (x.device.type == "cpu" and x.dim() == 4 and groups == 1 and _pair(dilation) == (1, 1)
            and pixels <= max_pixels and x.shape[0] * pixels * weight.numel() >= MIN_MATMUL_MACS)


def use_matmul_weight_grad(x: Tensor, weight: Tensor, out_hw: tuple[int, int], dilation: Any = 1,
                           groups: int = 1) -> bool:
    """Whether the bf16 matrix-product weight gradient applies to a convolution of ``x`` with
    ``weight`` whose output maps are ``out_hw``."""
    return x.dtype == torch.bfloat16 and _applies(x, weight, out_hw[0] * out_hw[1], MAX_OUTPUT_PIXELS, dilation, groups)


def conv2d_weight_grad(grad: Tensor, x: Tensor, kernel: tuple[int, int], stride: Any, padding: Any) -> Tensor:
    r""":math:`\nabla_W` of ``conv2d(x, W, stride, padding)`` given the output gradient ``grad``
    (dilation 1, groups 1), as one matrix product of the patches (see the module docstring).
    Returns a channels-last ``(O, C, kh, kw)`` tensor in ``grad``'s dtype."""
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    b, c = x.shape[:2]
    o, ho, wo = grad.shape[1:]
    xn = F.pad(x.permute(0, 2, 3, 1), (0, 0, pw, pw, ph, ph))  # (B, H+2p, W+2p, C)
    s_b, s_h, s_w, s_c = xn.stride()
    cols = xn.as_strided((b, ho, wo, kh, kw, c), (s_b, s_h * sh, s_w * sw, s_h, s_w, s_c)).reshape(b * ho * wo, kh * kw * c)
    g = grad.permute(0, 2, 3, 1).reshape(b * ho * wo, o)
    return (g.t() @ cols.to(g.dtype)).view(o, kh, kw, c).permute(0, 3, 1, 2)


def use_matmul_transpose(x: Tensor, weight: Tensor, dilation: Any = 1, groups: int = 1) -> bool:
    """Whether a transposed convolution of ``x`` with ``weight`` (bf16 CPU, a map of at most
    :func:`small_map_pixels` pixels) takes :func:`conv_transpose2d_mm`."""
    return x.dtype == torch.bfloat16 and _transpose_applies(x, weight, dilation, groups)


def _transpose_applies(x: Tensor, weight: Tensor, dilation: Any, groups: int) -> bool:
    return x.dim() == 4 and _applies(x, weight, x.shape[2] * x.shape[3], small_map_pixels(), dilation, groups)


def conv_transpose2d_mm(x: Tensor, weight: Tensor, stride: Any, padding: Any, out_hw: tuple[int, int]) -> Tensor:
    r"""``conv_transpose2d(x, weight, stride=stride, padding=padding)`` cropped or padded to
    ``out_hw`` (what ``output_padding`` does), as one matrix product and a col2im scatter-add of the
    taps (see the module docstring); ``weight`` is ``(C_in, C_out, kh, kw)``. A convolution's input
    gradient is this with the convolution's ``(O, C, kh, kw)`` weight. Not differentiable (callers
    wrap it in an autograd function). Returns a channels-last tensor in ``x``'s dtype."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    ci, co, kh, kw = weight.shape
    b, _, hi, wi = x.shape
    h, w = out_hw
    w_mat = weight.permute(0, 2, 3, 1).reshape(ci, kh * kw * co)  # a view when weight is channels-last
    cols = (x.permute(0, 2, 3, 1).reshape(b * hi * wi, ci) @ w_mat.to(x.dtype)).view(b, hi, wi, kh, kw, co)
    full_h, full_w = max(h + 2 * ph, sh * (hi - 1) + kh), max(w + 2 * pw, sw * (wi - 1) + kw)
    acc = torch.float32 if x.dtype in (torch.bfloat16, torch.float16) else x.dtype  # sum the taps in float32
    out = torch.zeros(b, full_h, full_w, co, dtype=acc, device=x.device)
    for i in range(kh):
        for j in range(kw):
            out[:, i:i + sh * (hi - 1) + 1:sh, j:j + sw * (wi - 1) + 1:sw, :] += cols[:, :, :, i, j, :]
    return out[:, ph:ph + h, pw:pw + w, :].to(x.dtype).permute(0, 3, 1, 2)


class _Conv2dMatmulWeightGrad(torch.autograd.Function):
    """``conv2d(x, w, b)`` whose backward takes the weight gradient from :func:`conv2d_weight_grad`
    and the input gradient from PyTorch's kernel. Under ``create_graph`` (a generic double
    backward) both come from differentiable ops: ``conv_transpose2d`` and the matrix product."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.conf = (_pair(stride), _pair(padding), bias is not None)
        return F.conv2d(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        stride, padding, has_bias = ctx.conf
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0] and torch.is_grad_enabled():  # create_graph: differentiable
            (kh, kw) = weight.shape[-2:]
            natural = [(grad.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + (kh, kw)[i] for i in range(2)]
            output_padding = (x.shape[2] - natural[0], x.shape[3] - natural[1])
            grad_x = F.conv_transpose2d(grad, weight, None, stride, padding, output_padding)
        elif ctx.needs_input_grad[0] and use_matmul_transpose(grad, weight):
            grad_x = conv_transpose2d_mm(grad, weight, stride, padding, (x.shape[2], x.shape[3]))
        elif ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad, x, weight, None, list(stride), list(padding), [1, 1], False, [0, 0], 1, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_w = conv2d_weight_grad(grad, x, weight.shape[-2:], stride, padding).to(weight.dtype)
        if has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum((0, 2, 3))
        return grad_x, grad_w, grad_b, None, None


def _transposed_hw(x: Tensor, weight: Tensor, stride: Any, padding: Any, output_padding: Any) -> tuple[int, int]:
    (sh, sw), (ph, pw), (oh, ow) = _pair(stride), _pair(padding), _pair(output_padding)
    return ((x.shape[2] - 1) * sh - 2 * ph + weight.shape[2] + oh, (x.shape[3] - 1) * sw - 2 * pw + weight.shape[3] + ow)


def _out_hw(in_hw: Any, kernel: Any, stride: Any, padding: Any) -> tuple[int, int]:
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    return (in_hw[0] + 2 * ph - kh) // sh + 1, (in_hw[1] + 2 * pw - kw) // sw + 1


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor | None:
    """``F.conv2d`` under bf16 CPU autocast through :class:`_Conv2dMatmulWeightGrad` where it
    applies (see :func:`use_matmul_weight_grad`); None where it does not (call ``F.conv2d``).

    Casts like autocast does (input, weight and bias to bf16; the weight's cast is differentiable,
    so its gradient arrives in float32) and runs the product with autocast off.
    """
    if not bf16_autocast_on_cpu(x) or isinstance(padding, str) or not torch.is_grad_enabled() or not weight.requires_grad:
        return None  # the autocast check first: it is the cheapest, and it reads no tensor attribute
    out_hw = _out_hw(x.shape[-2:], weight.shape[-2:], stride, padding)
    if not _applies(x, weight, out_hw[0] * out_hw[1], MAX_OUTPUT_PIXELS, dilation, groups):
        return None
    xb = x.to(torch.bfloat16)
    with torch.autocast("cpu", enabled=False):
        wb = weight.to(torch.bfloat16)
        bb = None if bias is None else bias.to(torch.bfloat16)
        return _Conv2dMatmulWeightGrad.apply(xb, wb, bb, stride, padding)


class _ConvTranspose2d(torch.autograd.Function):
    """``conv_transpose2d(x, w, b)`` (a conv's input gradient, as in the penalty's chain, or a
    generator's up-sampling layer): the forward through :func:`conv_transpose2d_mm` for tiny maps
    (:func:`use_matmul_transpose`), PyTorch's kernel otherwise; the input gradient is
    ``conv2d(grad, w)`` and the weight gradient :func:`conv2d_weight_grad` with the roles of input
    and output gradient swapped (both differentiable under ``create_graph``)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
                output_padding: Any) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.conf = (_pair(stride), _pair(padding), bias is not None)
        if not use_matmul_transpose(x, weight):
            return F.conv_transpose2d(x, weight, bias, stride, padding, output_padding)
        y = conv_transpose2d_mm(x, weight, stride, padding, _transposed_hw(x, weight, stride, padding, output_padding))
        return y if bias is None else y + bias.view(1, -1, 1, 1)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        stride, padding, has_bias = ctx.conf
        grad = grad.to(x.dtype)
        grad_x = F.conv2d(grad, weight, None, stride, padding) if ctx.needs_input_grad[0] else None
        grad_w = (conv2d_weight_grad(x, grad, weight.shape[-2:], stride, padding).to(weight.dtype)
                  if ctx.needs_input_grad[1] else None)
        grad_b = grad.sum((0, 2, 3)) if has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b, None, None, None


def conv_transpose2d_chain(g: Tensor, weight: Tensor, stride: Any, padding: Any, output_padding: Any,
                           groups: int, dilation: Any) -> Tensor:
    """``F.conv_transpose2d(g, weight, ...)``, with the matrix-product weight gradient where it
    applies (``g`` is the conv's output gradient, so its maps are the conv's output size)."""
    if (weight.requires_grad and torch.is_grad_enabled()
            and use_matmul_weight_grad(g, weight, (g.shape[-2], g.shape[-1]), dilation, groups)):
        return _ConvTranspose2d.apply(g, weight, None, stride, padding, output_padding)
    return F.conv_transpose2d(g, weight, None, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
                     output_padding: Any, groups: int, dilation: Any) -> Tensor | None:
    """``F.conv_transpose2d`` under bf16 CPU autocast through :class:`_ConvTranspose2d`
    where it applies (see :func:`use_matmul_transpose`: input maps of at most 4x4 with AMX, such
    as a generator's first two layers, 1x1 without); None where it does not (call ``F.conv_transpose2d``).

    Casts like autocast does (input, weight and bias to bf16, the weight's cast differentiable)
    and runs the product with autocast off, with or without gradients (a generator sampling for
    the critic's step runs it under ``no_grad``).
    """
    if not bf16_autocast_on_cpu(x):
        return None
    if not _transpose_applies(x, weight, dilation, groups):
        return None
    xb = x.to(torch.bfloat16)
    with torch.autocast("cpu", enabled=False):
        bb = None if bias is None else bias.to(torch.bfloat16)
        return _ConvTranspose2d.apply(xb, weight.to(torch.bfloat16), bb, stride, padding, output_padding)
