# Set-up, demo and tests. `make demo` and `make test` each do all set-up on a
# fresh machine (Debian packages, .venv/, torch, the package, the C++ build in
# build/) and skip every step that is already done.

PYTHON    ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
DEBIAN    := libgtest-dev libfmt-dev libbenchmark-dev ninja-build ccache cmake g++ clang-format
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all demo test test-cpp test-python build debian format format-check cuda-check

all: build

demo: build
	$(PY) -m actops.demo

test: format-check test-cpp test-python

# Style: clang-format (.clang-format) for C++, ruff (pyproject.toml) for Python.
# `make format` applies both; `make test` fails on a file they would change.
CXX_FILES = $(shell git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')

format: $(VENV)/.requirements | debian
	clang-format -i $(CXX_FILES)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

format-check: $(VENV)/.requirements | debian
	clang-format --dry-run --Werror $(CXX_FILES)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

# The GoogleTest suite is off in plain builds and pip installs: turned on here.
test-cpp: build
	cmake -S . -B build -DACTOPS_BUILD_TESTS=ON >/dev/null
	cmake --build build
	cd build && ctest --output-on-failure --no-tests=error

test-python: build
	$(PY) -m pytest tests/python -q -rs

# The CUDA build, checked without a GPU (scripts/cuda_check.sh): torch
# 2.11's CUDA 13.0 build and nvcc 13.0 from PyPI in an environment of their
# own (created once, in ~/.cache/actops), actops built there with its CUDA
# kernels, every op's CUDA kernel registered, the Python suite under that
# torch. Leaves the CPU build and actops/lib alone.
cuda-check: | debian
	sh scripts/cuda_check.sh

# Incremental: ninja rebuilds only what changed, then refreshes actops/lib.
build: $(VENV)/.installed
	cmake --build build

debian:
	@dpkg -s $(DEBIAN) >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(DEBIAN); }

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.requirements: requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# The package, editable, linked to the CMake build in build/.
$(VENV)/.installed: setup.py pyproject.toml $(VENV)/.requirements | debian
	ACTOPS_BUILD_DIR=$(CURDIR)/build $(PY) -m pip install -q --no-build-isolation -e .
	touch $@
