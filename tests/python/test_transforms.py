"""torch.func transforms and forward-mode AD through every actops op.

Each op, in float64, against a composite twin written with plain torch ops:
grad, vjp, jacrev, jvp, jacfwd, hessian, second derivatives in all four
orders of forward and reverse mode (jacfwd(jacrev), jacrev(jacrev),
jacrev(jacfwd), jacfwd(jacfwd)), forward-mode dual tensors, vmap of
the forward (every in_dims pattern, the parameter alone batched included) and
per-sample gradients (vmap over grad). Then the vmap batching rules of every
op, forward and backward, called directly: they run the op once on the whole
batch and never reach vmap's per-sample fallback. Then type promotion (as
torch.mul promotes) and autocast.

Every test runs with vmap's fallback switched off, so an op without a
batching rule is an error, not a slow loop with a warning."""

from __future__ import annotations

import dataclasses
import sys
import warnings
from typing import Callable

import pytest
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from torch.func import grad, hessian, jacfwd, jacrev, jvp, vjp, vmap
from torch.profiler import ProfilerActivity, profile

import actops
import actops._batching as batching
from actops import registry
from conftest import by_registry_name, form, parameter_value

batching.register_batching_rules()

ops = torch.ops.actops
TH = 0.5  # trelu's threshold
RTOL, ATOL = 1e-10, 1e-12
BATCH = 3


def assert_same(actual, expected):
    torch.testing.assert_close(actual, expected, rtol=RTOL, atol=ATOL)


@pytest.fixture(autouse=True)
def no_vmap_fallback(capfd):
    """vmap's per-sample fallback off, so an op without a batching rule raises
    instead of looping; and no 'performance drop' warning, which functorch
    prints from C++ (to stderr, not through Python's warnings), nor through
    Python's warnings."""
    fallback = torch._C._functorch._is_vmap_fallback_enabled()
    torch._C._functorch._set_vmap_fallback_enabled(False)
    torch._C._functorch._set_vmap_fallback_warning_enabled(True)  # the default
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        torch._C._functorch._set_vmap_fallback_enabled(fallback)
    out, err = capfd.readouterr()
    sys.stdout.write(out)
    sys.stderr.write(err)
    messages = [str(w.message) for w in caught] + [err, out]
    slow = [m for m in messages if "performance drop" in m or "batching rule" in m]
    assert not slow, slow


# ---- inputs ----------------------------------------------------------------------


def away_from(x: torch.Tensor, points, gap: float = 0.15) -> torch.Tensor:
    """x with every value within `gap` of a kink moved 2 * gap away from it."""
    for p in points:
        x = torch.where((x - p).abs() < gap, torch.where(x >= p, x + 2 * gap, x - 2 * gap), x)
    return x


def randn(*shape, scale: float = 2.0, offset: float = 0.0, kinks=()) -> torch.Tensor:
    return away_from(offset + scale * torch.randn(shape, dtype=torch.float64), kinks)


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    op: Callable  # the actops op over the case's tensor inputs
    reference: Callable  # the same function from plain torch ops
    make: Callable[[], tuple]  # float64 inputs, away from kinks and ties
    linear: bool = False  # piecewise linear in its inputs jointly: every second derivative is 0

    def __str__(self) -> str:
        return self.name


def x_input(kinks=()):
    return lambda: (randn(2, 3, 4, kinks=kinks),)


def with_parameter(value: float, shape, kinks=()):
    return lambda: (randn(2, 3, 4, kinks=kinks), randn(*shape, scale=0.3, offset=value))


def transform_case(entry: registry.Op, op: str, label: str = "", make=None, linear: bool = False, **scalars) -> Case:
    """A case of one of the entry's ops (conftest.Form), its reference the
    registry's formula; tensors from make, else generic ones (2, 3, 4)."""
    f = form(entry, op, shape=(2, 3, 4), **scalars)
    return Case(
        label or op,
        lambda *tensors: f.call_op(tensors),
        lambda *tensors: entry.reference(**f.python_arguments(tensors)),
        make or (lambda: f.make(torch.float64)),
        linear,
    )


