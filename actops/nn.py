"""``torch.nn.Module`` faces of the actops ops.

The modules' defaults are the ops' (read from their registered schemas
through :mod:`actops.registry`), and their arguments are checked by the op
itself: a module calls its function once on an empty input when it is built,
so a bad ``approximate``, ``layout`` or ``limit`` fails there, with the op's
message naming the module."""

from __future__ import annotations

import re
from typing import Any, Callable, List, Optional

import torch
from torch import Tensor

from actops import functional, registry

__all__ = sorted(name for op in registry.OPS for name in op.modules)


def _default(op: str, argument: str) -> Any:
    """The default of one of the op's arguments: its schema's."""
    return registry.get(op).default(argument)


def _check(module: str, function: Callable, x: Tensor, *args, **kwargs) -> None:
    """Call the op's function on the empty input ``x`` with the module's
    arguments: its checks are the module's. Its TypeError stays one, its
    value checks (RuntimeError from the op) become a ValueError; both name
    the module instead of the op."""
    try:
        function(x, *args, **kwargs)
    except (TypeError, RuntimeError) as error:
        message = re.sub(r"^actops\.[A-Za-z0-9_]+: ", "", str(error).splitlines()[0])
        kind = TypeError if isinstance(error, TypeError) else ValueError
        raise kind(f"actops.nn.{module}: {message}") from None


def _empty(*shape: int) -> Tensor:
    """An empty CPU tensor for _check (on CPU also under a ``torch.device("meta")`` context)."""
    return torch.empty(shape, device="cpu")


def _channel_view(parameter: Tensor, x: Tensor) -> Tensor:
    """One value: a 0-d view (broadcasts to any x). Per channel: (C, 1, ..., 1)
    over x's dim 1, as nn.PReLU does."""
    if parameter.numel() == 1:
        return parameter.reshape(())
    shape: List[int] = [parameter.numel()] + [1] * (x.dim() - 2)
    return parameter.view(shape)


def _parameter(value: float, num_parameters: int) -> torch.nn.Parameter:
    if num_parameters < 1:
        raise ValueError(f"num_parameters must be at least 1, got {num_parameters}")
    return torch.nn.Parameter(torch.full((num_parameters,), float(value)))


