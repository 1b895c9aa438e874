"""out= and in-place forms of every op, with ATen's semantics: out= equals the
functional result bitwise, is resized, refuses another dtype and autograd;
in-place ops overwrite and return their input, follow autograd's rules for
leaves and saved tensors, and differentiate like the out-of-place op."""

from __future__ import annotations

import warnings

import inspect
from dataclasses import dataclass

import pytest
import torch

import actops
from actops import registry
from conftest import by_registry_name, form

ops = torch.ops.actops
DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]


def _x(dtype, shape=(6, 8)):
    return (torch.randn(shape, dtype=torch.float64) * 3).to(dtype)


# The out= cases of every op the functions call (conftest.Form: the
# function, and the op's .out overload), keyed by registry op: their labels,
# scalar arguments and inputs where not the generic ones; an op not listed
# gets one generic case.
OUT_DATA = by_registry_name(
    {
        "swish": [dict(beta=1.5)],
        "swish_learnable": [dict(label="swish[tensor beta]", make=lambda d: (_x(d), torch.full((8,), 1.3, dtype=d)))],
        "gelu": [dict(), dict(label="gelu[tanh]", approximate="tanh")],
        "trelu": [dict(threshold=0.5, alpha=0.1)],
        "trelu_learnable": [
            dict(label="trelu[tensor alpha]", threshold=0.5, make=lambda d: (_x(d), torch.full((8,), 0.2, dtype=d)))
        ],
        "maxout": [dict(pieces=4, dim=1)],
        "swiglu": [dict(beta=1.2, make=lambda d: (_x(d), _x(d, (8,))))],
        "geglu": [dict(approximate="tanh")],
        "reglu": [dict(limit=2.0)],
        "swiglu_packed": [dict(layout="interleaved")],
        "geglu_packed": [dict(dim=0)],
    },
    "OUT_DATA",
)
OUT_CASES = [
    form(entry, op, **data) for entry in registry.OPS for op in entry.function_ops for data in OUT_DATA.get(op, [{}])
]
out_cases = pytest.mark.parametrize("case", OUT_CASES, ids=str)


@out_cases
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_out_equals_the_functional_result(case, dtype):
    inputs = case.make(dtype)
    expected = case.call(inputs)
    out = torch.empty_like(expected)
    assert case.call(inputs, out=out) is out
    assert torch.equal(out, expected)
    # the op's overload, called directly, and a strided (transposed) out,
    # which the iterator walks in another order (scalar and vector paths may
    # round differently: equal to torch's tolerance for the dtype)
    out_t = torch.empty(tuple(reversed(expected.shape)), dtype=dtype).transpose(0, -1)
    assert case.call_op(inputs, "out", out=out_t) is out_t
    torch.testing.assert_close(out_t, expected)


@out_cases
def test_out_of_another_size_is_resized(case):
    inputs = case.make(torch.float32)
    expected = case.call(inputs)
    for start in (torch.empty(0), torch.empty(3, 100)):
        was_empty = start.numel() == 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = case.call(inputs, out=start)
        assert result is start and start.shape == expected.shape
        assert torch.equal(start, expected)
        # torch's deprecation warning for resizing a non-empty out, as a Python warning
        resized = [w for w in caught if "was resized" in str(w.message)]
        assert len(resized) == (0 if was_empty else 1), [str(w.message) for w in caught]


@out_cases
def test_out_of_another_dtype_is_an_error_naming_the_op(case):
    inputs = case.make(torch.float32)
    name = case.op
    with pytest.raises(TypeError, match=rf"actops\.{name}: out has dtype float64 but the result has dtype float32"):
        case.call(inputs, out=torch.empty(0, dtype=torch.float64))


@out_cases
def test_out_refuses_autograd(case):
    inputs = [t.requires_grad_() for t in case.make(torch.float64)]
    out = torch.empty(0, dtype=torch.float64)
    name = case.op
    with pytest.raises(
        RuntimeError,
        match=rf"actops\.{name}: functions with out=\.\.\. arguments don't support " "automatic differentiation",
    ):
        case.call(inputs, out=out)
    with torch.no_grad():  # as ATen: allowed where no gradient is recorded
        assert torch.equal(case.call(inputs, out=out), case.call([t.detach() for t in inputs]))
    assert not out.requires_grad


@out_cases
def test_out_bumps_the_version(case):
    inputs = case.make(torch.float32)
    out = torch.empty_like(case.call(inputs))
    before = out._version
    case.call(inputs, out=out)
    assert out._version == before + 1


