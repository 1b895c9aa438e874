"""Defects found by adversarial use, each held by a test: indices that a
caller of a backward op passes are range-checked, sizes are checked for
overflow, and messages name the tensor they are about."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import actops
from actops import registry
from conftest import by_registry_name, form

ops = torch.ops.actops


# the indices' dtype follows pieces: (pieces, dtype, an index out of range)
INDEX_CASES = [
    (2, torch.uint8, 255),
    (2, torch.uint8, 2),
    (300, torch.int16, -1),
    (300, torch.int16, 300),
    (40000, torch.int32, -5),
    (40000, torch.int32, 40000),
]


@pytest.mark.parametrize("pieces, dtype, bad", INDEX_CASES)
@pytest.mark.parametrize("shape, dim", [((1000, 4), 1), ((10, 4, 3), 1), ((6, 8), 0)])
def test_maxout_backward_rejects_out_of_range_indices(pieces, dtype, bad, shape, dim):
    # before: a write out of bounds (SIGSEGV), or with dim not last the
    # gradient silently dropped
    grad = torch.randn(shape)
    indices = torch.zeros(shape, dtype=dtype)
    indices.view(-1)[-1] = bad
    with pytest.raises(
        RuntimeError, match=r"actops\.maxout_backward: indices\[\d+\] = -?\d+ is out of range for \d+ pieces"
    ):
        ops.maxout_backward(grad, indices, pieces, dim)


def test_maxout_backward_checks_that_size_times_pieces_fits():
    with pytest.raises(RuntimeError, match=r"actops\.maxout_backward: the size of dim 1 of grad \(4\) times pieces"):
        ops.maxout_backward(torch.randn(2, 4), torch.zeros(2, 4, dtype=torch.int64), 2**62, 1)
    with pytest.raises(
        RuntimeError, match=r"actops\.maxout_backward: dim 3 is out of range for grad with 2 dimensions"
    ):
        ops.maxout_backward(torch.randn(2, 4), torch.zeros(2, 4, dtype=torch.uint8), 2, 3)


def test_maxout_with_more_than_2_to_the_31_pieces():
    # one group of k > 2^31 values (bfloat16: 4 GiB): the index is int64 and
    # must not wrap through a 32-bit lane
    k = 2**31 + 2
    x = torch.zeros(k, dtype=torch.bfloat16)
    x[-1] = 1.0
    x.requires_grad_()
    out, indices = ops.maxout_with_indices(x.detach(), k, 0)
    assert indices.dtype == torch.int64 and int(indices) == k - 1 and float(out) == 1.0
    y = actops.maxout(x, k, 0)
    y.backward(torch.ones_like(y))
    assert float(x.grad[-1]) == 1.0 and int(x.grad.count_nonzero()) == 1


@pytest.mark.parametrize(
    "call, op, arg",
    [
        (lambda x: actops.swish(x, beta="2"), "swish", "beta"),
        (lambda x: actops.swish(x, beta=None), "swish", "beta"),
        (lambda x: actops.maxout(x, True, 0), "maxout", "pieces"),
        (lambda x: actops.maxout(x, 2, dim=False), "maxout", "dim"),
        (lambda x: actops.swiglu(x, dim=True), "swiglu", "dim"),
        (lambda x: actops.trelu(x, threshold="a"), "trelu", "threshold"),
        (lambda x: actops.trelu(x, alpha=None), "trelu", "alpha"),
        (lambda x: actops.trelu(x, threshold="a", alpha=torch.ones(1)), "trelu", "threshold"),
        (lambda x: actops.gelu(x, approximate=1), "gelu", "approximate"),
    ],
)
def test_python_arguments_are_type_checked(call, op, arg):
    # before: beta='2' was taken as 2.0, threshold='a' raised a bare ValueError
    with pytest.raises(TypeError, match=rf"actops\.{op}: {arg} must be a"):
        call(torch.randn(4))


# torch's rule for scalar arguments, the same for every op: a float argument
# takes Python and numpy numbers and bool (as F.elu(x, alpha=True) does), an
# int argument refuses bool (as F.glu(x, dim=True) does)
@pytest.mark.parametrize("value", [True, np.float32(1.5), np.float64(0.5), np.int64(2), 2], ids=repr)
def test_float_arguments_take_what_torch_takes(value):
    x = torch.randn(4, 8)
    beta = float(value)
    assert torch.equal(actops.swish(x, value), actops.swish(x, beta))
    assert torch.equal(actops.swish_(x.clone(), value), actops.swish(x, beta))
    assert torch.equal(actops.swiglu(x, beta=value), actops.swiglu(x, beta=beta))
    assert torch.equal(actops.trelu(x, value, value), actops.trelu(x, beta, beta))
    assert torch.equal(actops.trelu_(x.clone(), value, value), actops.trelu(x, beta, beta))


def scalar_arguments():
    """(form, function name, argument, its schema type) for every scalar
    argument of every op that the Python functions call (actops.<name> in
    each of its forms, and actops.<name>_)."""
    found = []
    for entry in registry.OPS:
        forms = [form(entry, op) for op in entry.function_ops]
        if entry.inplace_op:
            forms.append(form(entry, entry.inplace_op))
        for sample in forms:
            name = entry.name + ("_" if sample.op == entry.inplace_op else "")
            for argument in entry.schema(sample.op).arguments:
                type_ = argument.type
                if isinstance(type_, torch._C.OptionalType):
                    type_ = type_.getElementType()
                kind = {torch._C.FloatType: "float", torch._C.IntType: "int", torch._C.StringType: "str"}.get(
                    type(type_)
                )
                if kind is not None and argument.name in sample.scalars:
                    found.append(pytest.param(sample, name, argument.name, kind, id=f"{sample.op}-{argument.name}"))
    return found


def caller(sample, function: str):
    """v -> actops.<function> on one set of inputs (copied per call: in place ones are overwritten)
    with the sample's arguments, the overrides given."""
    tensors = sample.make(torch.float64)

    def call(**overrides):
        arguments = {**sample.python_arguments([t.clone() for t in tensors]), **overrides}
        return getattr(actops, function)(**arguments)

    return call


