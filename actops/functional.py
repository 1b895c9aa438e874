"""The actops ops as plain functions (``actops.mish`` and friends).

Each calls the registered op (``torch.ops.actops.*``); they are TorchScript-
and ``torch.compile``-friendly.

Every function takes ``out=`` (a keyword argument by intent; the
element-wise functions accept it positionally too, last, because TorchScript
cannot script keyword-only arguments with defaults): the result is written into ``out`` (resized
if its shape differs, an error if its dtype does; no autograd through it),
as torch's own ``out=``. The element-wise ops have in-place forms,
``mish_``, ``relu2_``, ``swish_``, ``gelu_`` and ``trelu_``.

A call costs little more than the C++ op: in eager mode the functions call
builtins from actops/lib/_fast_call.so, bound once to each overload
(``torch.ops.actops.swish.default``), which reach the same operator through
the dispatcher without torch.ops' per-call Python frame and generic argument
conversion; the argument checks are the C++ op's. torch.compile and
torch.export trace the OpOverloads themselves, and TorchScript scripts the
``torch.jit.is_scripting()`` branches, which call the packets."""

from __future__ import annotations

import numbers
from types import SimpleNamespace
from typing import Optional, Union

import torch
from torch import Tensor

from actops._library import load_fast_call

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

# What the functions take as a tensor argument: tensors, and the proxies of
# torch.fx.symbolic_trace (FX-based tools: quantization, transformers'
# tracer), which the op records as a node. A Python function cannot be
# scripted with it (TorchScript takes the torch.jit.is_scripting() branches).
_TENSOR_LIKE = (Tensor, torch.fx.Proxy)

# The overloads the functions call, resolved once. In eager mode they are
# the _fast_call bindings (ops/python/fast_call.cpp): builtins that call the
# same operators through the dispatcher, without torch.ops' per-call argument
# conversion (about 1.2 us less a call, the kernel time of 4096 elements);
# under torch.compile and torch.export, the OpOverloads themselves, which
# they trace (torch.compiler.is_compiling() is a constant to them).
_OPS = (
    "mish",
    "relu2",
    "swish",
    "swish_learnable",
    "gelu",
    "trelu",
    "trelu_learnable",
    "maxout",
    *(f"{name}{form}" for name in ("swiglu", "geglu", "reglu") for form in ("", "_packed")),
)


def _overloads(bind) -> SimpleNamespace:
    """<op>, <op>_out and (where the op has one) <op>_: bind(OpOverload)."""
    ops = {}
    for name in _OPS:
        packet = getattr(torch.ops.actops, name)
        ops[name], ops[f"{name}_out"] = bind(packet.default), bind(packet.out)
        if hasattr(torch.ops.actops, f"{name}_"):
            ops[f"{name}_"] = bind(getattr(torch.ops.actops, f"{name}_").default)
    return SimpleNamespace(**ops)


_EAGER = _overloads(load_fast_call().bind)
_TRACED = _overloads(lambda overload: overload)
_is_compiling = torch.compiler.is_compiling

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
    """value as a float, by torch's rule for a float argument: Python and
    numpy numbers, bool included (as ``F.elu(x, alpha=True)`` takes it); else
    a TypeError naming the op and the argument."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"actops.{op}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def _integer(op: str, name: str, value) -> int:
    """value as an int, by torch's rule for an int argument: Python and numpy
    integers, not bool (``F.glu(x, dim=True)`` is refused); else a TypeError
    naming the op and the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"actops.{op}: {name} must be an int, got {type(value).__name__}")
    return int(value)


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
    ops = _TRACED if _is_compiling() else _EAGER
    if out is None:
        return ops.mish(x)
    return ops.mish_out(x, out=out)


def mish_(x: Tensor) -> Tensor:
    """:func:`mish` in place."""
    if torch.jit.is_scripting():
        return torch.ops.actops.mish_(x)
    ops = _TRACED if _is_compiling() else _EAGER
    return ops.mish_(x)


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
    ops = _TRACED if _is_compiling() else _EAGER
    if out is None:
        return ops.relu2(x)
    return ops.relu2_out(x, out=out)


def relu2_(x: Tensor) -> Tensor:
    """:func:`relu2` in place."""
    if torch.jit.is_scripting():
        return torch.ops.actops.relu2_(x)
    ops = _TRACED if _is_compiling() else _EAGER
    return ops.relu2_(x)


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
    ops = _TRACED if _is_compiling() else _EAGER
    if type(beta) is float:  # the common case first: one type test
        return ops.swish(x, beta) if out is None else ops.swish_out(x, beta, out=out)
    if isinstance(beta, _TENSOR_LIKE):
        return ops.swish_learnable(x, beta) if out is None else ops.swish_learnable_out(x, beta, out=out)
    beta = _number("swish", "beta", beta)
    return ops.swish(x, beta) if out is None else ops.swish_out(x, beta, out=out)