class Mish(torch.nn.Module):
    r"""Applies Mish element-wise: :math:`x \tanh(\operatorname{softplus}(x))`.

    A drop-in for :class:`torch.nn.Mish`, computed by ``torch.ops.actops.mish``.

    Shape:
        - Input: any shape, floating dtype.
        - Output: same shape, dtype and memory format as the input.

    Example::

        >>> m = actops.nn.Mish()
        >>> y = m(torch.randn(8, 16))

    Args:
        inplace: overwrite the input (``actops.mish_``), as ``torch.nn.Mish(inplace=True)``;
            in training it first saves a copy of the input for the backward.
    """

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return torch.ops.actops.mish_(x)
        return torch.ops.actops.mish(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU2(torch.nn.Module):
    r"""Applies the squared ReLU element-wise: :math:`\operatorname{relu}(x)^2`.

    Computed by ``torch.ops.actops.relu2`` (one pass forward, one backward,
    saving only the input), as used in Primer and Nemotron-H MLPs.

    Example::

        >>> m = actops.nn.ReLU2()
        >>> y = m(torch.randn(8, 16))

    Args:
        inplace: overwrite the input (``actops.relu2_``); in training it
            first saves a copy of the input for the backward.
    """

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return torch.ops.actops.relu2_(x)
        return torch.ops.actops.relu2(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Swish(torch.nn.Module):
    r"""Applies Swish element-wise: :math:`x \, \sigma(\beta x)` (SiLU for ``beta=1``).

    Args:
        beta: the initial (or, with ``learnable=False``, fixed) value of :math:`\beta`.
        learnable: make :math:`\beta` an ``nn.Parameter`` named ``beta``.
        num_parameters: with ``learnable``, 1 (one shared :math:`\beta`) or the
            number of channels (one :math:`\beta` per channel of dim 1, as
            :class:`torch.nn.PReLU` does).
        inplace: overwrite the input (``actops.swish_``), as
            ``torch.nn.SiLU(inplace=True)``; a fixed ``beta`` only. In training
            it first saves a copy of the input for the backward.

    Example::

        >>> m = actops.nn.Swish(learnable=True, num_parameters=16)
        >>> y = m(torch.randn(8, 16, 32, 32))
    """

    __constants__ = ["learnable", "inplace"]

    def __init__(
        self,
        beta: float = _default("swish", "beta"),
        learnable: bool = False,
        num_parameters: int = 1,
        inplace: bool = False,
    ) -> None:
        super().__init__()
        _check("Swish", functional.swish, _empty(0), beta)
        if learnable and inplace:
            raise ValueError("actops.nn.Swish: inplace=True needs a fixed beta (learnable=False)")
        self.learnable = learnable
        self.inplace = inplace
        self.num_parameters = num_parameters
        if learnable:
            self.beta = _parameter(beta, num_parameters)
        else:
            if num_parameters != 1:
                raise ValueError("actops.nn.Swish: num_parameters > 1 needs learnable=True")
            self.beta = float(beta)

    def forward(self, x: Tensor) -> Tensor:
        if self.learnable:
            return torch.ops.actops.swish_learnable(x, _channel_view(self.beta, x))
        if self.inplace:
            return torch.ops.actops.swish_(x, self.beta)
        return torch.ops.actops.swish(x, self.beta)

    def extra_repr(self) -> str:
        if self.learnable:
            return f"learnable=True, num_parameters={self.num_parameters}"
        return f"beta={self.beta}" + (", inplace=True" if self.inplace else "")


class GELU(torch.nn.Module):
    r"""Applies GELU element-wise: :math:`x \, \Phi(x)`, exact or tanh-approximated.

    Args:
        approximate: ``"none"`` (exact, erf-based) or ``"tanh"``, as :class:`torch.nn.GELU`.
        inplace: overwrite the input (``actops.gelu_``); in training it first
            saves a copy of the input for the backward.
    """

    __constants__ = ["approximate", "inplace"]

    def __init__(self, approximate: str = _default("gelu", "approximate"), inplace: bool = False) -> None:
        super().__init__()
        _check("GELU", functional.gelu, _empty(0), approximate)
        self.inplace = inplace
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return torch.ops.actops.gelu_(x, self.approximate)
        return torch.ops.actops.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}" + (", inplace=True" if self.inplace else "")


class TReLU(torch.nn.Module):
    r"""Thresholded ReLU with a leak: ``x`` where ``x > threshold``, ``alpha * x`` elsewhere.

    Args:
        threshold: :math:`\theta`, a fixed hyper-parameter.
        alpha: the initial (or, with ``learnable=False``, fixed) leak.
        learnable: make ``alpha`` an ``nn.Parameter`` (like PReLU's weight).
        num_parameters: with ``learnable``, 1 or one ``alpha`` per channel of dim 1.

        inplace: overwrite the input (``actops.trelu_``); a fixed ``alpha``
            only. Truly in place in training too: only the mask is kept.

    With a fixed ``alpha`` a training step keeps a 1-byte mask per element,
    not the input.
    """

    __constants__ = ["learnable", "inplace"]

    def __init__(
        self,
        threshold: float = _default("trelu", "threshold"),
        alpha: float = _default("trelu", "alpha"),
        learnable: bool = False,
        num_parameters: int = 1,
        inplace: bool = False,
    ) -> None:
        super().__init__()
        _check("TReLU", functional.trelu, _empty(0), threshold, alpha)
        if learnable and inplace:
            raise ValueError("actops.nn.TReLU: inplace=True needs a fixed alpha (learnable=False)")
        self.inplace = inplace
        self.threshold = float(threshold)
        self.learnable = learnable
        self.num_parameters = num_parameters
        if learnable:
            self.alpha = _parameter(alpha, num_parameters)
        else:
            if num_parameters != 1:
                raise ValueError("actops.nn.TReLU: num_parameters > 1 needs learnable=True")
            self.alpha = float(alpha)

    def forward(self, x: Tensor) -> Tensor:
        if self.learnable:
            return torch.ops.actops.trelu_learnable(x, _channel_view(self.alpha, x), self.threshold)
        if self.inplace:
            return torch.ops.actops.trelu_(x, self.threshold, self.alpha)
        return torch.ops.actops.trelu(x, self.threshold, self.alpha)

    def extra_repr(self) -> str:
        if self.learnable:
            return f"threshold={self.threshold}, learnable=True, num_parameters={self.num_parameters}"
        return f"threshold={self.threshold}, alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Snake(torch.nn.Module):
    r"""Snake, :math:`x + \sin^2(\alpha x) / \alpha`, with a learnable
    :math:`\alpha` per channel (BigVGAN's and DAC's ``Snake``; exact for every
    :math:`\alpha`, :func:`actops.snake`).

    Args:
        num_channels: the size of the input's dim 1 (one :math:`\alpha` each).
        alpha_init: the initial :math:`\alpha`.

    Shape: ``(N, C, *)``, any number of trailing dims, or ``(C,)``.
    """

    def __init__(self, num_channels: int, alpha_init: float = 1.0) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.alpha = _parameter(alpha_init, num_channels)

    def forward(self, x: Tensor) -> Tensor:
        alpha = self.alpha if x.dim() < 2 else self.alpha.view([self.num_channels] + [1] * (x.dim() - 2))
        return torch.ops.actops.snake(x, alpha)

    def extra_repr(self) -> str:
        return f"num_channels={self.num_channels}"


class _GatedLinear(torch.nn.Module):
    """One fused ``Linear`` to ``2 * out_features`` (gate and up in the
    module's layout) followed by the packed gated op, which reads both parts
    in place. ``options``: the op's own arguments (``beta``, ``approximate``),
    checked with the others by the op."""

    __constants__ = ["in_features", "out_features", "layout", "limit", "up_offset"]
    _op = ""  # the gated function: "swiglu", "geglu", "reglu"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool,
        layout: str,
        limit: Optional[float],
        up_offset: float,
        **options: Any,
    ) -> None:
        super().__init__()
        _check(
            type(self).__name__,
            getattr(functional, self._op),
            _empty(0, 2),
            layout=layout,
            limit=limit,
            up_offset=up_offset,
            **options,
        )
        self.in_features = in_features
        self.out_features = out_features
        self.layout = layout
        self.limit = limit
        self.up_offset = float(up_offset)
        self.proj = torch.nn.Linear(in_features, 2 * out_features, bias=bias)

    def _options(self) -> List[str]:
        options = [f"in_features={self.in_features}", f"out_features={self.out_features}"]
        options.append(f"bias={self.proj.bias is not None}")
        if self.layout != _default(self._op, "layout"):
            options.append(f"layout={self.layout!r}")
        if self.limit is not None:
            options.append(f"limit={self.limit}")
        if self.up_offset != _default(self._op, "up_offset"):
            options.append(f"up_offset={self.up_offset}")
        return options


