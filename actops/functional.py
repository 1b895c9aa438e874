"""The actops ops as plain functions (``actops.mish`` and friends).

Each calls the registered op (``torch.ops.actops.*``); they are TorchScript-
and ``torch.compile``-friendly.

Every function takes ``out=`` (a keyword argument by intent; the
element-wise functions accept it positionally too, last, because TorchScript
cannot script keyword-only arguments with defaults): the result is written into ``out`` (resized
if its shape differs, an error if its dtype does; no autograd through it),
as torch's own ``out=``. The element-wise ops have in-place forms,
``mish_``, ``relu2_``, ``swish_``, ``gelu_`` and ``trelu_``.

A call costs little more than the C++ op: the overloads are resolved once,
here (``torch.ops.actops.swish.default``), not through the overload packet
on every call, and the argument checks are the C++ op's (TorchScript scripts
the functions through the ``torch.jit.is_scripting()`` branches, which call
the packets)."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

__all__ = [
    "cpu_capability",
    "geglu",
    "gelu",
    "gelu_",
    "maxout",
    "mish",
    "mish_",
    "reglu",
    "relu2",
    "relu2_",
    "swiglu",
    "swish",
    "swish_",
    "trelu",
    "trelu_",
]

_ops = torch.ops.actops
_mish, _mish_out, _mish_ = _ops.mish.default, _ops.mish.out, _ops.mish_.default
_relu2, _relu2_out, _relu2_ = _ops.relu2.default, _ops.relu2.out, _ops.relu2_.default
_swish, _swish_out, _swish_ = _ops.swish.default, _ops.swish.out, _ops.swish_.default
_swish_learnable, _swish_learnable_out = _ops.swish_learnable.default, _ops.swish_learnable.out
_gelu, _gelu_out, _gelu_ = _ops.gelu.default, _ops.gelu.out, _ops.gelu_.default
_trelu, _trelu_out, _trelu_ = _ops.trelu.default, _ops.trelu.out, _ops.trelu_.default
_trelu_learnable, _trelu_learnable_out = _ops.trelu_learnable.default, _ops.trelu_learnable.out
_maxout, _maxout_out = _ops.maxout.default, _ops.maxout.out

_INPLACE_DOC = """

    In place: :func:`{name}_` overwrites ``x`` and returns it. With a gradient
    to record it {saves}. A leaf that requires grad is refused, and a tensor
    that an earlier op saved for its backward makes that backward raise
    (version counter), as torch's in-place ops do."""
_SAVES_COPY = (
    "first saves a copy of ``x`` (its backward needs the input): one more tensor of ``x``'s size alive until "
    "the backward and one more pass over memory, so in training it saves nothing over the out-of-place call; "
    "without grad it is truly in place"
)


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


def mish(x: Tensor, out: Optional[Tensor] = None) -> Tensor:
    r"""Mish activation, element-wise: :math:`x \tanh(\operatorname{softplus}(x))`.

    Exact over the whole floating range: no overflow for large ``|x|``, full
    relative accuracy in the negative tail (``mish(-30) ~ -2.8e-12``),
    ``mish(inf) = inf``, ``mish(-inf) = 0``, NaN stays NaN. Saves only ``x``
    for backward; the backward is differentiable again.

    Args:
        x: a float32, float64, bfloat16 or float16 tensor of any shape.

        out: the tensor to write the result into (optional).

    Returns:
        A tensor like ``x`` (same shape, dtype and memory format), or ``out``.
    """
    if torch.jit.is_scripting():
        return torch.ops.actops.mish(x) if out is None else torch.ops.actops.mish(x, out=out)
    if out is None:
        return _mish(x)
    return _mish_out(x, out=out)


def mish_(x: Tensor) -> Tensor:
    """:func:`mish` in place."""
    if torch.jit.is_scripting():
        return torch.ops.actops.mish_(x)
    return _mish_(x)


