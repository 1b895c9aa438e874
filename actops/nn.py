"""``torch.nn.Module`` faces of the actops ops."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["Mish"]


class Mish(torch.nn.Module):
    r"""Applies Mish element-wise: :math:`x \tanh(\operatorname{softplus}(x))`.

    A drop-in for :class:`torch.nn.Mish`, computed by ``torch.ops.actops.mish``.

    Shape:
        - Input: any shape, floating dtype.
        - Output: same shape, dtype and memory format as the input.

    Example::

        >>> m = actops.nn.Mish()
        >>> y = m(torch.randn(8, 16))
    """

    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.actops.mish(x)
