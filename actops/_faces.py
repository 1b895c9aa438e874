"""The bodies of the Python functions, written once for every op.

``actops.functional`` writes each function's signature and docstring by
hand (users read those) and leaves its body to :func:`face`, which writes
it from the op's registry entry (:mod:`actops.registry`) and registered
schemas. Every body has the same three call paths:

- TorchScript: a ``torch.jit.is_scripting()`` branch that calls
  ``torch.ops.actops.*``, which TorchScript compiles (the gated functions,
  whose keyword-only arguments TorchScript cannot script, have none);
- torch.compile and torch.export: the OpOverloads themselves, which they
  trace (``torch.compiler.is_compiling()`` is a constant to them);
- eager: builtins from ``actops/lib/_fast_call.so`` bound once to each
  OpOverload (ops/python/fast_call.cpp), which reach the same operator
  through the dispatcher without ``torch.ops``' per-call Python frame and
  generic argument conversion (about 1.2 us less a call, the kernel time
  of 4096 elements).

The body is Python source, generated and compiled once per function at
import (as :mod:`dataclasses` writes ``__init__``), so that each call runs
only the branches of its own op, as a hand-written body would; the source
is registered with :mod:`linecache`, so ``inspect.getsource``, tracebacks
and TorchScript (which compiles a function from its source) see it.

Scalar arguments follow torch's rule, the same for every op: a float
argument takes Python and numpy numbers and bool, an int argument takes
Python and numpy integers but not bool, a string argument only a string;
anything else is a TypeError naming the function and the argument. The
argument's other checks (values, shapes, dtypes) are the C++ op's.
"""

from __future__ import annotations

import __future__
import ast
import inspect
import linecache
import numbers
from types import SimpleNamespace
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor

from actops import registry
from actops._library import load_fast_call

# What the functions take as a tensor argument: tensors, and the proxies of
# torch.fx.symbolic_trace (FX-based tools: quantization, transformers'
# tracer), which the op records as a node. A Python function cannot be
# scripted with it (TorchScript takes the torch.jit.is_scripting() branches).
TENSOR_LIKE = (Tensor, torch.fx.Proxy)


def overloads(bind: Callable) -> SimpleNamespace:
    """<op>, <op>_out and (where the op has one) <op>_, for every op the
    functions call: bind(OpOverload)."""
    found = {}
    for entry in registry.OPS:
        for name in entry.function_ops:
            packet = getattr(torch.ops.actops, name)
            found[name], found[f"{name}_out"] = bind(packet.default), bind(packet.out)
        if entry.inplace_op:
            found[entry.inplace_op] = bind(getattr(torch.ops.actops, entry.inplace_op).default)
    return SimpleNamespace(**found)


EAGER = overloads(load_fast_call().bind)
TRACED = overloads(lambda overload: overload)


# ---- scalar arguments: torch's rule, errors naming the function ----------------------


def number(function: str, name: str, value) -> float:
    """value as a float, by torch's rule for a float argument: Python and
    numpy numbers, bool included (as ``F.elu(x, alpha=True)`` takes it); else
    a TypeError naming the function and the argument."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"actops.{function}: {name} must be a number, got {type(value).__name__}")
    return float(value)


def integer(function: str, name: str, value) -> int:
    """value as an int, by torch's rule for an int argument: Python and numpy
    integers, not bool (``F.glu(x, dim=True)`` is refused); else a TypeError
    naming the function and the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"actops.{function}: {name} must be an int, got {type(value).__name__}")
    return int(value)


def string(function: str, name: str, value) -> str:
    """value if it is a string, else a TypeError naming the function and the argument."""
    if not isinstance(value, str):
        raise TypeError(f"actops.{function}: {name} must be a string, got {type(value).__name__}")
    return value


def packed_arguments(function: str, up, dim, layout, default_dim: int, default_layout: str) -> Tuple[int, str]:
    """(dim, layout) of a gated function's packed form, called with ``up``
    not a tensor: a dim passed in up's place (``swiglu(x, 0)``) moves to
    dim; the defaults are the packed op's."""
    if up is not None:
        if not isinstance(up, numbers.Integral) or isinstance(up, bool):
            raise TypeError(
                f"actops.{function}: up must be a tensor (split form) or dim an int (packed form), "
                f"got {type(up).__name__}"
            )
        if dim is not None:
            raise TypeError(f"actops.{function}: dim given twice ({up} and dim={dim})")
        dim = up
    dim = default_dim if dim is None else (dim if type(dim) is int else integer(function, "dim", dim))
    layout = (
        default_layout if layout is None else (layout if type(layout) is str else string(function, "layout", layout))
    )
    return dim, layout