class SwiGLU(_GatedLinear):
    r"""A gated linear unit with a swish gate: :math:`\operatorname{swish}_\beta(xW + b) \odot (xV + c + \text{up\_offset})`.

    One fused projection to ``2 * out_features`` followed by the packed
    ``actops.swiglu`` op, which reads gate and up in place.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn the biases ``b`` and ``c``.
        beta: the swish gate's :math:`\beta` (1: SiLU; GPT-OSS uses 1.702).
        limit: if set, the gate is clamped to ``<= limit`` and up to
            ``[-limit, limit]`` before use (GPT-OSS: 7.0).
        up_offset: added to (the clamped) up (GPT-OSS: 1.0).
        layout: how the projection's output holds gate and up: ``"gate_up"``
            (first half gate), ``"up_gate"`` or ``"interleaved"`` (gate at
            even, up at odd positions, as GPT-OSS's fused projection).
    """

    _op = "swiglu"

    __constants__ = _GatedLinear.__constants__ + ["beta"]

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        beta: float = _default("swiglu", "beta"),
        limit: Optional[float] = _default("swiglu", "limit"),
        up_offset: float = _default("swiglu", "up_offset"),
        layout: str = _default("swiglu", "layout"),
    ) -> None:
        super().__init__(in_features, out_features, bias, layout, limit, up_offset, beta=beta)
        self.beta = float(beta)

    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.actops.swiglu_packed(
            self.proj(x), -1, layout=self.layout, beta=self.beta, limit=self.limit, up_offset=self.up_offset
        )

    def extra_repr(self) -> str:
        options = self._options()
        if self.beta != _default("swiglu", "beta"):
            options.append(f"beta={self.beta}")
        return ", ".join(options)


class GeGLU(_GatedLinear):
    r"""A gated linear unit with a GELU gate: :math:`\operatorname{gelu}(xW + b) \odot (xV + c)`.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn the biases ``b`` and ``c``.
        approximate: ``"none"`` (exact GELU) or ``"tanh"`` (Gemma's).
        layout: ``"gate_up"``, ``"up_gate"`` or ``"interleaved"`` (see :class:`SwiGLU`).
    """

    _op = "geglu"

    __constants__ = _GatedLinear.__constants__ + ["approximate"]

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        approximate: str = _default("geglu", "approximate"),
        layout: str = _default("geglu", "layout"),
    ) -> None:
        super().__init__(
            in_features,
            out_features,
            bias,
            layout,
            _default("geglu", "limit"),
            _default("geglu", "up_offset"),
            approximate=approximate,
        )
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.actops.geglu_packed(self.proj(x), -1, layout=self.layout, approximate=self.approximate)

    def extra_repr(self) -> str:
        options = self._options()
        if self.approximate != _default("geglu", "approximate"):
            options.append(f"approximate={self.approximate!r}")
        return ", ".join(options)


class ReGLU(_GatedLinear):
    r"""A gated linear unit with a ReLU gate: :math:`\operatorname{relu}(xW + b) \odot (xV + c)`.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn the biases ``b`` and ``c``.
        layout: ``"gate_up"``, ``"up_gate"`` or ``"interleaved"`` (see :class:`SwiGLU`).
    """

    _op = "reglu"

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, *, layout: str = _default("reglu", "layout")
    ) -> None:
        super().__init__(
            in_features, out_features, bias, layout, _default("reglu", "limit"), _default("reglu", "up_offset")
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.actops.reglu_packed(self.proj(x), -1, layout=self.layout)

    def extra_repr(self) -> str:
        return ", ".join(self._options())


class Maxout(torch.nn.Module):
    r"""A maxout layer: a Linear to ``out_features * pieces``, then the maximum
    over each group of ``pieces`` consecutive values of the last dimension.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        pieces: the number of linear pieces whose maximum each output takes.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int) -> None:
        super().__init__()
        _check("Maxout", functional.maxout, _empty(0, 0), pieces, -1)
        self.in_features = in_features
        self.out_features = out_features
        self.pieces = pieces
        self.linear = torch.nn.Linear(in_features, out_features * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return torch.ops.actops.maxout(self.linear(x), self.pieces, -1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}"