def relu2(x: Tensor, out: Optional[Tensor] = None) -> Tensor:
    r"""Squared ReLU, element-wise: :math:`\operatorname{relu}(x)^2` (Primer).

    Its derivative :math:`2\operatorname{relu}(x)` is continuous; the second
    derivative is 2 for ``x > 0`` and 0 elsewhere (0 at the kink, as
    :func:`torch.relu`'s derivative). Saves only ``x`` for backward.

    Args:
        x: a float32, float64, bfloat16 or float16 tensor of any shape.
        out: the tensor to write the result into (optional).
    """
    if torch.jit.is_scripting():
        return torch.ops.actops.relu2(x) if out is None else torch.ops.actops.relu2(x, out=out)
    if out is None:
        return _relu2(x)
    return _relu2_out(x, out=out)


def relu2_(x: Tensor) -> Tensor:
    """:func:`relu2` in place."""
    if torch.jit.is_scripting():
        return torch.ops.actops.relu2_(x)
    return _relu2_(x)


def swish(x: Tensor, beta: Union[float, Tensor] = 1.0, out: Optional[Tensor] = None) -> Tensor:
    r"""Swish activation, element-wise: :math:`x \, \sigma(\beta x)`; ``beta=1`` is SiLU.

    Args:
        x: a floating-point tensor of any shape.
        beta: a number (fixed: no work is spent on a gradient for it), or a
            tensor of ``x``'s dtype that broadcasts to ``x`` (learnable: one
            value, or one per channel shaped e.g. ``(C, 1, 1)``); its gradient
            is reduced to its shape.
        out: the tensor to write the result into (optional).

    ``swish(inf) = inf``, ``swish(-inf) = 0`` (for ``beta > 0``), full relative
    accuracy in the negative tail.
    """
    if torch.jit.is_scripting():
        if isinstance(beta, Tensor):
            if out is None:
                return torch.ops.actops.swish_learnable(x, beta)
            return torch.ops.actops.swish_learnable(x, beta, out=out)
        if out is None:
            return torch.ops.actops.swish(x, beta)
        return torch.ops.actops.swish(x, beta, out=out)
    if type(beta) is float:  # the common case first: one type test
        return _swish(x, beta) if out is None else _swish_out(x, beta, out=out)
    if isinstance(beta, Tensor):
        return _swish_learnable(x, beta) if out is None else _swish_learnable_out(x, beta, out=out)
    beta = _number("swish", "beta", beta)
    return _swish(x, beta) if out is None else _swish_out(x, beta, out=out)


def swish_(x: Tensor, beta: float = 1.0) -> Tensor:
    """:func:`swish` in place, with a fixed ``beta`` (a learnable ``beta``
    takes the out-of-place :func:`swish`)."""
    if torch.jit.is_scripting():
        return torch.ops.actops.swish_(x, beta)
    if type(beta) is not float:
        beta = _number("swish_", "beta", beta)
    return _swish_(x, beta)


def gelu(x: Tensor, approximate: str = "none", out: Optional[Tensor] = None) -> Tensor:
    r"""GELU activation, element-wise: :math:`x \, \Phi(x)`.

    Args:
        x: a floating-point tensor of any shape.
        approximate: ``"none"`` for the exact, erf-based form, or ``"tanh"`` for
            :math:`0.5 x (1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))`, the same
            spelling as :func:`torch.nn.functional.gelu`.
        out: the tensor to write the result into (optional).

    The negative tail keeps its relative accuracy in both forms
    (``gelu(-10) = -7.6e-23`` in float64, not 0).
    """
    if torch.jit.is_scripting():
        if out is None:
            return torch.ops.actops.gelu(x, approximate)
        return torch.ops.actops.gelu(x, approximate, out=out)
    if type(approximate) is not str:
        approximate = _string("gelu", "approximate", approximate)
    return _gelu(x, approximate) if out is None else _gelu_out(x, approximate, out=out)