def split_takes_neither(function: str) -> None:
    raise TypeError(
        f"actops.{function}: dim and layout belong to the packed form {function}(x, dim, layout=...); "
        f"the split form {function}(gate, up) takes neither"
    )


# ---- writing a body ----------------------------------------------------------------

_SCALAR_CHECK = {"float": "number", "int": "integer", "str": "string"}


def _scalar_type(type_: torch._C.JitType) -> Tuple[Optional[str], bool]:
    """('float' | 'int' | 'str' | None for a tensor or anything else, optional)."""
    optional = isinstance(type_, torch._C.OptionalType)
    if optional:
        type_ = type_.getElementType()
    kind = {torch._C.FloatType: "float", torch._C.IntType: "int", torch._C.StringType: "str"}.get(type(type_))
    return kind, optional


class _Body:
    """The source of one function's body: lines, and the objects its names stand for."""

    def __init__(self, function: str, python: inspect.Signature) -> None:
        self.function = function
        self.python = python
        self.lines: List[str] = []
        self.names: Dict[str, object] = {}

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def call(self, namespace: str, op: str, with_out: bool, rename: Optional[Dict[str, str]] = None) -> str:
        """A call of op (``namespace``: "script", "eager" or "traced") with the
        function's arguments of the same names (or as ``rename`` maps the
        schema's names), positional where the schema allows, and ``out=out``
        through its .out overload if the function has ``out``."""
        schema = getattr(torch.ops.actops, op).default._schema
        args = []
        for argument in schema.arguments:
            value = (rename or {}).get(argument.name, argument.name)
            if value not in self.python.parameters:
                raise TypeError(f"actops.{self.function} has no argument {value!r} for actops::{op}")
            args.append(f"{argument.name}={value}" if argument.kwarg_only else value)
        if namespace == "script":
            target = target_out = f"torch.ops.actops.{op}"
        else:
            target, target_out = f"_{namespace}_{op}", f"_{namespace}_{op}_out"
            table = EAGER if namespace == "eager" else TRACED
            self.names[target] = getattr(table, op)
            if with_out:
                self.names[target_out] = getattr(table, f"{op}_out")
        plain = f"{target}({', '.join(args)})"
        if not with_out:
            return plain
        return f"{plain} if out is None else {target_out}({', '.join([*args, 'out=out'])})"

    def dispatch(self, depth: int, op: str, with_out: bool, rename: Optional[Dict[str, str]] = None) -> None:
        """Return the op's result: the OpOverload under torch.compile and torch.export, else the binding."""
        self.line(depth, "if _is_compiling():")
        self.line(depth + 1, "return " + self.call("traced", op, with_out, rename))
        self.line(depth, "return " + self.call("eager", op, with_out, rename))

    def conversions(self, depth: int, op: str, skip: Tuple[str, ...] = ()) -> None:
        """The checks that hold the op's scalar arguments to torch's rule: one type test each on the fast path."""
        for argument in getattr(torch.ops.actops, op).default._schema.arguments:
            kind, optional = _scalar_type(argument.type)
            if kind is None or argument.name in skip:
                continue
            name, check = argument.name, _SCALAR_CHECK[kind]
            guard = f"{name} is not None and type({name}) is not {kind}" if optional else f"type({name}) is not {kind}"
            self.line(depth, f"if {guard}:")
            self.line(depth + 1, f"{name} = _{check}({self.function!r}, {name!r}, {name})")


