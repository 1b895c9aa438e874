"""Accuracy table: every actops op and PyTorch's own op (or the eager composite
a user would write) against the correctly rounded value, in ulps.

    python scripts/accuracy.py                    # dense grids, every op and dtype (a minute or two)
    python scripts/accuracy.py --quick            # small grids (seconds; what CI runs)
    python scripts/accuracy.py --ops mish gelu --dtypes float32 --markdown --json out/accuracy.json
    python scripts/accuracy.py --quick --check    # exit 1, listing every row where actops exceeds its bound

For each op x pass (``fwd``; the first derivative ``d/dx``, or ``d/dgate`` and
``d/dup`` for the gated units in their split form; ``d2/dx2`` for the smooth
unary ops) x dtype it sweeps a grid with the tails, the subnormal
neighbourhood, +-finfo.max, +-inf and NaN (bfloat16 and float16: every value of
the dtype) and reports, for actops and for PyTorch (``F.mish``, ``F.silu``,
``F.gelu``, else the eager composite):

- the max and 99.9th percentile error in ulps of the dtype at the true value
  (the spacing of the dtype there, at least the smallest subnormal), as
  ``raw / conditioned``. Conditioned divides the error by eps * (|h| + sum |x_i
  dh/dx_i|) for the computed quantity h instead: what rounding each input by
  an ulp already costs, the measure of ``assert_close_ulps(scale=...)`` in the
  tests (here without its absolute floor of finfo.tiny: subnormal results are
  measured too). A correctly rounded result is within 0.5 raw ulp.
- ``spurious``: points where the result is NaN, inf or 0 although the true
  value rounded to the dtype is finite and nonzero (for 0: more than 4
  conditioned ulps from 0, beyond the last few subnormals).

Every input is evaluated twice: in a long contiguous tensor (the SIMD loops,
their scalar tails included) and as a view with stride 3 (the scalar loops:
a stride of 2 is still vectorized for the gated units); a row reports the
worse of the two at each point, and the JSON each path's maximum.
Derivatives come from autograd with a gradient of ones (actops: its
registered backward and double-backward ops). Gradients at a NaN input, and
at a kink, are not measured.

References: float64 (torch's own float64 functions, first derivatives by
autograd, second derivatives from closed forms that keep both tails) rounded
to the dtype for float32, bfloat16 and float16: float64 is 29 or more bits
finer than these dtypes and holds every value they produce as a normal
number. float64 itself is measured against mpmath at 50 digits (the same
closed forms), on a few thousand points. The bounds are those the tests
hold (test_elementwise.py, test_exactness.py): float32 and float64 within 4 conditioned ulps (second
derivatives 16); bfloat16 and float16 correctly rounded from the float32
result (1 raw ulp forward, 1 conditioned ulp for derivatives); maxout exact;
no spurious point.

The table goes to stdout (``--markdown``: a markdown table), progress to
stderr, everything to ``--json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import platform
import sys
import time
import types
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import mpmath
import torch
import torch.nn.functional as F

import actops
from actops import registry

Tensor = torch.Tensor
INF = math.inf
DIGITS = 50  # mpmath's working precision for the float64 references
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "float64": torch.float64}
PERCENTILE = 99.9
# beyond this |x| every smooth activation here equals its asymptote (x or 0)
# to far more than 50 digits; mpmath's erfc also overflows for huge arguments
SATURATED = 1e5


# ---- the functions, exactly ------------------------------------------------------


def _sigmoid(z):
    """1 / (1 + exp(-z)) in mpmath."""
    return 1 / (1 + mpmath.exp(-z))


def _saturated(x) -> Optional[Tuple]:
    """(a, a') of a smooth activation with asymptotes x (x -> inf) and 0 (x -> -inf), far out."""
    if x > SATURATED:
        return x, mpmath.mpf(1)
    if x < -SATURATED:
        return mpmath.mpf(0), mpmath.mpf(0)
    return None


def exact_mish(x):
    """(mish(x), mish'(x)) in mpmath."""
    if (far := _saturated(x)) is not None:
        return far
    softplus = mpmath.log1p(mpmath.exp(x))
    t = mpmath.tanh(softplus)
    return x * t, t + x * _sigmoid(x) * mpmath.sech(softplus) ** 2


def exact_swish_of(beta: float) -> Callable:
    """(x sigmoid(beta x), its derivative) in mpmath, beta the float64 given (as the ops take
    it); 1 - sigmoid(z) = sigmoid(-z) keeps both tails exact."""
    b = mpmath.mpf(beta)

    def exact(x):
        if (far := _saturated(x)) is not None:
            return far
        z = b * x
        s = _sigmoid(z)
        return x * s, s + z * s * _sigmoid(-z)

    return exact


exact_swish = exact_swish_of(1.0)


def exact_gelu(x):
    """(x Phi(x), Phi(x) + x phi(x)) in mpmath."""
    if (far := _saturated(x)) is not None:
        return far
    phi = mpmath.erfc(-x / mpmath.sqrt(2)) / 2
    return x * phi, phi + x * mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def exact_gelu_tanh(x):
    """(x sigmoid(2u), its derivative), u = sqrt(2/pi) (x + 0.044715 x^3): the tanh form, with
    1 + tanh(u) = 2 sigmoid(2u), and its constants as the real numbers they name."""
    if (far := _saturated(x)) is not None:
        return far
    k, c = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")
    u = k * (x + c * x**3)
    s, s_neg = _sigmoid(2 * u), _sigmoid(-2 * u)
    return x * s, s + x * s * s_neg * 2 * k * (1 + 3 * c * x * x)


def exact_relu(x):
    """(relu(x), relu'(x)), the derivative 0 at 0 as torch.relu's."""
    return (x, mpmath.mpf(1)) if x > 0 else (mpmath.mpf(0), mpmath.mpf(0))


def exact_relu2(x):
    """(relu(x)^2, 2 relu(x))."""
    return (x * x, 2 * x) if x > 0 else (mpmath.mpf(0), mpmath.mpf(0))


TRELU_THRESHOLD, TRELU_ALPHA = 1.0, 0.1


def exact_trelu(x):
    """x above the threshold, alpha x at or below it; alpha is the double 0.1 the op is given."""
    alpha = mpmath.mpf(TRELU_ALPHA)
    return (x, mpmath.mpf(1)) if x > TRELU_THRESHOLD else (alpha * x, alpha)


# ---- second derivatives, closed forms accurate in both tails ---------------------
# Written once for torch (float64) and mpmath: differentiating a' numerically or by
# autograd cancels in the right tails (1 - tanh^2, 1 - sigmoid), where a'' is tiny.

MP = types.SimpleNamespace(
    sigmoid=_sigmoid,
    exp=mpmath.exp,
    tanh=mpmath.tanh,
    cosh=mpmath.cosh,
    softplus=lambda x: mpmath.log1p(mpmath.exp(x)),
    sqrt=mpmath.sqrt,
    pi=mpmath.pi,
)
TORCH = types.SimpleNamespace(
    sigmoid=torch.sigmoid,
    exp=torch.exp,
    tanh=torch.tanh,
    cosh=torch.cosh,
    softplus=lambda x: torch.logaddexp(x, torch.zeros_like(x)),
    sqrt=math.sqrt,
    pi=math.pi,
)


def mish_second(x, m):
    """sech^2(sp) sigmoid(x) (2 + x sigmoid(-x) - 2 x sigmoid(x) tanh(sp)), sp = softplus(x)."""
    sp, s = m.softplus(x), m.sigmoid(x)
    return s / m.cosh(sp) ** 2 * (2 + x * m.sigmoid(-x) - 2 * x * s * m.tanh(sp))


def swish_second(x, m):
    """sigmoid(x) sigmoid(-x) (2 + x (sigmoid(-x) - sigmoid(x)))."""
    s, s_neg = m.sigmoid(x), m.sigmoid(-x)
    return s * s_neg * (2 + x * (s_neg - s))


def gelu_second(x, m):
    """phi(x) (2 - x^2)."""
    return m.exp(-x * x / 2) / m.sqrt(2 * m.pi) * (2 - x * x)


def gelu_tanh_second(x, m):
    """s s' (4u' + x (s' - s) (2u')^2 + 2 x u''), s = sigmoid(2u), s' = sigmoid(-2u)."""
    k = m.sqrt(2 / m.pi)
    c = mpmath.mpf("0.044715") if m is MP else 0.044715
    u = k * (x + c * x**3)
    du, d2u = k * (1 + 3 * c * x * x), 6 * k * c * x
    s, s_neg = m.sigmoid(2 * u), m.sigmoid(-2 * u)
    return s * s_neg * (4 * du + x * (s_neg - s) * (2 * du) ** 2 + 2 * x * d2u)


# ---- the functions in float64, differentiable by autograd ------------------------


def mish64(x: Tensor) -> Tensor:
    return x * torch.tanh(torch.logaddexp(x, torch.zeros_like(x)))


def swish64(x: Tensor) -> Tensor:
    return x * torch.sigmoid(x)


def gelu64(x: Tensor) -> Tensor:
    return 0.5 * x * torch.special.erfc(-x / math.sqrt(2))


def gelu_tanh64(x: Tensor) -> Tensor:
    # 0.5 x (1 + tanh(u)) = x sigmoid(2u): no cancellation in the negative tail
    return x * torch.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))