def gelu_(x: Tensor, approximate: str = "none") -> Tensor:
    """:func:`gelu` in place."""
    if torch.jit.is_scripting():
        return torch.ops.actops.gelu_(x, approximate)
    if type(approximate) is not str:
        approximate = _string("gelu_", "approximate", approximate)
    return _gelu_(x, approximate)


def trelu(x: Tensor, threshold: float = 1.0, alpha: Union[float, Tensor] = 0.0, out: Optional[Tensor] = None) -> Tensor:
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
        out: the tensor to write the result into (optional).
    """
    if torch.jit.is_scripting():
        if isinstance(alpha, Tensor):
            if out is None:
                return torch.ops.actops.trelu_learnable(x, alpha, threshold)
            return torch.ops.actops.trelu_learnable(x, alpha, threshold, out=out)
        if out is None:
            return torch.ops.actops.trelu(x, threshold, alpha)
        return torch.ops.actops.trelu(x, threshold, alpha, out=out)
    if type(threshold) is not float:
        threshold = _number("trelu", "threshold", threshold)
    if isinstance(alpha, Tensor):
        return (
            _trelu_learnable(x, alpha, threshold) if out is None else _trelu_learnable_out(x, alpha, threshold, out=out)
        )
    if type(alpha) is not float:
        alpha = _number("trelu", "alpha", alpha)
    return _trelu(x, threshold, alpha) if out is None else _trelu_out(x, threshold, alpha, out=out)


def trelu_(x: Tensor, threshold: float = 1.0, alpha: float = 0.0) -> Tensor:
    """:func:`trelu` in place, with a fixed ``alpha``. Truly in place also
    in training: the backward keeps only the 1-byte mask ``x > threshold``,
    computed in the same pass, never a copy of ``x``. A leaf that requires
    grad is refused, and a tensor an earlier op saved for its backward makes
    that backward raise (version counter), as torch's in-place ops do."""
    if torch.jit.is_scripting():
        return torch.ops.actops.trelu_(x, threshold, alpha)
    if type(threshold) is not float:
        threshold = _number("trelu_", "threshold", threshold)
    if type(alpha) is not float:
        alpha = _number("trelu_", "alpha", alpha)
    return _trelu_(x, threshold, alpha)


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
    ``up + up_offset`` temporary. ``out``: the tensor to write the result
    into (optional). (Keyword-only arguments keep these
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
        raise TypeError(
            f"actops.{name}: up must be a tensor (split form) or dim an int (packed form), got {type(up).__name__}"
        )
    return up, dim


def _gated_ops(name: str):
    """(split, split.out, packed, packed.out) overloads of a gated unit."""
    split = getattr(torch.ops.actops, name)
    packed = getattr(torch.ops.actops, f"{name}_packed")
    return split.default, split.out, packed.default, packed.out


_GATED_OPS = {name: _gated_ops(name) for name in ("swiglu", "geglu", "reglu")}


def _gated(
    name: str, gate: Tensor, up, dim: Optional[int], layout: Optional[str], out: Optional[Tensor], **params
) -> Tensor:
    """The packed op (x, dim, layout) or the split op (gate, up) of a gated unit."""
    split, split_out, packed, packed_out = _GATED_OPS[name]
    up, dim = _packed_dim(name, up, dim)
    if up is None:
        dim = -1 if dim is None else dim
        layout = "gate_up" if layout is None else layout
        if out is None:
            return packed(gate, dim, layout=layout, **params)
        return packed_out(gate, dim, layout=layout, **params, out=out)
    if dim is not None or layout is not None:
        raise TypeError(
            f"actops.{name}: dim and layout belong to the packed form {name}(x, dim, layout=...); "
            f"the split form {name}(gate, up) takes neither"
        )
    if out is None:
        return split(gate, up, **params)
    return split_out(gate, up, **params, out=out)


def swiglu(
    gate: Tensor,
    up: Union[Tensor, int, None] = None,
    dim: Optional[int] = None,
    *,
    layout: Optional[str] = None,
    beta: float = 1.0,
    limit: Optional[float] = None,
    up_offset: float = 0.0,
    out: Optional[Tensor] = None,
) -> Tensor:
    return _gated("swiglu", gate, up, dim, layout, out, beta=beta, limit=limit, up_offset=up_offset)


def geglu(
    gate: Tensor,
    up: Union[Tensor, int, None] = None,
    dim: Optional[int] = None,
    *,
    layout: Optional[str] = None,
    approximate: str = "none",
    limit: Optional[float] = None,
    up_offset: float = 0.0,
    out: Optional[Tensor] = None,
) -> Tensor:
    return _gated("geglu", gate, up, dim, layout, out, approximate=approximate, limit=limit, up_offset=up_offset)


def reglu(
    gate: Tensor,
    up: Union[Tensor, int, None] = None,
    dim: Optional[int] = None,
    *,
    layout: Optional[str] = None,
    limit: Optional[float] = None,
    up_offset: float = 0.0,
    out: Optional[Tensor] = None,
) -> Tensor:
    return _gated("reglu", gate, up, dim, layout, out, limit=limit, up_offset=up_offset)


swiglu.__doc__ = r"""SwiGLU: :math:`\operatorname{swish}_\beta(\text{gate}) \cdot (\text{up} + \text{up\_offset})`,
    with :math:`\operatorname{swish}_\beta(g) = g\,\sigma(\beta g)` (``beta=1``: SiLU).

    GPT-OSS's clamped unit is ``swiglu(x, layout="interleaved", beta=1.702, limit=7.0, up_offset=1.0)``.""" + _GATED_DOC.format(
    name="swiglu"
)
geglu.__doc__ = r"""GeGLU: :math:`\operatorname{gelu}(\text{gate}) \cdot (\text{up} + \text{up\_offset})`, GELU exact
    (``approximate="none"``, with its accurate tail) or ``"tanh"`` (Gemma).""" + _GATED_DOC.format(name="geglu")
reglu.__doc__ = r"""ReGLU: :math:`\operatorname{relu}(\text{gate}) \cdot (\text{up} + \text{up\_offset})` (the
    derivative of relu at 0 is taken as 0, as :func:`torch.relu`'s).""" + _GATED_DOC.format(name="reglu")


def maxout(x: Tensor, pieces: int, dim: int = 1, out: Optional[Tensor] = None) -> Tensor:
    r"""Maxout: the size ``C * pieces`` of ``dim`` is split into ``C`` groups of
    ``pieces`` consecutive elements, and each group gives its maximum.

    Equals ``x.unflatten(dim, (C, pieces)).amax(dim + 1)``. The backward sends
    each group's gradient to its first maximum (as :func:`torch.max` picks), so
    ties neither lose nor double gradient. A training step keeps the index of
    each maximum in the smallest integer dtype that holds ``pieces`` (uint8 up
    to 256 pieces), not the input. ``out``: the tensor to write the result
    into (optional).
    """
    if torch.jit.is_scripting():
        if out is None:
            return torch.ops.actops.maxout(x, pieces, dim)
        return torch.ops.actops.maxout(x, pieces, dim, out=out)
    return _maxout(x, pieces, dim) if out is None else _maxout_out(x, pieces, dim, out=out)


def cpu_capability() -> str:
    """The CPU instruction set the kernels use here: ``AVX512``, ``AVX2`` or ``DEFAULT``.

    Follows PyTorch's choice, so ``ATEN_CPU_CAPABILITY=avx2`` selects the AVX2
    kernels.
    """
    return torch.ops.actops.cpu_capability()


for _f in (mish_, relu2_, swish_, gelu_):
    _f.__doc__ = (_f.__doc__ or "") + _INPLACE_DOC.format(name=_f.__name__[:-1], saves=_SAVES_COPY)
del _f
