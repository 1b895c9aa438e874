"""The actops ops as plain functions (``actops.mish`` and friends)."""

from __future__ import annotations

import torch
from torch import Tensor


def mish(x: Tensor) -> Tensor:
    r"""Mish activation, element-wise: :math:`x \tanh(\operatorname{softplus}(x))`.

    Exact over the whole floating range: no overflow for large ``|x|``, full
    relative accuracy in the negative tail (``mish(-30) ~ -2.8e-12``),
    ``mish(inf) = inf``, ``mish(-inf) = 0``, NaN stays NaN. Saves only ``x``
    for backward; the backward is differentiable again.

    Args:
        x: a float32, float64, bfloat16 or float16 tensor of any shape.

    Returns:
        A tensor like ``x`` (same shape, dtype and memory format).
    """
    return torch.ops.actops.mish(x)


def cpu_capability() -> str:
    """The CPU instruction set the kernels use here: ``AVX512``, ``AVX2`` or ``DEFAULT``.

    Follows PyTorch's choice, so ``ATEN_CPU_CAPABILITY=avx2`` selects the AVX2
    kernels.
    """
    return torch.ops.actops.cpu_capability()