def relu2_64(x: Tensor) -> Tensor:
    return torch.relu(x) ** 2


def trelu64(x: Tensor) -> Tensor:
    return torch.where(x > TRELU_THRESHOLD, x, TRELU_ALPHA * x)


@dataclasses.dataclass(frozen=True)
class Activation:
    """A scalar function a(x): the op itself, or the gate of a gated unit."""

    name: str
    float64: Callable[[Tensor], Tensor]  # differentiable twice by autograd (finite x)
    exact: Callable  # mpf x -> (a(x), a'(x)) at DIGITS digits (finite x)
    at_inf: Tuple[Tuple[float, float], Tuple[float, float]]  # (a, a') at +inf, then at -inf
    second: Optional[Callable] = None  # (x, MP or TORCH) -> a''(x): smooth, a d2/dx2 row
    kinks: Tuple[float, ...] = ()  # where a' is not measured: no single right answer


MISH = Activation("mish", mish64, exact_mish, ((INF, 1.0), (0.0, 0.0)), mish_second)
SWISH = Activation("swish", swish64, exact_swish, ((INF, 1.0), (0.0, 0.0)), swish_second)
GELU = Activation("gelu", gelu64, exact_gelu, ((INF, 1.0), (0.0, 0.0)), gelu_second)
GELU_TANH = Activation("gelu_tanh", gelu_tanh64, exact_gelu_tanh, ((INF, 1.0), (0.0, 0.0)), gelu_tanh_second)
RELU = Activation("relu", torch.relu, exact_relu, ((INF, 1.0), (0.0, 0.0)))
RELU2 = Activation("relu2", relu2_64, exact_relu2, ((INF, INF), (0.0, 0.0)))
TRELU = Activation("trelu", trelu64, exact_trelu, ((INF, 1.0), (-INF, TRELU_ALPHA)))
# swish's limits in beta: x sigmoid(0 x) = x / 2; x sigmoid(inf x) = relu(x), 0 at 0,
# where its derivative jumps (every finite beta gives 1/2 there)
# GPT-OSS's and quick_gelu's beta: x sigmoid(1.702 x), whose beta x is not exact in any dtype
QUICK_BETA = 1.702
SWISH_QUICK = Activation(
    "swish_quick",
    lambda x: x * torch.sigmoid(QUICK_BETA * x),
    exact_swish_of(QUICK_BETA),
    ((INF, 1.0), (0.0, 0.0)),
    lambda x, m: QUICK_BETA * swish_second(QUICK_BETA * x, m),
)
HALF = Activation("half", lambda x: x / 2, lambda x: (x / 2, mpmath.mpf(0.5)), ((INF, 0.5), (-INF, 0.5)))
STEP = Activation("step", torch.relu, exact_relu, ((INF, 1.0), (0.0, 0.0)), kinks=(0.0,))