# The cases of each op the functions call, keyed by registry op: labels,
# scalar arguments, inputs (away from kinks and ties), and whether it is
# piecewise linear; an op not listed gets one generic case.
CASE_DATA = by_registry_name(
    {
        "mish": [dict(make=x_input())],
        "relu2": [dict(make=x_input(kinks=(0.0,)))],
        "gelu": [
            dict(label="gelu", approximate="none", make=x_input()),
            dict(label="gelu[tanh]", approximate="tanh", make=x_input()),
        ],
        "swish": [dict(label="swish[beta=1.7]", beta=1.7, make=x_input())],
        "swish_learnable": [
            dict(label="swish_learnable[scalar]", make=with_parameter(1.3, ())),
            dict(label="swish_learnable[channel]", make=with_parameter(1.3, (3, 1))),
        ],
        "trelu": [dict(threshold=TH, alpha=0.1, make=x_input(kinks=(TH,)), linear=True)],
        "trelu_learnable": [
            dict(label="trelu_learnable[scalar]", threshold=TH, make=with_parameter(0.2, (), kinks=(TH,))),
            dict(label="trelu_learnable[channel]", threshold=TH, make=with_parameter(0.2, (3, 1), kinks=(TH,))),
        ],
        "swiglu": [
            dict(make=lambda: (randn(2, 3, 4), randn(2, 3, 4, scale=1.0))),
            dict(label="swiglu[broadcast]", make=lambda: (randn(2, 1, 4), randn(3, 4, scale=1.0))),
        ],
        "swiglu_packed": [
            dict(label="swiglu_packed[dim=-1]", dim=-1, make=lambda: (randn(3, 8),)),
            dict(label="swiglu_packed[dim=0]", dim=0, make=lambda: (randn(4, 3),)),
        ],
        "maxout": [
            dict(pieces=3, dim=1, make=lambda: (randn(2, 6, 3),), linear=True),
            dict(label="maxout[dim=-1]", pieces=2, dim=-1, make=lambda: (randn(3, 8),), linear=True),
        ],
    },
    "CASE_DATA",
)
CASES = [
    transform_case(entry, op, **data)
    for entry in registry.OPS
    for op in entry.function_ops
    for data in CASE_DATA.get(op, [{}])
]
case_params = pytest.mark.parametrize("case", CASES, ids=str)


def argnums(inputs) -> tuple:
    return tuple(range(len(inputs)))


def weighted_sum(f, weight):
    """A scalar loss of f: sum(f(*inputs) * weight)."""
    return lambda *inputs: (f(*inputs) * weight).sum()


def loss_pair(case, inputs):
    weight = torch.randn_like(case.reference(*inputs))
    return weighted_sum(case.op, weight), weighted_sum(case.reference, weight)


# in_dims patterns: every input batched at 0, every input batched at its last
# dim, and (for ops of several tensors) each input alone batched
def in_dims_patterns(case):
    n = len(case.make())
    patterns = {"all@0": (0,) * n, "all@-1": (-1,) * n}
    if n > 1:
        for i in range(n):
            patterns[f"only{i}"] = tuple(0 if j == i else None for j in range(n))
    return patterns


VMAP_PARAMS = [
    pytest.param(case, in_dims, id=f"{case}-{name}")
    for case in CASES
    for name, in_dims in in_dims_patterns(case).items()
]
vmap_params = pytest.mark.parametrize("case, in_dims", VMAP_PARAMS)


def batched_inputs(case, in_dims):
    """(batched inputs for vmap, the inputs of each sample)."""
    samples = [case.make() for _ in range(BATCH)]
    batched = tuple(
        torch.stack([s[i] for s in samples], dim=d) if d is not None else samples[0][i] for i, d in enumerate(in_dims)
    )
    per_sample = [
        tuple(samples[b][i] if d is not None else samples[0][i] for i, d in enumerate(in_dims)) for b in range(BATCH)
    ]
    return batched, per_sample


def stack_outputs(outputs):
    if isinstance(outputs[0], tuple):
        return tuple(stack_outputs([o[i] for o in outputs]) for i in range(len(outputs[0])))
    return torch.stack(outputs)


# ---- first derivatives -------------------------------------------------------------


@case_params
def test_values(case):
    inputs = case.make()
    assert_same(case.op(*inputs), case.reference(*inputs))


@case_params
def test_grad(case):
    inputs = case.make()
    loss, loss_ref = loss_pair(case, inputs)
    assert_same(grad(loss, argnums(inputs))(*inputs), grad(loss_ref, argnums(inputs))(*inputs))


@case_params
def test_grad_and_value_of_each_input(case):
    inputs = case.make()
    loss, loss_ref = loss_pair(case, inputs)
    for i in argnums(inputs):
        got = torch.func.grad_and_value(loss, i)(*inputs)
        assert_same(got, torch.func.grad_and_value(loss_ref, i)(*inputs))
        assert got[0].shape == inputs[i].shape


