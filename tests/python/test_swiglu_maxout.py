"""SwiGLU (split and packed) and Maxout: values against the composites,
gradients, double backward, memory kept for backward, layers, opcheck,
torch.compile, TorchScript and errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import actops
from conftest import FLOAT_DTYPES

ops = torch.ops.actops
TOL = {torch.float64: 1e-12, torch.float32: 2e-6, torch.bfloat16: 1e-2, torch.float16: 2e-3}


def saved_bytes(fn, *inputs) -> int:
    """Bytes of the distinct storages autograd keeps for backward of fn(*inputs)."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*inputs)
    return sum(storages.values())


def composite_swiglu(gate, up):
    return F.silu(gate) * up


# ---- SwiGLU ----------------------------------------------------------------------

SPLIT_SHAPES = {
    "same": ((4, 6, 8), (4, 6, 8)),
    "broadcast_up": ((4, 6, 8), (8,)),
    "broadcast_gate": ((6, 1), (4, 6, 8)),
    "both": ((4, 1, 8), (1, 6, 8)),
}


@pytest.mark.parametrize("shapes", list(SPLIT_SHAPES), ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_swiglu_split_matches_composite(shapes, dtype):
    gate_shape, up_shape = SPLIT_SHAPES[shapes]
    gate = (torch.randn(gate_shape, dtype=torch.float64) * 3).to(dtype).requires_grad_()
    up = torch.randn(up_shape, dtype=torch.float64).to(dtype).requires_grad_()
    y = actops.swiglu(gate, up)
    g64, u64 = gate.detach().double().requires_grad_(), up.detach().double().requires_grad_()
    expected = composite_swiglu(g64, u64)
    assert y.shape == expected.shape and y.dtype == dtype
    torch.testing.assert_close(y.double(), expected, rtol=TOL[dtype], atol=TOL[dtype])
    grad = torch.randn_like(y)
    dg, du = torch.autograd.grad(y, (gate, up), grad)
    eg, eu = torch.autograd.grad(expected, (g64, u64), grad.double())
    assert dg.shape == gate.shape and du.shape == up.shape
    tol = TOL[dtype] * 10  # reduced over broadcast dims
    torch.testing.assert_close(dg.double(), eg, rtol=tol, atol=tol * max(1.0, eg.abs().max().item()))
    torch.testing.assert_close(du.double(), eu, rtol=tol, atol=tol * max(1.0, eu.abs().max().item()))


@pytest.mark.parametrize("dim", [-1, 0, 1, 2])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_swiglu_packed_matches_composite(dim, dtype):
    x = (torch.randn(4, 6, 10, dtype=torch.float64) * 3).to(dtype).requires_grad_()
    y = actops.swiglu(x, dim=dim)
    x64 = x.detach().double().requires_grad_()
    gate, up = x64.chunk(2, dim)
    expected = composite_swiglu(gate, up)
    assert y.shape == expected.shape and y.dtype == dtype
    torch.testing.assert_close(y.double(), expected, rtol=TOL[dtype], atol=TOL[dtype])
    grad = torch.randn_like(y)
    (dx,) = torch.autograd.grad(y, x, grad)
    (ex,) = torch.autograd.grad(expected, x64, grad.double())
    torch.testing.assert_close(dx.double(), ex, rtol=TOL[dtype], atol=TOL[dtype])


def test_swiglu_packed_gates_with_the_first_half_unlike_glu():
    x = torch.randn(3, 8)
    torch.testing.assert_close(actops.swiglu(x), F.silu(x[:, :4]) * x[:, 4:])
    assert not torch.allclose(actops.swiglu(x), F.silu(x[:, 4:]) * x[:, :4])


@pytest.mark.parametrize("layout", ["split", "split_broadcast", "split_single_up", "packed", "packed_dim0"])
def test_swiglu_gradcheck_and_gradgradcheck(layout):
    def f64(*shape):
        return torch.randn(shape, dtype=torch.float64, requires_grad=True)

    fn, inputs = {
        "split": (actops.swiglu, (f64(3, 5), f64(3, 5))),
        "split_broadcast": (actops.swiglu, (f64(3, 1, 5), f64(4, 5))),
        "split_single_up": (actops.swiglu, (f64(3, 5), f64())),  # up's gradient summed in the kernel
        "packed": (lambda x: actops.swiglu(x, dim=-1), (f64(3, 8),)),
        "packed_dim0": (lambda x: actops.swiglu(x, dim=0), (f64(6, 3),)),
    }[layout]
    assert torch.autograd.gradcheck(fn, inputs)
    assert torch.autograd.gradgradcheck(fn, inputs)


def test_swiglu_keeps_less_for_backward_than_the_composite():
    gate = torch.randn(64, 256, requires_grad=True)
    up = torch.randn(64, 256, requires_grad=True)
    ours, theirs = saved_bytes(actops.swiglu, gate, up), saved_bytes(composite_swiglu, gate, up)
    assert ours == 2 * gate.numel() * 4 < theirs
    x = torch.randn(64, 512, requires_grad=True)
    ours = saved_bytes(lambda x: actops.swiglu(x, dim=-1), x)
    theirs = saved_bytes(lambda x: composite_swiglu(*x.chunk(2, -1)), x)
    assert ours == x.numel() * 4 < theirs


def test_swiglu_packed_reads_halves_in_place():
    x = torch.randn(32, 64, requires_grad=True)
    with torch.profiler.profile() as prof:
        y = actops.swiglu(x, dim=-1)
        y.backward(torch.ones_like(y))
    names = {event.name for event in prof.events()}
    assert not names & {"aten::contiguous", "aten::clone", "aten::copy_", "aten::cat"}, names
    assert "actops::swiglu_packed" in names and "actops::swiglu_packed_backward" in names


def test_swiglu_errors_name_the_op_and_the_numbers():
    with pytest.raises(RuntimeError, match=r"actops\.swiglu_packed: the size of dim -1 \(7\) must be even"):
        actops.swiglu(torch.randn(3, 7))
    with pytest.raises(RuntimeError, match=r"actops\.swiglu_packed: dim 2 is out of range for x with 2 dimensions"):
        actops.swiglu(torch.randn(3, 8), dim=2)
    with pytest.raises(
        RuntimeError, match=r"actops\.swiglu: gate of shape \[3, 4\] and up of shape \[5\] do not broadcast"
    ):
        actops.swiglu(torch.randn(3, 4), torch.randn(5))
    # another floating dtype is no error: it promotes as torch.mul does
    assert actops.swiglu(torch.randn(3), torch.randn(3, dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(TypeError, match=r"actops\.swiglu: gate must be a floating-point tensor.*int64"):
        actops.swiglu(torch.arange(3), torch.randn(3))


def test_swiglu_opcheck():
    gate = torch.randn(4, 6, requires_grad=True)
    up = torch.randn(6, requires_grad=True)
    torch.library.opcheck(ops.swiglu.default, (gate, up))
    torch.library.opcheck(ops.swiglu.default, (gate.detach().bfloat16(), up.detach().bfloat16()))
    grad = torch.randn(4, 6, requires_grad=True)
    torch.library.opcheck(ops.swiglu_backward, (grad, gate, up, 1.0, None, 0.0))
    torch.library.opcheck(
        ops.swiglu_double_backward,
        (torch.randn(4, 6), torch.randn(6), grad.detach(), gate.detach(), up.detach(), 1.0, None, 0.0),
    )
    x = torch.randn(3, 4, 10, dtype=torch.float64, requires_grad=True)
    for dim in (-1, 1):
        torch.library.opcheck(ops.swiglu_packed.default, (x, dim))
        half = list(x.shape)
        half[dim] //= 2
        torch.library.opcheck(
            ops.swiglu_packed_backward,
            (torch.randn(half, dtype=torch.float64, requires_grad=True), x, dim, "gate_up", 1.0, None, 0.0),
        )


# ---- Maxout ----------------------------------------------------------------------

MAXOUT_CASES = [
    ((2, 12, 5), 4, 1),
    ((2, 12, 5), 3, -2),
    ((6, 20), 5, -1),
    ((8, 6, 3, 3), 2, 1),
    ((24,), 6, 0),
    ((3, 4, 10), 10, 2),
    ((2, 3), 1, 1),
]


@pytest.mark.parametrize("shape, pieces, dim", MAXOUT_CASES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_maxout_matches_amax(shape, pieces, dim, dtype):
    x = torch.randn(shape, dtype=torch.float64).to(dtype).requires_grad_()
    y = actops.maxout(x, pieces, dim)
    d = dim % x.dim()
    expected = x.detach().unflatten(d, (x.shape[d] // pieces, pieces)).amax(d + 1)
    assert torch.equal(y, expected)
    grad = torch.randn_like(y)
    (dx,) = torch.autograd.grad(y, x, grad)
    x_ref = x.detach().clone().requires_grad_()
    values, _ = x_ref.unflatten(d, (x.shape[d] // pieces, pieces)).max(d + 1)
    (expected_dx,) = torch.autograd.grad(values, x_ref, grad)
    assert torch.equal(dx, expected_dx)


def test_maxout_non_contiguous_input():
    x = torch.randn(12, 5).t()  # (5, 12), non-contiguous
    assert torch.equal(actops.maxout(x, 3, 1), x.unflatten(1, (4, 3)).amax(2))


def test_maxout_ties_send_the_gradient_to_the_first_maximum_once():
    x = torch.tensor([[1.0, 3.0, 3.0, 2.0, 5.0, 5.0, 5.0, 5.0]], requires_grad=True)
    y = actops.maxout(x, 4, 1)
    assert torch.equal(y, torch.tensor([[3.0, 5.0]]))
    (dx,) = torch.autograd.grad(y, x, torch.tensor([[10.0, 20.0]]))
    assert torch.equal(dx, torch.tensor([[0.0, 10.0, 0.0, 0.0, 20.0, 0.0, 0.0, 0.0]]))
    _, argmax = x.detach().unflatten(1, (2, 4)).max(2)
    _, indices = ops.maxout_with_indices(x.detach(), 4, 1)
    assert torch.equal(indices.long(), argmax)


def test_maxout_nan_propagates_like_amax():
    x = torch.tensor([[1.0, float("nan"), 3.0, 2.0]])
    y = actops.maxout(x, 2, 1)
    assert y[0, 0].isnan() and y[0, 1] == 3.0


@pytest.mark.parametrize("layout", [((3, 12), 4, 1), ((2, 6, 3), 3, 1), ((4, 10), 5, -1)], ids=str)
def test_maxout_gradcheck_and_gradgradcheck(layout):
    shape, pieces, dim = layout
    # distinct values: no ties, where maxout is differentiable
    x = (torch.randperm(torch.Size(shape).numel(), dtype=torch.float64).reshape(shape) / 7).requires_grad_()
    fn = lambda t: actops.maxout(t, pieces, dim)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))


@pytest.mark.parametrize(
    "pieces, dtype", [(4, torch.uint8), (256, torch.uint8), (257, torch.int16), (40000, torch.int32)]
)
def test_maxout_keeps_indices_in_the_smallest_type(pieces, dtype):
    x = torch.randn(2, pieces, requires_grad=True)
    _, indices = ops.maxout_with_indices(x.detach(), pieces, 1)
    assert indices.dtype == dtype
    assert torch.equal(indices.long(), x.detach().max(1).indices.view(2, 1))
    # a training step keeps 1 byte per output (uint8), not 4 * pieces per output
    if dtype == torch.uint8:
        assert saved_bytes(lambda t: actops.maxout(t, pieces, 1), x) == 2


def test_maxout_errors_name_the_numbers():
    x = torch.randn(2, 10)
    with pytest.raises(RuntimeError, match=r"actops\.maxout: pieces must be at least 1, got 0"):
        actops.maxout(x, 0)
    with pytest.raises(RuntimeError, match=r"actops\.maxout: pieces \(3\) must divide the size of dim 1 \(10\)"):
        actops.maxout(x, 3)
    with pytest.raises(RuntimeError, match=r"actops\.maxout: dim 2 is out of range for x with 2 dimensions"):
        actops.maxout(x, 2, dim=2)
    with pytest.raises(TypeError, match=r"actops\.maxout: x must be a floating-point tensor.*int64"):
        actops.maxout(torch.arange(4).view(1, 4), 2)
    with pytest.raises(RuntimeError, match=r"actops\.maxout: pieces \(3\) must divide"):
        actops.maxout(x.to("meta"), 3)


def test_maxout_opcheck():
    x = (torch.randperm(48, dtype=torch.float64).reshape(2, 12, 2) / 5).requires_grad_()
    torch.library.opcheck(ops.maxout.default, (x, 4, 1))
    torch.library.opcheck(ops.maxout_with_indices, (x, 3, 1))
    torch.library.opcheck(ops.maxout.default, (x.detach().float().transpose(0, 2), 2, 1))
    _, indices = ops.maxout_with_indices(x.detach(), 4, 1)
    grad = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(ops.maxout_backward, (grad, indices, 4, 1))


def test_empty_inputs():
    assert actops.maxout(torch.randn(0, 8), 4).shape == (0, 2)
    assert actops.swiglu(torch.randn(0, 8)).shape == (0, 4)
    assert actops.swiglu(torch.randn(0, 4), torch.randn(4)).shape == (0, 4)


# ---- layers ------------------------------------------------------------------------


def layers():
    return [actops.nn.SwiGLU(6, 5), actops.nn.SwiGLU(6, 5, bias=False), actops.nn.Maxout(6, 5, pieces=3)]


@pytest.mark.parametrize("index", range(3))
def test_layers_match_their_definition(index):
    layer = layers()[index].double()
    x = torch.randn(4, 7, 6, dtype=torch.float64)
    y = layer(x)
    assert y.shape == (4, 7, 5)
    if isinstance(layer, actops.nn.SwiGLU):
        w, v = layer.proj.weight.chunk(2, 0)
        b, c = layer.proj.bias.chunk(2, 0) if layer.proj.bias is not None else (0.0, 0.0)
        expected = F.silu(x @ w.T + b) * (x @ v.T + c)
    else:
        expected = layer.linear(x).unflatten(-1, (5, 3)).amax(-1)
    torch.testing.assert_close(y, expected)
    assert "in_features=6, out_features=5" in repr(layer)


@pytest.mark.parametrize("index", range(3))
def test_layers_torchscript_save_load(index, tmp_path):
    layer = layers()[index].double()
    path = tmp_path / "layer.pt"
    torch.jit.script(layer).save(str(path))
    loaded = torch.jit.load(str(path))
    x = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    y, y_loaded = layer(x), loaded(x)
    torch.testing.assert_close(y_loaded, y, rtol=0, atol=0)
    g = torch.autograd.grad(y.sum(), [x, *layer.parameters()])
    g_loaded = torch.autograd.grad(y_loaded.sum(), [x, *loaded.parameters()])
    torch.testing.assert_close(g_loaded, g, rtol=0, atol=0)


@pytest.mark.parametrize("index", range(3))
def test_layers_torch_compile_fullgraph(index):
    torch._dynamo.reset()
    layer = layers()[index]
    compiled = torch.compile(layer, fullgraph=True)
    x = torch.randn(4, 6, requires_grad=True)
    y = compiled(x)
    grads = torch.autograd.grad(y.square().sum(), [x, *layer.parameters()])
    y_eager = layer(x)
    grads_eager = torch.autograd.grad(y_eager.square().sum(), [x, *layer.parameters()])
    torch.testing.assert_close(y, y_eager)
    torch.testing.assert_close(grads, grads_eager)


def test_swiglu_split_torch_compile_with_broadcasting():
    torch._dynamo.reset()
    gate = torch.randn(4, 8, requires_grad=True)
    up = torch.randn(8, requires_grad=True)
    compiled = torch.compile(actops.swiglu, fullgraph=True)
    y = compiled(gate, up)
    grads = torch.autograd.grad(y.sum(), (gate, up))
    expected = torch.autograd.grad(actops.swiglu(gate, up).sum(), (gate, up))
    torch.testing.assert_close(grads, expected)