# ---- the ops -----------------------------------------------------------------------

MAXOUT_PIECES = 4


def _one(x: Tensor) -> Tensor:
    """A learnable scalar parameter 1 of x's dtype (the training path of the learnable forms)."""
    return torch.ones((), dtype=x.dtype, requires_grad=True)


@dataclasses.dataclass(frozen=True)
class Op:
    """One row group of the table: f(x) = a(x) ("unary"), f(gate, up) = a(gate) * up ("gated",
    split form) or a max over groups of MAXOUT_PIECES ("maxout", exact)."""

    name: str
    kind: str
    activation: Optional[Activation]
    actops: Callable[..., Tensor]
    torch: Callable[..., Tensor]

    @property
    def passes(self) -> Tuple[str, ...]:
        if self.kind == "gated":
            return ("fwd", "d/dgate", "d/dup")
        return ("fwd", "d/dx") + (("d2/dx2",) if self.activation and self.activation.second else ())

    @property
    def dtypes(self) -> Tuple[str, ...]:
        """The dtypes measured: float64 needs the 50-digit reference, which an op
        without its closed forms here (a row from the registry alone) lacks."""
        exact = self.kind == "maxout" or self.activation.exact is not None
        return tuple(name for name in DTYPES if exact or DTYPES[name] != torch.float64)


# named as in scripts/bench.py; swish_learnable: beta a 0-d tensor 1 that requires grad;
# swish_beta0 and swish_beta_inf: swish's limits in beta; swiglu_beta: beta = 1.702;
# trelu: threshold 1, alpha 0.1.
# An op of the registry without rows here gets one from its registry entry (_registry_op).
_ROWS = {
    op.name: op
    for op in [
        Op("mish", "unary", MISH, actops.mish, F.mish),
        Op("swish", "unary", SWISH, actops.swish, F.silu),
        Op(
            "swish_learnable",
            "unary",
            SWISH,
            lambda x: actops.swish(x, beta=_one(x)),
            lambda x: x * torch.sigmoid(_one(x) * x),
        ),
        Op("swish_beta0", "unary", HALF, lambda x: actops.swish(x, beta=0.0), lambda x: x * torch.sigmoid(0.0 * x)),
        Op("swish_beta_inf", "unary", STEP, lambda x: actops.swish(x, beta=INF), lambda x: x * torch.sigmoid(INF * x)),
        Op("gelu", "unary", GELU, actops.gelu, F.gelu),
        Op(
            "gelu_tanh",
            "unary",
            GELU_TANH,
            lambda x: actops.gelu(x, approximate="tanh"),
            lambda x: F.gelu(x, approximate="tanh"),
        ),
        Op(
            "trelu",
            "unary",
            TRELU,
            lambda x: actops.trelu(x, threshold=TRELU_THRESHOLD, alpha=TRELU_ALPHA),
            lambda x: torch.where(x > TRELU_THRESHOLD, x, TRELU_ALPHA * x),
        ),
        Op("relu2", "unary", RELU2, actops.relu2, lambda x: torch.relu(x) ** 2),
        Op("swiglu", "gated", SWISH, actops.swiglu, lambda g, u: F.silu(g) * u),
        Op(
            "swiglu_beta",
            "gated",
            SWISH_QUICK,
            lambda g, u: actops.swiglu(g, u, beta=QUICK_BETA),
            lambda g, u: g * torch.sigmoid(QUICK_BETA * g) * u,
        ),
        Op("geglu", "gated", GELU, actops.geglu, lambda g, u: F.gelu(g) * u),
        Op("reglu", "gated", RELU, actops.reglu, lambda g, u: torch.relu(g) * u),
        Op(
            "maxout",
            "maxout",
            None,
            lambda x: actops.maxout(x, MAXOUT_PIECES, 0),
            lambda x: x.unflatten(0, (-1, MAXOUT_PIECES)).max(1).values,
        ),
    ]
}


def _entry_of(row: str) -> str:
    """The registry op a row measures: its name, or the name it starts with (swish_learnable)."""
    return next(name for name in sorted(registry.names(), key=len, reverse=True) if row.startswith(name))


def _limits(a: Callable[[Tensor], Tensor]) -> Tuple[Tuple[float, float], Tuple[float, float]]:
    """(a, a') at +inf and -inf of a float64 function: a' by autograd far out (at 1e150 and 3e150:
    NaN where they differ, as for a periodic term), beyond 1e100 taken as infinite; a its value at
    inf, or where the formula gives NaN there (0 * inf) and a' has a limit, its value far out."""

    def settle(v: float) -> float:
        return math.copysign(INF, v) if abs(v) > 1e100 else v

    limits = []
    for sign in (1.0, -1.0):
        values, slopes = [], []
        for far in (1e150, 3e150):
            t = torch.tensor(sign * far, dtype=torch.float64, requires_grad=True)
            value = a(t)
            values.append(settle(value.item()))
            slopes.append(settle(torch.autograd.grad(value, t)[0].item()))
        slope = slopes[0] if slopes[0] == slopes[1] or abs(slopes[0] - slopes[1]) <= 1e-9 * abs(slopes[0]) else math.nan
        at_inf = a(torch.tensor(sign * INF, dtype=torch.float64)).item()
        limits.append((values[0] if math.isnan(at_inf) and not math.isnan(slope) else at_inf, slope))
    return limits[0], limits[1]