@out_cases
def test_opcheck_out(case):
    inputs = case.make(torch.float64)
    out = torch.empty_like(case.call(inputs))
    torch.library.opcheck(case.overload.out, (*inputs, *case.args), {**case.kwargs, "out": out})


# ---- in place ----


@dataclass
class InplaceCase:
    name: str
    entry: registry.Op
    scalars: dict  # the scalar arguments, by name

    @property
    def args(self) -> tuple:
        return tuple(self.scalars.values())

    @property
    def op(self):
        """The in-place OpOverload."""
        return getattr(ops, self.entry.inplace_op).default

    def inplace(self, x):
        return self.entry.inplace_function(x, **self.scalars)

    def functional(self, x):
        return self.entry.function(x, **self.scalars)

    @property
    def smooth(self) -> bool:
        """f'' is not 0 everywhere (trelu's derivative is piecewise constant)."""
        return f"{self.entry.op}_double_backward" in self.entry.backward_ops

    def module(self, **kw) -> torch.nn.Module:
        return self.entry.module_classes[0](**self.scalars, **kw)


# The scalar arguments of the in-place cases, keyed by registry name (else the
# defaults): (label, arguments) per case
INPLACE_DATA = by_registry_name(
    {
        "swish": [("swish", {"beta": 1.5})],
        "gelu": [("gelu", {}), ("gelu[tanh]", {"approximate": "tanh"})],
        "trelu": [("trelu", {"threshold": 0.5, "alpha": 0.1})],
    },
    "INPLACE_DATA",
)
INPLACE_CASES = [
    InplaceCase(label, entry, {**entry.defaults, **arguments})
    for entry in registry.OPS
    if entry.inplace_op
    for label, arguments in INPLACE_DATA.get(entry.name, [(entry.name, {})])
]
inplace_cases = pytest.mark.parametrize("case", INPLACE_CASES, ids=[c.name for c in INPLACE_CASES])


@inplace_cases
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_inplace_equals_functional_and_returns_its_input(case, dtype):
    x = _x(dtype)
    expected = case.functional(x)
    y = x.clone()
    assert case.inplace(y) is y
    assert torch.equal(y, expected)
    # strided: a transposed view, written through
    base = x.clone().t()
    assert case.inplace(base) is base
    torch.testing.assert_close(base, case.functional(x.t()))


@inplace_cases
def test_inplace_refuses_a_leaf_that_requires_grad(case):
    x = _x(torch.float64).requires_grad_()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        case.inplace(x)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        case.inplace(x[0])
    expected = case.functional(x.detach())
    with torch.no_grad():  # allowed where no gradient is recorded, as torch's in-place ops
        assert case.inplace(x) is x
    assert torch.equal(x.detach(), expected)


@inplace_cases
def test_inplace_on_a_saved_tensor_breaks_its_backward(case):
    x = _x(torch.float64).requires_grad_()
    y = x * 1
    z = y * y  # mul saves y
    case.inplace(y)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


