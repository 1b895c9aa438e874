"""Each default is written once per language: in the C++ op table (the schema)
and in the Python signature. This checks that the two agree, for every
Python face of every op in the registry, functions and nn modules, and that
no schema of a backward op has defaults."""

from __future__ import annotations

import inspect

import pytest
import torch

from actops import registry

ops = torch.ops.actops
OPS = pytest.mark.parametrize("entry", registry.OPS, ids=str)

# The gated functions take dim and layout as None, which means "the packed
# op's default" (a value would make the split form's misuse undetectable).
PACKED_ONLY = ("dim", "layout")


def schema_defaults(name: str) -> dict:
    schema = getattr(ops, name).default._schema
    return {a.name: a.default_value for a in schema.arguments if a.has_default_value()}


def python_defaults(callable_) -> dict:
    signature = inspect.signature(callable_)
    return {name: p.default for name, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}


@OPS
def test_python_defaults_match_the_schemas(entry):
    function = entry.function
    python = python_defaults(function)
    compared = 0
    assert entry.function_ops, entry
    for op_name in entry.function_ops:
        for name, value in schema_defaults(op_name).items():
            assert name in python, f"{op_name}: schema default {name}={value!r} has no Python default"
            if entry.kind == "gated" and name in PACKED_ONLY:
                assert python[name] is None
                continue
            assert python[name] == value, f"{function.__name__}: {name}={python[name]!r} but {op_name} has {value!r}"
            compared += 1
    if entry.defaults:
        assert compared > 0


@pytest.mark.parametrize("entry", [entry for entry in registry.OPS if entry.inplace_op], ids=str)
def test_inplace_defaults_match_the_schema(entry):
    assert python_defaults(entry.inplace_function) == schema_defaults(entry.inplace_op)


@OPS
def test_module_defaults_match_the_schemas(entry):
    """Every argument of a module that is also an argument of the op has the
    op's default (a module's own arguments, such as in_features, learnable or
    inplace, have none in the schema)."""
    assert entry.module_classes, f"{entry.name} has no module"
    for cls in entry.module_classes:
        module = python_defaults(cls.__init__)
        shared = set(module) & set(entry.defaults)
        for name in shared:
            assert module[name] == entry.defaults[name], f"actops.nn.{cls.__name__}: {name}={module[name]!r}"
        # every option of the op that the module takes at all
        taken = set(inspect.signature(cls.__init__).parameters) & set(entry.parameters)
        assert shared == {n for n in taken if n in entry.defaults}


def test_the_registry_reads_the_defaults_of_every_op():
    assert registry.get("swish").defaults == {"beta": 1.0}
    assert registry.get("trelu").defaults == {"threshold": 1.0, "alpha": 0.0}
    assert registry.get("gelu").defaults == {"approximate": "none"}
    assert registry.get("maxout").parameters == {"pieces": registry.REQUIRED, "dim": 1}
    assert registry.get("swiglu").defaults == {
        "beta": 1.0,
        "limit": None,
        "up_offset": 0.0,
        "dim": -1,
        "layout": "gate_up",
    }


def test_backward_ops_have_no_defaults():
    names = [q.split("::")[1] for q in torch._C._dispatch_get_all_op_names() if q.startswith("actops::")]
    backward = [n for n in names if n.endswith("_backward")]
    assert len(backward) >= 12
    for name in backward:
        assert schema_defaults(name) == {}, name


def required_arguments(cls) -> dict:
    """Small values for a module's arguments without a default (in_features, pieces, ...)."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return {p.name: 2 for p in parameters if p.default is inspect.Parameter.empty}


@OPS
def test_modules_check_their_arguments_with_the_op(entry):
    """A module's arguments that are the op's are checked by the op when the
    module is built: a wrong type is a TypeError naming the module and the
    argument, as the function's names the function."""
    for cls in entry.module_classes:
        taken = set(inspect.signature(cls.__init__).parameters) & set(entry.parameters)
        for name in taken:
            arguments = {**required_arguments(cls), name: object()}
            with pytest.raises(TypeError, match=rf"actops\.nn\.{cls.__name__}: {name} must be a"):
                cls(**arguments)
