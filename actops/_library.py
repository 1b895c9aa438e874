"""Loads libactops, the compiled library that registers the ``actops`` ops."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

import torch

LIBRARY_PATH = Path(__file__).resolve().parent / "lib" / "libactops.so"
# The extension module that calls the ops directly (ops/python/fast_call.cpp)
FAST_CALL_PATH = LIBRARY_PATH.with_name("_fast_call.so")
# Written by the build beside the library: {"version": ..., "torch": ..., "cuda": ...}
BUILD_INFO_PATH = LIBRARY_PATH.with_suffix(".json")
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def rebuild_hint() -> str:
    """How to get a working library: a rebuild in a source checkout, a
    reinstall for an installed package."""
    if (SOURCE_ROOT / "setup.py").exists() and (SOURCE_ROOT / "CMakeLists.txt").exists():
        return f"rebuild it with `make build` (or `pip install --no-build-isolation -e .`) in {SOURCE_ROOT}"
    return "reinstall actops (from its source: `pip install --no-build-isolation .` against this torch)"


def build_info() -> dict:
    """The package version and the torch release the library was built against."""
    try:
        info = json.loads(BUILD_INFO_PATH.read_text())
    except (OSError, ValueError) as error:
        raise ImportError(
            f"actops: the build information is missing or unreadable ({BUILD_INFO_PATH}): {error}; {rebuild_hint()}"
        ) from error
    missing = [key for key in ("version", "torch") if not isinstance(info, dict) or key not in info]
    if missing:
        raise ImportError(
            f"actops: the build information ({BUILD_INFO_PATH}) lacks {', '.join(map(repr, missing))}; {rebuild_hint()}"
        )
    return info


def load_library() -> dict:
    """Register the ``actops`` ops with PyTorch, or raise ImportError saying why.

    The library is tied to the C++ ABI of the torch release it was built
    against: another release is refused here, by name, rather than failing
    with an undefined symbol."""
    if not LIBRARY_PATH.exists():
        raise ImportError(f"actops: the compiled library is missing ({LIBRARY_PATH}); {rebuild_hint()}")
    info = build_info()
    running = torch.__version__.split("+")[0]
    if info["torch"] != running:
        raise ImportError(
            f"actops {info['version']} was built against torch {info['torch']}, but torch {running} is installed: "
            f"install torch=={info['torch']}, or rebuild actops against this torch "
            "(`pip install --no-build-isolation .` from its source)"
        )
    try:
        torch.ops.load_library(str(LIBRARY_PATH))
    except OSError as error:
        raise ImportError(f"actops: could not load {LIBRARY_PATH}: {error}") from error
    return info


@functools.lru_cache(maxsize=None)
def load_fast_call():
    """The ``_fast_call`` module (``bind(overload)``), built beside the library.

    Loaded once, from its path, after the library (it finds the ops by name
    in the dispatcher), or ImportError saying how to rebuild."""
    spec = importlib.util.spec_from_file_location("actops.lib._fast_call", FAST_CALL_PATH)
    if spec is None or not FAST_CALL_PATH.exists():
        raise ImportError(f"actops: the _fast_call module is missing ({FAST_CALL_PATH}); {rebuild_hint()}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as error:
        raise ImportError(f"actops: could not load {FAST_CALL_PATH}: {error}") from error
    return module
