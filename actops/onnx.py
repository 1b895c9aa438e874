"""ONNX export of models that use actops: every op as standard ONNX operators.

An exported graph holds no ``actops`` node, so ONNX Runtime (or any runtime
that reads ONNX) runs it without actops. Both of torch's exporters work,
from opset 18 (ONNX ``Mish``, ``Split``'s ``num_outputs``):

- ``torch.onnx.export(model, args, dynamo=False)``, the TorchScript-based
  exporter: ``import actops`` registers a symbolic function for every op
  with ``torch.onnx.register_custom_op_symbolic``, once ``torch.onnx`` is
  imported (actops does not import it, nor any ONNX package);
- ``torch.onnx.export(model, args, dynamo=True)``, the ``torch.export``-based
  one, which has no global registration: :func:`export` passes
  :func:`translation_table` for you, or pass it yourself::

      torch.onnx.export(model, args, dynamo=True, opset_version=20,
                        custom_translation_table=actops.onnx.translation_table(20))

Each op's translation is written once, below, against a small builder that
both exporters provide (``b.op``, ``b.scalar``, ``b.ints``); the forms of an
op (learnable, packed, in place, ``out=``) reach it through the op's
registered schema, by argument name, so they follow from the registry:

- Mish: ``Mish``; ReLU²: ``Relu``, ``Mul``; Swish: ``Sigmoid``, ``Mul``;
  TReLU: ``Where``; Snake: ``Sin``, ``Div``, ``Where`` (its limit at α = 0);
- GELU: ``Gelu`` with ``approximate`` from opset 20, its ``Erf``/``Tanh``
  formula below;
- the gated units: their gate's translation, ``Split`` (``gate_up``,
  ``up_gate``) or strided ``Slice`` (``interleaved``) for the packed
  layouts, ``Min``/``Clip`` for ``limit``, ``Add`` for ``up_offset``;
- Maxout: ``Reshape`` + ``ReduceMax`` (``ArgMax`` for its saving form).

Learnable β and α are parameters of the model, so the exporters write them
as initializers. Scalar arguments must be constants of the traced model.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch

from actops import registry
from actops._after_import import after_import

__all__ = ["ExportError", "GELU_OPSET", "MIN_OPSET", "export", "translation_table"]

# The first opset with ONNX Mish, Split's num_outputs and ReduceMax's axes input.
MIN_OPSET = 18
# The first opset with ONNX Gelu (and its approximate attribute).
GELU_OPSET = 20

_INT64_MAX = 2**63 - 1
# ONNX's TensorProto element types of the integer and boolean results (Cast's "to").
_ONNX_TYPES = {torch.bool: 9, torch.uint8: 2, torch.int8: 3, torch.int16: 5, torch.int32: 6, torch.int64: 7}


class ExportError(RuntimeError):
    """An actops op that cannot be translated as called (the message names the op and why)."""


# ---- the translations: one per op, on a builder ---------------------------------------
#
# A builder ``b`` has ``b.opset`` (the target opset), ``b.op(name, *inputs,
# outputs=1, **attributes)``, ``b.scalar(value, like)`` (a constant of
# like's dtype) and ``b.ints(values)`` (an int64 1-d constant). A parameter
# that may be a number or a tensor (``beta``, ``alpha``) goes through
# ``_value``.


def _value(b, value, like):
    """A tensor argument as it is, a number as a constant of like's dtype."""
    return b.scalar(value, like) if isinstance(value, (int, float)) else value


def _mish(b, x):
    return b.op("Mish", x)


def _relu(b, x):
    return b.op("Relu", x)


def _relu2(b, x):
    r = b.op("Relu", x)
    return b.op("Mul", r, r)


def _swish(b, x, beta=1.0):
    if isinstance(beta, (int, float)) and math.isinf(beta):  # the limits, as the kernels: relu, min(x, 0)
        return b.op("Relu", x) if beta > 0 else b.op("Min", x, b.scalar(0.0, x))
    z = x if isinstance(beta, (int, float)) and beta == 1.0 else b.op("Mul", _value(b, beta, x), x)
    return b.op("Mul", x, b.op("Sigmoid", z))


def _gelu(b, x, approximate="none"):
    if b.opset >= GELU_OPSET:
        return b.op("Gelu", x, approximate=approximate)
    if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        inner = b.op("Mul", b.op("Mul", b.op("Mul", x, x), x), b.scalar(0.044715, x))
        inner = b.op("Mul", b.op("Add", x, inner), b.scalar(math.sqrt(2.0 / math.pi), x))
        phi2 = b.op("Add", b.op("Tanh", inner), b.scalar(1.0, x))
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        phi2 = b.op("Add", b.op("Erf", b.op("Mul", x, b.scalar(math.sqrt(0.5), x))), b.scalar(1.0, x))
    return b.op("Mul", b.op("Mul", x, b.scalar(0.5, x)), phi2)