@case_params
def test_vjp(case):
    inputs = case.make()
    out, pullback = vjp(case.op, *inputs)
    out_ref, pullback_ref = vjp(case.reference, *inputs)
    assert_same(out, out_ref)
    cotangent = torch.randn_like(out_ref)
    assert_same(pullback(cotangent), pullback_ref(cotangent))


@case_params
def test_jacrev(case):
    inputs = case.make()
    assert_same(jacrev(case.op, argnums(inputs))(*inputs), jacrev(case.reference, argnums(inputs))(*inputs))


@case_params
def test_jvp(case):
    inputs = case.make()
    tangents = tuple(torch.randn_like(t) for t in inputs)
    assert_same(jvp(case.op, inputs, tangents), jvp(case.reference, inputs, tangents))


@case_params
def test_jacfwd(case):
    inputs = case.make()
    assert_same(jacfwd(case.op, argnums(inputs))(*inputs), jacfwd(case.reference, argnums(inputs))(*inputs))


@case_params
def test_jacfwd_equals_jacrev(case):
    inputs = case.make()
    assert_same(jacfwd(case.op, argnums(inputs))(*inputs), jacrev(case.op, argnums(inputs))(*inputs))


@case_params
def test_forward_ad_dual_tensors(case):
    inputs = case.make()
    tangents = tuple(torch.randn_like(t) for t in inputs)
    # every input dual, then each input alone dual (the others plain tensors)
    patterns = [tuple(argnums(inputs))] + ([(i,) for i in argnums(inputs)] if len(inputs) > 1 else [])
    for dual_inputs in patterns:
        with fwAD.dual_level():
            args = [fwAD.make_dual(t, tangents[i]) if i in dual_inputs else t for i, t in enumerate(inputs)]
            primal, tangent = fwAD.unpack_dual(case.op(*args))
        used = tuple(tangents[i] if i in dual_inputs else torch.zeros_like(t) for i, t in enumerate(inputs))
        expected_primal, expected_tangent = jvp(case.reference, inputs, used)
        assert tangent is not None, f"no tangent with dual inputs {dual_inputs}"
        assert_same(primal, expected_primal)
        assert_same(tangent, expected_tangent)


@case_params
def test_forward_ad_through_the_backward(case):
    """Forward-mode AD of the gradient, as plain autograd computes it (create_graph)."""
    inputs = tuple(t.clone().requires_grad_() for t in case.make())
    loss, loss_ref = loss_pair(case, inputs)
    tangents = tuple(torch.randn_like(t) for t in inputs)
    expected = jvp(grad(loss_ref, argnums(inputs)), tuple(t.detach() for t in inputs), tangents)[1]
    with fwAD.dual_level():
        duals = [fwAD.make_dual(t, dt) for t, dt in zip(inputs, tangents)]
        grads = torch.autograd.grad(loss(*duals), duals, create_graph=True)
        got = tuple(fwAD.unpack_dual(g).tangent for g in grads)
    # a piecewise linear op's gradient does not depend on its input: no tangent
    assert case.linear or all(t is not None for t in got)
    got = tuple(torch.zeros_like(e) if t is None else t for t, e in zip(got, expected))
    assert_same(got, expected)


# ---- second derivatives --------------------------------------------------------------


@case_params
def test_hessian(case):
    inputs = case.make()
    loss, loss_ref = loss_pair(case, inputs)
    got = hessian(loss, argnums(inputs))(*inputs)
    assert_same(got, hessian(loss_ref, argnums(inputs))(*inputs))
    if case.linear:
        for row in got:
            for block in row:
                assert not block.any()


@case_params
def test_forward_over_reverse(case):
    inputs = case.make()
    n = argnums(inputs)
    assert_same(jacfwd(jacrev(case.op, n), n)(*inputs), jacfwd(jacrev(case.reference, n), n)(*inputs))


@case_params
def test_reverse_over_reverse(case):
    inputs = case.make()
    n = argnums(inputs)
    assert_same(jacrev(jacrev(case.op, n), n)(*inputs), jacrev(jacrev(case.reference, n), n)(*inputs))


@case_params
def test_reverse_over_forward(case):
    inputs = case.make()
    n = argnums(inputs)
    assert_same(jacrev(jacfwd(case.op, n), n)(*inputs), jacrev(jacfwd(case.reference, n), n)(*inputs))


@case_params
def test_forward_over_forward(case):
    inputs = case.make()
    n = argnums(inputs)
    assert_same(jacfwd(jacfwd(case.op, n), n)(*inputs), jacfwd(jacfwd(case.reference, n), n)(*inputs))


