"""Every road a user takes, end to end: TorchScript into a C++ program built
against the installed CMake package, a C++ training loop, torch.export and
AOTInductor, and DistributedDataParallel on two processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import export_torchscript  # noqa: E402
from actops import registry  # noqa: E402


def run(command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> Path:
    """examples/cpp built against `cmake --install build` into a fresh prefix."""
    work = tmp_path_factory.mktemp("cpp")
    prefix, build = work / "prefix", work / "build"
    run(["cmake", "--install", str(ROOT / "build"), "--prefix", str(prefix)])
    assert (prefix / "lib" / "cmake" / "actops" / "actopsConfig.cmake").exists()
    configure = [
        "cmake",
        "-S",
        str(ROOT / "examples" / "cpp"),
        "-B",
        str(build),
        f"-DCMAKE_PREFIX_PATH={prefix};{torch.utils.cmake_prefix_path}",
    ]
    run(
        configure + (["-G", "Ninja"] if subprocess.run(["which", "ninja"], capture_output=True).returncode == 0 else [])
    )
    run(["cmake", "--build", str(build)])
    return build


def test_torchscript_model_runs_in_a_cpp_program(examples, tmp_path):
    paths = export_torchscript.export(tmp_path)
    scripted = torch.jit.load(str(paths["model"]))
    code = "".join(m.code for m in scripted.modules())
    for op in ("mish", "swish_learnable", "gelu", "trelu", "swiglu_packed", "maxout"):
        assert f"ops.actops.{op}(" in code
    # the model holds every actops.nn layer: every op of the registry, in one of its forms
    for entry in registry.OPS:
        assert any(f"ops.actops.{op}(" in code for op in entry.function_ops), entry.name
    result = run([str(examples / "run_torchscript"), str(paths["model"]), str(paths["data"])])
    assert "output" in result.stdout and "input gradient" in result.stdout
    assert result.stdout.count(": ok") == 2, result.stdout


def test_cpp_program_trains_with_actops(examples):
    result = run([str(examples / "train_mlp"), "200"])
    losses = [
        float(line.split("loss ")[1].split()[0]) for line in result.stdout.splitlines() if line.startswith("step ")
    ]
    assert len(losses) == 5 and losses[-1] < 0.5 * losses[0], result.stdout
    assert "the loss fell: ok" in result.stdout


def test_torch_export_and_aotinductor_match_eager(tmp_path):
    model = export_torchscript.build_model().eval()
    x = torch.randn(5, 8, dtype=torch.float64)
    expected = model(x)
    exported = torch.export.export(model, (x,))
    targets = {str(node.target) for node in exported.graph.nodes if node.op == "call_function"}
    assert {"actops.mish.default", "actops.swiglu_packed.default", "actops.maxout.default"} <= targets
    torch.testing.assert_close(exported.module()(x), expected)
    package = torch._inductor.aoti_compile_and_package(exported, package_path=str(tmp_path / "model.pt2"))
    runner = torch._inductor.aoti_load_package(package)
    torch.testing.assert_close(runner(x), expected)


def test_ddp_on_two_processes_equals_one_process_on_the_whole_batch(tmp_path):
    out = tmp_path / "params.pt"
    run([sys.executable, str(Path(__file__).with_name("ddp_worker.py")), str(out)], timeout=300)
    sys.path.insert(0, str(Path(__file__).parent))
    import ddp_worker

    params = torch.load(out)
    initial = list(ddp_worker.build_model().parameters())
    assert len(params["ddp"]) == len(params["single"]) == len(initial)
    for ddp, single, before in zip(params["ddp"], params["single"], initial):
        torch.testing.assert_close(ddp, single, rtol=1e-12, atol=1e-14)
    assert any(not torch.equal(ddp, before) for ddp, before in zip(params["ddp"], initial))
