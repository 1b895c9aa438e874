"""Ops with a learnable tensor parameter: swish's beta and trelu's alpha, one
value or one per channel, broadcast to x; gradients for x and the parameter,
double backward, opcheck, torch.compile, TorchScript, modules and errors."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable, Optional

import pytest
import torch

import actops
from actops import registry
from conftest import FLOAT_DTYPES, by_registry_name, parameter_value

ops = torch.ops.actops
THRESHOLD = 0.5


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    function: Callable  # (x, p) -> y, the Python face
    op: Callable  # the registered op, op(x, p, *args)
    args: tuple
    backward: Callable  # the registered backward op, backward(grad, x, p, *args)
    reference: Callable  # float64 (x, p) -> y, differentiable
    module: Callable[[int], torch.nn.Module]  # learnable module with that many parameters
    initial: float  # the parameter's value in tests
    entry: registry.Op

    def __str__(self) -> str:
        return self.name


def learnable_module(entry: registry.Op, initial: float, scalars: dict) -> Callable[[int], torch.nn.Module]:
    """n -> the entry's module with its parameter learnable, n values, starting at initial."""
    cls = entry.module_classes[0]
    accepted = inspect.signature(cls).parameters
    options = {name: value for name, value in scalars.items() if name in accepted}
    if "learnable" in accepted:  # Swish(beta=..., learnable=True, num_parameters=n), as nn.PReLU
        return lambda n: cls(**options, **{entry.learnable: initial}, learnable=True, num_parameters=n)
    # a module whose parameter is always learnable: cls(n, <learnable>_init=initial)
    return lambda n: cls(n, **options, **{f"{entry.learnable}_init": initial})


def parametric_case(entry: registry.Op, initial: Optional[float] = None, **scalars) -> Case:
    """The case of a parametric op: its tensor form, the other arguments at
    their defaults unless given; the parameter starts at initial."""
    op = entry.learnable_op or entry.op
    tensors = entry.tensors(op)
    arguments = {a.name: scalars.get(a.name, entry.defaults.get(a.name)) for a in entry.schema(op).arguments}
    args = tuple(value for name, value in arguments.items() if name not in tensors)
    keywords = {name: value for name, value in arguments.items() if name not in tensors}
    initial = parameter_value(entry) if initial is None else initial
    return Case(
        entry.name,
        lambda x, p: entry.function(x, **{entry.learnable: p}, **keywords),
        getattr(ops, op),
        args,
        getattr(ops, f"{op}_backward"),
        lambda x, p: entry.reference(x, **keywords, **{entry.learnable: p}),
        learnable_module(entry, initial, keywords),
        initial,
        entry,
    )


# The parameter's value in the tests and the other arguments, keyed by
# registry name (else the defaults)
CASE_DATA = by_registry_name({"swish": dict(initial=1.3), "trelu": dict(initial=0.2, threshold=THRESHOLD)})
CASES = [parametric_case(entry, **CASE_DATA.get(entry.name, {})) for entry in registry.OPS if entry.learnable]
case_params = pytest.mark.parametrize("case", CASES, ids=str)

# parameter shapes for x of shape (2, 3, 4, 5): one value, (1,), per channel, per element
PARAM_SHAPES = {"scalar": (), "one": (1,), "channel": (3, 1, 1), "element": (2, 3, 4, 5)}
shape_params = pytest.mark.parametrize("shape", list(PARAM_SHAPES), ids=str)


def inputs(case, shape, dtype=torch.float64):
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64) * 3
    # keep away from trelu's jump, where finite differences are meaningless
    x = torch.where((x - THRESHOLD).abs() < 0.05, x + 0.1, x)
    p = case.initial + 0.3 * torch.randn(PARAM_SHAPES[shape], dtype=torch.float64)
    return x.to(dtype).requires_grad_(), p.to(dtype).requires_grad_()


@case_params
@shape_params
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_values_and_gradients_against_reference(case, shape, dtype):
    x, p = inputs(case, shape, dtype)
    y = case.function(x, p)
    assert y.shape == x.shape and y.dtype == dtype
    x64 = x.detach().double().requires_grad_()
    p64 = p.detach().double().requires_grad_()
    expected = case.reference(x64, p64)
    tol = {torch.float64: 1e-12, torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 2e-3}[dtype]
    torch.testing.assert_close(y.double(), expected, rtol=tol, atol=tol)
    g = torch.randn_like(y)
    dx, dp = torch.autograd.grad(y, (x, p), g)
    ex, ep = torch.autograd.grad(expected, (x64, p64), g.double())
    assert dp.shape == p.shape and dp.dtype == dtype
    torch.testing.assert_close(dx.double(), ex, rtol=tol, atol=tol)
    # the parameter gradient sums many products: its rounding grows with the count
    torch.testing.assert_close(dp.double(), ep, rtol=tol * 10, atol=tol * 10 * ep.abs().max().item())


@case_params
@shape_params
def test_gradcheck_and_gradgradcheck(case, shape):
    x, p = inputs(case, shape)
    f = lambda x, p: case.op(x, p, *case.args)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x, p))
    assert torch.autograd.gradgradcheck(f, (x, p))


@case_params
def test_backward_op_gradcheck(case):
    x, p = inputs(case, "channel")
    grad = torch.randn_like(x).requires_grad_()
    assert torch.autograd.gradcheck(lambda g, x, p: case.backward(g, x, p, *case.args), (grad, x, p))


@case_params
def test_fixed_parameter_gradient_only_for_x(case):
    x, p = inputs(case, "scalar")
    p = p.detach()
    (dx,) = torch.autograd.grad(case.function(x, p).sum(), x)
    x64 = x.detach().requires_grad_()
    (expected,) = torch.autograd.grad(case.reference(x64, p).sum(), x64)
    torch.testing.assert_close(dx, expected)