@case_params
def test_double_backward_with_plain_autograd(case):
    """Plain torch.autograd double backward agrees with the composite's, and with torch.func's hessian."""
    inputs = case.make()
    loss, loss_ref = loss_pair(case, inputs)
    results = []
    for f in (loss, loss_ref):
        leaves = tuple(t.clone().requires_grad_() for t in inputs)
        grads = torch.autograd.grad(f(*leaves), leaves, create_graph=True)
        dot = sum(g.sum() for g in grads)  # the hessian times a vector of ones
        if not dot.requires_grad:  # piecewise linear: the gradient is constant
            results.append(tuple(torch.zeros_like(t) for t in inputs))
            continue
        results.append(torch.autograd.grad(dot, leaves, allow_unused=True, materialize_grads=True))
    assert_same(results[0], results[1])


# ---- vmap ------------------------------------------------------------------------------


@vmap_params
def test_vmap_forward(case, in_dims):
    batched, per_sample = batched_inputs(case, in_dims)
    got = vmap(case.op, in_dims=in_dims)(*batched)
    assert_same(got, stack_outputs([case.reference(*s) for s in per_sample]))


@vmap_params
def test_vmap_of_grad_per_sample_gradients(case, in_dims):
    batched, per_sample = batched_inputs(case, in_dims)
    loss, loss_ref = loss_pair(case, per_sample[0])
    n = argnums(batched)
    got = vmap(grad(loss, n), in_dims=in_dims)(*batched)
    expected = stack_outputs([grad(loss_ref, n)(*s) for s in per_sample])
    assert_same(got, expected)


@vmap_params
def test_vmap_of_jvp(case, in_dims):
    batched, per_sample = batched_inputs(case, in_dims)
    tangents = tuple(torch.randn_like(t) for t in per_sample[0])
    got = vmap(lambda *a: jvp(case.op, a, tangents), in_dims=in_dims)(*batched)
    assert_same(got, stack_outputs([jvp(case.reference, s, tangents) for s in per_sample]))


@case_params
def test_vmap_of_hessian(case):
    in_dims = (0,) * len(case.make())
    batched, per_sample = batched_inputs(case, in_dims)
    loss, loss_ref = loss_pair(case, per_sample[0])
    n = argnums(batched)
    got = vmap(hessian(loss, n))(*batched)
    expected = stack_outputs([hessian(loss_ref, n)(*s) for s in per_sample])
    assert_same(got, expected)


@case_params
def test_grad_of_vmap(case):
    """The batching rule sits below the op's autograd: grad(vmap(f)) differentiates through it."""
    in_dims = (0,) * len(case.make())
    batched, per_sample = batched_inputs(case, in_dims)
    weight = torch.randn_like(stack_outputs([case.reference(*s) for s in per_sample]))
    n = argnums(batched)
    got = grad(lambda *a: (vmap(case.op)(*a) * weight).sum(), n)(*batched)
    expected = grad(lambda *a: (vmap(case.reference)(*a) * weight).sum(), n)(*batched)
    assert_same(got, expected)


@case_params
def test_nested_vmap(case):
    samples = torch.stack(
        [torch.stack([torch.cat([t.flatten() for t in case.make()]) for _ in range(2)]) for _ in range(BATCH)]
    )
    shapes = [t.shape for t in case.make()]

    def unpack(flat):
        sizes = [s.numel() for s in shapes]
        return [p.reshape(s) for p, s in zip(flat.split(sizes), shapes)]

    got = vmap(vmap(lambda flat: case.op(*unpack(flat))))(samples)
    expected = vmap(vmap(lambda flat: case.reference(*unpack(flat))))(samples)
    assert_same(got, expected)


# ---- the batching rules of every op, called directly -------------------------------------


def _x():
    return randn(2, 3, 4)


def _p():
    return randn(3, 1, scale=0.3, offset=0.7)


def _maxout_indices():
    return ops.maxout_with_indices(randn(2, 6, 3), 3, 1)[1]