def swish_(x: Tensor, beta: float = 1.0) -> Tensor:
    """:func:`swish` in place, with a fixed ``beta`` (a learnable ``beta``
    takes the out-of-place :func:`swish`)."""
    if torch.jit.is_scripting():
        return torch.ops.actops.swish_(x, beta)
    ops = _TRACED if _is_compiling() else _EAGER
    if type(beta) is not float:
        beta = _number("swish_", "beta", beta)
    return ops.swish_(x, beta)


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
    ops = _TRACED if _is_compiling() else _EAGER
    if type(approximate) is not str:
        approximate = _string("gelu", "approximate", approximate)
    return ops.gelu(x, approximate) if out is None else ops.gelu_out(x, approximate, out=out)


def gelu_(x: Tensor, approximate: str = "none") -> Tensor:
    """:func:`gelu` in place."""
    if torch.jit.is_scripting():
        return torch.ops.actops.gelu_(x, approximate)
    ops = _TRACED if _is_compiling() else _EAGER
    if type(approximate) is not str:
        approximate = _string("gelu_", "approximate", approximate)
    return ops.gelu_(x, approximate)


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
    ops = _TRACED if _is_compiling() else _EAGER
    if type(threshold) is not float:
        threshold = _number("trelu", "threshold", threshold)
    if isinstance(alpha, _TENSOR_LIKE):
        return (
            ops.trelu_learnable(x, alpha, threshold)
            if out is None
            else ops.trelu_learnable_out(x, alpha, threshold, out=out)
        )
    if type(alpha) is not float:
        alpha = _number("trelu", "alpha", alpha)
    return ops.trelu(x, threshold, alpha) if out is None else ops.trelu_out(x, threshold, alpha, out=out)


def trelu_(x: Tensor, threshold: float = 1.0, alpha: float = 0.0) -> Tensor:
    """:func:`trelu` in place, with a fixed ``alpha``. Truly in place also
    in training: the backward keeps only the 1-byte mask ``x > threshold``,
    computed in the same pass, never a copy of ``x``. A leaf that requires
    grad is refused, and a tensor an earlier op saved for its backward makes
    that backward raise (version counter), as torch's in-place ops do."""
    if torch.jit.is_scripting():
        return torch.ops.actops.trelu_(x, threshold, alpha)
    ops = _TRACED if _is_compiling() else _EAGER
    if type(threshold) is not float:
        threshold = _number("trelu_", "threshold", threshold)
    if type(alpha) is not float:
        alpha = _number("trelu_", "alpha", alpha)
    return ops.trelu_(x, threshold, alpha)


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
    if isinstance(up, numbers.Integral) and not isinstance(up, bool):
        if dim is not None:
            raise TypeError(f"actops.{name}: dim given twice ({up} and dim={dim})")
        return None, int(up)
    if dim is not None and type(dim) is not int:
        dim = _integer(name, "dim", dim)
    if up is not None and not isinstance(up, _TENSOR_LIKE):
        raise TypeError(
            f"actops.{name}: up must be a tensor (split form) or dim an int (packed form), got {type(up).__name__}"
        )
    return up, dim


def _gated(
    name: str, gate: Tensor, up, dim: Optional[int], layout: Optional[str], out: Optional[Tensor], **params
) -> Tensor:
    """The packed op (x, dim, layout) or the split op (gate, up) of a gated unit."""
    ops = _TRACED if _is_compiling() else _EAGER
    split, split_out = getattr(ops, name), getattr(ops, f"{name}_out")
    packed, packed_out = getattr(ops, f"{name}_packed"), getattr(ops, f"{name}_packed_out")
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
    ops = _TRACED if _is_compiling() else _EAGER
    if type(pieces) is not int or type(dim) is not int:
        pieces, dim = _integer("maxout", "pieces", pieces), _integer("maxout", "dim", dim)
    return ops.maxout(x, pieces, dim) if out is None else ops.maxout_out(x, pieces, dim, out=out)


def cpu_capability() -> str:
    """The CPU instruction set the kernels use here: ``AVX512``, ``AVX2`` or ``DEFAULT``.

    Follows PyTorch's choice, so ``ATEN_CPU_CAPABILITY=avx2`` selects the AVX2
    kernels.
    """
    return torch.ops.actops.cpu_capability()


for _f in (mish_, relu2_, swish_, gelu_):
    _f.__doc__ = (_f.__doc__ or "") + _INPLACE_DOC.format(name=_f.__name__[:-1], saves=_SAVES_COPY)
del _f