@pytest.mark.parametrize("sample, function, name, kind", scalar_arguments())
def test_every_scalar_argument_is_type_checked(sample, function, name, kind):
    """Every scalar argument of every function, of every op in the registry:
    an object of no accepted type is a TypeError naming the function and the argument."""
    with pytest.raises(TypeError, match=rf"actops\.{function}: {name} must be a"):
        caller(sample, function)(**{name: object()})


@pytest.mark.parametrize("sample, function, name, kind", [p for p in scalar_arguments() if p.values[3] != "str"])
def test_every_number_argument_takes_numpy_numbers(sample, function, name, kind):
    """A float argument takes numpy numbers and bool, an int argument numpy
    integers (and refuses bool), giving what the Python number gives."""
    call = caller(sample, function)
    value = sample.scalars[name]
    if kind == "float":
        value = 1.5 if value is None else value  # an Optional[float] (limit) given a number
        numbers = [np.float64(value), np.float32(value), np.int64(2), True]
        convert = float
    else:
        numbers = [np.int64(value), np.int32(value)]
        convert = int
    for number in numbers:
        assert torch.equal(call(**{name: number}), call(**{name: convert(number)})), repr(number)
    if kind == "int":
        with pytest.raises(TypeError, match=rf"actops\.{function}: {name} must be an int, got bool"):
            call(**{name: True})


def test_int_arguments_take_numpy_integers():
    x = torch.randn(4, 8)
    assert torch.equal(actops.maxout(x, np.int64(2), np.int32(1)), actops.maxout(x, 2, 1))
    assert torch.equal(actops.swiglu(x, np.int64(-1)), actops.swiglu(x, -1))
    assert torch.equal(actops.swiglu(x, dim=np.int64(0)), actops.swiglu(x, dim=0))


def test_backward_ops_name_the_right_tensor():
    # before: "x has shape [3, 2]" about grad; gg_* compared with "x"
    with pytest.raises(
        RuntimeError, match=r"actops\.swiglu_packed_backward: grad has shape \[3, 4\] but the output has shape \[3, 2\]"
    ):
        ops.swiglu_packed_backward(torch.randn(3, 4), torch.randn(3, 4), -1, "gate_up", 1.0, None, 0.0)
    g, u = torch.randn(3, 4), torch.randn(3, 4)
    with pytest.raises(
        RuntimeError, match=r"actops\.swiglu_double_backward: gg_gate has shape \[4\] but gate has shape \[3, 4\]"
    ):
        ops.swiglu_double_backward(torch.randn(4), torch.randn(3, 4), torch.randn(3, 4), g, u, 1.0, None, 0.0)
    x, beta = torch.randn(3, 4), torch.randn(4)
    with pytest.raises(
        RuntimeError, match=r"actops\.swish_learnable_double_backward: gg_beta has shape \[3\] but beta has shape \[4\]"
    ):
        ops.swish_learnable_double_backward(torch.randn(3, 4), torch.randn(3), torch.randn(3, 4), x, beta)


