r"""Faster bf16 convolution weight gradients on CPU: the same sums as one matrix product.

The weight gradient of a convolution :math:`y = W \star x` (stride :math:`s`, padding :math:`p`,
kernel :math:`k`) is

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
32x32 inputs) the gather costs more than it saves and oneDNN's kernel stays. Both accumulate the
bf16 products in float32 and round the result to bf16 once, so the values agree to bf16
rounding (tested against ``torch.ops.aten.convolution_backward``).

Only bf16 on CPU, groups 1, dilation 1, zero padding, and output maps of at most
:data:`MAX_OUTPUT_PIXELS` pixels take this path; everything else (float32 included) runs
PyTorch's kernels unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

#: Output maps up to this many pixels (8x8) compute the bf16 weight gradient as a matrix product.
MAX_OUTPUT_PIXELS = 64


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def use_matmul_weight_grad(x: Tensor, out_hw: tuple[int, int], dilation: Any = 1, groups: int = 1) -> bool:
    """Whether the bf16 matrix-product weight gradient applies to a convolution of ``x``."""
    return (x.dtype == torch.bfloat16 and x.device.type == "cpu" and x.dim() == 4 and groups == 1
            and _pair(dilation) == (1, 1) and out_hw[0] * out_hw[1] <= MAX_OUTPUT_PIXELS)


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
        elif ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad, x, weight, None, list(stride), list(padding), [1, 1], False, [0, 0], 1, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            grad_w = conv2d_weight_grad(grad, x, weight.shape[-2:], stride, padding).to(weight.dtype)
        if has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum((0, 2, 3))
        return grad_x, grad_w, grad_b, None, None


def _out_hw(in_hw: Any, kernel: Any, stride: Any, padding: Any) -> tuple[int, int]:
    (kh, kw), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    return (in_hw[0] + 2 * ph - kh) // sh + 1, (in_hw[1] + 2 * pw - kw) // sw + 1


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any, dilation: Any, groups: int) -> Tensor | None:
    """``F.conv2d`` under bf16 CPU autocast through :class:`_Conv2dMatmulWeightGrad` where it
    applies (see :func:`use_matmul_weight_grad`); None where it does not (call ``F.conv2d``).

    Casts like autocast does (input, weight and bias to bf16; the weight's cast is differentiable,
    so its gradient arrives in float32) and runs the product with autocast off.
    """
    if isinstance(padding, str) or not weight.requires_grad or not torch.is_grad_enabled():
        return None
    if x.device.type != "cpu" or not torch.is_autocast_enabled("cpu") or torch.get_autocast_dtype("cpu") != torch.bfloat16:
        return None
    if torch._C._is_torch_function_mode_enabled():  # a trace (e.g. the penalty's) must see F.conv2d
        return None
    xb = x.to(torch.bfloat16)
    if not use_matmul_weight_grad(xb, _out_hw(x.shape[-2:], weight.shape[-2:], stride, padding), dilation, groups):
        return None
    with torch.autocast("cpu", enabled=False):
        wb = weight.to(torch.bfloat16)
        bb = None if bias is None else bias.to(torch.bfloat16)
        return _Conv2dMatmulWeightGrad.apply(xb, wb, bb, stride, padding)


class _ConvTranspose2dMatmulWeightGrad(torch.autograd.Function):
    """``conv_transpose2d(g, w)`` (the input gradient of a conv, as in the penalty's chain), whose
    weight gradient is :func:`conv2d_weight_grad` with the roles of input and output gradient
    swapped, and whose input gradient is ``conv2d(dy, w)`` (both differentiable)."""

    @staticmethod
    def forward(ctx: Any, g: Tensor, weight: Tensor, stride: Any, padding: Any, output_padding: Any) -> Tensor:
        ctx.save_for_backward(g, weight)
        ctx.conf = (_pair(stride), _pair(padding))
        return F.conv_transpose2d(g, weight, None, stride, padding, output_padding)

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor | None, ...]:
        g, weight = ctx.saved_tensors
        stride, padding = ctx.conf
        dy = dy.to(g.dtype)
        grad_g = F.conv2d(dy, weight, None, stride, padding) if ctx.needs_input_grad[0] else None
        grad_w = conv2d_weight_grad(g, dy, weight.shape[-2:], stride, padding).to(weight.dtype) if ctx.needs_input_grad[1] else None
        return grad_g, grad_w, None, None, None


def conv_transpose2d_chain(g: Tensor, weight: Tensor, stride: Any, padding: Any, output_padding: Any,
                           groups: int, dilation: Any) -> Tensor:
    """``F.conv_transpose2d(g, weight, ...)``, with the matrix-product weight gradient where it
    applies (``g`` is the conv's output gradient, so its maps are the conv's output size)."""
    if (weight.requires_grad and torch.is_grad_enabled()
            and use_matmul_weight_grad(g, (g.shape[-2], g.shape[-1]), dilation, groups)):
        return _ConvTranspose2dMatmulWeightGrad.apply(g, weight, stride, padding, output_padding)
    return F.conv_transpose2d(g, weight, None, stride, padding, output_padding, groups, dilation)
