"""The actops ops as plain functions (``actops.mish`` and friends).

Each calls the registered op (``torch.ops.actops.*``); they are TorchScript-
and ``torch.compile``-friendly.

Every function takes ``out=`` (a keyword argument by intent; the
element-wise functions accept it positionally too, last, because TorchScript
cannot script keyword-only arguments with defaults): the result is written into ``out`` (resized
if its shape differs, an error if its dtype does; no autograd through it),
as torch's own ``out=``. The element-wise ops have in-place forms,
``mish_``, ``relu2_``, ``swish_``, ``gelu_`` and ``trelu_``.

Each function's signature and docstring are written here; its body is
written once for every op by ``@_face`` (actops/_faces.py) from the op's
entry in :mod:`actops.registry` and its registered schemas. A call costs
little more than the C++ op: in eager mode the functions call builtins from
actops/lib/_fast_call.so, bound once to each overload
(``torch.ops.actops.swish.default``), which reach the same operator through
the dispatcher without torch.ops' per-call Python frame and generic argument
conversion; the argument checks are the C++ op's. torch.compile and
torch.export trace the OpOverloads themselves, and TorchScript scripts the
``torch.jit.is_scripting()`` branches, which call the packets."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from actops import registry
from actops._faces import EAGER as _EAGER, TRACED as _TRACED, face as _face  # noqa: F401 (_EAGER, _TRACED: tests)

__all__ = sorted(
    [
        "cpu_capability",
        *registry.names(),
        *(f"{op.name}_" for op in registry.OPS if op.inplace_op),
    ]
)

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


@_face
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


@_face
def mish_(x: Tensor) -> Tensor:
    """:func:`mish` in place."""


@_face
def relu2(x: Tensor, out: Optional[Tensor] = None) -> Tensor:
    r"""Squared ReLU, element-wise: :math:`\operatorname{relu}(x)^2` (Primer).

    Its derivative :math:`2\operatorname{relu}(x)` is continuous; the second
    derivative is 2 for ``x > 0`` and 0 elsewhere (0 at the kink, as
    :func:`torch.relu`'s derivative). Saves only ``x`` for backward.

    Args:
        x: a float32, float64, bfloat16 or float16 tensor of any shape.
        out: the tensor to write the result into (optional).
    """


@_face
def relu2_(x: Tensor) -> Tensor:
    """:func:`relu2` in place."""


@_face
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


@_face
def swish_(x: Tensor, beta: float = 1.0) -> Tensor:
    """:func:`swish` in place, with a fixed ``beta`` (a learnable ``beta``
    takes the out-of-place :func:`swish`)."""


@_face
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


@_face
def gelu_(x: Tensor, approximate: str = "none") -> Tensor:
    """:func:`gelu` in place."""


@_face
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


@_face
def trelu_(x: Tensor, threshold: float = 1.0, alpha: float = 0.0) -> Tensor:
    """:func:`trelu` in place, with a fixed ``alpha``. Truly in place also
    in training: the backward keeps only the 1-byte mask ``x > threshold``,
    computed in the same pass, never a copy of ``x``. A leaf that requires
    grad is refused, and a tensor an earlier op saved for its backward makes
    that backward raise (version counter), as torch's in-place ops do."""


@_face
def snake(x: Tensor, alpha: Tensor, out: Optional[Tensor] = None) -> Tensor:
    r"""Snake, element-wise: :math:`x + \sin^2(\alpha x) / \alpha`, the periodic
    activation of BigVGAN and DAC, with a learnable frequency per channel.

    Exact for every :math:`\alpha`: computed as :math:`x + s \cdot (s / \alpha)`
    with :math:`s = \sin(\alpha x)`, so that for a small :math:`\alpha` the
    term :math:`\approx \alpha x^2` keeps its relative accuracy (the form
    :math:`(1 - \cos 2\alpha x) / 2\alpha` cancels); at :math:`\alpha = 0`
    it is its limit, ``x`` (gradient 1 in ``x`` and :math:`x^2` in
    :math:`\alpha`), with no epsilon added. Saves ``x`` and ``alpha`` for
    backward; the backward is differentiable again.

    Args:
        x: a floating-point tensor, e.g. ``(batch, channels, time)``.
        alpha: a tensor of ``x``'s dtype that broadcasts to ``x``: one value,
            or one per channel of dim 1 shaped ``(C, 1)`` for a 3-d ``x``
            (:class:`actops.nn.Snake` holds ``(C,)`` and views it so). Its
            gradient is reduced to its shape.
        out: the tensor to write the result into (optional).
    """


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


@_face
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
) -> Tensor: ...


@_face
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
) -> Tensor: ...


@_face
def reglu(
    gate: Tensor,
    up: Union[Tensor, int, None] = None,
    dim: Optional[int] = None,
    *,
    layout: Optional[str] = None,
    limit: Optional[float] = None,
    up_offset: float = 0.0,
    out: Optional[Tensor] = None,
) -> Tensor: ...


swiglu.__doc__ = r"""SwiGLU: :math:`\operatorname{swish}_\beta(\text{gate}) \cdot (\text{up} + \text{up\_offset})`,
    with :math:`\operatorname{swish}_\beta(g) = g\,\sigma(\beta g)` (``beta=1``: SiLU).

    GPT-OSS's clamped unit is ``swiglu(x, layout="interleaved", beta=1.702, limit=7.0, up_offset=1.0)``.""" + _GATED_DOC.format(
    name="swiglu"
)
geglu.__doc__ = r"""GeGLU: :math:`\operatorname{gelu}(\text{gate}) \cdot (\text{up} + \text{up\_offset})`, GELU exact
    (``approximate="none"``, with its accurate tail) or ``"tanh"`` (Gemma).""" + _GATED_DOC.format(name="geglu")
reglu.__doc__ = r"""ReGLU: :math:`\operatorname{relu}(\text{gate}) \cdot (\text{up} + \text{up\_offset})` (the
    derivative of relu at 0 is taken as 0, as :func:`torch.relu`'s).""" + _GATED_DOC.format(name="reglu")


@_face
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


def cpu_capability() -> str:
    """The CPU instruction set the kernels use here: ``AVX512``, ``AVX2`` or ``DEFAULT``.

    Follows PyTorch's choice, so ``ATEN_CPU_CAPABILITY=avx2`` selects the AVX2
    kernels.
    """
    return torch.ops.actops.cpu_capability()


for _f in (mish_, relu2_, swish_, gelu_):
    _f.__doc__ = (_f.__doc__ or "") + _INPLACE_DOC.format(name=_f.__name__[:-1], saves=_SAVES_COPY)
del _f
