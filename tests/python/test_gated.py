"""The gated family: swiglu, geglu and reglu, split and packed in every layout.

Values and gradients against eager composites built from plain torch ops
(GPT-OSS's clamped SwiGLU verbatim), in float64 to 1e-12 and in the low
precisions against the float64 composite; gradcheck and gradgradcheck;
opcheck of every op; torch.compile, TorchScript and torch.export; shapes,
strides and broadcasting; reading every layout in place (no copies); only the
inputs kept for backward; errors naming the op; the layers and their reprs."""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F

import actops
from actops import registry
from conftest import (
    assert_compiled_layer_matches,
    assert_scripted_layer_matches,
    by_registry_name,
    COMPOSITE_TOL,
    FLOAT_DTYPES,
    kept_bytes,
)

ops = torch.ops.actops

UNITS = list(registry.names("gated"))
LAYOUTS = list(registry.LAYOUTS)
FORMS = ["split", *LAYOUTS]
LOW_DTYPES = [torch.float32, torch.bfloat16, torch.float16]

# The options each unit is tested with: the gate's own parameter, up_offset
# alone, and clamps both wide (GPT-OSS's 7.0, active for inputs ~ randn * 6)
# and tight; a unit not listed here gets the options every unit has.
COMMON_OPTIONS = {
    "plain": {},
    "offset": {"up_offset": 0.5},
    "clamped": {"limit": 7.0, "up_offset": 1.0},
    "tight": {"limit": 2.0, "up_offset": -0.5},
}
OPTION_DATA = {
    "swiglu": {
        "plain": {},
        "beta": {"beta": 1.702},
        "offset": {"up_offset": 0.5},
        "gpt_oss": {"beta": 1.702, "limit": 7.0, "up_offset": 1.0},
        "tight": {"limit": 2.0, "up_offset": -0.5},
    },
    "geglu": {
        "plain": {},
        "tanh": {"approximate": "tanh"},
        "offset": {"up_offset": 0.5},
        "clamped": {"limit": 7.0, "up_offset": 1.0},
        "tanh_tight": {"approximate": "tanh", "limit": 2.0, "up_offset": -0.5},
    },
    "reglu": {
        "plain": {},
        "offset": {"up_offset": 0.5},
        "clamped": {"limit": 7.0, "up_offset": 1.0},
        "tight": {"limit": 2.0, "up_offset": -0.5},
    },
}
OPTIONS = {unit: by_registry_name(OPTION_DATA, "OPTION_DATA").get(unit, COMMON_OPTIONS) for unit in UNITS}
CASES = [(unit, name) for unit in UNITS for name in OPTIONS[unit]]
CASE_IDS = [f"{unit}-{name}" for unit, name in CASES]
# One clamped case per unit with a non-default gate parameter where there is one.
CLAMPED_DATA = by_registry_name({"swiglu": "gpt_oss", "geglu": "tanh_tight", "reglu": "tight"}, "CLAMPED_DATA")
CLAMPED = {unit: CLAMPED_DATA.get(unit, "tight") for unit in UNITS}
# Where a unit's gate has a kink (ReLU's 0), besides the clamp bounds
GATE_KINKS = by_registry_name({"reglu": [0.0]}, "GATE_KINKS")


# ---- the composites -----------------------------------------------------------------


def composite(unit: str, gate: torch.Tensor, up: torch.Tensor, **opts) -> torch.Tensor:
    """gate(clamp(g)) * (clamp(u) + up_offset), from plain torch ops: the registry's reference formula."""
    return registry.get(unit).reference(gate, up, **opts)


def gpt_oss_reference(gate_up: torch.Tensor, limit: float = 7.0, alpha: float = 1.702) -> torch.Tensor:
    """GPT-OSS's clamped SwiGLU, verbatim."""
    gate, up = gate_up[..., ::2], gate_up[..., 1::2]
    gate = gate.clamp(min=None, max=limit)
    up = up.clamp(min=-limit, max=limit)
    return (up + 1) * (gate * torch.sigmoid(gate * alpha))


def parts(x: torch.Tensor, dim: int, layout: str):
    """(gate, up) of a packed x, as plain slicing views."""
    d = dim % x.dim()
    if layout == "interleaved":
        even = [slice(None)] * x.dim()
        odd = [slice(None)] * x.dim()
        even[d] = slice(0, None, 2)
        odd[d] = slice(1, None, 2)
        return x[tuple(even)], x[tuple(odd)]
    first, second = x.chunk(2, d)
    return (first, second) if layout == "gate_up" else (second, first)


def composite_packed(unit: str, x: torch.Tensor, dim: int = -1, layout: str = "gate_up", **opts) -> torch.Tensor:
    return composite(unit, *parts(x, dim, layout), **opts)


def op(unit: str):
    return getattr(actops, unit)


def positional(unit: str, opts: dict) -> tuple:
    """The scalar arguments of the backward ops, in schema order."""
    entry = registry.get(unit)
    schema = entry.schema(f"{unit}_backward")
    return tuple(opts.get(a.name, entry.defaults[a.name]) for a in schema.arguments if a.name in entry.parameters)


def wide(*shape, dtype=torch.float64, scale: float = 6.0) -> torch.Tensor:
    """Inputs spread wide (randn * 6), so that a limit of 7 is active."""
    return (torch.randn(shape, dtype=torch.float64) * scale).to(dtype)


