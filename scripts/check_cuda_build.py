"""Checks a CUDA build of actops on a machine with or without a GPU.

Every op and overload in torch.ops.actops that takes a tensor must have a
CUDA kernel registered (without one, a call on a CUDA tensor fails with
"Could not run ... with arguments from the 'CUDA' backend"). Where there is
a GPU, one op also runs on it. Run by `make cuda-check`
(scripts/cuda_check.sh) and scripts/gpu_check.sh."""

from __future__ import annotations

import sys

import torch

import actops
from actops import _library


def actops_overloads() -> list[str]:
    """Every registered actops op and overload, as "actops::name[.overload]"."""
    return sorted(name for name in torch._C._dispatch_get_all_op_names() if name.startswith("actops::"))


def takes_tensor(qualified: str) -> bool:
    name, _, overload = qualified.partition("::")[2].partition(".")
    schema = getattr(getattr(torch.ops.actops, name), overload or "default")._schema
    return any(isinstance(a.type, torch.TensorType) for a in schema.arguments)


def main() -> int:
    info = _library.build_info()
    if not info.get("cuda"):
        print(f"check_cuda_build: actops {info['version']} was built without CUDA kernels", file=sys.stderr)
        return 1
    ops = [op for op in actops_overloads() if takes_tensor(op)]
    missing = [op for op in ops if not torch._C._dispatch_has_kernel_for_dispatch_key(op, "CUDA")]
    if missing:
        print(f"check_cuda_build: {len(missing)} ops have no CUDA kernel: {', '.join(missing)}", file=sys.stderr)
        return 1
    if torch.cuda.is_available():
        y = actops.mish(torch.ones(4, device="cuda"))
        reached = f"mish(1) = {y[0].item():.6f} on {torch.cuda.get_device_name()}"
    else:
        reached = "no GPU here: no kernel ran"
    print(
        f"check_cuda_build: {len(ops)} ops of actops {info['version']} have CUDA kernels "
        f"(torch {torch.__version__}, CUDA {torch.version.cuda}); {reached}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