# op name (before any '[') -> sample arguments of one sample
OP_SAMPLES = {
    "mish": lambda: (_x(),),
    "mish_backward": lambda: (_x(), _x()),
    "mish_double_backward": lambda: (_x(), _x()),
    "relu2": lambda: (_x(),),
    "relu2_backward": lambda: (_x(), _x()),
    "relu2_double_backward": lambda: (_x(), _x()),
    "gelu": lambda: (_x(), "tanh"),
    "gelu[default]": lambda: (_x(),),
    "gelu_backward": lambda: (_x(), _x(), "none"),
    "gelu_double_backward": lambda: (_x(), _x(), "tanh"),
    "swish": lambda: (_x(), 1.3),
    "swish_backward": lambda: (_x(), _x(), 1.3),
    "swish_double_backward": lambda: (_x(), _x(), 1.3),
    "swish_learnable": lambda: (_x(), _p()),
    "swish_learnable[scalar]": lambda: (_x(), _p()[0, 0]),
    "swish_learnable_backward": lambda: (_x(), _x(), _p()),
    "swish_learnable_backward[scalar]": lambda: (_x(), _x(), _p()[0, 0]),
    "swish_learnable_double_backward": lambda: (_x(), _p(), _x(), _x(), _p()),
    "trelu": lambda: (_x(), TH, 0.1),
    "trelu_with_mask": lambda: (_x(), TH, 0.1),
    "trelu_backward": lambda: (_x(), _x() > TH, 0.1),
    "trelu_learnable": lambda: (_x(), _p(), TH),
    "trelu_learnable_backward": lambda: (_x(), _x(), _p(), TH),
    "trelu_learnable_backward[scalar]": lambda: (_x(), _x(), _p()[0, 0], TH),
    "trelu_learnable_double_backward": lambda: (_x(), _p(), _x(), _x(), _p(), TH),
    "swiglu": lambda: (randn(2, 1, 4), randn(3, 4)),
    "swiglu_backward": lambda: (_x(), randn(2, 1, 4), randn(3, 4), 1.0, None, 0.0),
    "swiglu_double_backward": lambda: (randn(2, 1, 4), randn(3, 4), _x(), randn(2, 1, 4), randn(3, 4), 1.7, 1.5, 1.0),
    "swiglu_packed": lambda: (randn(4, 6), -1),
    "swiglu_packed[dim=0]": lambda: (randn(4, 6), 0),
    "swiglu_packed[default]": lambda: (randn(4, 6),),
    "swiglu_packed_backward": lambda: (randn(4, 3), randn(4, 6), -1, "gate_up", 1.0, None, 0.0),
    "swiglu_packed_backward[dim=0]": lambda: (randn(2, 6), randn(4, 6), 0, "interleaved", 1.7, 1.5, 1.0),
    "geglu": lambda: (randn(2, 1, 4), randn(3, 4)),
    "geglu_backward": lambda: (_x(), randn(2, 1, 4), randn(3, 4), "tanh", None, 0.0),
    "geglu_double_backward": lambda: (randn(2, 1, 4), randn(3, 4), _x(), randn(2, 1, 4), randn(3, 4), "none", 1.5, 1.0),
    "geglu_packed": lambda: (randn(4, 6), -1),
    "geglu_packed_backward": lambda: (randn(4, 3), randn(4, 6), -1, "up_gate", "none", None, 0.0),
    "reglu": lambda: (randn(2, 1, 4), randn(3, 4)),
    "reglu_backward": lambda: (_x(), randn(2, 1, 4), randn(3, 4), None, 0.0),
    "reglu_double_backward": lambda: (randn(2, 1, 4), randn(3, 4), _x(), randn(2, 1, 4), randn(3, 4), 1.5, 1.0),
    "reglu_packed": lambda: (randn(4, 6), 0),
    "reglu_packed_backward": lambda: (randn(2, 6), randn(4, 6), 0, "interleaved", None, 0.0),
    "maxout": lambda: (randn(2, 6, 3), 3, 1),
    "maxout[dim=-1]": lambda: (randn(2, 6, 4), 2, -1),
    "maxout[default]": lambda: (randn(2, 6, 3), 3),
    "maxout_with_indices": lambda: (randn(2, 6, 3), 3, 1),
    "maxout_backward": lambda: (randn(2, 2, 3), _maxout_indices(), 3, 1),
}


def op_in_dims(args):
    tensors = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
    patterns = {"all@0": {i: 0 for i in tensors}, "all@-1": {i: -1 for i in tensors}}
    if len(tensors) > 1:
        for i in tensors:
            patterns[f"only{i}"] = {i: 0}
    return {name: tuple(p.get(i) for i in range(len(args))) for name, p in patterns.items()}


def generic_sample(entry: registry.Op, op: str) -> Callable[[], tuple]:
    """Sample arguments of an op the table above does not list: every tensor
    (2, 3, 4) but the learnable parameter and its gradients' seeds (3, 1), a
    mask bool, and the scalars at the function's defaults."""
    schema = getattr(ops, op).default._schema
    parameter = entry.learnable

    def make():
        args = []
        for argument in schema.arguments:
            if argument.name in entry.parameters:
                args.append(entry.defaults.get(argument.name, 2))
            elif parameter and argument.name in (parameter, f"gg_{parameter}"):
                args.append(_p())
            elif argument.name == "mask":
                args.append(_x() > 0)
            else:
                args.append(_x())
        return tuple(args)

    return make