def away_from(x: torch.Tensor, points, gap: float = 0.05) -> torch.Tensor:
    """x with every value within `gap` of a kink moved 2 * gap away from it."""
    for p in points:
        x = torch.where((x - p).abs() < gap, torch.where(x >= p, x + 2 * gap, x - 2 * gap), x)
    return x


def kinks(unit: str, opts: dict):
    """Where the unit is not differentiable: ReLU's 0 and the clamp bounds."""
    points = list(GATE_KINKS.get(unit, []))
    if opts.get("limit") is not None:
        points += [-opts["limit"], opts["limit"]]
    return points


def assert_close64(actual, expected):
    torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-12)


def assert_close_low(actual: torch.Tensor, expected64: torch.Tensor):
    """float32: 16 ulps relative (its exp/erf in float32); bfloat16 and
    float16 are computed in float32 and rounded once: 1 ulp relative. Plus an
    absolute 2 ulps of the largest value, for values near zero."""
    eps = torch.finfo(actual.dtype).eps
    rtol = (16 if actual.dtype == torch.float32 else 1) * eps
    atol = 2 * eps * max(expected64.abs().max().item(), 1e-3) if expected64.numel() else 0.0
    assert actual.dtype != torch.float64
    torch.testing.assert_close(actual.double(), expected64, rtol=rtol, atol=atol)


def run(unit: str, form: str, opts: dict, inputs, dim: int = -1):
    if form == "split":
        return op(unit)(*inputs, **opts)
    return op(unit)(inputs[0], dim=dim, layout=form, **opts)


def reference(unit: str, form: str, opts: dict, inputs, dim: int = -1):
    if form == "split":
        return composite(unit, *inputs, **opts)
    return composite_packed(unit, inputs[0], dim, form, **opts)


def make_inputs(form: str, dtype=torch.float64, half=(4, 3, 37), dim: int = -1, scale: float = 6.0):
    """Split: gate and up of shape `half`. Packed: x with `half`'s size along
    dim doubled (37: the vector loops' tail is exercised too)."""
    if form == "split":
        return (wide(*half, dtype=dtype, scale=scale), wide(*half, dtype=dtype, scale=scale))
    shape = list(half)
    shape[dim] *= 2
    return (wide(*shape, dtype=dtype, scale=scale),)


def grads(y: torch.Tensor, inputs, grad: torch.Tensor, **kw):
    return torch.autograd.grad(y, inputs, grad, **kw)


# ---- 1. values and gradients against the composites --------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("unit, name", CASES, ids=CASE_IDS)
def test_float64_matches_composite(unit, name, form):
    opts = OPTIONS[unit][name]
    inputs = [t.requires_grad_() for t in make_inputs(form)]
    y = run(unit, form, opts, inputs)
    expected = reference(unit, form, opts, inputs)
    assert y.shape == expected.shape and y.dtype == torch.float64
    assert_close64(y, expected)
    grad = torch.randn_like(y)
    assert_close64(grads(y, inputs, grad), grads(expected, inputs, grad))
    if opts.get("limit") == 7.0:  # the clamp was active, on both sides of the gate and up
        gate, up = inputs if form == "split" else parts(inputs[0], -1, form)
        assert (gate > 7).any() and (up > 7).any() and (up < -7).any()


@pytest.mark.parametrize("dtype", LOW_DTYPES, ids=str)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("unit, name", CASES, ids=CASE_IDS)
def test_low_precision_matches_float64_composite(unit, name, form, dtype):
    opts = OPTIONS[unit][name]
    inputs = [t.requires_grad_() for t in make_inputs(form, dtype)]
    y = run(unit, form, opts, inputs)
    assert y.dtype == dtype
    inputs64 = [t.detach().double().requires_grad_() for t in inputs]
    expected = reference(unit, form, opts, inputs64)
    assert_close_low(y, expected)
    grad = torch.randn_like(y)
    for actual, wanted, t in zip(grads(y, inputs, grad), grads(expected, inputs64, grad.double()), inputs):
        assert actual.dtype == dtype and actual.shape == t.shape
        assert_close_low(actual, wanted)


@pytest.mark.parametrize("dim", [0, 1, -2])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("unit", UNITS)
def test_packed_along_every_dim(unit, layout, dim):
    opts = OPTIONS[unit][CLAMPED[unit]]
    (x,) = make_inputs(layout, half=(4, 3, 5), dim=dim)
    x.requires_grad_()
    y = op(unit)(x, dim=dim, layout=layout, **opts)
    expected = composite_packed(unit, x, dim, layout, **opts)
    assert_close64(y, expected)
    grad = torch.randn_like(y)
    assert_close64(grads(y, x, grad), grads(expected, x, grad))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16], ids=str)
def test_gpt_oss_swiglu_is_the_verbatim_reference(dtype):
    gate_up = wide(8, 16, 2 * 48, dtype=dtype).requires_grad_()
    assert (gate_up[..., ::2] > 7).any() and (gate_up[..., 1::2].abs() > 7).any()
    y = actops.swiglu(gate_up, layout="interleaved", beta=1.702, limit=7.0, up_offset=1.0)
    x64 = gate_up.detach().double().requires_grad_()
    expected = gpt_oss_reference(x64)
    grad = torch.randn_like(y)
    (dx,) = grads(y, gate_up, grad)
    (ex,) = grads(expected, x64, grad.double())
    if dtype == torch.float64:
        assert_close64(y, expected)
        assert_close64(dx, ex)
    else:
        assert_close_low(y, expected)
        assert_close_low(dx, ex)
    # the layer with GPT-OSS's options is the same op on its projection
    layer = actops.nn.SwiGLU(10, 48, beta=1.702, limit=7.0, up_offset=1.0, layout="interleaved").double()
    inp = torch.randn(4, 10, dtype=torch.float64)
    assert_close64(layer(inp), gpt_oss_reference(layer.proj(inp)))


