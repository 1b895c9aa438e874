"""actops: exact, fused activation-function operators for PyTorch and LibTorch.

Every op is registered in C++ (``torch.ops.actops.*``) with hand-written
forward and backward kernels and its autograd under the Autograd key, so the
same op and its gradients work from Python, TorchScript, ``torch.compile`` and
C++ programs.
"""

from __future__ import annotations

from actops._library import load_library as _load_library

_load_library()

from actops import nn  # noqa: E402
from actops.functional import cpu_capability, gelu, maxout, mish, swiglu, swish, trelu  # noqa: E402

__all__ = ["cpu_capability", "gelu", "maxout", "mish", "nn", "swiglu", "swish", "trelu"]
__version__ = "0.1.0"
