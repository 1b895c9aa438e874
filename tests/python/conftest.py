"""Shared fixtures and references for the actops test suite."""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import tempfile
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import pytest
import torch

# Inductor's on-disk cache is shared by every checkout on a machine and keys
# graphs without the schemas of custom ops: a graph compiled against another
# build of libactops would be served here. Each run gets its own (subprocesses
# inherit it); TORCHINDUCTOR_CACHE_DIR set by the caller wins.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="actops-inductor-"))

import actops  # noqa: F401  (registers torch.ops.actops)
from actops import registry

FLOAT_DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]

# One unit in the last place at 1.0, per dtype: the tolerance unit below.
ULP = {dtype: torch.finfo(dtype).eps for dtype in FLOAT_DTYPES}


# Tolerances of the tests against a composite of torch ops, per dtype.
# The sizes of the tiny decoder models built from configs (nothing downloaded) by
# test_patch and test_onnx: a Llama config takes them as they are.
TINY_VOCAB = 128
TINY_DECODER = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    vocab_size=TINY_VOCAB,
    max_position_embeddings=64,
)

COMPOSITE_TOL = {torch.float64: 1e-12, torch.float32: 2e-6, torch.bfloat16: 1e-2, torch.float16: 2e-3}


def kept_bytes(fn, *inputs) -> int:
    """Bytes of the distinct storages autograd keeps for backward of fn(*inputs)."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*inputs)
    return sum(storages.values())


def assert_scripted_layer_matches(layer, tmp_path, rows: int = 3) -> torch.jit.ScriptModule:
    """A float64 layer saved by TorchScript and loaded back: the same output
    and gradients (input and parameters), bitwise, on a (rows, 6) input; the
    loaded module."""
    path = tmp_path / "layer.pt"
    torch.jit.script(layer).save(str(path))
    loaded = torch.jit.load(str(path))
    x = torch.randn(rows, 6, dtype=torch.float64, requires_grad=True)
    y, y_loaded = layer(x), loaded(x)
    torch.testing.assert_close(y_loaded, y, rtol=0, atol=0)
    g = torch.autograd.grad(y.sum(), [x, *layer.parameters()])
    g_loaded = torch.autograd.grad(y_loaded.sum(), [x, *loaded.parameters()])
    torch.testing.assert_close(g_loaded, g, rtol=0, atol=0)
    return loaded


def assert_compiled_layer_matches(layer) -> None:
    """torch.compile(layer, fullgraph=True) against eager on a (4, 6) input:
    output and gradients (input and parameters)."""
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True)
    x = torch.randn(4, 6, requires_grad=True)
    y = compiled(x)
    grads = torch.autograd.grad(y.square().sum(), [x, *layer.parameters()])
    y_eager = layer(x)
    grads_eager = torch.autograd.grad(y_eager.square().sum(), [x, *layer.parameters()])
    torch.testing.assert_close(y, y_eager)
    torch.testing.assert_close(grads, grads_eager)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def assert_close_ulps(
    actual: torch.Tensor, expected64: torch.Tensor, ulps: float, atol: float = 0.0, scale: torch.Tensor | None = None
):
    """|actual - expected| <= ulps * eps(dtype) * scale + atol, elementwise.

    scale defaults to max(|expected|, tiny): plain relative accuracy. For a
    function computed in the input's precision, pass |f(x)| + |x f'(x)|: the
    error that rounding the input (or any intermediate of x's size, like
    beta * x) by an ulp already causes, so the check is 'as exact as the
    dtype allows' also where f amplifies relative errors (exp-like tails)."""
    eps = torch.finfo(actual.dtype).eps
    tiny = torch.finfo(actual.dtype).tiny
    err = (actual.double() - expected64).abs()
    if scale is None:
        scale = expected64.abs()
    bound = ulps * eps * scale.clamp_min(tiny) + atol
    bad = ~(err <= bound)
    assert not bad.any(), (
        f"{int(bad.sum())} of {actual.numel()} values off by more than {ulps} ulp; "
        f"worst at x index {int((err / bound).nan_to_num(float('inf')).argmax())}: "
        f"got {actual.flatten()[(err / bound).argmax()].item()!r}, "
        f"expected {expected64.flatten()[(err / bound).argmax()].item()!r}"
    )