@pytest.mark.parametrize("unit", UNITS)
def test_clamp_boundaries_and_relu_kink_take_torchs_gradients(unit):
    """At g = limit and u = +-limit the gradient passes (boundaries
    included); beyond them, infinities too, it is 0; relu'(0) = 0."""
    limit = 2.0
    values = torch.tensor(
        [-3.0, -limit, -1.0, 0.0, 1.0, limit, 3.0, float("inf")] + ([] if unit != "reglu" else [-float("inf")]),
        dtype=torch.float64,
    )
    ups = torch.tensor([-float("inf"), -3.0, -limit, -0.5, 0.0, 0.5, limit, 3.0, float("inf")], dtype=torch.float64)
    g, u = torch.meshgrid(values, ups, indexing="ij")
    g, u = g.contiguous().requires_grad_(), u.contiguous().requires_grad_()
    opts = {"limit": limit, "up_offset": 0.5}
    y = op(unit)(g, u, **opts)
    expected = composite(unit, g, u, **opts)
    assert_close64(y, expected)
    grad = torch.ones_like(y)
    dg, du = grads(y, (g, u), grad)
    eg, eu = grads(expected, (g, u), grad)
    assert_close64(dg, eg)
    assert_close64(du, eu)
    # explicitly: the gate's gradient passes at g == limit, not beyond
    assert (dg[values == limit] != 0).any() and (dg[values > limit] == 0).all()
    assert (du[:, ups.abs() == limit] != 0).any() and (du[:, ups.abs() > limit] == 0).all()
    if unit == "reglu":
        assert (dg[values == 0] == 0).all()


@pytest.mark.parametrize("unit", UNITS)
def test_infinite_limit_is_no_clamp(unit):
    gate, up = wide(5, 8).requires_grad_(), wide(5, 8).requires_grad_()
    y = op(unit)(gate, up, limit=float("inf"), up_offset=0.25)
    expected = op(unit)(gate, up, up_offset=0.25)
    assert_close64(y, expected)
    grad = torch.randn_like(y)
    assert_close64(grads(y, (gate, up), grad), grads(expected, (gate, up), grad))


@pytest.mark.parametrize("unit", UNITS)
def test_forward_mode_matches_composite(unit):
    opts = OPTIONS[unit][CLAMPED[unit]]
    x = away_from(wide(3, 16), kinks(unit, opts))
    t = torch.randn_like(x)
    for layout in LAYOUTS:
        _, jvp = torch.func.jvp(lambda v: op(unit)(v, layout=layout, **opts), (x,), (t,))
        _, expected = torch.func.jvp(lambda v: composite_packed(unit, v, -1, layout, **opts), (x,), (t,))
        assert_close64(jvp, expected)
    gate, up = x[:, :8], x[:, 8:]
    tangents = (t[:, :8], t[:, 8:])
    _, jvp = torch.func.jvp(lambda a, b: op(unit)(a, b, **opts), (gate, up), tangents)
    _, expected = torch.func.jvp(lambda a, b: composite(unit, a, b, **opts), (gate, up), tangents)
    assert_close64(jvp, expected)


@pytest.mark.parametrize("unit", UNITS)
def test_vmap_matches_per_sample(unit):
    opts = OPTIONS[unit][CLAMPED[unit]]
    x = wide(4, 5, 8)  # batch along dim 1
    for dim in (-1, 0):
        for layout in LAYOUTS:
            f = lambda v: op(unit)(v, dim=dim, layout=layout, **opts)  # noqa: E731
            batched = torch.func.vmap(f, in_dims=1, out_dims=1)(x)
            looped = torch.stack([f(x[:, i]) for i in range(x.shape[1])], 1)
            assert_close64(batched, looped)
    gate, up = wide(4, 3, 6), wide(6)
    batched = torch.func.vmap(lambda g: op(unit)(g, up, **opts))(gate)
    assert_close64(batched, composite(unit, gate, up, **opts))


# ---- 2. gradcheck and gradgradcheck -------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("unit, name", CASES, ids=CASE_IDS)
def test_gradcheck_and_gradgradcheck(unit, name, form):
    opts = OPTIONS[unit][name]
    points = kinks(unit, opts)

    def x64(*shape):
        return away_from(torch.randn(shape, dtype=torch.float64) * 3, points).requires_grad_()

    if form == "split":
        fn, inputs = (lambda g, u: op(unit)(g, u, **opts)), (x64(3, 1, 4), x64(2, 4))
    else:
        dim = {"gate_up": 1, "up_gate": -1, "interleaved": 0}[form]
        shape = {"gate_up": (3, 6, 2), "up_gate": (3, 8), "interleaved": (6, 3)}[form]
        fn, inputs = (lambda x: op(unit)(x, dim=dim, layout=form, **opts)), (x64(*shape),)
    assert torch.autograd.gradcheck(fn, inputs, check_forward_ad=True)
    assert torch.autograd.gradgradcheck(fn, inputs, check_fwd_over_rev=True)


# ---- 3. opcheck ---------------------------------------------------------------------


