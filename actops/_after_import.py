"""Run a function right after a module is imported, or now if it already is:
how ``import actops`` registers what belongs to a heavy part of torch (DTensor's
sharding rules, the ONNX exporter's symbolic functions) without importing it."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import warnings
from typing import Callable


class _Loader(importlib.abc.Loader):
    """The module's own loader, with ``exec_module`` followed by the function."""

    def __init__(self, loader, then: Callable[[], None], failed: str) -> None:
        self._loader, self._then, self._failed = loader, then, failed

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._then()
        except Exception as error:  # never break the module's own import
            warnings.warn(f"actops: {self._failed} ({type(error).__name__}: {error})", RuntimeWarning, stacklevel=2)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds ``module`` as the other finders do, wraps its loader, and leaves
    ``sys.meta_path``."""

    def __init__(self, module: str, then: Callable[[], None], failed: str) -> None:
        self.module, self.then, self.failed = module, then, failed

    def find_spec(self, fullname, path, target=None):
        if fullname != self.module:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, self.then, self.failed)
        return spec


def after_import(module: str, then: Callable[[], None], failed: str) -> None:
    """``then()`` now if ``module`` is imported, else right after its import
    (once, however often this is called). If it raises then, the import still
    succeeds and a RuntimeWarning says ``failed`` and why."""
    if module in sys.modules:
        then()
    elif not any(isinstance(f, _AfterImport) and f.module == module for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(module, then, failed))
