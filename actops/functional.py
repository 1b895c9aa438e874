"""The actops ops as plain functions (``actops.mish`` and friends).

Each calls the registered op (``torch.ops.actops.*``); they are TorchScript-
and ``torch.compile``-friendly."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

__all__ = ["cpu_capability", "geglu", "gelu", "maxout", "mish", "reglu", "relu2", "swiglu", "swish", "trelu"]


def _number(op: str, name: str, value) -> float:
    """value as a float, or a TypeError naming the op and the argument (as
    torch's own functions raise for a non-number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"actops.{op}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def _string(op: str, name: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"actops.{op}: {name} must be a string, got {type(value).__name__}")
    return value


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


def relu2(x: Tensor) -> Tensor:
    r"""Squared ReLU, element-wise: :math:`\operatorname{relu}(x)^2` (Primer).

    Its derivative :math:`2\operatorname{relu}(x)` is continuous; the second
    derivative is 2 for ``x > 0`` and 0 elsewhere (0 at the kink, as
    :func:`torch.relu`'s derivative). Saves only ``x`` for backward.

    Args:
        x: a float32, float64, bfloat16 or float16 tensor of any shape.
    """
    return torch.ops.actops.relu2(x)


def swish(x: Tensor, beta: Union[float, Tensor] = 1.0) -> Tensor:
    r"""Swish activation, element-wise: :math:`x \, \sigma(\beta x)`; ``beta=1`` is SiLU.

    Args:
        x: a floating-point tensor of any shape.
        beta: a number (fixed: no work is spent on a gradient for it), or a
            tensor of ``x``'s dtype that broadcasts to ``x`` (learnable: one
            value, or one per channel shaped e.g. ``(C, 1, 1)``); its gradient
            is reduced to its shape.

    ``swish(inf) = inf``, ``swish(-inf) = 0`` (for ``beta > 0``), full relative
    accuracy in the negative tail.
    """
    if isinstance(beta, Tensor):
        return torch.ops.actops.swish_learnable(x, beta)
    if not torch.jit.is_scripting():  # TorchScript has checked the types
        beta = _number("swish", "beta", beta)
    return torch.ops.actops.swish(x, beta)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    r"""GELU activation, element-wise: :math:`x \, \Phi(x)`.

    Args:
        x: a floating-point tensor of any shape.
        approximate: ``"none"`` for the exact, erf-based form, or ``"tanh"`` for
            :math:`0.5 x (1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))`, the same
            spelling as :func:`torch.nn.functional.gelu`.

    The negative tail keeps its relative accuracy in both forms
    (``gelu(-10) = -7.6e-23`` in float64, not 0).
    """
    if not torch.jit.is_scripting():  # TorchScript has checked the types
        approximate = _string("gelu", "approximate", approximate)
    return torch.ops.actops.gelu(x, approximate)


def trelu(x: Tensor, threshold: float = 1.0, alpha: Union[float, Tensor] = 0.0) -> Tensor:
    r"""Thresholded ReLU with a leak: ``x`` where ``x > threshold``, ``alpha * x`` elsewhere.

    ``alpha = 0`` is Keras' ThresholdedReLU; ``threshold = 0`` is ReLU
    (``alpha = 0``) or LeakyReLU (``alpha > 0``). For ``threshold != 0`` and
    ``alpha != 1`` the function jumps at ``threshold``, from
    ``alpha * threshold`` to ``threshold``; its derivative there is taken from
    the left (``alpha``), so finite differences across the jump (e.g. gradcheck)
    need points away from it.

    Args:
        x: a floating-point tensor of any shape.
        threshold: the hyper-parameter :math:`\theta`.
        alpha: a number (fixed: the backward keeps a 1-byte mask instead of
            ``x``), or a tensor of ``x``'s dtype that broadcasts to ``x``
            (learnable, like PReLU's weight; its gradient is ``x`` at or below
            the threshold, reduced to its shape).
    """
    if isinstance(alpha, Tensor):
        if not torch.jit.is_scripting():  # TorchScript has checked the types
            threshold = _number("trelu", "threshold", threshold)
        return torch.ops.actops.trelu_learnable(x, alpha, threshold)
    if not torch.jit.is_scripting():
        threshold = _number("trelu", "threshold", threshold)
        alpha = _number("trelu", "alpha", alpha)
    return torch.ops.actops.trelu(x, threshold, alpha)


_GATED_DOC = r"""

    Two layouts:

    - split, ``{name}(gate, up, ...)``: ``gate`` and ``up`` broadcast as
      :func:`torch.mul` does (and follow its type promotion); their gradients
      are reduced back to each shape and dtype. ``dim`` and ``layout`` are an
      error here.
    - packed, ``{name}(x, dim=-1, layout="gate_up", ...)`` (``dim`` may also
      be passed second, ``{name}(x, 0)``): ``x`` holds gate
      and up along ``dim``: ``"gate_up"`` (first half gate: the layout of a
      fused gate-and-up projection), ``"up_gate"`` (first half up, as
      :func:`torch.nn.functional.glu` orders its halves) or ``"interleaved"``
      (gate at even, up at odd positions, as GPT-OSS). The output has half of
      ``x``'s size there; both parts are read in place, and an odd size is an
      error.

    ``limit``: if set, the gate is clamped to ``<= limit`` and up to
    ``[-limit, limit]`` before use, with :func:`torch.clamp`'s gradients (they
    pass where the value is within the bounds, boundaries included).
    ``up_offset`` is added to (the clamped) up. One pass over memory forward
    and one backward; only the inputs are saved, never a clamped copy or the
    ``up + up_offset`` temporary. (Keyword-only arguments keep these
    functions out of TorchScript: script :class:`actops.nn.SwiGLU` and its
    siblings, or call ``torch.ops.actops.*`` directly.)
"""


def _packed_dim(name: str, up, dim: Optional[int]):
    """(up, dim) with a dim passed in up's place, `{name}(x, 0)`, moved to dim."""
    if isinstance(up, int) and not isinstance(up, bool):
        if dim is not None:
            raise TypeError(f"actops.{name}: dim given twice ({up} and dim={dim})")
        return None, up
    if up is not None and not isinstance(up, Tensor):
        raise TypeError(f"actops.{name}: up must be a tensor (split form) or dim an int (packed form), got {type(up).__name__}")
    return up, dim


def _gated(name: str, gate: Tensor, up, dim: Optional[int], layout: Optional[str], **params) -> Tensor:
    """The packed op (x, dim, layout) or the split op (gate, up) of a gated unit."""
    up, dim = _packed_dim(name, up, dim)
    if up is None:
        packed = getattr(torch.ops.actops, f"{name}_packed")
        return packed(gate, -1 if dim is None else dim, layout="gate_up" if layout is None else layout, **params)
    if dim is not None or layout is not None:
        raise TypeError(
            f"actops.{name}: dim and layout belong to the packed form {name}(x, dim, layout=...); "
            f"the split form {name}(gate, up) takes neither"
        )
    return getattr(torch.ops.actops, name)(gate, up, **params)


def swiglu(
    gate: Tensor,
    up: Union[Tensor, int, None] = None,
    dim: Optional[int] = None,
    *,
    layout: Optional[str] = None,
    beta: float = 1.0,
    limit: Optional[float] = None,
    up_offset: float = 0.0,
) -> Tensor:
    return _gated("swiglu", gate, up, dim, layout, beta=beta, limit=limit, up_offset=up_offset)


def geglu(
    gate: Tensor,
    up: Union[Tensor, int, None] = None,
    dim: Optional[int] = None,
    *,
    layout: Optional[str] = None,
    approximate: str = "none",
    limit: Optional[float] = None,
    up_offset: float = 0.0,
) -> Tensor:
    return _gated("geglu", gate, up, dim, layout, approximate=approximate, limit=limit, up_offset=up_offset)


def reglu(
    gate: Tensor,
    up: Union[Tensor, int, None] = None,
    dim: Optional[int] = None,
    *,
    layout: Optional[str] = None,
    limit: Optional[float] = None,
    up_offset: float = 0.0,
) -> Tensor:
    return _gated("reglu", gate, up, dim, layout, limit=limit, up_offset=up_offset)


swiglu.__doc__ = (
    r"""SwiGLU: :math:`\operatorname{swish}_\beta(\text{gate}) \cdot (\text{up} + \text{up\_offset})`,
    with :math:`\operatorname{swish}_\beta(g) = g\,\sigma(\beta g)` (``beta=1``: SiLU).

    GPT-OSS's clamped unit is ``swiglu(x, layout="interleaved", beta=1.702, limit=7.0, up_offset=1.0)``."""
    + _GATED_DOC.format(name="swiglu")
)
geglu.__doc__ = (
    r"""GeGLU: :math:`\operatorname{gelu}(\text{gate}) \cdot (\text{up} + \text{up\_offset})`, GELU exact
    (``approximate="none"``, with its accurate tail) or ``"tanh"`` (Gemma)."""
    + _GATED_DOC.format(name="geglu")
)
reglu.__doc__ = (
    r"""ReGLU: :math:`\operatorname{relu}(\text{gate}) \cdot (\text{up} + \text{up\_offset})` (the
    derivative of relu at 0 is taken as 0, as :func:`torch.relu`'s)."""
    + _GATED_DOC.format(name="reglu")
)


def maxout(x: Tensor, pieces: int, dim: int = 1) -> Tensor:
    r"""Maxout: the size ``C * pieces`` of ``dim`` is split into ``C`` groups of
    ``pieces`` consecutive elements, and each group gives its maximum.

    Equals ``x.unflatten(dim, (C, pieces)).amax(dim + 1)``. The backward sends
    each group's gradient to its first maximum (as :func:`torch.max` picks), so
    ties neither lose nor double gradient. A training step keeps the index of
    each maximum in the smallest integer dtype that holds ``pieces`` (uint8 up
    to 256 pieces), not the input.
    """
    return torch.ops.actops.maxout(x, pieces, dim)


def cpu_capability() -> str:
    """The CPU instruction set the kernels use here: ``AVX512``, ``AVX2`` or ``DEFAULT``.

    Follows PyTorch's choice, so ``ATEN_CPU_CAPABILITY=avx2`` selects the AVX2
    kernels.
    """
    return torch.ops.actops.cpu_capability()
