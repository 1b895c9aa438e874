"""The one list of the actops ops, for Python.

One entry per public function (``actops.<name>``): what kind of op it is,
the ``torch.ops.actops`` ops it calls, its ``actops.nn`` modules and a
reference formula written with plain torch ops. Its parameters and their
defaults are not restated here: they are read from the registered schemas
(``torch.ops.actops.<op>.default._schema``), which the C++ op table writes.

The functions of :mod:`actops.functional`, the modules of :mod:`actops.nn`,
the tests, ``scripts/bench.py``, ``scripts/accuracy.py``,
``scripts/plot_activations.py`` and the demo's checks all iterate
:data:`OPS`, so that a new op is one entry here (after its row in the C++
table, its function's docstring and its module)::

    >>> from actops.registry import OPS, get
    >>> [op.name for op in OPS]
    ['mish', 'relu2', 'swish', 'gelu', 'trelu', 'snake', 'swiglu', 'geglu', 'reglu', 'maxout']
    >>> get("swish").defaults
    {'beta': 1.0}
    >>> get("swish").learnable_op, get("swish").backward_ops[:2]
    ('swish_learnable', ('swish_backward', 'swish_double_backward'))

Kinds:

- ``"unary"``: element-wise in one tensor ``x``, with fixed scalar
  parameters (``mish``, ``relu2``, ``gelu``);
- ``"parametric"``: element-wise in ``x`` with a parameter (``learnable``)
  that may be a tensor broadcast to ``x``, one value or one per channel of
  dim 1, with a gradient of its own (``swish``'s ``beta``, ``trelu``'s
  ``alpha``; ``snake``'s ``alpha`` is always a tensor);
- ``"gated"``: ``gate(g) * (up + up_offset)``, split ``(gate, up)`` or
  packed in one tensor along ``dim`` (``swiglu``, ``geglu``, ``reglu``);
- ``"grouped"``: a reduction over groups of consecutive elements of ``dim``
  (``maxout``).
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["KINDS", "LAYOUTS", "OPS", "Op", "get", "names"]

KINDS = ("unary", "parametric", "gated", "grouped")

# How a packed gated input holds gate and up along its dim (the packed ops'
# ``layout``): the first half gate, the first half up, or alternating.
LAYOUTS = ("gate_up", "up_gate", "interleaved")


@dataclass(frozen=True)
class Op:
    """One public op: ``actops.<name>``, ``torch.ops.actops.<name>`` and its forms.

    Written here: ``name``, ``kind``, ``reference`` (the function from
    plain torch ops, taking the arguments ``actops.<name>`` takes),
    ``modules`` (the ``actops.nn`` class names), ``learnable`` (the argument
    that may be a tensor, for the parametric kind), ``choices`` (the values
    a string argument takes, default first: the op checks them, the tables
    here cover each) and ``formula`` (the function in words, for tables and
    plots). Everything else is read from the dispatcher.
    """

    name: str
    kind: str
    reference: Callable[..., Tensor] = field(repr=False, compare=False)
    modules: Tuple[str, ...] = ()
    learnable: Optional[str] = None
    choices: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    formula: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"actops.registry: {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "parametric") != (self.learnable is not None):
            raise ValueError(f"actops.registry: {self.name}: a parametric op names its learnable argument")
        object.__setattr__(self, "choices", types.MappingProxyType(dict(self.choices)))

    def __str__(self) -> str:
        return self.name

    # ---- the registered ops (torch.ops.actops.*) --------------------------------

    @property
    def op(self) -> str:
        """The op the function calls by default: ``torch.ops.actops.<name>``."""
        return self.name

    @property
    def learnable_op(self) -> Optional[str]:
        """The op taking the learnable argument as a tensor, where it is a
        separate op (``swish_learnable``); None where the default op takes a
        tensor already, or there is no learnable argument."""
        return self._existing(f"{self.name}_learnable")

    @property
    def packed_op(self) -> Optional[str]:
        """A gated unit's packed form (``swiglu_packed``), else None."""
        return self._existing(f"{self.name}_packed")

    @property
    def inplace_op(self) -> Optional[str]:
        """The in-place op (``mish_``, also ``actops.mish_``), else None."""
        return self._existing(f"{self.name}_")

    @property
    def saving_ops(self) -> Tuple[str, ...]:
        """Forms that also return what the backward keeps (``trelu_with_mask``,
        ``maxout_with_indices``)."""
        return tuple(n for n in _op_names() if n.startswith(f"{self.name}_with_") and not n.endswith("_"))

    @property
    def forward_ops(self) -> Tuple[str, ...]:
        """The forward ops: the default, learnable and packed ones that exist,
        and the saving forms."""
        forms = (self.op, self.learnable_op, self.packed_op)
        return tuple(n for n in forms if n is not None) + self.saving_ops

    @property
    def function_ops(self) -> Tuple[str, ...]:
        """The ops ``actops.<name>`` calls: default, learnable, packed."""
        return tuple(n for n in (self.op, self.learnable_op, self.packed_op) if n is not None)

    @property
    def backward_ops(self) -> Tuple[str, ...]:
        """``<form>_backward`` and ``<form>_double_backward`` of every forward form."""
        found = []
        for form in self.function_ops:
            for suffix in ("_backward", "_double_backward"):
                name = self._existing(form + suffix)
                if name is not None:
                    found.append(name)
        return tuple(found)

    @property
    def inplace_ops(self) -> Tuple[str, ...]:
        """The in-place ops: ``inplace_op`` and the in-place saving forms (``trelu_with_mask_``)."""
        forms = (self.inplace_op, *(self._existing(f"{op}_") for op in self.saving_ops))
        return tuple(op for op in forms if op is not None)

    @property
    def ops(self) -> Tuple[str, ...]:
        """Every registered op of this entry: forward, in place and backward."""
        return self.forward_ops + self.inplace_ops + self.backward_ops

    def schema(self, op: Optional[str] = None) -> torch._C.FunctionSchema:
        """The registered schema of one of the entry's ops (default: ``op``)."""
        return getattr(torch.ops.actops, op or self.op).default._schema

    # ---- parameters, from the schemas -----------------------------------------

    def tensors(self, op: Optional[str] = None) -> Tuple[str, ...]:
        """The names of an op's tensor arguments (default: ``op``), ``out`` aside."""
        return tuple(a.name for a in self.schema(op).arguments if a.name != "out" and _is_tensor(a.type))

    @property
    def parameters(self) -> Dict[str, Any]:
        """Every scalar argument of the function's ops with its schema default,
        or :data:`REQUIRED` where the schema has none (``maxout``'s
        ``pieces``), in the order the schemas give them (default op first)."""
        found: Dict[str, Any] = {}
        for op in self.function_ops:
            for argument in self.schema(op).arguments:
                if argument.name == "out" or argument.name in found or _is_tensor(argument.type):
                    continue
                found[argument.name] = argument.default_value if argument.has_default_value() else REQUIRED
        return found

    @property
    def defaults(self) -> Dict[str, Any]:
        """The scalar arguments that have a default, with it (read from the schemas)."""
        return {name: value for name, value in self.parameters.items() if value is not REQUIRED}

    def default(self, argument: str) -> Any:
        """One argument's schema default (KeyError naming the op if it has none)."""
        try:
            return self.defaults[argument]
        except KeyError:
            raise KeyError(f"actops.{self.name} has no default for {argument!r}: {self.defaults}") from None

    # ---- the Python faces --------------------------------------------------------

    @property
    def function(self) -> Callable[..., Tensor]:
        """``actops.<name>``."""
        from actops import functional

        return getattr(functional, self.name)

    @property
    def inplace_function(self) -> Optional[Callable[..., Tensor]]:
        """``actops.<name>_``, where the op has an in-place form."""
        from actops import functional

        return getattr(functional, f"{self.name}_", None) if self.inplace_op else None

    @property
    def module_classes(self) -> Tuple[type, ...]:
        """The ``actops.nn`` classes named in ``modules``."""
        from actops import nn

        return tuple(getattr(nn, name) for name in self.modules)

    def _existing(self, op: str) -> Optional[str]:
        return op if op in _op_names() else None


