"""Maxout: values against amax over the groups, the tie rule (the gradient
to the first maximum, once), NaN as amax, gradients, double backward, the
indices' dtype, errors, opcheck, its layer (TorchScript, torch.compile) and
empty inputs."""

from __future__ import annotations

import pytest
import torch

import actops
from conftest import assert_compiled_layer_matches, assert_scripted_layer_matches, FLOAT_DTYPES, kept_bytes

ops = torch.ops.actops


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
        assert kept_bytes(lambda t: actops.maxout(t, pieces, 1), x) == 2


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


def test_maxout_empty_inputs():
    assert actops.maxout(torch.randn(0, 8), 4).shape == (0, 2)


def maxout_layer():
    return actops.nn.Maxout(6, 5, pieces=3)


def test_maxout_layer_match_their_definition():
    layer = maxout_layer().double()
    x = torch.randn(4, 7, 6, dtype=torch.float64)
    y = layer(x)
    assert y.shape == (4, 7, 5)
    expected = layer.linear(x).unflatten(-1, (5, 3)).amax(-1)
    torch.testing.assert_close(y, expected)
    assert "in_features=6, out_features=5" in repr(layer)


def test_maxout_layer_torchscript_save_load(tmp_path):
    assert_scripted_layer_matches(maxout_layer().double(), tmp_path)


def test_maxout_layer_torch_compile_fullgraph():
    assert_compiled_layer_matches(maxout_layer())
