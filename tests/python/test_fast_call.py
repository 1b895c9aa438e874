"""The Python functions reach the ops through _fast_call's bindings in eager
mode (ops/python/fast_call.cpp): the same operators, the same results, the
same errors as the OpOverloads, with anything the binding does not convert
itself handed to the OpOverload."""

from __future__ import annotations

import types

import pytest
import torch
from torch.overrides import TorchFunctionMode

import actops
from actops import functional, registry
from conftest import form

ops = torch.ops.actops
bind = actops._library.load_fast_call().bind


def test_every_eager_overload_is_a_binding_and_every_traced_one_the_overload():
    eager, traced = vars(functional._EAGER), vars(functional._TRACED)
    # every op the functions call with .default and .out, and every in-place op
    called = [op for entry in registry.OPS for op in entry.function_ops]
    inplace = [entry.inplace_op for entry in registry.OPS if entry.inplace_op]
    assert eager.keys() == traced.keys() == {*called, *(f"{op}_out" for op in called), *inplace}
    assert len(called) >= 14 and len(inplace) >= 5
    for name, overload in traced.items():
        assert isinstance(overload, torch._ops.OpOverload), name
        assert isinstance(eager[name], types.BuiltinFunctionType), name
        assert eager[name].__name__ == str(overload._schema.name) + (
            f".{overload._schema.overload_name}" if overload._schema.overload_name else ""
        )


def calls():
    x = torch.randn(6, 8, dtype=torch.float64)
    beta = torch.rand(8, dtype=torch.float64)
    return [
        ("mish", (x,), {}),
        ("relu2", (x,), {}),
        ("swish", (x,), {}),
        ("swish", (x, 1.5), {}),
        ("swish", (x,), {"beta": 0.5}),
        ("swish_learnable", (x, beta), {}),
        ("gelu", (x,), {}),
        ("gelu", (x, "tanh"), {}),
        ("trelu", (x, 0.5, 0.1), {}),
        ("trelu", (x,), {"alpha": 0.2}),
        ("trelu_learnable", (x, beta), {"threshold": 0.3}),
        ("maxout", (x, 2), {}),
        ("maxout", (x, 4), {"dim": 1}),
        ("swiglu", (x, x), {"beta": 2.0, "limit": 7.0, "up_offset": 1.0}),
        ("swiglu", (x, x), {"limit": None}),
        ("geglu", (x, beta), {"approximate": "tanh"}),
        ("reglu", (x, x), {}),
        ("swiglu_packed", (x,), {"layout": "interleaved"}),
        ("geglu_packed", (x, 0), {}),
        ("reglu_packed", (x,), {"dim": -1, "layout": "up_gate", "up_offset": 0.5}),
        ("trelu_with_mask", (x, 0.5, 0.1), {}),
    ]


def every_call():
    """calls(), and a generic call of every forward op of the registry it does not list."""
    listed = calls()
    covered = {name for name, _, _ in listed}
    for entry in registry.OPS:
        for op in entry.forward_ops:
            if op not in covered:
                sample = form(entry, op)
                tensors = sample.make(torch.float64)
                listed.append((op, (*tensors, *sample.args), sample.kwargs))
    return listed


@pytest.mark.parametrize("name, args, kwargs", every_call(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_binding_gives_what_the_overload_gives(name, args, kwargs):
    overload = getattr(ops, name).default
    fast = bind(overload)
    assert fast is not overload
    expected, got = overload(*args, **kwargs), fast(*args, **kwargs)
    if isinstance(expected, tuple):
        assert type(got) is tuple and len(got) == len(expected)
        for e, g in zip(expected, got):
            assert torch.equal(e, g)
    else:
        assert torch.equal(expected, got) and got.dtype == expected.dtype


def test_autograd_and_out_and_in_place_through_the_bindings():
    x = torch.randn(50, dtype=torch.float64, requires_grad=True)
    y = actops.swish(x, 1.5)
    assert y.grad_fn is not None and y.grad_fn.name() == "actops.swish"
    torch.autograd.gradcheck(lambda t: actops.swish(t, 1.5), (x,))
    out = torch.empty(0)
    z = torch.randn(50)
    assert actops.mish(z, out=out) is out and torch.equal(out, ops.mish(z))
    w = z.clone()
    assert actops.gelu_(w) is w and torch.equal(w, ops.gelu(z))


def test_what_the_binding_does_not_convert_goes_to_the_overload():
    x = torch.randn(10, dtype=torch.float64)
    fast = bind(ops.swish.default)
    # an int where the schema says float: torch converts it
    assert torch.equal(fast(x, 2), ops.swish(x, 2.0))
    # torch's own errors for a wrong keyword, too many arguments or a wrong type
    for bad_call in (lambda: fast(x, gamma=1.0), lambda: fast(x, 1.0, 2.0), lambda: fast(x, "one")):
        with pytest.raises((TypeError, RuntimeError)) as fast_error:
            bad_call()
        assert "swish" in str(fast_error.value)
    # a schema type the binding does not convert (Tensor[]): the overload itself
    assert bind(torch.ops.aten.cat.default) is torch.ops.aten.cat.default
    with pytest.raises(AttributeError, match="_schema"):
        bind(object())


def test_the_ops_errors_come_through_as_torchs():
    with pytest.raises(TypeError, match=r"actops\.swish: x must be a floating-point tensor"):
        actops.swish(torch.arange(4))
    with pytest.raises(RuntimeError, match="approximate must be 'none' or 'tanh'"):
        actops.gelu(torch.randn(3), "erf")
    with pytest.raises(RuntimeError, match="maxout"):
        actops.maxout(torch.randn(3, 5), 2)


class Tagged(torch.Tensor):
    """A subclass with __torch_function__: it sees every call made with it."""

    seen: list = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.seen.append(func)
        return super().__torch_function__(func, types, args, kwargs or {})


def test_torch_function_subclasses_and_modes_see_the_op():
    x = torch.randn(4).as_subclass(Tagged)
    Tagged.seen.clear()
    y = actops.mish(x)
    assert ops.mish.default in Tagged.seen and type(y) is Tagged

    class Record(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            self.seen.append(func)
            return func(*args, **(kwargs or {}))

    with Record() as mode:
        actops.swiglu(torch.randn(4), torch.randn(4))
    assert ops.swiglu.default in mode.seen


def test_parameters_take_the_binding_and_keep_their_gradient():
    beta = torch.nn.Parameter(torch.tensor(1.3, dtype=torch.float64))
    x = torch.randn(20, dtype=torch.float64)
    actops.swish(x, beta).sum().backward()
    reference = beta.detach().clone().requires_grad_()
    (x * torch.sigmoid(reference * x)).sum().backward()
    torch.testing.assert_close(beta.grad, reference.grad)


def test_compile_traces_the_overloads():
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm

    f = torch.compile(lambda t: actops.swiglu(actops.mish(t), t, beta=2.0), backend=backend, fullgraph=True)
    x = torch.randn(8)
    torch.testing.assert_close(f(x), actops.swiglu(actops.mish(x), x, beta=2.0))
    targets = [node.target for node in graphs[0].graph.nodes if node.op == "call_function"]
    assert targets == [ops.mish.default, ops.swiglu.default]
