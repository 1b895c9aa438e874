"""Every element's bits are the vector formula's, wherever the element is:
the same for any thread count, any offset or stride of the input and of
``out``, and any layout of a packed gated input. The CPU loops
(ops/cpu/loops.h, map_multi) take whole vectors where the strides allow and
gather the other elements (a run's ends, strided tensors, an interleaved
tensor's last pair) into vector lanes, never a scalar copy of the formula,
which rounds differently (an interleaved SwiGLU moved by 1 ulp in a few
elements with the thread count)."""

import pytest
import torch

from actops import registry

BITS = {torch.float32: torch.int32, torch.float64: torch.int64, torch.bfloat16: torch.int16, torch.float16: torch.int16}
DTYPES = (torch.float32, torch.bfloat16, torch.float64)
ELEMENTWISE = registry.names("unary", "parametric", "gated")


def _bits(t):
    t = t.contiguous()
    return t.view(BITS[t.dtype]) if t.dtype in BITS else t


def _same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(_bits(a), _bits(b))


def _call(name, *tensors, **kwargs):
    """actops.<name> on one tensor (element-wise) or two (a gated unit's gate
    and up), its parameters at their defaults."""
    entry = registry.get(name)
    if entry.kind == "gated" and len(tensors) == 1:
        return entry.function(tensors[0], tensors[0].flip(-1), **kwargs)
    if entry.kind == "parametric" and entry.learnable in entry.tensors():
        return entry.function(*tensors, torch.full((), 1.3, dtype=tensors[0].dtype), **kwargs)
    return entry.function(*tensors, **kwargs)


def _data(n, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, generator=g, dtype=torch.float64) * 4).to(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_offset_and_stride_of_the_input(name, dtype):
    # the same values at every offset in a buffer, and every other element of
    # one: each element's result is the same bits as in a fresh contiguous copy
    n = 1000
    x = _data(n, dtype)
    expected = _call(name, x)
    buffer = torch.empty(2 * n + 40, dtype=dtype)
    for offset in (1, 3, 7, 17):
        shifted = buffer[offset : offset + n]
        shifted.copy_(x)
        assert _same(_call(name, shifted), expected), offset
    strided = buffer[: 2 * n : 2]
    strided.copy_(x)
    assert _same(_call(name, strided), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_offset_and_stride_of_out(name, dtype):
    n = 1000
    x = _data(n, dtype, seed=1)
    expected = _call(name, x)
    buffer = torch.empty(3 * n + 40, dtype=dtype)
    for out in (buffer[5 : 5 + n], buffer[: 3 * n : 3]):
        _call(name, x, out=out)
        assert _same(out, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", registry.names("gated"))
def test_every_packed_layout_gives_the_split_bits(name, dtype):
    function = registry.get(name).function
    gate, up = _data(257 * 96, dtype, 2).view(257, 96), _data(257 * 96, dtype, 3).view(257, 96)
    expected = function(gate, up)
    packed = {
        "gate_up": torch.cat([gate, up], -1),
        "up_gate": torch.cat([up, gate], -1),
        "interleaved": torch.stack([gate, up], -1).flatten(-2),
    }
    for layout, x in packed.items():
        assert _same(function(x, layout=layout), expected), layout
        assert _same(function(x.t().contiguous(), 0, layout=layout).t(), expected), layout


@pytest.mark.parametrize("dtype", (torch.float32, torch.bfloat16))
@pytest.mark.parametrize("layout", registry.LAYOUTS)
@pytest.mark.parametrize("name", registry.names("gated"))
def test_thread_count(name, layout, dtype):
    # 256 x 2048 packed: the threads split the rows at places that depend on
    # their number; forward and backward, the same bits for 1 to 4 threads
    function = registry.get(name).function
    x = _data(256 * 2048, dtype, 4).view(256, 2048).requires_grad_()
    grad = _data(256 * 1024, dtype, 5).view(256, 1024)
    threads = torch.get_num_threads()
    results = []
    try:
        for count in (1, 2, 3, 4):
            torch.set_num_threads(count)
            y = function(x, layout=layout)
            (dx,) = torch.autograd.grad(y, x, grad)
            results.append((y.detach(), dx))
    finally:
        torch.set_num_threads(threads)
    for y, dx in results[1:]:
        assert _same(y, results[0][0]) and _same(dx, results[0][1])