def _trelu_parts(b, x, threshold=1.0, alpha=0.0):
    mask = b.op("Greater", x, b.scalar(threshold, x))
    return b.op("Where", mask, x, b.op("Mul", _value(b, alpha, x), x)), mask


def _trelu(b, x, threshold=1.0, alpha=0.0):
    return _trelu_parts(b, x, threshold, alpha)[0]


def _snake(b, x, alpha):
    # x + s (s / alpha), s = sin(alpha x), as the kernel computes it; at alpha = 0 its limit, x
    zero = b.op("Equal", alpha, b.scalar(0.0, alpha))
    safe = b.op("Where", zero, b.scalar(1.0, alpha), alpha)
    s = b.op("Sin", b.op("Mul", alpha, x))
    term = b.op("Where", zero, b.scalar(0.0, x), b.op("Mul", s, b.op("Div", s, safe)))
    return b.op("Add", x, term)


def _groups(b, x, pieces, dim=1):
    """x with dim split into (size / pieces, pieces), and the axis of the pieces;
    from the run-time shape, so that every other dim may be dynamic."""
    shape = b.op("Shape", x)
    head = b.op("Slice", shape, b.ints([0]), b.ints([dim]))
    parts = [head, b.ints([-1, pieces])]
    if dim != -1:
        parts.append(b.op("Slice", shape, b.ints([dim + 1]), b.ints([_INT64_MAX])))
    axis = dim + 1 if dim >= 0 else dim
    return b.op("Reshape", x, b.op("Concat", *parts, axis=0)), axis


def _maxout(b, x, pieces, dim=1):
    grouped, axis = _groups(b, x, pieces, dim)
    return b.op("ReduceMax", grouped, b.ints([axis]), keepdims=0)


def _maxout_with_indices(b, x, pieces, dim=1):
    grouped, axis = _groups(b, x, pieces, dim)
    # ArgMax picks the first maximum, as the op does; the indices in the op's dtype
    dtype = torch.ops.actops.maxout_with_indices(torch.empty(1, pieces, device="meta"), pieces, 1)[1].dtype
    indices = b.op("ArgMax", grouped, axis=axis, keepdims=0, select_last_index=0)
    return b.op("ReduceMax", grouped, b.ints([axis]), keepdims=0), b.op("Cast", indices, to=_ONNX_TYPES[dtype])


def _trelu_with_mask(b, x, threshold=1.0, alpha=0.0):
    return _trelu_parts(b, x, threshold, alpha)


def _gated(gate_fn: Callable) -> Callable:
    """The translation of a gated unit with this gate: ``gate_fn(clamp(g), **options) * (clamp(u) + up_offset)``."""

    def translate(b, gate, up, limit=None, up_offset=0.0, **options):
        if limit is not None:
            gate = b.op("Min", gate, b.scalar(limit, gate))
            up = b.op("Clip", up, b.scalar(-limit, up), b.scalar(limit, up))
        if up_offset != 0.0:
            up = b.op("Add", up, b.scalar(up_offset, up))
        return b.op("Mul", gate_fn(b, gate, **options), up)

    return translate


def _packed(gated: Callable) -> Callable:
    """The packed form of a gated translation: gate and up read from x along dim, in its layout."""

    def translate(b, x, dim=-1, layout="gate_up", **options):
        if layout == "interleaved":  # gate at even, up at odd positions
            gate, up = (
                b.op("Slice", x, b.ints([start]), b.ints([_INT64_MAX]), b.ints([dim]), b.ints([2])) for start in (0, 1)
            )
        elif layout in ("gate_up", "up_gate"):
            first, second = b.op("Split", x, outputs=2, axis=dim, num_outputs=2)
            gate, up = (first, second) if layout == "gate_up" else (second, first)
        else:
            raise ExportError(f"actops.onnx: unknown packed layout {layout!r}; known: {registry.LAYOUTS}")
        return gated(b, gate, up, **options)

    return translate


# The translation of every op that is not a gated unit, by registry name.
TRANSLATIONS: Dict[str, Callable] = {
    "mish": _mish,
    "relu2": _relu2,
    "swish": _swish,
    "gelu": _gelu,
    "trelu": _trelu,
    "snake": _snake,
    "maxout": _maxout,
}
# A gated unit is its gate's translation in _gated: the gate of each, by registry name.
GATES: Dict[str, Callable] = {"swiglu": _swish, "geglu": _gelu, "reglu": _relu}
# The forms that also return what the backward keeps.
SAVING: Dict[str, Callable] = {"trelu_with_mask": _trelu_with_mask, "maxout_with_indices": _maxout_with_indices}


