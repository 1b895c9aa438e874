"""actops: exact, fused activation-function operators for PyTorch and LibTorch.

Every op is registered in C++ (``torch.ops.actops.*``) with hand-written
forward and backward kernels and its autograd (reverse and forward mode)
under the Autograd key, so the same op and its gradients work from Python,
TorchScript, ``torch.compile``, ``torch.func`` and C++ programs; vmap's
batching rules are registered here, on import.
"""

from __future__ import annotations

from actops._library import load_library as _load_library

__version__ = _load_library()["version"]

from actops._batching import register_batching_rules as _register_batching_rules  # noqa: E402

_register_batching_rules()

from actops._sharding import install as _install_sharding_rules  # noqa: E402

_install_sharding_rules()  # DTensor's rules: now, or when torch.distributed.tensor is imported

from actops.onnx import register_on_import as _register_onnx_symbolics  # noqa: E402

_register_onnx_symbolics()

from actops import nn as nn  # noqa: E402 (re-exported)
from actops.patching import patch as patch  # noqa: E402 (re-exported)
from actops import functional as _functional  # noqa: E402
from actops.functional import *  # noqa: E402, F403 (its __all__: the ops, one list)

__all__ = sorted([*_functional.__all__, "nn", "patch"])