def test_schemas_are_the_pinned_ones():
    glu = "float? limit=None, float up_offset=0."
    plain = "float? limit, float up_offset"
    for unit, param, param_plain in [
        ("swiglu", "float beta=1., ", "float beta, "),
        ("geglu", 'str approximate="none", ', "str approximate, "),
        ("reglu", "", ""),
    ]:
        expected = {
            "": f"actops::{unit}(Tensor gate, Tensor up, *, {param}{glu}) -> Tensor",
            "_backward": f"actops::{unit}_backward(Tensor grad, Tensor gate, Tensor up, {param_plain}{plain})"
            " -> (Tensor grad_gate, Tensor grad_up)",
            "_double_backward": f"actops::{unit}_double_backward(Tensor gg_gate, Tensor gg_up, Tensor grad, "
            f"Tensor gate, Tensor up, {param_plain}{plain}) -> (Tensor grad_grad, Tensor grad_gate, Tensor grad_up)",
            "_packed": f'actops::{unit}_packed(Tensor x, int dim=-1, *, str layout="gate_up", {param}{glu}) -> Tensor',
            "_packed_backward": f"actops::{unit}_packed_backward(Tensor grad, Tensor x, int dim, str layout, "
            f"{param_plain}{plain}) -> Tensor",
        }
        for suffix, schema in expected.items():
            assert str(getattr(ops, unit + suffix).default._schema) == schema


OPCHECK_KINDS = ["forward", "backward", "double_backward", *[f"packed-{layout}" for layout in LAYOUTS]]


@pytest.mark.parametrize("kind", OPCHECK_KINDS)
@pytest.mark.parametrize("unit", UNITS)
def test_opcheck(unit, kind):
    opts = OPTIONS[unit][CLAMPED[unit]]
    args = positional(unit, opts)
    gate = wide(4, 1, 6, scale=4.0).requires_grad_()
    up = wide(3, 6, scale=4.0).requires_grad_()
    grad = torch.randn(4, 3, 6, dtype=torch.float64, requires_grad=True)
    if kind == "forward":
        torch.library.opcheck(getattr(ops, unit).default, (gate, up), opts)
        torch.library.opcheck(getattr(ops, unit).default, (gate.detach().bfloat16(), up.detach().bfloat16()), opts)
    elif kind == "backward":
        torch.library.opcheck(getattr(ops, unit + "_backward"), (grad, gate, up, *args))
    elif kind == "double_backward":
        gg_gate, gg_up = torch.randn(4, 1, 6, dtype=torch.float64), torch.randn(3, 6, dtype=torch.float64)
        torch.library.opcheck(
            getattr(ops, unit + "_double_backward"),
            (gg_gate, gg_up, grad.detach(), gate.detach(), up.detach(), *args),
        )
    else:
        layout = kind.split("-", 1)[1]
        x = wide(3, 4, 10, scale=4.0).requires_grad_()
        for dim in (-1, 1):
            torch.library.opcheck(getattr(ops, unit + "_packed").default, (x, dim), {"layout": layout, **opts})
            half = list(x.shape)
            half[dim] //= 2
            torch.library.opcheck(
                getattr(ops, unit + "_packed_backward"),
                (torch.randn(half, dtype=torch.float64, requires_grad=True), x, dim, layout, *args),
            )


# ---- 4. torch.compile ---------------------------------------------------------------

COMPILE_CONFIGS = by_registry_name(
    {
        "swiglu": ("interleaved", {"beta": 1.702, "limit": 7.0, "up_offset": 1.0}),
        "geglu": ("up_gate", {"approximate": "tanh"}),
        "reglu": ("gate_up", {"limit": 2.0, "up_offset": 0.5}),
    },
    "COMPILE_CONFIGS",
)


@pytest.mark.parametrize("unit", UNITS)
def test_torch_compile_fullgraph_matches_eager(unit):
    torch._dynamo.reset()
    layout, opts = COMPILE_CONFIGS.get(unit, ("interleaved", {"limit": 2.0, "up_offset": 0.5}))

    def f(x, gate, up):
        return op(unit)(x, layout=layout, **opts), op(unit)(gate, up, **opts)

    x = wide(4, 16, dtype=torch.float32).requires_grad_()
    gate = wide(3, 1, 8, dtype=torch.float32).requires_grad_()
    up = wide(4, 8, dtype=torch.float32).requires_grad_()
    compiled = torch.compile(f, fullgraph=True)
    outs = compiled(x, gate, up)
    eager = f(x, gate, up)
    torch.testing.assert_close(outs, eager)
    loss = sum(o.square().sum() for o in outs)
    loss_eager = sum(o.square().sum() for o in eager)
    torch.testing.assert_close(torch.autograd.grad(loss, (x, gate, up)), torch.autograd.grad(loss_eager, (x, gate, up)))


# ---- 5. TorchScript -----------------------------------------------------------------


# the layers' options in the TorchScript and layer tests, keyed by registry name (else the defaults)
MODULE_OPTIONS = by_registry_name(
    {"swiglu": {"beta": 1.702, "limit": 7.0, "up_offset": 1.0}, "geglu": {"approximate": "tanh"}}, "MODULE_OPTIONS"
)
SCRIPTED_LAYOUTS = by_registry_name({"swiglu": "interleaved", "geglu": "up_gate"}, "SCRIPTED_LAYOUTS")


def layer_class(unit: str):
    (cls,) = registry.get(unit).module_classes
    return cls


def module(unit: str) -> torch.nn.Module:
    """The unit's layer (6 -> 5) with its options and layout above."""
    layout = SCRIPTED_LAYOUTS.get(unit, "gate_up")
    return layer_class(unit)(6, 5, layout=layout, **MODULE_OPTIONS.get(unit, {}))