def _registry_op(entry: registry.Op) -> Op:
    """A row group from the registry alone: the op at its defaults (a learnable argument that must
    be a tensor: a 0-d tensor 1 that requires grad) against its registry reference formula, in
    float64 the reference the narrower dtypes are measured against; no 50-digit reference, so no
    float64 row. A gated unit's a(g) is its reference with up = 1."""
    own = [a.name for a in entry.schema().arguments if a.name not in entry.tensors()]
    options = {name: entry.defaults[name] for name in own}

    def with_parameter(f: Callable[..., Tensor]) -> Callable[[Tensor], Tensor]:
        if entry.learnable in entry.tensors():
            return lambda x: f(x, **options, **{entry.learnable: _one(x)})
        return lambda x: f(x, **options)

    if entry.kind == "gated":
        a = lambda g: entry.reference(g, torch.ones_like(g), **options)  # noqa: E731
        activation = Activation(entry.name, a, None, _limits(a))
        return Op(entry.name, "gated", activation, lambda g, u: entry.function(g, u, **options), entry.reference)
    if entry.kind == "grouped":
        raise NotImplementedError(f"accuracy.py: no rows for the grouped op {entry.name}: add them to _ROWS")
    a = with_parameter(entry.reference)
    activation = Activation(entry.name, a, None, _limits(a))
    return Op(entry.name, "unary", activation, with_parameter(entry.function), a)


assert {_entry_of(name) for name in _ROWS} <= set(registry.names())
OPS = dict(_ROWS)
for _entry in registry.OPS:
    if _entry.name not in {_entry_of(name) for name in _ROWS}:
        OPS[_entry.name] = _registry_op(_entry)


# ---- grids -------------------------------------------------------------------------

_INT_OF = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bits(x: Tensor) -> Tensor:
    """x's bit patterns, as signed integers of its width."""
    return x.view(_INT_OF[x.element_size()])