# every op of the registry: forward, saving and backward forms (not out= or in place)
EXPECTED_OPS = [op for entry in registry.OPS for op in entry.forward_ops + entry.backward_ops]
for _entry in registry.OPS:
    for _op in _entry.forward_ops + _entry.backward_ops:
        OP_SAMPLES.setdefault(_op, generic_sample(_entry, _op))
OP_PARAMS = [
    pytest.param(name, pattern, id=f"{name}-{pattern}")
    for name, make in OP_SAMPLES.items()
    for pattern in op_in_dims(make())
]


@pytest.mark.parametrize("name, pattern", OP_PARAMS)
def test_batching_rule_of_every_op(name, pattern):
    op = getattr(ops, name.split("[")[0])
    samples = [OP_SAMPLES[name]() for _ in range(7)]
    in_dims = op_in_dims(samples[0])[pattern]
    batched = [
        torch.stack([s[i] for s in samples], d) if d is not None else a
        for i, (a, d) in enumerate(zip(samples[0], in_dims))
    ]
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        got = vmap(op, in_dims=in_dims)(*batched)
    expected = stack_outputs(
        [op(*(s[i] if d is not None else samples[0][i] for i, d in enumerate(in_dims))) for s in samples]
    )
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)
    # the vmapped call and the rule's one call on the whole batch, no per-sample calls
    calls = sum(1 for e in prof.events() if e.name == f"actops::{op.__name__}")
    assert calls <= 2, f"actops::{op.__name__} ran {calls} times for one vmapped call of 7 samples"


def test_every_op_has_a_batching_rule():
    defined = {n.split("::")[1] for n in torch._C._dispatch_get_all_op_names() if n.startswith("actops::")}
    assert set(EXPECTED_OPS) <= defined, f"ops missing from the library: {sorted(set(EXPECTED_OPS) - defined)}"
    assert set(OP_SAMPLES) and {n.split("[")[0] for n in OP_SAMPLES} == set(EXPECTED_OPS)
    # out= overloads ("mish.out") write a tensor the caller passed beside
    # the batched ones: no batching rule, as ATen's have none. The in-place
    # ops ("mish_") have one, as ATen's do.
    out_forms = {n for n in defined if "." in n}
    assert {"mish.out", "swiglu_packed.out", "maxout.out"} <= out_forms
    inplace = {n for n in defined - out_forms if getattr(ops, n).default._schema.is_mutable}
    assert {"mish_", "trelu_", "trelu_with_mask_"} <= inplace
    without = sorted(
        n
        for n in defined - {"cpu_capability"} - out_forms
        if not torch._C._dispatch_has_kernel_for_dispatch_key(f"actops::{n}", "FuncTorchBatched")
    )
    assert not without, f"no batching rule: {without}"


INPLACE = [entry for entry in registry.OPS if entry.inplace_function is not None]


@pytest.mark.parametrize("in_dim", [0, 1])
@pytest.mark.parametrize("entry", INPLACE, ids=str)
def test_vmap_of_an_inplace_op_writes_the_batch_in_place(entry, in_dim):
    # one call on the whole batch (the fixture refuses the per-sample
    # fallback), x overwritten with the out-of-place op's values
    x = torch.randn(4, 6, dtype=torch.float64)
    expected = entry.function(x)
    y = x.clone()
    out = vmap(entry.inplace_function, in_dims=in_dim, out_dims=in_dim)(y)
    assert torch.equal(y, expected)
    assert torch.equal(out, expected)


@pytest.mark.parametrize("entry", INPLACE, ids=str)
def test_vmap_of_grad_through_an_inplace_op(entry):
    # grad records the in-place op (trelu_ through trelu_with_mask_, the
    # others through a saved copy); vmap batches what it calls
    x = torch.randn(5, 7, dtype=torch.float64)
    got = vmap(grad(lambda t: entry.inplace_function(t * 1.0).sum()))(x)
    expected = vmap(grad(lambda t: entry.function(t).sum()))(x)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_registering_twice_changes_nothing():
    before = batching.registered_ops()
    batching.register_batching_rules()
    batching.register_batching_rules()
    assert batching.registered_ops() == before
    x = torch.randn(3, 4, dtype=torch.float64)
    assert_same(vmap(ops.mish)(x), F.mish(x))