def _elementwise_paths(body: _Body, entry: registry.Op, op: str, with_out: bool) -> None:
    """One op; for a parametric op whose default op takes its learnable
    argument as a number, that op or the learnable one by the argument's type."""
    learnable = entry.learnable_op if op == entry.op else None
    parameter = entry.learnable
    body.line(1, "if torch.jit.is_scripting():")
    if learnable:
        body.line(2, f"if isinstance({parameter}, Tensor):")
        body.line(3, "return " + body.call("script", learnable, with_out))
    body.line(2, "return " + body.call("script", op, with_out))
    body.conversions(1, op, skip=(parameter,) if learnable else ())
    if learnable:
        body.line(1, f"if type({parameter}) is not float:")
        body.line(2, f"if isinstance({parameter}, _TENSOR_LIKE):")
        body.dispatch(3, learnable, with_out)
        body.line(2, f"{parameter} = _number({body.function!r}, {parameter!r}, {parameter})")
    body.dispatch(1, op, with_out)


def _gated_paths(body: _Body, entry: registry.Op) -> None:
    """The split op (gate, up) or the packed one (x, dim, layout), by up's type."""
    packed = entry.schema(entry.packed_op)
    defaults = {a.name: a.default_value for a in packed.arguments if a.name in ("dim", "layout")}
    body.conversions(1, entry.op)
    body.line(1, "if isinstance(up, _TENSOR_LIKE):")
    body.line(2, "if dim is not None or layout is not None:")
    body.line(3, f"_split_takes_neither({body.function!r})")
    body.dispatch(2, entry.op, with_out=True)
    body.line(1, "if up is None and (dim is None or type(dim) is int) and (layout is None or type(layout) is str):")
    body.line(2, "if dim is None:")
    body.line(3, f"dim = {defaults['dim']!r}")
    body.line(2, "if layout is None:")
    body.line(3, f"layout = {defaults['layout']!r}")
    body.line(1, "else:")
    body.line(
        2,
        f"dim, layout = _packed_arguments({body.function!r}, up, dim, layout, "
        f"{defaults['dim']!r}, {defaults['layout']!r})",
    )
    body.dispatch(1, entry.packed_op, with_out=True, rename={"x": "gate"})


def _header(function: Callable) -> str:
    """``def name(<the hand-written parameters>) -> <return>:``, annotations as written."""
    signature = inspect.signature(function)
    parts, star = [], False
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = parameter.name
        if parameter.annotation is not inspect.Parameter.empty:
            text += f": {parameter.annotation}"
        if parameter.default is not inspect.Parameter.empty:
            default = repr(parameter.default)
            assert ast.literal_eval(default) == parameter.default, (function.__name__, parameter)
            text += f" = {default}"
        parts.append(text)
    returns = "" if signature.return_annotation is inspect.Signature.empty else f" -> {signature.return_annotation}"
    return f"def {function.__name__}({', '.join(parts)}){returns}:"


def face(stub: Callable) -> Callable:
    """``stub``'s signature and docstring with the body of its op, from the
    registry: ``actops.<name>`` calls the entry's ops, ``actops.<name>_`` its
    in-place op."""
    name = stub.__name__
    entry = registry.get(name[:-1] if name.endswith("_") else name)
    body = _Body(name, inspect.signature(stub))
    if name.endswith("_"):
        if entry.inplace_op is None:
            raise TypeError(f"actops.{name}: {entry.name} has no in-place op")
        _elementwise_paths(body, entry, entry.inplace_op, with_out=False)
    elif entry.kind == "gated":
        _gated_paths(body, entry)
    else:
        _elementwise_paths(body, entry, entry.op, with_out="out" in body.python.parameters)
    source = "\n".join([_header(stub), *body.lines]) + "\n"
    filename = f"<actops.functional.{name}>"
    namespace = {
        "torch": torch,
        "Tensor": Tensor,
        "Optional": Optional,
        "Union": Union,
        "_TENSOR_LIKE": TENSOR_LIKE,
        "_is_compiling": torch.compiler.is_compiling,
        "_number": number,
        "_integer": integer,
        "_string": string,
        "_packed_arguments": packed_arguments,
        "_split_takes_neither": split_takes_neither,
        **body.names,
    }
    flags = __future__.annotations.compiler_flag
    exec(compile(source, filename, "exec", flags=flags, dont_inherit=True), namespace)
    function = namespace[name]
    function.__doc__ = stub.__doc__
    function.__module__ = stub.__module__
    function.__qualname__ = stub.__qualname__
    function.__defaults__, function.__kwdefaults__ = stub.__defaults__, stub.__kwdefaults__
    # what inspect.getsource (and so TorchScript) and tracebacks read; an mtime
    # of None keeps linecache.checkcache from dropping it
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return function