@inplace_cases
def test_inplace_gradients_through_a_non_leaf(case):
    x = (torch.randn(5, 7, dtype=torch.float64) * 3).requires_grad_()
    x = x.detach().where((x - 0.5).abs() > 1e-3, torch.tensor(2.0, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: case.inplace(t * 1), (x,))
    if case.smooth:  # trelu's derivative is piecewise constant: its second derivative is 0
        assert torch.autograd.gradgradcheck(lambda t: case.inplace(t * 1), (x,))
    g = torch.randn(5, 7, dtype=torch.float64)
    (expected,) = torch.autograd.grad(case.functional(x * 1), x, g)
    (actual,) = torch.autograd.grad(case.inplace(x * 1), x, g)
    assert torch.equal(actual, expected)


@inplace_cases
def test_inplace_on_a_view_rebases_its_base(case):
    x = _x(torch.float64).requires_grad_()
    base = x * 1
    case.inplace(base[1:3])
    g = torch.randn_like(base)
    (actual,) = torch.autograd.grad(base, x, g)
    expected = g.clone()
    (inner,) = torch.autograd.grad(case.functional(x[1:3] * 1), x, g[1:3])
    expected[1:3] = inner[1:3]
    assert torch.equal(actual, expected)


@inplace_cases
def test_inplace_bumps_the_version_and_keeps_forward_mode(case):
    x = _x(torch.float64)
    before = x._version
    case.inplace(x)
    assert x._version == before + 1
    import torch.autograd.forward_ad as fwAD

    primal = _x(torch.float64)
    tangent = torch.randn_like(primal)
    expected = torch.func.jvp(case.functional, (primal,), (tangent,))[1]
    with fwAD.dual_level():
        dual = fwAD.make_dual(primal.clone(), tangent.clone())
        case.inplace(dual)
        assert torch.equal(fwAD.unpack_dual(dual).primal, case.functional(primal))
        torch.testing.assert_close(fwAD.unpack_dual(dual).tangent, expected, rtol=0, atol=0)


def test_trelu_inplace_saves_only_the_mask():
    x = _x(torch.float32).requires_grad_()
    y = x * 1
    actops.trelu_(y, 0.5, 0.1)
    saved = [getattr(y.grad_fn, name) for name in dir(y.grad_fn) if name.startswith("_saved_")]
    assert y.grad_fn.name() == "actops.trelu_"
    # the node keeps no tensor of x's dtype: its backward reads the bool mask
    for value in saved:
        assert not (isinstance(value, torch.Tensor) and value.dtype == torch.float32)


@inplace_cases
def test_opcheck_inplace(case):
    torch.library.opcheck(case.op, (_x(torch.float64), *case.args))


def test_opcheck_trelu_with_mask_inplace():
    torch.library.opcheck(ops.trelu_with_mask_.default, (_x(torch.float64), 0.5, 0.1))


@inplace_cases
def test_modules_with_inplace(case):
    module, inplace_module = case.module(), case.module(inplace=True)
    x = _x(torch.float32)
    y = x.clone()
    assert inplace_module(y) is y and torch.equal(y, module(x))
    assert "inplace=True" in repr(inplace_module)
    scripted = torch.jit.script(inplace_module)
    z = x.clone()
    assert scripted(z) is z and torch.equal(z, module(x))


LEARNABLE_WITH_INPLACE = [
    (entry, cls)
    for entry in registry.OPS
    if entry.learnable
    for cls in entry.module_classes
    if {"learnable", "inplace"} <= set(inspect.signature(cls).parameters)
]


@pytest.mark.parametrize("entry, cls", LEARNABLE_WITH_INPLACE, ids=lambda v: getattr(v, "__name__", str(v)))
def test_learnable_modules_refuse_inplace(entry, cls):
    with pytest.raises(ValueError, match=f"actops.nn.{cls.__name__}: inplace=True needs a fixed {entry.learnable}"):
        cls(learnable=True, inplace=True)


# every function with out= that TorchScript scripts (the gated ones' keyword-only
# arguments keep them out), with its defaults (maxout: 4 pieces)
SCRIPTED_OUT = [form(entry, **({"pieces": 4} if entry.name == "maxout" else {})) for entry in registry.OPS]
SCRIPTED_OUT = [case for case in SCRIPTED_OUT if case.entry.kind != "gated"]


@pytest.mark.parametrize("case", SCRIPTED_OUT, ids=lambda case: case.entry.name)
def test_torchscript_out(case):
    function = case.entry.function
    scripted = torch.jit.script(function)
    x = torch.randn(4, 8)
    parameters = case.make(torch.float32)[1:]
    out = torch.empty(0)
    assert scripted(x, *parameters, *case.args, out=out) is out
    assert torch.equal(out, function(x, *parameters, *case.args))


def test_torch_compile_fullgraph_with_inplace_and_out():
    torch._dynamo.reset()

    def f(x, buffer):
        y = x * 2
        actops.mish_(y)
        actops.swish(y, 1.5, out=buffer)
        return y + buffer, y

    compiled = torch.compile(f, fullgraph=True)
    x = torch.randn(16, 8)
    b_eager, b_compiled = torch.empty(16, 8), torch.empty(16, 8)
    (s_eager, y_eager), (s_compiled, y_compiled) = f(x, b_eager), compiled(x, b_compiled)
    assert torch.equal(b_compiled, b_eager)
    assert torch.equal(y_compiled, y_eager)
    assert torch.equal(s_compiled, s_eager)

    def g(x):
        y = x * 2
        actops.gelu_(y)
        actops.trelu_(y, 0.5, 0.1)
        return y

    x0 = torch.randn(16, 8, dtype=torch.float64)
    xs = [x0.clone().requires_grad_() for _ in range(2)]
    gs = []
    for fn, x in zip((g, torch.compile(g, fullgraph=True)), xs):
        (grad,) = torch.autograd.grad(fn(x).sum(), x)
        gs.append(grad)
    assert torch.equal(gs[0], gs[1])


# ---- out= that shares memory with an input -------------------------------------------
# TensorIterator checks overlap only between dense tensors: a packed input's
# gate and up views, or strided slices, went unchecked, and an out over them
# was written while still being read.

PACKED_UNITS = registry.names("gated")


@pytest.mark.parametrize("unit", PACKED_UNITS)
def test_packed_out_sharing_memory_with_x_is_refused(unit):
    fn = getattr(actops, unit)
    x = torch.randn(64, 32)
    before = x.clone()
    overlapping = x.view(-1)[: 64 * 16].view(64, 16)  # dense, over the first rows of x
    with pytest.raises(RuntimeError, match=rf"actops\.{unit}_packed: out shares memory with x"):
        fn(x, out=overlapping)
    with pytest.raises(RuntimeError, match=rf"actops\.{unit}_packed: out shares memory with x"):
        fn(x, out=x)  # x itself, which would be resized to half
    assert torch.equal(x, before), "a refused call wrote nothing"


PARTS = {
    "gate_up": lambda x, n: (x[..., :n], x[..., n:]),
    "up_gate": lambda x, n: (x[..., n:], x[..., :n]),
    "interleaved": lambda x, n: (x[..., ::2], x[..., 1::2]),
}


@pytest.mark.parametrize("unit", PACKED_UNITS)
@pytest.mark.parametrize("layout", list(PARTS))
@pytest.mark.parametrize("part", ["gate", "up"])
def test_packed_out_into_exactly_its_gate_or_up_part(unit, layout, part):
    """Each element of a part is read before it is written: allowed."""
    fn = getattr(actops, unit)
    x = torch.randn(64, 32)
    expected = fn(x, layout=layout)
    out = PARTS[layout](x, 16)[0 if part == "gate" else 1]
    assert fn(x, layout=layout, out=out) is out
    # to an ulp: a strided out (every other column) takes the scalar loop
    # where the functional call's contiguous output takes the vector one
    torch.testing.assert_close(out, expected, rtol=2.5e-7, atol=0)


def test_split_out_sharing_memory_with_an_input_is_refused():
    x = torch.randn(64, 48)
    gate, up = x[:, :16], x[:, 16:32]
    before = x.clone()
    with pytest.raises(RuntimeError, match=r"actops\.swiglu: out shares memory with gate"):
        actops.swiglu(gate, up, out=x[:, 1:17])  # over gate and up, shifted by one column
    with pytest.raises(RuntimeError, match=r"actops\.swiglu: out shares memory with up"):
        actops.swiglu(gate, up, out=x[:, 24:40])
    assert torch.equal(x, before)
    # exactly an input, as in place: allowed; a disjoint slice of the same storage too
    g, u = torch.randn(8, 4), torch.randn(8, 4)
    expected = actops.swiglu(g, u)
    assert torch.equal(actops.swiglu(g, u, out=g), expected)
    actops.swiglu(gate, up, out=x[:, 32:48])
    assert torch.equal(x[:, 32:48], actops.swiglu(before[:, :16], before[:, 16:32]))


@pytest.mark.parametrize("name", registry.names("unary", "parametric"))
def test_elementwise_out_sharing_memory_with_x_is_refused(name):
    case = form(registry.get(name))

    def fn(x, **kw):
        parameters = [p.reshape(-1)[:1].reshape(()) for p in case.make(x.dtype)[1:]]  # one value: any x
        return case.call((x, *parameters), **kw)

    buffer = torch.randn(256)
    x, out = buffer[0:200:2], buffer[2:202:2]  # strided, one element apart: not dense, overlapping
    before = buffer.clone()
    with pytest.raises(RuntimeError, match=rf"actops\.{name}: out shares memory with x"):
        fn(x, out=out)
    assert torch.equal(buffer, before)
    y = torch.randn(40)[::2]
    expected = fn(y)
    assert torch.equal(fn(y, out=y), expected)  # exactly x: in place


def test_maxout_out_sharing_memory_with_x_is_refused():
    buffer = torch.randn(160)
    x, out = buffer[:128].view(16, 8), buffer[100:132].view(16, 2)
    before = buffer.clone()
    with pytest.raises(RuntimeError, match=r"actops\.maxout: out shares memory with x"):
        actops.maxout(x, pieces=4, dim=1, out=out)
    assert torch.equal(buffer, before)
    disjoint = buffer[128:160].view(16, 2)
    actops.maxout(x, pieces=4, dim=1, out=disjoint)
    assert torch.equal(disjoint, actops.maxout(before[:128].view(16, 8), pieces=4, dim=1))