def _from_bits(patterns: Tensor, dtype: torch.dtype) -> Tensor:
    """The values of dtype with these bit patterns."""
    return patterns.to(_INT_OF[torch.finfo(dtype).bits // 8]).view(dtype)


def _unique(x: Tensor) -> Tensor:
    """x's distinct values (-0 kept apart from 0), sorted, NaN once at the end."""
    values = _from_bits(torch.unique(_bits(x[~x.isnan()])), x.dtype)
    return torch.cat([values.sort().values, torch.tensor([math.nan], dtype=x.dtype)])


def smallest_subnormal(dtype: torch.dtype) -> float:
    """The dtype's smallest positive value (finfo.tiny * eps)."""
    info = torch.finfo(dtype)
    return info.tiny * info.eps


def specials(dtype: torch.dtype) -> Tensor:
    """0, -0, the smallest subnormal, the smallest normal, finfo.max, +-inf, NaN, 1 and its neighbours."""
    info = torch.finfo(dtype)
    edges = [0.0, smallest_subnormal(dtype), info.tiny, info.max, INF, 1.0, 1.0 + info.eps, 1.0 - info.eps / 2]
    x = torch.tensor(edges, dtype=torch.float64).to(dtype)
    return torch.cat([x, -x, torch.tensor([math.nan], dtype=dtype)])


def bit_sweep(dtype: torch.dtype, count: int) -> Tensor:
    """count values of each sign evenly spaced in bit pattern from 0 to finfo.max: log-uniform
    magnitudes over the whole range, subnormals included."""
    top = _bits(torch.tensor(torch.finfo(dtype).max, dtype=dtype)).item()
    patterns = torch.linspace(0, top, count, dtype=torch.float64).round().to(torch.int64).clamp_max(top)
    x = _from_bits(patterns, dtype)
    return torch.cat([x, -x])


def bit_window(value: float, dtype: torch.dtype, width: int) -> Tensor:
    """The `width` values on each side of `value` (and of -value), adjacent in the dtype."""
    center = _bits(torch.tensor(value, dtype=dtype)).to(torch.int64)
    x = _from_bits((center + torch.arange(-width, width + 1)).clamp_min(0), dtype)
    return torch.cat([x, -x])


def grid(dtype: torch.dtype, quick: bool) -> Tensor:
    """The inputs of every unary row, distinct and sorted (NaN last).

    bfloat16, float16: every value of the dtype (quick: every 8th bit pattern).
    float32: a fine linear grid over [-120, 120] (every tail down to underflow:
    mish and swish reach subnormals below -87, GELU below -13) and a bit-pattern
    sweep of the whole range. float64 (the mpmath reference: a few thousand
    points, a few hundred quick): [-40, 40] (GELU underflows below -38),
    [-760, -680] (mish and swish through float64's subnormals) and a sweep of
    the whole range. Each with the values next to the smallest normal and
    subnormal, and the specials."""
    info = torch.finfo(dtype)
    if dtype in (torch.bfloat16, torch.float16):
        window = 16
        parts = [_from_bits(torch.arange(-(2**15), 2**15, 8 if quick else 1), dtype)]
    elif dtype == torch.float32:
        n_linear, n_sweep, window = (2**12, 2**11, 16) if quick else (2**19, 2**18, 256)
        parts = [torch.linspace(-120, 120, n_linear, dtype=torch.float64).to(dtype), bit_sweep(dtype, n_sweep)]
    else:
        n_linear, n_sweep, window = (160, 60, 2) if quick else (1600, 500, 8)
        parts = [
            torch.linspace(-40, 40, n_linear, dtype=dtype),
            torch.linspace(-760, -680, n_linear // 8, dtype=dtype),
            bit_sweep(dtype, n_sweep),
        ]
    parts += [
        bit_window(info.tiny, dtype, window),
        bit_window(smallest_subnormal(dtype), dtype, window),
        specials(dtype),
    ]
    return _unique(torch.cat(parts))


def op_inputs(op: Op, dtype: torch.dtype, quick: bool) -> Tuple[Tensor, ...]:
    """The op's inputs, contiguous, in dtype. Gated units: the gate sweeps the grid four times,
    with up = 1, up = gate (finite gates: the product reaches overflow and underflow), up
    random with magnitudes in [2^-8, 2^8] and up large: random magnitudes between the
    dtype's largest exponent / 4 and 3/4 (float32: 2^32 to 2^96), where a gate in its deep
    tail still gives a normal product. Maxout: the finite grid (and +-inf, NaN) in a fixed
    shuffled order, so groups of MAXOUT_PIECES have no ties (-0 left out: it ties with 0)."""
    x = grid(dtype, quick)
    generator = torch.Generator().manual_seed(14)
    if op.kind == "unary":
        return (x,)
    if op.kind == "maxout":
        x = x[~((x == 0) & torch.signbit(x))]
        x = x[torch.randperm(x.numel(), generator=generator)]
        return (x[: x.numel() // MAXOUT_PIECES * MAXOUT_PIECES].contiguous(),)
    finite = x[x.isfinite()]
    magnitude = torch.exp2(torch.rand(x.numel(), generator=generator, dtype=torch.float64) * 16 - 8)
    sign = torch.where(torch.rand(x.numel(), generator=generator) < 0.5, -1.0, 1.0).double()
    random_up = (sign * magnitude).to(dtype)
    top = math.log2(torch.finfo(dtype).max)
    large = torch.exp2(top / 4 + torch.rand(x.numel(), generator=generator, dtype=torch.float64) * top / 2)
    large_up = (torch.where(torch.rand(x.numel(), generator=generator) < 0.5, -1.0, 1.0).double() * large).to(dtype)
    gate = torch.cat([x, finite, x, x])
    up = torch.cat([torch.ones_like(x), finite, random_up, large_up])
    return gate, up


# ---- references ----------------------------------------------------------------------

# pass -> (hi, frac, scale: float64; measured: bool): the true value is hi + frac ulps of the
# dtype at hi (frac is 0 for the float64 references of the narrower dtypes, within +-1/2 for
# mpmath's: hi is then the correctly rounded value, subnormal ones too); scale is the
# conditioning |h| + sum_i |x_i dh/dx_i|; gradients are not measured everywhere
Reference = Dict[str, Tuple[Tensor, Tensor, Tensor, Tensor]]


def activation64(act: Activation, x: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """a and its first three derivatives at float64 x: a' by autograd through act.float64, a''
    from its closed form where there is one (else autograd again), the third by autograd of that
    (it only sizes the tolerance of a''); the limits at +-inf (0 for a'' and on), NaN at NaN."""
    finite = x.isfinite()
    with torch.enable_grad():
        leaf = torch.where(finite, x, 0.0).detach().requires_grad_()
        a = act.float64(leaf)
        (a1,) = torch.autograd.grad(a.sum(), leaf, create_graph=True)
        if act.second is not None:
            a2 = act.second(leaf, TORCH)
        elif a1.requires_grad:
            (a2,) = torch.autograd.grad(a1.sum(), leaf, create_graph=True)
        else:
            a2 = torch.zeros_like(a1)
        a3 = torch.autograd.grad(a2.sum(), leaf)[0] if a2.requires_grad else torch.zeros_like(a2)
    values = [a.detach(), a1.detach(), a2.detach(), a3.detach()]
    (a_pos, a1_pos), (a_neg, a1_neg) = act.at_inf
    for k, (pos, neg) in enumerate([(a_pos, a_neg), (a1_pos, a1_neg), (0.0, 0.0), (0.0, 0.0)]):
        v = torch.where(x == INF, pos, torch.where(x == -INF, neg, values[k]))
        values[k] = torch.where(x.isnan(), math.nan, v)
    return tuple(values)


def reference64(op: Op, inputs: Sequence[Tensor]) -> Reference:
    """Each pass's value and conditioning scale |h| + sum_i |x_i dh/dx_i| in float64 (frac = 0)."""
    if op.kind == "maxout":
        return maxout_reference(inputs[0])
    x = inputs[0].double()
    a, a1, a2, a3 = activation64(op.activation, x)
    zero = torch.zeros_like(x)
    if op.kind == "unary":
        passes = {
            "fwd": (a, a.abs() + (x * a1).abs()),
            "d/dx": (a1, a1.abs() + (x * a2).abs()),
            "d2/dx2": (a2, a2.abs() + (x * a3).abs()),
        }
    else:
        u = inputs[1].double()
        passes = {
            "fwd": (a * u, 2 * (a * u).abs() + (x * a1 * u).abs()),
            "d/dgate": (a1 * u, 2 * (a1 * u).abs() + (x * a2 * u).abs()),
            "d/dup": (a, a.abs() + (x * a1).abs()),
        }
    # where the scale's own float64 arithmetic fails (0 * inf far out) fall back to plain relative;
    # a derivative at a NaN input is not measured: NaN, and a piecewise op's branch value (as
    # torch.relu's gradient gives), are both fair answers; nor at a kink
    everywhere, smooth = torch.ones_like(x, dtype=torch.bool), ~x.isnan()
    for kink in op.activation.kinks:
        smooth &= x != kink
    return {
        p: (v, zero, torch.where(s.isfinite(), s, v.abs()), everywhere if p in ("fwd", "d/dup") else smooth)
        for p, (v, s) in passes.items()
        if p in op.passes
    }


def maxout_reference(x: Tensor) -> Reference:
    """The max of each group (NaN if it holds one) and the gradient of ones sent to its first
    maximum (NaN counting as the maximum), as torch.max picks: exact."""
    groups = x.double().unflatten(0, (-1, MAXOUT_PIECES))
    top = groups.amax(1, keepdim=True)
    is_top = (groups == top) | (groups.isnan() & top.isnan())
    first = is_top.to(torch.int8).argmax(1, keepdim=True)
    grad = torch.zeros_like(groups).scatter_(1, first, 1.0).flatten()
    top = top.flatten()
    return {
        "fwd": (top, torch.zeros_like(top), top.abs(), torch.ones_like(top, dtype=torch.bool)),
        "d/dx": (grad, torch.zeros_like(grad), grad.abs(), torch.ones_like(grad, dtype=torch.bool)),
    }


@functools.lru_cache(maxsize=None)
def exact_activation(name: str, x: float) -> Tuple:
    """(a(x), a'(x), a''(x), a3(x)) at DIGITS digits for finite x, a3 the third derivative (a''
    and a3 0 where there is no closed form; a3 numerically: it only sizes the tolerance of a'');
    cached: the gated rows reuse the unary ones."""
    act = ACTIVATIONS[name]
    with mpmath.workdps(DIGITS):
        x = mpmath.mpf(x)
        if act.second and abs(x) <= SATURATED:
            second = act.second(x, MP)
            third = mpmath.diff(lambda t: act.second(t, MP), x)
        else:
            second = third = mpmath.mpf(0)
        return (*act.exact(x), second, third)


ACTIVATIONS = {act.name: act for act in [MISH, SWISH, SWISH_QUICK, GELU, GELU_TANH, RELU, RELU2, TRELU, HALF, STEP]}


def _split(value) -> Tuple[float, float]:
    """An mpf as (hi, frac): hi correctly rounded to a double, and the rest in ulps of hi (as
    `spacing` counts them), representable even where hi is subnormal."""
    hi = float(value)
    if not math.isfinite(hi):
        return hi, 0.0
    exponent = math.frexp(hi)[1] if hi else -1021  # 0: the spacing of the smallest subnormal
    ulp = math.ldexp(1.0, max(exponent - 53, -1074))
    return hi, float((value - hi) / ulp)


def exact_reference(op: Op, inputs: Sequence[Tensor]) -> Reference:
    """Each pass's value at DIGITS digits as (hi, frac) (float64 inputs), and the conditioning
    scale at DIGITS digits too: in float64 its terms underflow where the result is subnormal
    (gelu tanh near x = -21), which understated the tolerance there up to 2000-fold."""
    approximate = reference64(op, inputs)
    if op.kind == "maxout":
        return approximate  # exact already
    gate = inputs[0].tolist()
    up = inputs[1].tolist() if op.kind == "gated" else [1.0] * len(gate)
    values: Dict[str, List[Tuple[float, float]]] = {p: [] for p in op.passes}
    scales: Dict[str, List[float]] = {p: [] for p in op.passes}
    (a_pos, a1_pos), (a_neg, a1_neg) = op.activation.at_inf
    with mpmath.workdps(DIGITS):
        for i, (g, u) in enumerate(zip(gate, up)):
            finite = math.isfinite(g)
            if math.isnan(g):
                a, a1, a2, a3 = (mpmath.mpf("nan"),) * 4
            elif math.isinf(g):
                a, a1, a2, a3 = (mpmath.mpf(v) for v in ((a_pos, a1_pos, 0, 0) if g > 0 else (a_neg, a1_neg, 0, 0)))
            else:
                a, a1, a2, a3 = exact_activation(op.activation.name, g)
            u, g = mpmath.mpf(u), mpmath.mpf(g)
            exact = {"fwd": a * u, "d/dx": a1, "d2/dx2": a2, "d/dgate": a1 * u, "d/dup": a}
            scale = {
                "fwd": (2 if op.kind == "gated" else 1) * abs(a * u) + abs(g * a1 * u),
                "d/dx": abs(a1) + abs(g * a2),
                "d2/dx2": abs(a2) + abs(g * a3),
                "d/dgate": 2 * abs(a1 * u) + abs(g * a2 * u),
                "d/dup": abs(a) + abs(g * a1),
            }
            for p in op.passes:
                values[p].append(_split(exact[p]))
                # at the infinities and NaN: float64's scale (from the limits)
                scales[p].append(float(scale[p]) if finite else approximate[p][2][i].item())
    reference = {}
    for p in op.passes:
        hi_frac = torch.tensor(values[p], dtype=torch.float64).reshape(-1, 2)
        hi, frac, measured = hi_frac[:, 0], hi_frac[:, 1], approximate[p][3]
        scale = torch.tensor(scales[p], dtype=torch.float64)
        # a scale past float64's range: plain relative there
        reference[p] = (hi, frac, torch.where(scale.isfinite(), scale, hi.abs()), measured)
    return reference


def reference(op: Op, inputs: Sequence[Tensor]) -> Reference:
    """mpmath for float64 inputs, float64 for the narrower dtypes."""
    return exact_reference(op, inputs) if inputs[0].dtype == torch.float64 else reference64(op, inputs)


# ---- measuring -----------------------------------------------------------------------

PATHS = {"vector": 1, "scalar": 3}  # the stride of the inputs' view
ULPS = 4.0  # the bound of the float32 and float64 rows, in conditioned ulps
SECOND_ULPS = 16.0  # the same for second derivatives


def strided(x: Tensor, stride: int) -> Tensor:
    """x's values in a view with this stride (1: a contiguous copy)."""
    if stride == 1:
        return x.clone()
    buffer = torch.zeros(x.numel() * stride, dtype=x.dtype)
    buffer[::stride] = x
    return buffer[::stride]


def evaluate(op: Op, fn: Callable[..., Tensor], inputs: Sequence[Tensor], stride: int) -> Dict[str, Tensor]:
    """Every pass of fn at the inputs viewed with `stride`: the value, and the gradients of
    ones through autograd."""
    leaves = [strided(x, stride).detach().requires_grad_() for x in inputs]
    second = "d2/dx2" in op.passes
    with torch.enable_grad():
        y = fn(*leaves)
        grads = torch.autograd.grad(y, leaves, torch.ones_like(y), allow_unused=True, create_graph=second)
        grads = [torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads)]
        if second:  # the double backward, with a gradient of ones
            grads.append(torch.autograd.grad(grads[0], leaves[0], torch.ones_like(grads[0]))[0])
    return {"fwd": y.detach(), **{name: g.detach() for name, g in zip(op.passes[1:], grads)}}


def spacing(value: Tensor, dtype: torch.dtype) -> Tensor:
    """One ulp of dtype at |value| (float64): the distance between dtype's neighbours there,
    at least the smallest subnormal (0 included)."""
    info = torch.finfo(dtype)
    digits = round(-math.log2(info.eps)) + 1
    _, exponent = torch.frexp(value.abs())
    ulp = torch.ldexp(torch.ones_like(value), (exponent - digits).to(value.dtype))
    return torch.where(value == 0, 0.0, ulp).clamp_min(smallest_subnormal(dtype))


def ulp_errors(
    actual: Tensor, hi: Tensor, frac: Tensor, scale: Tensor, measured: Tensor
) -> Tuple[Tensor, Tensor, Tensor]:
    """(raw ulps, conditioned ulps, spurious mask) of `actual` against the true value hi + frac ulps
    (actual may have a leading dimension more: one row per evaluation of the same points).

    Where the true value rounded to actual's dtype is not finite (overflow, inf, NaN), the
    error is 0 if actual equals that rounding and inf otherwise; a finite true value with a
    non-finite result is inf ulps off. Points not `measured` count as exact."""
    dtype = actual.dtype
    rounded = hi.to(dtype).double()
    got = actual.double()
    ulp = spacing(hi, dtype)
    # at least the truth's own size: a float64 scale whose terms were themselves subnormal
    unit = (torch.finfo(dtype).eps * torch.maximum(scale, hi.abs())).clamp_min(smallest_subnormal(dtype))
    raw = ((got - hi) / ulp - frac).abs()
    cond = raw * (ulp / unit)
    truth_finite = rounded.isfinite()
    same_special = (got == rounded) | (got.isnan() & rounded.isnan())
    special = torch.where(same_special, 0.0, INF)
    raw = torch.where(truth_finite, raw.nan_to_num(nan=INF, posinf=INF), special)
    cond = torch.where(truth_finite, cond.nan_to_num(nan=INF, posinf=INF), special)
    # a 0 within ULPS conditioned ulps of the truth (the last few subnormals) is an error the
    # ulp columns measure, not an underflow
    spurious = truth_finite & (rounded != 0) & (~got.isfinite() | ((got == 0) & (hi.abs() > ULPS * unit)))
    return raw.where(measured, 0.0), cond.where(measured, 0.0), spurious & measured


def percentile(x: Tensor, q: float) -> float:
    """The q-th percentile (the nearest rank at or above it)."""
    rank = max(1, math.ceil(q / 100 * x.numel()))
    return x.flatten().kthvalue(rank).values.item()


def bound(op: Op, pass_: str, dtype: torch.dtype) -> Tuple[str, float]:
    """(measure, ulps) the tests hold actops to (test_elementwise.py, test_exactness.py)."""
    if op.kind == "maxout":
        return "raw", 0.0  # a max is exact
    if pass_ == "d2/dx2":
        return ("cond", 1.0) if dtype in (torch.bfloat16, torch.float16) else ("cond", SECOND_ULPS)
    if dtype in (torch.bfloat16, torch.float16):
        # computed in float32 and rounded once
        return ("raw", 1.0) if pass_ == "fwd" else ("cond", 1.0)
    return "cond", ULPS


def describe_point(op: Op, pass_: str, inputs: Sequence[Tensor], index: int) -> str:
    """The input(s) behind output element `index`, for the worst-point column."""
    if op.kind == "maxout":
        if pass_ == "fwd":
            group = inputs[0][index * MAXOUT_PIECES : (index + 1) * MAXOUT_PIECES]
            return "max(" + ", ".join(f"{v:.7g}" for v in group.double().tolist()) + ")"
        return f"x={inputs[0][index].item():.7g}"
    if op.kind == "gated":
        return f"g={inputs[0][index].item():.7g}, u={inputs[1][index].item():.7g}"
    return f"x={inputs[0][index].item():.7g}"


def summarize(op: Op, pass_: str, dtype, inputs, ref, results: Dict[str, Dict[str, Tensor]]) -> dict:
    """One library's errors for one pass: worse of the paths at each point, then max, percentile,
    spurious count and the worst point (by the row's bound measure)."""
    paths = list(results)
    raws, conds, bad = ulp_errors(torch.stack([results[path][pass_] for path in paths]), *ref)
    per_path = {
        path: {"max_raw": raws[k].max().item(), "max_cond": conds[k].max().item(), "spurious": int(bad[k].sum())}
        for k, path in enumerate(paths)
    }
    raw, cond, spurious = raws.amax(0), conds.amax(0), bad.any(0)
    measure, _ = bound(op, pass_, dtype)
    worst = int((raw if measure == "raw" else cond).argmax())
    worst_path = max(per_path, key=lambda p: per_path[p][f"max_{measure}"])
    return {
        "max_raw": raw.max().item(),
        "max_cond": cond.max().item(),
        "p_raw": percentile(raw, PERCENTILE),
        "p_cond": percentile(cond, PERCENTILE),
        "spurious": int(spurious.sum()),
        "worst": describe_point(op, pass_, inputs, worst),
        "worst_path": worst_path,
        "paths": per_path,
    }


def measure(op: Op, dtype: torch.dtype, quick: bool = True) -> List[dict]:
    """The table's rows of one op and dtype: one per pass."""
    inputs = op_inputs(op, dtype, quick)
    ref = reference(op, inputs)
    rows = []
    evaluated = {}
    for library, fn in (("actops", op.actops), ("torch", op.torch)):
        try:
            evaluated[library] = {path: evaluate(op, fn, inputs, stride) for path, stride in PATHS.items()}
        except Exception as error:  # e.g. a dtype PyTorch's op does not take: reported, not fatal
            evaluated[library] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    for pass_ in op.passes:
        measure_name, ulps = bound(op, pass_, dtype)
        row = {
            "op": op.name,
            "pass": pass_,
            "dtype": str(dtype).removeprefix("torch."),
            "points": int(ref[pass_][0].numel()),
            "bound": {"measure": measure_name, "ulps": ulps},
        }
        for library, results in evaluated.items():
            if isinstance(results, str):
                row[library] = {"error": results}
            else:
                row[library] = summarize(op, pass_, dtype, inputs, ref[pass_], results)
        row["ok"] = row_ok(row)
        rows.append(row)
    return rows


def row_ok(row: dict) -> bool:
    """actops within the row's bound, with no spurious point."""
    result = row["actops"]
    if "error" in result:
        return False
    return result[f"max_{row['bound']['measure']}"] <= row["bound"]["ulps"] and result["spurious"] == 0


def failures(rows: Sequence[dict]) -> List[str]:
    """One line per row where actops exceeds its bound."""
    lines = []
    for row in rows:
        if row["ok"]:
            continue
        result = row["actops"]
        where = result.get("error") or (
            f"max {result['max_raw']:.4g} raw / {result['max_cond']:.4g} conditioned ulps "
            f"(bound {row['bound']['ulps']:g} {row['bound']['measure']}), {result['spurious']} spurious, "
            f"worst at {result['worst']} ({result['worst_path']} path)"
        )
        lines.append(f"{row['op']} {row['pass']} {row['dtype']}: {where}")
    return lines


# ---- output --------------------------------------------------------------------------

HEADER = [
    "op",
    "pass",
    "dtype",
    "bound",
    "actops max",
    "actops p99.9",
    "actops spurious",
    "actops worst at",
    "torch max",
    "torch p99.9",
    "torch spurious",
]


def fmt(ulps: float) -> str:
    """An ulp count for the table: 2 decimals below 10, whole numbers below 1e5, then 1.2e+07."""
    if math.isinf(ulps) or math.isnan(ulps):
        return "inf" if ulps > 0 else str(ulps)
    if ulps == 0:
        return "0"
    if ulps < 10:
        return f"{ulps:.2f}"
    if ulps < 1e5:
        return f"{ulps:.0f}"
    return f"{ulps:.1e}"


def cells(row: dict) -> List[str]:
    """A row's table cells: ulps as 'raw / conditioned'."""
    b = row["bound"]
    out = [row["op"], row["pass"], row["dtype"], f"{b['measure']} ≤ {b['ulps']:g} {'✓' if row['ok'] else '✗'}"]
    for library in ("actops", "torch"):
        r = row[library]
        if "error" in r:
            out += [r["error"][:40], "", ""] + ([""] if library == "actops" else [])
            continue
        out += [
            f"{fmt(r['max_raw'])} / {fmt(r['max_cond'])}",
            f"{fmt(r['p_raw'])} / {fmt(r['p_cond'])}",
            str(r["spurious"]),
        ]
        if library == "actops":
            out.append(r["worst"] if r[f"max_{b['measure']}"] > 0 else "")
    return out


def markdown(rows: Sequence[dict]) -> str:
    """The table in markdown (the README's form)."""
    align = ["---" if name in ("op", "pass", "dtype", "bound", "actops worst at") else "---:" for name in HEADER]
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def text(rows: Sequence[dict]) -> str:
    """The table in aligned columns, for a terminal."""
    table = [HEADER] + [cells(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table)


def json_safe(value):
    """value with every non-finite float as the string 'inf', '-inf' or 'nan' (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def environment(quick: bool) -> dict:
    """What the numbers depend on: versions, the kernels' instruction set, the run's settings."""
    return {
        "torch": torch.__version__,
        "actops": actops.__version__,
        "mpmath": mpmath.__version__,
        "cpu_capability": actops.cpu_capability(),
        "machine": platform.machine(),
        "quick": quick,
        "digits": DIGITS,
        "percentile": PERCENTILE,
        "paths": PATHS,
    }


def run(ops: Sequence[str], dtypes: Sequence[str], quick: bool, log=sys.stderr) -> List[dict]:
    """Every row of these ops and dtypes, with a progress line per op and dtype to `log`."""
    rows = []
    for name in ops:
        for dtype_name in dtypes:
            if dtype_name not in OPS[name].dtypes:
                if log is not None:
                    print(f"{name} {dtype_name}: not measured (no 50-digit reference for float64)", file=log)
                continue
            start = time.perf_counter()
            new = measure(OPS[name], DTYPES[dtype_name], quick)
            rows += new
            if log is not None:
                print(f"{name} {dtype_name}: {new[0]['points']} points, {time.perf_counter() - start:.1f} s", file=log)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line (see the module's docstring); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small grids (seconds)")
    parser.add_argument("--ops", nargs="+", choices=list(OPS), default=list(OPS))
    parser.add_argument("--dtypes", nargs="+", choices=list(DTYPES), default=list(DTYPES))
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--json", metavar="PATH", help="write the environment and every row as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if actops exceeds a bound anywhere")
    args = parser.parse_args(argv)

    rows = run(args.ops, args.dtypes, args.quick)
    print(markdown(rows) if args.markdown else text(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(json_safe({"environment": environment(args.quick), "rows": rows}), f, indent=1, allow_nan=False)
    bad = failures(rows)
    if args.check and bad:
        print(f"{len(bad)} rows exceed their bound:", *bad, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