def test_swiglu_backward_checks_the_device_of_grad():
    # before: a meta grad with CPU inputs returned meta tensors
    g, u = torch.randn(3, 4), torch.randn(3, 4)
    with pytest.raises(RuntimeError, match=r"actops\.swiglu_backward: grad is on meta but gate is on cpu"):
        ops.swiglu_backward(torch.randn(3, 4, device="meta"), g, u, 1.0, None, 0.0)


@pytest.mark.parametrize("unit", [actops.swiglu, actops.geglu, actops.reglu])
def test_clamped_gate_gradient_is_zero_at_nan_as_torch_clamp(unit):
    # before: 0 * NaN gave a NaN gate gradient where torch.clamp's is 0
    gate = torch.tensor([float("nan"), 3.0, 1.0], dtype=torch.float64, requires_grad=True)
    up = torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64, requires_grad=True)
    unit(gate, up, limit=2.0).sum().backward()
    assert gate.grad[0] == 0 and gate.grad[1] == 0 and gate.grad[2] != 0


# ---- style: make format / the check in make test -------------------------------

REPO = Path(__file__).resolve().parents[2]


def test_format_check_fails_on_an_unformatted_file(tmp_path):
    """`make test` runs `make format-check` first: an unformatted C++ or Python
    file fails it, a formatted one passes (the same recipe, on files in a
    scratch directory with the repo's .clang-format and pyproject.toml)."""
    import shutil

    for name in (".clang-format", "pyproject.toml", "Makefile"):
        shutil.copy(REPO / name, tmp_path / name)

    def check(cpp: str, py: str) -> subprocess.CompletedProcess:
        (tmp_path / "kernel.cpp").write_text(cpp)
        (tmp_path / "module.py").write_text(py)
        # -o: the set-up prerequisites count as done; the recipe's tools are the repo's
        return subprocess.run(
            [
                "make",
                "-o",
                ".venv/.requirements",
                "-o",
                "debian",
                "format-check",
                "CXX_FILES=kernel.cpp",
                f"PY={sys.executable}",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )

    good_cpp, good_py = "int twice(int x) { return 2 * x; }\n", "def twice(x):\n    return 2 * x\n"
    assert check(good_cpp, good_py).returncode == 0
    bad_cpp = check("int twice(int x){return 2*x;}\n", good_py)
    assert bad_cpp.returncode != 0 and "kernel.cpp" in bad_cpp.stderr + bad_cpp.stdout
    bad_py = check(good_cpp, "def twice( x ):\n  return 2*x\n")
    assert bad_py.returncode != 0 and "module.py" in bad_py.stderr + bad_py.stdout


# ---- second derivatives of the piecewise-linear ops ------------------------------

# the piecewise-linear ops, by registry name
PIECEWISE = by_registry_name(
    {
        "trelu": (lambda t: actops.trelu(t, threshold=0.5, alpha=0.1), lambda t: torch.where(t > 0.5, t, 0.1 * t)),
        "maxout": (lambda t: actops.maxout(t.view(3, 2), pieces=2, dim=-1), lambda t: t.view(3, 2).amax(-1)),
    },
    "PIECEWISE",
)


@pytest.mark.parametrize("name", list(PIECEWISE))
def test_piecewise_second_derivative_in_x_is_zero_as_for_the_composite(name):
    """The second derivative in x of trelu and maxout is 0 in every mode, as for
    torch's own composites: hessian, jacfwd(jacrev), gradgradcheck; and where
    the first gradient does not depend on x (grad_output without grad), a
    plain torch.autograd.grad says so exactly as for the composite."""
    op, composite = PIECEWISE[name]
    x = torch.tensor([-1.3, 0.2, 0.7, 2.1, -0.4, 1.5], dtype=torch.float64)
    for f in (op, composite):
        assert torch.equal(torch.func.hessian(lambda t: f(t).sum())(x), torch.zeros(6, 6, dtype=torch.float64))
        assert torch.equal(
            torch.func.jacfwd(torch.func.jacrev(lambda t: f(t).sum()))(x), torch.zeros(6, 6, dtype=torch.float64)
        )
        assert torch.autograd.gradgradcheck(f, (x.clone().requires_grad_(),))
    errors = []
    for f in (op, composite):
        xx = x.clone().requires_grad_()
        (g,) = torch.autograd.grad(f(xx).sum(), xx, create_graph=True)
        with pytest.raises(RuntimeError) as error:
            torch.autograd.grad(g.sum(), xx)
        errors.append(str(error.value))
    assert errors[0] == errors[1] and "does not require grad" in errors[0]


# ---- installation ------------------------------------------------------------------


def test_plain_cmake_build_needs_no_googletest(tmp_path):
    """A plain CMake configure (what `pip install .` runs) succeeds with
    GoogleTest hidden; the suite, switched on, is what asks for it."""

    def configure(*options):
        command = [
            "cmake",
            "-S",
            str(REPO),
            "-B",
            str(tmp_path / "build"),
            "-G",
            "Ninja",
            f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}",
            "-DCMAKE_DISABLE_FIND_PACKAGE_GTest=TRUE",
            *options,
        ]
        return subprocess.run(command, capture_output=True, text=True)

    plain = configure()
    assert plain.returncode == 0, plain.stdout[-2000:] + plain.stderr[-2000:]
    with_tests = configure("-DACTOPS_BUILD_TESTS=ON")
    assert with_tests.returncode != 0 and "GTest" in with_tests.stdout + with_tests.stderr