def positive(value) -> bool:
    """A finite number above 0 (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def table_rows(stdout: str, header: str) -> list[list[str]]:
    """The cells of the markdown table under `header` in a script's output."""
    lines = stdout.splitlines()
    assert header in lines, f"no results table header in:\n{stdout}"
    start = lines.index(header)
    assert lines[start + 1].startswith("|---"), lines[start + 1]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def assert_passes_under_capability(capability: str, test_file: str, selection: str) -> None:
    """The tests of test_file matching `-k selection` pass in a subprocess whose
    kernels are chosen by ATEN_CPU_CAPABILITY=capability (DEFAULT, AVX2, ...)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, ATEN_CPU_CAPABILITY=capability)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file, "-k", selection]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


# ---- the registry's ops, called generically ---------------------------------------

ops = torch.ops.actops


def by_registry_name(table: Mapping[str, Any], what: str = "table") -> Mapping[str, Any]:
    """table, whose keys must name ops of the registry (or their forms,
    ``swish_learnable``, ``swiglu_packed``): a renamed op fails here instead
    of silently losing its cases."""
    known = set(registry.names()) | {op for entry in registry.OPS for op in entry.ops}
    unknown = set(table) - known
    assert not unknown, f"{what}: {sorted(unknown)} are not ops of the registry"
    return table


def sample_tensor(shape=(6, 8), dtype=torch.float64, scale: float = 3.0, offset: float = 0.0) -> torch.Tensor:
    return (offset + scale * torch.randn(shape, dtype=torch.float64)).to(dtype)


@dataclasses.dataclass(frozen=True)
class Form:
    """One op of a registry entry (``op``: its default, learnable or packed
    form) called through the Python function ``actops.<entry.name>``, with
    fixed scalar arguments ``scalars`` (the schema's defaults unless given)
    and tensors made by ``make`` (dtype -> tuple, in the schema's order).

    The function is called with every argument by name (the packed form's
    ``x`` is the function's ``gate``); the op, with the schema's positional
    arguments positionally (``args``) and its keyword-only ones by keyword
    (``kwargs``)."""

    entry: registry.Op
    op: str
    scalars: Mapping[str, Any]
    make: Callable[[torch.dtype], Tuple[torch.Tensor, ...]]
    label: str = ""

    def __str__(self) -> str:
        return self.label or self.op

    @property
    def overload(self):
        return getattr(ops, self.op)

    @property
    def tensor_names(self) -> Tuple[str, ...]:
        return self.entry.tensors(self.op)

    @property
    def args(self) -> tuple:
        """The op's positional scalar arguments, after the tensors."""
        schema = self.entry.schema(self.op)
        return tuple(self.scalars[a.name] for a in schema.arguments if a.name in self.scalars and not a.kwarg_only)

    @property
    def kwargs(self) -> Dict[str, Any]:
        """The op's keyword-only scalar arguments."""
        schema = self.entry.schema(self.op)
        return {a.name: self.scalars[a.name] for a in schema.arguments if a.name in self.scalars and a.kwarg_only}

    def python_arguments(self, tensors) -> Dict[str, Any]:
        """Every argument of actops.<name> for this form, by name."""
        parameters = inspect.signature(self.entry.function).parameters
        named = dict(zip(self.tensor_names, tensors), **self.scalars)
        return {(name if name in parameters else "gate"): value for name, value in named.items()}

    def call(self, tensors, **kw) -> torch.Tensor:
        """actops.<name>(...) with these tensors (and kw: out=)."""
        return self.entry.function(**self.python_arguments(tensors), **kw)

    def call_op(self, tensors, overload: Optional[str] = None, **kw) -> torch.Tensor:
        """The registered op itself (its .default or the named overload)."""
        target = getattr(self.overload, overload or "default")
        return target(*tensors, *self.args, **self.kwargs, **kw)


def parameter_value(entry: registry.Op) -> float:
    """The value a sample's learnable parameter holds: the number form's default, else 1."""
    value = entry.defaults.get(entry.learnable)
    return 1.0 if value is None else value


def form(
    entry: registry.Op,
    op: Optional[str] = None,
    label: str = "",
    shape=(6, 8),
    make: Optional[Callable[[torch.dtype], Tuple[torch.Tensor, ...]]] = None,
    **scalars: Any,
) -> Form:
    """A Form of ``entry`` with generic samples where not given: every tensor
    randn(shape) * 3 but a learnable parameter, one value per element of
    the last dim at :func:`parameter_value`; scalar arguments at their
    defaults (one without: 2, the pieces of a group)."""
    op = op or entry.op
    schema = entry.schema(op)
    tensors = entry.tensors(op)
    values = {}
    for argument in schema.arguments:
        if argument.name in tensors or argument.name == "out":
            continue
        if argument.name in scalars:
            values[argument.name] = scalars[argument.name]
        elif argument.has_default_value():
            values[argument.name] = argument.default_value
        else:
            values[argument.name] = 2
    unknown = set(scalars) - set(values)
    assert not unknown, f"{op} has no scalar arguments {sorted(unknown)}"

    def generic(dtype: torch.dtype) -> Tuple[torch.Tensor, ...]:
        return tuple(
            torch.full(shape[-1:], parameter_value(entry), dtype=dtype)
            if name == entry.learnable
            else sample_tensor(shape, dtype)
            for name in tensors
        )

    return Form(entry, op, values, make or generic, label)


def forms(entry: registry.Op, **scalars: Any) -> list:
    """One generic Form per op that actops.<name> calls (default, learnable, packed)."""
    return [form(entry, op, **{k: v for k, v in scalars.items() if k in entry.parameters}) for op in entry.function_ops]