@case_params
def test_opcheck(case):
    for shape in PARAM_SHAPES:
        x, p = inputs(case, shape)
        torch.library.opcheck(case.op.default, (x, p, *case.args))
        torch.library.opcheck(case.backward, (torch.randn_like(x).requires_grad_(), x, p, *case.args))
    x, p = inputs(case, "one", torch.float32)
    torch.library.opcheck(
        case.op.default, (x.detach().contiguous(memory_format=torch.channels_last), p.detach(), *case.args)
    )
    double_backward = f"{case.op.__name__}_double_backward"
    if double_backward in case.entry.backward_ops:
        x, p = inputs(case, "channel")
        grad, gg_x, gg_p = torch.randn_like(x), torch.randn_like(x), torch.randn_like(p)
        torch.library.opcheck(getattr(ops, double_backward), (gg_x, gg_p, grad, x.detach(), p.detach(), *case.args))


@case_params
def test_torch_compile_fullgraph_matches_eager(case):
    torch._dynamo.reset()
    module = case.module(3)
    compiled = torch.compile(module, fullgraph=True)
    x = torch.randn(4, 3, 8, requires_grad=True)
    y = compiled(x)
    dx, dp = torch.autograd.grad(y.square().sum(), (x, next(module.parameters())))
    y_eager = module(x)
    ex, ep = torch.autograd.grad(y_eager.square().sum(), (x, next(module.parameters())))
    torch.testing.assert_close(y, y_eager)
    torch.testing.assert_close(dx, ex)
    torch.testing.assert_close(dp, ep)


@case_params
@pytest.mark.parametrize("num_parameters", [1, 3])
def test_module_torchscript_save_load(case, num_parameters, tmp_path):
    module = case.module(num_parameters).double()
    (parameter,) = module.parameters()
    assert parameter.shape == (num_parameters,)
    # a module with a learnable switch says it is on (Snake's alpha is always learnable)
    assert "learnable=True" in repr(module) if hasattr(module, "learnable") else f"={num_parameters}" in repr(module)
    path = tmp_path / "m.pt"
    torch.jit.script(module).save(str(path))
    loaded = torch.jit.load(str(path))
    x = torch.randn(2, 3, 7, dtype=torch.float64, requires_grad=True)
    y, y_loaded = module(x), loaded(x)
    torch.testing.assert_close(y_loaded, y, rtol=0, atol=0)
    (p_loaded,) = loaded.parameters()
    g = torch.autograd.grad(y.sum(), (x, parameter))
    g_loaded = torch.autograd.grad(y_loaded.sum(), (x, p_loaded))
    torch.testing.assert_close(g_loaded, g, rtol=0, atol=0)


@case_params
def test_module_trains_its_parameter(case):
    module = case.module(3)
    (parameter,) = module.parameters()
    before = parameter.detach().clone()
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    x = torch.randn(16, 3, 5) * 2
    module(x).sum().backward()
    optimizer.step()
    assert not torch.equal(parameter.detach(), before)


@case_params
def test_rejects_parameters_that_do_not_broadcast(case):
    x = torch.randn(2, 3, 4)
    name = case.op.__name__
    pname = case.entry.learnable
    with pytest.raises(
        RuntimeError, match=rf"actops\.{name}: {pname} of shape \[4, 1\] does not broadcast to x of shape \[2, 3, 4\]"
    ):
        case.function(x, torch.ones(4, 1))
    with pytest.raises(RuntimeError, match=rf"actops\.{name}: {pname} of shape \[2, 2, 3, 4\] does not broadcast"):
        case.function(x, torch.ones(2, 2, 3, 4))
    # another floating dtype is no error: it promotes as torch.mul does
    assert case.function(x, torch.ones(1, dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(TypeError, match=rf"actops\.{name}: x must be a floating-point tensor.*got dtype int64"):
        case.function(torch.arange(3), torch.ones(1))
    with pytest.raises(TypeError, match=rf"actops\.{name}: {pname} must be a floating-point tensor.*got dtype int32"):
        case.function(x, torch.ones(1, dtype=torch.int32))


def test_module_arguments_are_checked():
    with pytest.raises(ValueError, match="num_parameters > 1 needs learnable=True"):
        actops.nn.Swish(num_parameters=3)
    with pytest.raises(ValueError, match="num_parameters must be at least 1"):
        actops.nn.TReLU(learnable=True, num_parameters=0)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        actops.nn.GELU("fast")
    with pytest.raises(RuntimeError, match="actops.gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        actops.gelu(torch.randn(3), approximate="fast")
    with pytest.raises(RuntimeError, match="actops.gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        actops.gelu(torch.randn(3, requires_grad=True), approximate="fast")


def test_trelu_special_cases_are_relu_and_leaky_relu():
    x = torch.randn(1000, dtype=torch.float64)
    assert torch.equal(actops.trelu(x, threshold=0.0, alpha=0.0), torch.relu(x))
    torch.testing.assert_close(actops.trelu(x, threshold=0.0, alpha=0.01), torch.nn.functional.leaky_relu(x, 0.01))
    keras = actops.trelu(x, threshold=0.7)
    assert torch.equal(keras, torch.where(x > 0.7, x, torch.zeros_like(x)))


def test_swish_beta_one_is_silu_and_module_reprs():
    x = torch.randn(1000, dtype=torch.float64)
    torch.testing.assert_close(actops.swish(x, beta=torch.ones((), dtype=torch.float64)), torch.nn.functional.silu(x))
    assert repr(actops.nn.Swish(beta=2.0)) == "Swish(beta=2.0)"
    assert repr(actops.nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(actops.nn.TReLU(1.0, 0.1)) == "TReLU(threshold=1.0, alpha=0.1)"