@pytest.mark.parametrize("unit", UNITS)
def test_torchscript_save_load(unit, tmp_path):
    layer = module(unit).double()
    with torch.no_grad():
        layer.proj.weight.mul_(8)  # outputs past the clamp of 7
    loaded = assert_scripted_layer_matches(layer, tmp_path, rows=7)
    assert f"actops::{unit}_packed" in str(loaded.inlined_graph)


# ---- 6. torch.export ----------------------------------------------------------------


class SplitGate(torch.nn.Module):
    """The split form, broadcasting a learned up against the gate."""

    def __init__(self, unit: str, opts: dict) -> None:
        super().__init__()
        self.unit = unit
        self.opts = opts
        self.up = torch.nn.Parameter(torch.randn(5) * 6)

    def forward(self, x):
        return getattr(actops, self.unit)(x, self.up, **self.opts)


@pytest.mark.parametrize("unit", UNITS)
def test_torch_export_matches_eager(unit):
    batch = torch.export.Dim("batch", min=2, max=64)
    for layer, example in [
        (module(unit), torch.randn(4, 6)),
        (SplitGate(unit, OPTIONS[unit][CLAMPED[unit]]), wide(4, 5, dtype=torch.float32)),
    ]:
        program = torch.export.export(layer, (example,), dynamic_shapes=({0: batch},))
        targets = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
        assert any(t.startswith(f"actops.{unit}") for t in targets), targets
        x = torch.randn(9, *example.shape[1:]) * 6  # another batch size
        torch.testing.assert_close(program.module()(x), layer(x), rtol=0, atol=0)


# ---- 7. shapes, broadcasting, strides -----------------------------------------------

BROADCASTS = [
    ((2, 1, 4), (3, 4)),
    ((4,), (2, 3, 4)),
    ((3, 1), (1, 5)),
    ((), (3,)),
    ((2, 3, 4), ()),
    ((), ()),
    ((300,), (1,)),
]


@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
@pytest.mark.parametrize("unit", UNITS)
def test_split_broadcasts_and_reduces_gradients(unit, shapes):
    gate_shape, up_shape = shapes
    opts = OPTIONS[unit][CLAMPED[unit]]
    gate, up = wide(*gate_shape).requires_grad_(), wide(*up_shape).requires_grad_()
    y = op(unit)(gate, up, **opts)
    expected = composite(unit, gate, up, **opts)
    assert y.shape == torch.broadcast_shapes(gate_shape, up_shape)
    assert_close64(y, expected)
    grad = torch.randn_like(y)
    dg, du = grads(y, (gate, up), grad)
    assert dg.shape == gate.shape and du.shape == up.shape
    assert_close64((dg, du), grads(expected, (gate, up), grad))


@pytest.mark.parametrize("unit", UNITS)
def test_split_promotes_as_mul(unit):
    gate = torch.randn(4, dtype=torch.bfloat16, requires_grad=True)
    up = torch.randn(4, dtype=torch.float32, requires_grad=True)
    y = op(unit)(gate, up)
    assert y.dtype == torch.float32
    dg, du = torch.autograd.grad(y.sum(), (gate, up))
    assert dg.dtype == torch.bfloat16 and du.dtype == torch.float32
    torch.testing.assert_close(y, composite(unit, gate.float(), up))
    # a 0-d float64 up does not promote a float32 gate (as torch.mul)
    assert op(unit)(torch.randn(4), torch.tensor(2.0, dtype=torch.float64)).dtype == torch.float32


@pytest.mark.parametrize("unit", UNITS)
def test_empty_and_zero_dim(unit):
    opts = OPTIONS[unit][CLAMPED[unit]]
    fn = op(unit)
    gate, up = torch.randn(0, 4, requires_grad=True), torch.randn(4, requires_grad=True)
    y = fn(gate, up, **opts)
    assert y.shape == (0, 4)
    dg, du = torch.autograd.grad(y.sum(), (gate, up))
    assert dg.shape == (0, 4) and torch.equal(du, torch.zeros(4))
    for shape, dim, out in [((0, 8), -1, (0, 4)), ((3, 0), -1, (3, 0)), ((2, 0, 6), 1, (2, 0, 6))]:
        for layout in LAYOUTS:
            x = torch.randn(shape, requires_grad=True)
            y = fn(x, dim=dim, layout=layout, **opts)
            assert y.shape == out
            (dx,) = torch.autograd.grad(y.sum(), x)
            assert dx.shape == shape
    # 0-d split: a 0-d result and 0-d gradients
    gate = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    up = torch.tensor(-0.75, dtype=torch.float64, requires_grad=True)
    y = fn(gate, up, **opts)
    expected = composite(unit, gate, up, **opts)
    assert y.shape == () and y.dim() == 0
    assert_close64(y, expected)
    assert_close64(torch.autograd.grad(y, (gate, up)), torch.autograd.grad(expected, (gate, up)))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("unit", UNITS)
def test_non_contiguous_inputs_and_grad(unit, form):
    opts = OPTIONS[unit][CLAMPED[unit]]
    if form == "split":
        inputs = (wide(5, 6).t().requires_grad_(), wide(5, 6).t().requires_grad_())
    else:
        inputs = (wide(10, 6).t().requires_grad_(),)  # (6, 10), packed along the strided dim
    assert not inputs[0].is_contiguous()
    y = run(unit, form, opts, inputs)
    expected = reference(unit, form, opts, inputs)
    assert_close64(y, expected)
    grad = torch.randn(y.shape[1], y.shape[0], dtype=torch.float64).t()  # a non-contiguous grad too
    assert_close64(grads(y, inputs, grad), grads(expected, inputs, grad))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("unit", UNITS)