def test_the_fallback_checks_catch_an_op_without_a_rule(capfd):
    """The autouse fixture's two checks work: with the fallback off, an op
    with no rule raises; with it on, functorch prints its 'performance drop'
    warning to stderr, which the fixture reads."""
    lib = torch.library.Library("actops_transforms_test", "DEF")
    lib.define("twice(Tensor x) -> Tensor")
    lib.impl("twice", lambda x: x * 2, "CPU")
    twice = torch.ops.actops_transforms_test.twice
    with pytest.raises(RuntimeError, match="vmap fallback"):
        vmap(twice)(torch.randn(3, 2))
    torch._C._functorch._set_vmap_fallback_enabled(True)
    try:
        torch.testing.assert_close(vmap(twice)(torch.ones(3, 2)), torch.full((3, 2), 2.0))
    finally:
        torch._C._functorch._set_vmap_fallback_enabled(False)
    assert "performance drop" in capfd.readouterr().err  # read here, so the fixture sees none


def test_rule_expands_rather_than_copies_unbatched_inputs():
    """Unbatched inputs reach the op as expanded views of themselves, padded on
    the left so that broadcasting lines up, and gradients come back in each
    input's logical shape."""
    seen = []

    def spy(x, beta):
        seen.append((x, beta))
        return x * beta

    class Info:
        batch_size = 4

    rule = batching._broadcast_rule(spy, None)
    x = torch.randn(4, 2, 3, 5)
    beta = torch.randn(3, 1)
    out, out_dims = rule(Info(), (0, None), x, beta)
    assert out_dims == 0 and out.shape == (4, 2, 3, 5)
    _, seen_beta = seen[-1]
    assert seen_beta.shape == (4, 1, 3, 1) and seen_beta.stride(0) == 0
    assert seen_beta.data_ptr() == beta.data_ptr()
    # x unbatched, beta batched at its dim 1: x is expanded too
    x = torch.randn(2, 3, 5)
    beta = torch.randn(3, 4, 1)
    out, out_dims = rule(Info(), (None, 1), x, beta)
    assert out_dims == 0
    torch.testing.assert_close(out, x * beta.movedim(1, 0)[:, None])
    seen_x, seen_beta = seen[-1]
    assert seen_x.shape == (4, 2, 3, 5) and seen_x.stride(0) == 0 and seen_x.data_ptr() == x.data_ptr()
    assert seen_beta.shape == (4, 1, 3, 1)

    def backward(grad, x, beta):  # reduces to the (padded) parameter shape, as the ops do
        return grad * beta, (grad * x).sum_to_size(beta.shape)

    rule = batching._broadcast_rule(backward, (1, 2))
    grad = torch.randn(4, 2, 3, 5)
    (dx, dbeta), out_dims = rule(Info(), (0, None, 1), grad, x, beta)
    assert out_dims == (0, 0) and dx.shape == (4, 2, 3, 5) and dbeta.shape == (4, 3, 1)
    torch.testing.assert_close(dbeta, (grad * x).sum(1).sum(-1, keepdim=True))


# ---- type promotion and autocast ----------------------------------------------------------

TOL = {torch.float64: 1e-12, torch.float32: 1e-5, torch.bfloat16: 1e-2, torch.float16: 2e-3}


