"""Each default is written once per language: in the C++ op table (the schema)
and in the Python signature. This checks that the two agree, for every
Python face of every op, and that no schema of a backward op has defaults."""

from __future__ import annotations

import inspect

import pytest
import torch

import actops

ops = torch.ops.actops

# Python function -> the ops it calls (their schema defaults must match).
FACES = [
    (actops.mish, ["mish"]),
    (actops.relu2, ["relu2"]),
    (actops.swish, ["swish", "swish_learnable"]),
    (actops.gelu, ["gelu"]),
    (actops.trelu, ["trelu", "trelu_with_mask", "trelu_learnable"]),
    (actops.swiglu, ["swiglu", "swiglu_packed"]),
    (actops.geglu, ["geglu", "geglu_packed"]),
    (actops.reglu, ["reglu", "reglu_packed"]),
    (actops.maxout, ["maxout", "maxout_with_indices"]),
]


# The gated functions take dim and layout as None, which means "the packed
# op's default" (a value would make the split form's misuse undetectable).
GATED = (actops.swiglu, actops.geglu, actops.reglu)
PACKED_ONLY = ("dim", "layout")


def schema_defaults(name: str) -> dict:
    schema = getattr(ops, name).default._schema
    return {a.name: a.default_value for a in schema.arguments if a.has_default_value()}


@pytest.mark.parametrize("function, op_names", FACES, ids=[f.__name__ for f, _ in FACES])
def test_python_defaults_match_the_schemas(function, op_names):
    signature = inspect.signature(function)
    python = {name: p.default for name, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}
    compared = 0
    for op_name in op_names:
        for name, value in schema_defaults(op_name).items():
            assert name in python, f"{op_name}: schema default {name}={value!r} has no Python default"
            if function in GATED and name in PACKED_ONLY:
                assert python[name] is None
                continue
            assert python[name] == value, f"{function.__name__}: {name}={python[name]!r} but {op_name} has {value!r}"
            compared += 1
    if function not in (actops.mish, actops.relu2):
        assert compared > 0


def test_backward_ops_have_no_defaults():
    names = [q.split("::")[1] for q in torch._C._dispatch_get_all_op_names() if q.startswith("actops::")]
    backward = [n for n in names if n.endswith("_backward")]
    assert len(backward) >= 12
    for name in backward:
        assert schema_defaults(name) == {}, name