def test_channels_last(unit, form):
    opts = OPTIONS[unit][CLAMPED[unit]]
    cl = torch.channels_last
    if form == "split":
        inputs = tuple(wide(2, 4, 3, 5).contiguous(memory_format=cl).requires_grad_() for _ in range(2))
        y = op(unit)(*inputs, **opts)
        expected = composite(unit, *inputs, **opts)
    else:
        inputs = (wide(2, 8, 3, 5).contiguous(memory_format=cl).requires_grad_(),)
        y = op(unit)(inputs[0], dim=1, layout=form, **opts)
        expected = composite_packed(unit, inputs[0], 1, form, **opts)
    assert y.shape == (2, 4, 3, 5) and y.is_contiguous(memory_format=cl)
    assert_close64(y, expected)
    grad = torch.randn_like(y)  # channels_last too
    actual = grads(y, inputs, grad)
    assert_close64(actual, grads(expected, inputs, grad))
    assert all(g.is_contiguous(memory_format=cl) for g in actual)


# ---- 8. every layout read in place ----------------------------------------------------

COPIES = {"aten::copy_", "aten::clone", "aten::cat", "aten::contiguous", "aten::stack"}


def profiled_names(fn) -> set:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fn()
    return {event.name for event in prof.events()}


def test_profiler_sees_copies_when_there_are_some():
    x = torch.randn(8, 16, requires_grad=True)
    names = profiled_names(lambda: composite_packed("swiglu", x, -1, "interleaved").contiguous().sum().backward())
    assert names & COPIES


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("unit", UNITS)
def test_forward_and_backward_copy_nothing(unit, form):
    for dtype in (torch.float32, torch.bfloat16):
        for opts in (OPTIONS[unit]["plain"], OPTIONS[unit][CLAMPED[unit]]):
            for dim in (-1,) if form == "split" else (-1, 0):
                inputs = [t.requires_grad_() for t in make_inputs(form, dtype, half=(16, 32), dim=dim)]

                def step(inputs=inputs, opts=opts, dim=dim):
                    y = run(unit, form, opts, inputs, dim=dim)
                    y.backward(torch.ones_like(y))

                names = profiled_names(step)
                assert not names & COPIES, (dtype, opts, dim, names & COPIES)
                suffix = "" if form == "split" else "_packed"
                assert {f"actops::{unit}{suffix}", f"actops::{unit}{suffix}_backward"} <= names, names


# ---- 9. only the inputs are saved ---------------------------------------------------


def saved(fn, *inputs):
    """(tensor, storage bytes) of everything autograd saves while fn runs."""
    record = []

    def pack(t):
        record.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*inputs)
    return record


def saved_bytes(record) -> int:
    return sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in record}.values())


