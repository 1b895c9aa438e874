"""Loads libactops, the compiled library that registers the ``actops`` ops."""

from __future__ import annotations

from pathlib import Path

import torch

LIBRARY_PATH = Path(__file__).resolve().parent / "lib" / "libactops.so"


def load_library() -> None:
    """Register the ``actops`` ops with PyTorch, or raise ImportError saying why."""
    if not LIBRARY_PATH.exists():
        raise ImportError(
            f"actops: the compiled library is missing ({LIBRARY_PATH}); "
            "build it with `pip install --no-build-isolation -e .` or `make build`"
        )
    try:
        torch.ops.load_library(str(LIBRARY_PATH))
    except OSError as error:
        raise ImportError(f"actops: could not load {LIBRARY_PATH}: {error}") from error