def test_a_built_wheel_installs_into_a_fresh_environment_and_runs(tmp_path):
    """`pip wheel .` packages this build (build/ is keyed to this Python and
    torch already, so nothing recompiles); the wheel installs with pip into a
    new virtual environment that sees torch but not this checkout, pins the
    torch release it was built against (pip finds it satisfied without an
    index), and runs forward and backward there, through its _fast_call
    bindings."""
    wheels = tmp_path / "wheels"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", str(wheels), str(REPO)],
        env={**env, "ACTOPS_BUILD_DIR": str(REPO / "build")},
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = wheels.glob("actops-*.whl")

    fresh = tmp_path / "fresh"
    # no pip (nor its setuptools) of its own: they would shadow torch's
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # torch and its dependencies, as an installed torch would be (the .pth adds the directory,
    # without running the .pth files there: this checkout's editable install stays invisible)
    (Path(site) / "torch_here.pth").write_text(str(Path(torch.__file__).resolve().parents[1]) + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    script = """
import importlib.metadata, json, pathlib, sys, torch, actops
x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
y = actops.mish(x)
(g,) = torch.autograd.grad(y.sum(), x)
torch.testing.assert_close(y, torch.nn.functional.mish(x))
print(json.dumps({"file": actops.__file__, "prefix": sys.prefix, "version": actops.__version__,
                  "requires": importlib.metadata.requires("actops"), "slope_at_0": float(g[3]),
                  "fast_call": type(actops.functional._EAGER.mish).__name__}))
"""
    run = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    found = json.loads(run.stdout)
    assert Path(found["file"]).resolve().is_relative_to(Path(found["prefix"]).resolve())
    assert found["version"] == (REPO / "VERSION").read_text().strip() == actops.__version__
    required = [r for r in found["requires"] if "extra ==" not in r]
    assert required == [f"torch=={torch.__version__.split('+')[0]}"]
    assert found["slope_at_0"] == pytest.approx(0.6, abs=1e-3)  # mish'(0) = tanh(log 2)
    assert found["fast_call"] == "builtin_function_or_method"  # the wheel ships _fast_call


def test_import_against_another_torch_release_names_both():
    """The library is tied to the C++ ABI of the torch it was built against:
    another release is refused at import by a message naming both."""
    running = torch.__version__.split("+")[0]
    other = "2.10.0" if running == "2.11.0" else "2.11.0"
    script = f"import torch; torch.__version__ = '{other}'; import actops"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert run.returncode != 0
    assert f"built against torch {running}, but torch {other} is installed" in run.stderr, run.stderr[-2000:]


# ---- messages that say what is wrong ----------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: actops.mish(None), r"actops\.mish: x must be a tensor, got None"),
        (lambda: actops.gelu(None, "tanh"), r"actops\.gelu: x must be a tensor, got None"),
        (lambda: actops.swiglu(None), r"actops\.swiglu_packed: x must be a tensor, got None"),
        (lambda: actops.maxout(None, 2), r"actops\.maxout: x must be a tensor, got None"),
    ],
)
def test_a_none_tensor_is_named(call, message):
    # before: "There were no tensor arguments to this function"
    with pytest.raises(TypeError, match=message):
        call()