def _op_translation(entry: registry.Op, op: str) -> Callable:
    """The translation of one of entry's ops (its default, learnable, packed,
    in-place or saving form), taking the op's arguments by name."""
    if op in entry.saving_ops or op.rstrip("_") in entry.saving_ops:
        if op.endswith("_"):
            raise ExportError(
                f"actops.onnx: actops::{op} overwrites x and returns only what the backward keeps; "
                f"export a model that calls actops::{entry.op} or actops::{entry.inplace_op or entry.op}"
            )
        return SAVING[op]
    if entry.kind == "gated":
        gated = _gated(GATES[entry.name])
        return _packed(gated) if op == entry.packed_op else gated
    return TRANSLATIONS[entry.name]


@functools.lru_cache(maxsize=None)
def _forms() -> Dict[str, Tuple[registry.Op, Callable]]:
    """Every forward and in-place op of the registry: (its entry, its translation)."""
    forms = {}
    for entry in registry.OPS:
        for op in entry.forward_ops + entry.inplace_ops:
            try:
                forms[op] = (entry, _op_translation(entry, op))
            except ExportError as error:
                forms[op] = (entry, _refusal(str(error)))
            except KeyError:  # a new op without its translation: refused at export, named
                forms[op] = (
                    entry,
                    _refusal(f"actops.onnx: actops::{op} (actops.{entry.name}) has no ONNX translation"),
                )
    return forms


def _refusal(message: str) -> Callable:
    def refuse(b, *args, **kwargs):
        raise ExportError(message)

    return refuse


def _check_opset(what: str, opset: int) -> None:
    if opset < MIN_OPSET:
        raise ExportError(
            f"{what} needs ONNX opset {MIN_OPSET} or newer (Mish, Split with num_outputs); "
            f"export with opset_version >= {MIN_OPSET} (got {opset})"
        )


def _schema_arguments(op: str) -> list:
    """The arguments of torch.ops.actops.<op>.default, ``out`` aside."""
    return [a for a in getattr(torch.ops.actops, op).default._schema.arguments if a.name != "out"]


def _is_tensor(argument) -> bool:
    type_ = argument.type
    if isinstance(type_, torch._C.OptionalType):
        type_ = type_.getElementType()
    return isinstance(type_, torch._C.TensorType)


# ---- the TorchScript-based exporter: symbolic functions ------------------------------------


class _TorchScriptBuilder:
    def __init__(self, g) -> None:
        self.g = g
        self.opset = g.opset

    def op(self, name: str, *inputs, outputs: int = 1, **attributes):
        suffixed = {}
        for key, value in attributes.items():
            kind = "s" if isinstance(value, str) else "f" if isinstance(value, float) else "i"
            suffixed[f"{key}_{kind}"] = value
        return self.g.op(name, *inputs, outputs=outputs, **suffixed)

    def scalar(self, value: float, like):
        dtype = like.type().dtype() if isinstance(like.type(), torch._C.TensorType) else None
        if dtype is not None:  # the traced dtype: a constant of it (ONNX Runtime folds no CastLike)
            return self.g.op("Constant", value_t=torch.tensor(float(value), dtype=dtype))
        constant = self.g.op("Constant", value_t=torch.tensor(float(value), dtype=torch.float64))
        return self.g.op("CastLike", constant, like)

    def ints(self, values: Sequence[int]):
        return self.g.op("Constant", value_t=torch.tensor(list(values), dtype=torch.int64))


def _constant(op: str, argument, value) -> Any:
    """A scalar argument of a TorchScript node as a Python value (an error naming
    the op if it is computed in the graph)."""
    node = value.node()
    if node.kind() == "prim::Constant":
        python = value.toIValue()
    elif node.kind() == "onnx::Constant":
        python = getattr(node, node.kindOf("value"))("value")  # node.t, node.f, node.i or node.s
        if isinstance(python, torch.Tensor):
            python = python.item() if python.dim() == 0 else python.tolist()
    else:
        raise ExportError(
            f"actops.onnx: actops::{op}'s {argument.name} must be a constant of the traced model, "
            f"but it is computed in the graph ({node.kind()})"
        )
    if python is None:
        return None
    type_ = argument.type
    if isinstance(type_, torch._C.OptionalType):
        type_ = type_.getElementType()
    if isinstance(type_, torch._C.FloatType):
        return float(python)
    if isinstance(type_, torch._C.IntType):
        return int(python)
    return python


def _symbolic(op: str, translate: Callable) -> Callable:
    def symbolic(g, *inputs):
        # The exporter looks an in-place op up under its out-of-place name
        # (mish_ as mish): translate the op the node holds.
        held = g.original_node.kind().split("::", 1)[1]
        name, translation = (op, translate) if held == op else (held, _forms()[held][1])
        _check_opset(f"actops::{name}", g.opset)
        arguments = _schema_arguments(name)
        # the out= overload: the same arguments and out, last (its result is the op's)
        named = {}
        for argument, value in zip(arguments, inputs[: len(arguments)]):
            named[argument.name] = value if _is_tensor(argument) else _constant(name, argument, value)
        return translation(_TorchScriptBuilder(g), **named)

    symbolic.__name__ = f"actops_{op}_symbolic"
    return symbolic