class _Required:
    """The default of an argument that has none (a schema without a default)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


def _is_tensor(type_: torch._C.JitType) -> bool:
    if isinstance(type_, torch._C.OptionalType):
        type_ = type_.getElementType()
    return isinstance(type_, torch._C.TensorType)


@functools.lru_cache(maxsize=None)
def _op_names() -> frozenset:
    """The names of the ops the loaded library registers (``mish``, ``mish_backward``, ...)."""
    import actops  # noqa: F401 (loads the library)

    return frozenset(
        name.split("::", 1)[1] for name in torch._C._dispatch_get_all_op_names() if name.startswith("actops::")
    )


# ---- the reference formulas: plain torch ops --------------------------------------


def _mish(x: Tensor) -> Tensor:
    return x * torch.tanh(F.softplus(x))


def _relu2(x: Tensor) -> Tensor:
    return torch.relu(x).square()


def _swish(x: Tensor, beta=1.0) -> Tensor:
    return x * torch.sigmoid(beta * x)


def _gelu(x: Tensor, approximate: str = "none") -> Tensor:
    return F.gelu(x, approximate=approximate)


def _trelu(x: Tensor, threshold: float = 1.0, alpha=0.0) -> Tensor:
    return torch.where(x > threshold, x, alpha * x)


def _snake(x: Tensor, alpha: Tensor) -> Tensor:
    # x + sin^2(alpha x) / alpha with its limit x at alpha = 0 (BigVGAN adds
    # 1e-9 to alpha instead, which is off by that much and cancels no less)
    s = torch.sin(alpha * x)
    safe = torch.where(alpha == 0, torch.ones_like(alpha), alpha)
    return x + torch.where(alpha == 0, torch.zeros_like(s), s * s / safe)


def _maxout(x: Tensor, pieces: int, dim: int = 1) -> Tensor:
    d = dim % x.dim()
    return x.unflatten(d, (-1, pieces)).amax(d + 1)


def packed_parts(x: Tensor, dim: int = -1, layout: str = "gate_up") -> Tuple[Tensor, Tensor]:
    """(gate, up) of a packed gated input, as views of ``x``."""
    d = dim % x.dim()
    if layout == "interleaved":
        pairs = x.unflatten(d, (-1, 2))
        return pairs.select(d + 1, 0), pairs.select(d + 1, 1)
    first, second = x.chunk(2, d)
    return (first, second) if layout == "gate_up" else (second, first)


def _gated(gate_fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """The reference of a gated unit with this gate, split and packed as
    ``actops.swiglu`` takes them: ``gate_fn(clamp(g), **options) * (clamp(u) + up_offset)``."""

    def reference(gate: Tensor, up=None, dim=None, *, layout=None, limit=None, up_offset=0.0, **options) -> Tensor:
        if up is None or not isinstance(up, Tensor):
            dim = (-1 if dim is None else dim) if up is None else up
            gate, up = packed_parts(gate, dim, layout or "gate_up")
        if limit is not None:
            gate, up = gate.clamp(max=limit), up.clamp(min=-limit, max=limit)
        return gate_fn(gate, **options) * (up + up_offset)

    reference.__name__ = f"gated_{gate_fn.__name__.strip('_')}"
    return reference


# ---- the ops ---------------------------------------------------------------------

OPS: Tuple[Op, ...] = (
    Op("mish", "unary", _mish, ("Mish",), formula="x · tanh(softplus(x))"),
    Op("relu2", "unary", _relu2, ("ReLU2",), formula="max(0, x)²"),
    Op("swish", "parametric", _swish, ("Swish",), learnable="beta", formula="x · σ(βx)"),
    Op(
        "gelu",
        "unary",
        _gelu,
        ("GELU",),
        choices={"approximate": ("none", "tanh")},
        formula="x · Φ(x), or 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))",
    ),
    Op("trelu", "parametric", _trelu, ("TReLU",), learnable="alpha", formula="x where x > θ, α·x where x ≤ θ"),
    Op("snake", "parametric", _snake, ("Snake",), learnable="alpha", formula="x + sin²(αx)/α"),
    Op(
        "swiglu",
        "gated",
        _gated(_swish),
        ("SwiGLU",),
        choices={"layout": LAYOUTS},
        formula="swish_β(gate) · (up + up_offset)",
    ),
    Op(
        "geglu",
        "gated",
        _gated(_gelu),
        ("GeGLU",),
        choices={"layout": LAYOUTS, "approximate": ("none", "tanh")},
        formula="gelu(gate) · (up + up_offset)",
    ),
    Op(
        "reglu",
        "gated",
        _gated(torch.relu),
        ("ReGLU",),
        choices={"layout": LAYOUTS},
        formula="relu(gate) · (up + up_offset)",
    ),
    Op("maxout", "grouped", _maxout, ("Maxout",), formula="max over groups of k consecutive elements of dim"),
)

_BY_NAME = {op.name: op for op in OPS}
assert len(_BY_NAME) == len(OPS), "actops.registry: two entries share a name"


def get(name: str) -> Op:
    """The entry of ``actops.<name>`` (KeyError listing the known names)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"actops.registry: no op {name!r}; known: {', '.join(_BY_NAME)}") from None


def names(*kinds: str) -> Tuple[str, ...]:
    """The names of the ops (of these kinds, if given), in registry order."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"actops.registry: unknown kind(s) {sorted(unknown)}; known: {KINDS}")
    return tuple(op.name for op in OPS if not kinds or op.kind in kinds)