def is_input(t: torch.Tensor, inputs) -> bool:
    return any(
        t.data_ptr() == i.data_ptr() and t.shape == i.shape and t.stride() == i.stride() and t.dtype == i.dtype
        for i in inputs
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("unit", UNITS)
def test_only_the_inputs_are_saved(unit, form, dtype):
    opts = OPTIONS[unit][CLAMPED[unit]]
    inputs = [t.requires_grad_() for t in make_inputs(form, dtype, half=(64, 256))]
    record = saved(lambda *i: run(unit, form, opts, i), *inputs)
    assert len(record) == len(inputs) and all(is_input(t, inputs) for t in record)
    assert saved_bytes(record) == sum(t.nbytes for t in inputs)
    # less than the composite keeps, for the same unit and options
    composite_record = saved(lambda *i: reference(unit, form, opts, i), *inputs)
    assert saved_bytes(record) < saved_bytes(composite_record)
    # the backward, differentiable again, keeps grad and the inputs only
    y = run(unit, form, opts, inputs)
    grad = torch.randn_like(y, requires_grad=True)
    record = saved(lambda: torch.autograd.grad(y, inputs, grad, create_graph=True))
    assert len(record) == len(inputs) + 1 and all(is_input(t, [*inputs, grad]) for t in record)


def test_gpt_oss_swiglu_keeps_less_than_its_reference():
    x = wide(64, 512, dtype=torch.bfloat16).requires_grad_()
    ours = saved(lambda v: actops.swiglu(v, layout="interleaved", beta=1.702, limit=7.0, up_offset=1.0), x)
    theirs = saved(gpt_oss_reference, x)
    assert len(ours) == 1 and ours[0].data_ptr() == x.data_ptr() and ours[0].shape == x.shape
    assert saved_bytes(ours) == x.nbytes < saved_bytes(theirs)


# ---- 10. errors ---------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("unit", UNITS)
def test_errors_name_the_op(unit, device):
    fn = op(unit)

    def t(*shape, dtype=torch.float32):
        return torch.randn(shape, dtype=torch.float64).to(dtype).to(device)

    packed = rf"actops\.{unit}_packed"
    with pytest.raises(RuntimeError, match=packed + r": the size of dim -1 \(7\) must be even"):
        fn(t(3, 7))
    with pytest.raises(RuntimeError, match=packed + r": the size of dim 0 \(3\) must be even"):
        fn(t(3, 8), dim=0, layout="interleaved")
    with pytest.raises(
        RuntimeError, match=packed + r": layout must be 'gate_up', 'up_gate' or 'interleaved', got 'gate'"
    ):
        fn(t(3, 8), layout="gate")
    with pytest.raises(RuntimeError, match=packed + r": dim 2 is out of range for x with 2 dimensions"):
        fn(t(3, 8), dim=2)
    for limit, shown in [(0.0, "0"), (-1.5, "-1.5"), (float("nan"), "nan")]:
        with pytest.raises(RuntimeError, match=packed + rf": limit must be positive, got {shown}"):
            fn(t(3, 8), limit=limit)
        with pytest.raises(RuntimeError, match=rf"actops\.{unit}: limit must be positive, got {shown}"):
            fn(t(3, 4), t(4), limit=limit)
    with pytest.raises(
        RuntimeError, match=rf"actops\.{unit}: gate of shape \[3, 4\] and up of shape \[5\] do not broadcast"
    ):
        fn(t(3, 4), t(5))
    with pytest.raises(TypeError, match=rf"actops\.{unit}: gate must be a floating-point tensor.*int64"):
        fn(torch.arange(4, device=device), t(4))
    with pytest.raises(TypeError, match=rf"actops\.{unit}: up must be a floating-point tensor.*int32"):
        fn(t(4), torch.arange(4, dtype=torch.int32, device=device))
    with pytest.raises(TypeError, match=packed + r": x must be a floating-point tensor.*int64"):
        fn(torch.arange(8, device=device).view(2, 4))
    with pytest.raises(TypeError, match=rf"actops\.{unit}: dim and layout belong to the packed form"):
        fn(t(4), t(4), dim=0)
    with pytest.raises(TypeError, match=rf"actops\.{unit}: dim and layout belong to the packed form"):
        fn(t(4), t(4), layout="gate_up")
    for name, choices in registry.get(unit).choices.items():
        if name == "layout":
            continue
        expected = " or ".join(f"'{c}'" for c in choices)
        with pytest.raises(RuntimeError, match=rf"actops\.{unit}: {name} must be {expected}, got 'fast'"):
            fn(t(4), t(4), **{name: "fast"})
        with pytest.raises(RuntimeError, match=rf"actops\.{unit}_packed: {name} must be {expected}"):
            fn(t(2, 4), **{name: "fast"})


@pytest.mark.parametrize("unit", UNITS)
def test_backward_op_errors_name_the_op(unit):
    args = positional(unit, {})
    with pytest.raises(
        RuntimeError, match=rf"actops\.{unit}_backward: grad has shape \[3, 5\] but the output has shape \[3, 4\]"
    ):
        getattr(ops, unit + "_backward")(torch.randn(3, 5), torch.randn(3, 4), torch.randn(4), *args)
    with pytest.raises(RuntimeError, match=rf"actops\.{unit}_packed_backward: .*grad"):
        getattr(ops, unit + "_packed_backward")(torch.randn(3, 5), torch.randn(3, 8), -1, "gate_up", *args)
    with pytest.raises(RuntimeError, match=rf"actops\.{unit}_packed_backward: layout must be"):
        getattr(ops, unit + "_packed_backward")(torch.randn(3, 4), torch.randn(3, 8), -1, "bad", *args)
    bad_limit = (*args[:-2], -1.0, 0.0)
    with pytest.raises(RuntimeError, match=rf"actops\.{unit}_double_backward: limit must be positive, got -1"):
        getattr(ops, unit + "_double_backward")(
            torch.randn(3, 4), torch.randn(4), torch.randn(3, 4), torch.randn(3, 4), torch.randn(4), *bad_limit
        )


def test_module_arguments_are_checked():
    for cls in (actops.nn.SwiGLU, actops.nn.GeGLU, actops.nn.ReGLU):
        with pytest.raises(
            ValueError,
            match=rf"actops\.nn\.{cls.__name__}: layout must be 'gate_up', 'up_gate' or 'interleaved', got 'gate'",
        ):
            cls(4, 3, layout="gate")
    for limit in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match=r"actops\.nn\.SwiGLU: limit must be positive"):
            actops.nn.SwiGLU(4, 3, limit=limit)
    with pytest.raises(ValueError, match=r"actops\.nn\.GeGLU: approximate must be 'none' or 'tanh', got 'fast'"):
        actops.nn.GeGLU(4, 3, approximate="fast")