def test_an_int_beyond_int64_is_named():
    # before: "Expected a value of type 'int' ... but instead found type 'int'"
    x = torch.randn(4, 8)
    with pytest.raises(OverflowError, match=r"actops\.swiglu_packed: dim = 18446744073709551616 does not fit"):
        actops.swiglu(x, 2**64)
    with pytest.raises(OverflowError, match=r"actops\.maxout: pieces = 36893488147419103232 does not fit"):
        actops.maxout(x, 2**65, 1)


def test_build_information_without_its_keys_is_named(tmp_path, monkeypatch):
    from actops import _library

    info = tmp_path / "libactops.json"
    info.write_text('{"version": "0.1.0"}')
    monkeypatch.setattr(_library, "BUILD_INFO_PATH", info)
    # before: a bare KeyError: 'torch'
    with pytest.raises(ImportError, match=r"lacks 'torch'; rebuild it with `make build`"):
        _library.build_info()


def test_an_installed_package_is_told_to_reinstall(tmp_path, monkeypatch):
    from actops import _library

    monkeypatch.setattr(_library, "SOURCE_ROOT", tmp_path)  # site-packages: no setup.py beside the package
    monkeypatch.setattr(_library, "BUILD_INFO_PATH", tmp_path / "missing.json")
    with pytest.raises(ImportError, match=r"reinstall actops") as caught:
        _library.build_info()
    assert "make build" not in str(caught.value)


@pytest.mark.parametrize("layer", [torch.nn.SiLU(inplace=True), torch.nn.Mish(inplace=True)], ids=str)
def test_a_patched_inplace_activation_still_overwrites_its_input(layer):
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), layer)
    actops.patch(model)
    assert model[1].inplace
    h = torch.randn(3, 4)
    expected = layer.__class__()(h.clone())
    out = model[1](h)
    assert out is h  # overwritten and returned, as the replaced layer did
    torch.testing.assert_close(h, expected, rtol=2e-6, atol=1e-7)


# ---- NaN as the composites have it --------------------------------------------------------


def _gradients(fn, *inputs):
    leaves = [t.clone().requires_grad_() for t in inputs]
    out = fn(*leaves)
    return (out, *torch.autograd.grad(out.sum(), leaves))


def test_reglu_nan_gradients_follow_the_composite():
    # before: reglu(g=-1, u=nan) gave d/dg = NaN (0 in relu(g) * u), reglu(g=nan, u=7) gave d/dg = 0 (7)
    nan = float("nan")
    g = torch.tensor([-1.0, nan, 2.0, 0.0, nan], dtype=torch.float64)
    u = torch.tensor([nan, 7.0, 3.0, nan, nan], dtype=torch.float64)
    got = _gradients(actops.reglu, g, u)
    expected = _gradients(lambda a, b: torch.relu(a) * b, g, u)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, equal_nan=True, rtol=0, atol=0)
    packed = _gradients(lambda x: actops.reglu(x, dim=-1), torch.cat([g, u]))
    torch.testing.assert_close(packed[1], torch.cat(expected[1:]), equal_nan=True, rtol=0, atol=0)


@pytest.mark.parametrize("beta", [float("nan"), "tensor"])
def test_a_nan_beta_gives_nan(beta):
    # before: swiglu(0, 1, beta=nan) and swish(0, nan) were 0; x * sigmoid(nan * x) is NaN
    x = torch.tensor([0.0, 1.0, -3.0], dtype=torch.float64)
    b = torch.tensor(float("nan"), dtype=torch.float64) if beta == "tensor" else beta
    assert actops.swish(x, b).isnan().all()
    if beta != "tensor":
        assert actops.swiglu(x, torch.ones_like(x), beta=beta).isnan().all()
        assert actops.swish_(x.clone(), beta).isnan().all()