def test_swiglu_promotes_like_mul():
    gate = torch.randn(4, 8).to(torch.bfloat16).requires_grad_()
    up = torch.randn(4, 8, requires_grad=True)
    y = actops.swiglu(gate, up)
    assert y.dtype == torch.float32 == torch.result_type(gate, up)
    expected = F.silu(gate.float()) * up
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-6)
    grad_out = torch.randn_like(y)
    dg, du = torch.autograd.grad(y, (gate, up), grad_out)
    eg, eu = torch.autograd.grad(expected, (gate, up), grad_out)
    assert dg.dtype == torch.bfloat16 and du.dtype == torch.float32
    torch.testing.assert_close(dg, eg, rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(du, eu, rtol=1e-5, atol=1e-6)
    # the other way round, and broadcasting
    y = actops.swiglu(up.detach()[:1], gate.detach())
    assert y.dtype == torch.float32 and y.shape == (4, 8)
    torch.testing.assert_close(y, F.silu(up.detach()[:1]) * gate.detach().float(), rtol=1e-5, atol=1e-6)


# ops with a learnable argument: (the function of x and it, its reference, its value), keyed by
# registry name; the starting values and other arguments where not the defaults
PARAMETRIC_DATA = by_registry_name({"swish": (1.3, {}), "trelu": (0.2, {"threshold": TH})}, "PARAMETRIC_DATA")


def parametric(entry: registry.Op):
    initial, scalars = PARAMETRIC_DATA.get(entry.name, (parameter_value(entry), {}))
    return (
        lambda x, p: entry.function(x, **scalars, **{entry.learnable: p}),
        lambda x, p: entry.reference(x, **scalars, **{entry.learnable: p}),
        initial,
    )


PARAMETRIC = {entry.name: parametric(entry) for entry in registry.OPS if entry.learnable}


@pytest.mark.parametrize("op", list(PARAMETRIC))
@pytest.mark.parametrize(
    "x_dtype, p_dtype, p_shape",
    [
        (torch.bfloat16, torch.float32, (3, 1)),  # -> float32
        (torch.bfloat16, torch.float32, ()),  # 0-d: -> bfloat16
        (torch.float32, torch.bfloat16, (3, 1)),  # -> float32
        (torch.float32, torch.float64, (3, 1)),  # -> float64
        (torch.float16, torch.bfloat16, (3, 1)),  # -> float32
        (torch.float16, torch.float64, ()),  # 0-d: -> float16
    ],
    ids=str,
)
def test_parametric_ops_promote_like_mul(op, x_dtype, p_dtype, p_shape):
    function, reference, initial = PARAMETRIC[op]
    x = away_from(torch.randn(2, 3, 4, dtype=torch.float64) * 3, (TH,), 0.1).to(x_dtype).requires_grad_()
    p = (initial + 0.3 * torch.randn(p_shape, dtype=torch.float64)).to(p_dtype).requires_grad_()
    y = function(x, p)
    expected_dtype = torch.result_type(x, p)
    assert y.dtype == expected_dtype and y.shape == x.shape
    x64, p64 = x.detach().double().requires_grad_(), p.detach().double().requires_grad_()
    expected = reference(x64, p64)
    tol = TOL[expected_dtype]
    torch.testing.assert_close(y.double(), expected, rtol=tol, atol=tol)
    grad_out = torch.randn_like(y)
    dx, dp = torch.autograd.grad(y, (x, p), grad_out)
    ex, ep = torch.autograd.grad(expected, (x64, p64), grad_out.double())
    assert dx.dtype == x_dtype and dp.dtype == p_dtype and dp.shape == p.shape
    tol = 10 * max(TOL[expected_dtype], TOL[x_dtype], TOL[p_dtype])
    torch.testing.assert_close(dx.double(), ex, rtol=tol, atol=tol)
    torch.testing.assert_close(dp.double(), ep, rtol=tol, atol=tol * max(1.0, ep.abs().max().item()))


class Block(torch.nn.Module):
    """Linear -> Swish(learnable, per channel) -> Linear -> TReLU(learnable alpha) -> SwiGLU."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 8)
        self.swish = actops.nn.Swish(beta=1.2, learnable=True, num_parameters=8)
        self.fc2 = torch.nn.Linear(8, 8)
        self.trelu = actops.nn.TReLU(threshold=TH, alpha=0.1, learnable=True, num_parameters=8)
        self.glu = actops.nn.SwiGLU(8, 4)

    def forward(self, x, composite: bool = False):
        stages = []
        h = self.fc1(x)
        h = h * torch.sigmoid(self.swish.beta * h) if composite else self.swish(h)
        stages.append(h)
        h = self.fc2(h)
        h = torch.where(h > TH, h, self.trelu.alpha * h) if composite else self.trelu(h)
        stages.append(h)
        if composite:
            gate, up = self.glu.proj(h).chunk(2, -1)
            h = F.silu(gate) * up
        else:
            h = self.glu(h)
        stages.append(h)
        return h, stages


def test_autocast_model_matches_composite_twin():
    model = Block()
    x = torch.randn(16, 6)
    results = []
    for composite in (False, True):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, stages = model(x, composite)
        weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
        grads = torch.autograd.grad((out.float() * weight).sum(), list(model.parameters()))
        results.append((out, stages, grads))
    (out, stages, grads), (out_ref, stages_ref, grads_ref) = results
    # actops promotes as the composite's mul does: bf16 activations times float32 parameters give float32
    assert [s.dtype for s in stages] == [s.dtype for s in stages_ref] == [torch.float32, torch.float32, torch.bfloat16]
    for s, s_ref in zip(stages, stages_ref):
        torch.testing.assert_close(s.float(), s_ref.float(), rtol=2e-2, atol=2e-2)
    for (name, parameter), g, g_ref in zip(model.named_parameters(), grads, grads_ref):
        assert g.dtype == parameter.dtype, name
        torch.testing.assert_close(g, g_ref, rtol=2e-2, atol=2e-2 * max(1.0, g_ref.abs().max().item()), msg=name)
