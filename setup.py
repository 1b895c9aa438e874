"""Builds the Python package around libactops.

setup.py does not compile anything itself: it drives the CMake build in
build/ (the same one C++ users and the GoogleTest suite use, so every source
compiles once) and ships its libactops in the package as actops/lib/, with
the _fast_call module that the Python functions call the ops through.
The torch it builds against is the one already installed in the Python that
runs pip, with or without build isolation. The build directory belongs to
that environment (keyed by its Python and torch), so installing one checkout
into several environments never mixes their builds; `make` builds in build/
(ACTOPS_BUILD_DIR). A built wheel requires exactly the torch release it was
built against (its C++ ABI); building from source accepts any torch >= 2.11.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
LIBRARY = "actops.lib.libactops"
VERSION = (ROOT / "VERSION").read_text().strip()
# The Python extension module beside it (ops/python/fast_call.cpp)
FAST_CALL = "_fast_call.so"


def installing_python_env() -> dict[str, str]:
    """The environment of the Python running pip, minus pip's build isolation."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONHOME"):
        env.pop(name, None)
    return env


def probe_torch() -> dict[str, str]:
    """The installing Python's torch: its CMake prefix and release."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, torch; print(json.dumps({'prefix': torch.utils.cmake_prefix_path, "
            "'version': torch.__version__.split('+')[0]}))",
        ],
        env=installing_python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        reason = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "torch is not importable"
        sys.exit(f"actops: install torch first (for example `pip install torch==2.13.0`): {reason}")
    return json.loads(probe.stdout)


TORCH = probe_torch()
if os.environ.get("ACTOPS_BUILD_DIR"):
    BUILD_DIR = Path(os.environ["ACTOPS_BUILD_DIR"]).resolve()
else:
    environment = hashlib.sha256(f"{sys.prefix}|{TORCH['prefix']}".encode()).hexdigest()[:10]
    BUILD_DIR = (
        ROOT / "build" / "envs" / f"py{sys.version_info[0]}{sys.version_info[1]}-torch{TORCH['version']}-{environment}"
    )


class CMakeBuild(build_ext):
    def get_ext_filename(self, fullname: str) -> str:
        # A plain shared library, not a Python extension module: no ABI tag.
        # setuptools asks both with the full dotted name and with its last part.
        if fullname == LIBRARY:
            return os.path.join("actops", "lib", "libactops.so")
        if fullname == LIBRARY.rsplit(".", 1)[1]:
            return "libactops.so"
        return super().get_ext_filename(fullname)

    def build_extension(self, ext: Extension) -> None:
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        configure = [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(BUILD_DIR),
            f"-DCMAKE_PREFIX_PATH={TORCH['prefix']}",
            f"-DPython3_EXECUTABLE={sys.executable}",
            "-DACTOPS_PYTHON_MODULE=ON",
        ]
        if os.environ.get("ACTOPS_CUDA"):
            # AUTO (the default), ON or OFF: see CMakeLists.txt
            configure.append(f"-DACTOPS_CUDA={os.environ['ACTOPS_CUDA']}")
        if not (BUILD_DIR / "CMakeCache.txt").exists() and shutil.which("ninja"):
            configure += ["-G", "Ninja"]
        if self.inplace or getattr(self, "editable_mode", False):
            # Editable install: setuptools copies the library into the source
            # tree, and later `cmake --build build` runs refresh that copy.
            package_lib = ROOT / "actops" / "lib"
            package_lib.mkdir(exist_ok=True)
            configure.append(f"-DACTOPS_COPY_TO={package_lib}")
        subprocess.run(configure, check=True)
        # the library and _fast_call, and their copies in actops/lib
        subprocess.run(
            ["cmake", "--build", str(BUILD_DIR), "--target", "actops_copy", "actops_fast_call_copy"], check=True
        )
        built = BUILD_DIR / "libactops.so"
        target.parent.mkdir(parents=True, exist_ok=True)
        if built.resolve() != target:
            shutil.copyfile(built, target)
            shutil.copyfile(BUILD_DIR / "libactops.json", target.parent / "libactops.json")
            shutil.copyfile(BUILD_DIR / FAST_CALL, target.parent / FAST_CALL)


setup(
    version=VERSION,
    # the C++ ABI of the torch this build compiles against
    install_requires=[f"torch=={TORCH['version']}"],
    ext_modules=[Extension(LIBRARY, sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own scratch space, kept apart from the CMake build.
    options={"build": {"build_base": str(BUILD_DIR / "python")}},
)