# ---- 11. the layers -----------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("unit", UNITS)
def test_layers_are_one_projection_then_the_packed_op(unit, layout, bias):
    cls = layer_class(unit)
    opts = MODULE_OPTIONS.get(unit, {})
    layer = cls(6, 5, bias=bias, layout=layout, **opts).double()
    assert isinstance(layer.proj, torch.nn.Linear)
    assert (layer.proj.in_features, layer.proj.out_features) == (6, 10) and (layer.proj.bias is not None) == bias
    with torch.no_grad():
        layer.proj.weight.mul_(8)
    x = torch.randn(4, 7, 6, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    assert y.shape == (4, 7, 5)
    # the rows of the projection that make gate and up, in the layout
    w_gate, w_up = parts(layer.proj.weight, 0, layout)
    b_gate, b_up = parts(layer.proj.bias, 0, layout) if bias else (0.0, 0.0)
    expected = composite(unit, x @ w_gate.T + b_gate, x @ w_up.T + b_up, **opts)
    assert_close64(y, expected)
    params = [x, *layer.parameters()]
    grad = torch.randn_like(y)
    assert_close64(torch.autograd.grad(y, params, grad), torch.autograd.grad(expected, params, grad))


def test_extra_repr_shows_non_default_options_only():
    head = "in_features=6, out_features=5, bias=True"
    assert actops.nn.SwiGLU(6, 5).extra_repr() == head
    assert actops.nn.GeGLU(6, 5).extra_repr() == head
    assert actops.nn.ReGLU(6, 5).extra_repr() == head
    assert actops.nn.ReGLU(6, 5, bias=False).extra_repr() == "in_features=6, out_features=5, bias=False"
    # passing the defaults explicitly shows nothing more
    assert actops.nn.SwiGLU(6, 5, beta=1.0, limit=None, up_offset=0.0, layout="gate_up").extra_repr() == head
    assert actops.nn.GeGLU(6, 5, approximate="none", layout="gate_up").extra_repr() == head
    gpt_oss = actops.nn.SwiGLU(6, 5, beta=1.702, limit=7.0, up_offset=1.0, layout="interleaved").extra_repr()
    assert gpt_oss.startswith(head)
    for option in ("layout='interleaved'", "limit=7.0", "up_offset=1.0", "beta=1.702"):
        assert option in gpt_oss, gpt_oss
    geglu = actops.nn.GeGLU(6, 5, approximate="tanh", layout="up_gate").extra_repr()
    assert "approximate='tanh'" in geglu and "layout='up_gate'" in geglu
    reglu = actops.nn.ReGLU(6, 5, layout="interleaved").extra_repr()
    assert reglu == head + ", layout='interleaved'"
    only_limit = actops.nn.SwiGLU(6, 5, limit=3.0).extra_repr()
    assert only_limit == head + ", limit=3.0"
    assert "in_features=6, out_features=5" in repr(actops.nn.SwiGLU(6, 5))


@pytest.mark.parametrize("unit", UNITS)
def test_packed_dim_may_be_positional(unit):
    """The pinned packed signature is ``{unit}(x, dim=-1, *, layout=...)``, as
    the C++ ``actops::{unit}(x, dim, layout, ...)``: dim is positional too."""
    x = wide(4, 6)
    assert_close64(op(unit)(x, 0), op(unit)(x, dim=0))
    assert_close64(op(unit)(x, -1), op(unit)(x, dim=-1))


# ---- SwiGLU against its composite; its layers --------------------------------------


def composite_swiglu(gate, up):
    return F.silu(gate) * up


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
    torch.testing.assert_close(y.double(), expected, rtol=COMPOSITE_TOL[dtype], atol=COMPOSITE_TOL[dtype])
    grad = torch.randn_like(y)
    dg, du = torch.autograd.grad(y, (gate, up), grad)
    eg, eu = torch.autograd.grad(expected, (g64, u64), grad.double())
    assert dg.shape == gate.shape and du.shape == up.shape
    tol = COMPOSITE_TOL[dtype] * 10  # reduced over broadcast dims
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
    torch.testing.assert_close(y.double(), expected, rtol=COMPOSITE_TOL[dtype], atol=COMPOSITE_TOL[dtype])
    grad = torch.randn_like(y)
    (dx,) = torch.autograd.grad(y, x, grad)
    (ex,) = torch.autograd.grad(expected, x64, grad.double())
    torch.testing.assert_close(dx.double(), ex, rtol=COMPOSITE_TOL[dtype], atol=COMPOSITE_TOL[dtype])


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
    ours, theirs = kept_bytes(actops.swiglu, gate, up), kept_bytes(composite_swiglu, gate, up)
    assert ours == 2 * gate.numel() * 4 < theirs
    x = torch.randn(64, 512, requires_grad=True)
    ours = kept_bytes(lambda x: actops.swiglu(x, dim=-1), x)
    theirs = kept_bytes(lambda x: composite_swiglu(*x.chunk(2, -1)), x)
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


def test_swiglu_empty_inputs():
    assert actops.swiglu(torch.randn(0, 8)).shape == (0, 4)
    assert actops.swiglu(torch.randn(0, 4), torch.randn(4)).shape == (0, 4)


def swiglu_layers():
    return [actops.nn.SwiGLU(6, 5), actops.nn.SwiGLU(6, 5, bias=False)]


@pytest.mark.parametrize("index", range(2))
def test_swiglu_layers_match_their_definition(index):
    layer = swiglu_layers()[index].double()
    x = torch.randn(4, 7, 6, dtype=torch.float64)
    y = layer(x)
    assert y.shape == (4, 7, 5)
    w, v = layer.proj.weight.chunk(2, 0)
    b, c = layer.proj.bias.chunk(2, 0) if layer.proj.bias is not None else (0.0, 0.0)
    expected = F.silu(x @ w.T + b) * (x @ v.T + c)
    torch.testing.assert_close(y, expected)
    assert "in_features=6, out_features=5" in repr(layer)


@pytest.mark.parametrize("index", range(2))
def test_swiglu_layers_torchscript_save_load(index, tmp_path):
    assert_scripted_layer_matches(swiglu_layers()[index].double(), tmp_path)


@pytest.mark.parametrize("index", range(2))
def test_swiglu_layers_torch_compile_fullgraph(index):
    assert_compiled_layer_matches(swiglu_layers()[index])


def test_swiglu_split_torch_compile_with_broadcasting():
    torch._dynamo.reset()
    gate = torch.randn(4, 8, requires_grad=True)
    up = torch.randn(8, requires_grad=True)
    compiled = torch.compile(actops.swiglu, fullgraph=True)
    y = compiled(gate, up)
    grads = torch.autograd.grad(y.sum(), (gate, up))
    expected = torch.autograd.grad(actops.swiglu(gate, up).sum(), (gate, up))
    torch.testing.assert_close(grads, expected)