def register_symbolics() -> None:
    """Register a symbolic function for every actops op with the TorchScript-based
    exporter (``torch.onnx.register_custom_op_symbolic``). ``import actops`` does
    it once ``torch.onnx`` is imported; calling it again is harmless."""
    import torch.onnx

    for op, (entry, translate) in _forms().items():
        # from the first opset, so that an older one gets _check_opset's error, not "unsupported"
        torch.onnx.register_custom_op_symbolic(f"actops::{op}", _symbolic(op, translate), 1)


def register_on_import() -> None:
    """Register the symbolic functions now if ``torch.onnx`` is imported, or
    right after its import (so that ``import actops`` stays as fast as it is)."""
    after_import("torch.onnx", register_symbolics, "the ONNX symbolic functions were not registered")


# ---- the torch.export-based exporter: a translation table -----------------------------------


class _ScriptBuilder:
    def __init__(self, opset: int) -> None:
        import onnxscript

        self.opset = opset
        self._ops = onnxscript.values.Opset("", opset)

    def op(self, name: str, *inputs, outputs: int = 1, **attributes):
        return getattr(self._ops, name)(*inputs, **attributes)

    def scalar(self, value: float, like):
        import numpy as np
        import onnx_ir as ir

        return self._ops.CastLike(self._ops.Constant(value=ir.tensor(np.array(float(value), dtype=np.float64))), like)

    def ints(self, values: Sequence[int]):
        return self._ops.Constant(value_ints=list(values))


def _translation_function(op: str, translate: Callable, opset: int) -> Callable:
    arguments = _schema_arguments(op)
    signature = inspect.Signature(
        [
            inspect.Parameter(
                a.name,
                inspect.Parameter.KEYWORD_ONLY if a.kwarg_only else inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=a.default_value if a.has_default_value() else inspect.Parameter.empty,
            )
            for a in arguments
        ]
    )

    def translation(*args, **kwargs):
        _check_tracer_opset(op, opset)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return translate(_ScriptBuilder(opset), **bound.arguments)

    translation.__name__ = f"actops_{op}"
    translation.__signature__ = signature
    return translation


def _check_tracer_opset(op: str, opset: int) -> None:
    """The table's opset must be the export's (a Gelu node in an opset-18 model would not load)."""
    import onnxscript

    target = getattr(getattr(onnxscript.evaluator.default(), "opset", None), "version", None)
    if target is not None and target != opset:
        raise ExportError(
            f"actops.onnx: the translation of actops::{op} was made for opset {opset}, "
            f"but the export is at opset {target}: pass translation_table({target})"
        )


@functools.lru_cache(maxsize=None)
def _table(opset: int) -> Tuple[Tuple[Any, Callable], ...]:
    return tuple(
        (getattr(torch.ops.actops, op).default, _translation_function(op, translate, opset))
        for op, (entry, translate) in _forms().items()
        if op in entry.forward_ops  # in-place and out= forms are functionalized away by torch.export
    )


def translation_table(opset_version: int = MIN_OPSET) -> Dict[Any, Callable]:
    """The ``custom_translation_table`` of ``torch.onnx.export(..., dynamo=True)``:
    every actops op that ``torch.export`` leaves in a graph (the forward ops'
    ``.default`` overloads; in-place and ``out=`` calls become those), each
    mapped to a function that writes it in standard ONNX operators.

    ``opset_version`` must be the export's (``Gelu`` from opset 20, its
    formula below)."""
    _check_opset("actops.onnx.translation_table", opset_version)
    return dict(_table(opset_version))


def export(model, args: tuple = (), f=None, *, opset_version: Optional[int] = None, dynamo: bool = True, **kwargs):
    """``torch.onnx.export`` for a model that uses actops: the same arguments,
    with :func:`translation_table` passed for the ``torch.export``-based
    exporter (``dynamo=True``, the default; any ``custom_translation_table``
    given is merged over it). ``opset_version`` defaults to 20 (the
    TorchScript exporter's newest and the first with ``Gelu``); 18 is the
    oldest supported."""
    import torch.onnx

    opset = GELU_OPSET if opset_version is None else opset_version
    _check_opset("actops.onnx.export", opset)
    if dynamo:
        kwargs["custom_translation_table"] = {**translation_table(opset), **kwargs.get("custom_translation_table", {})}
    return torch.onnx.export(model, args, f, opset_version=opset, dynamo=dynamo, **kwargs)
