"""actops.registry, the one Python list of the ops: it names every op the
library registers, its entries agree with the functions, modules and
schemas, its reference formulas compute what the ops compute, and the
functions' bodies written from it keep their signatures and sources."""

from __future__ import annotations

import ast
import doctest
import inspect

import pytest
import torch

import actops
from actops import registry
from conftest import form

OPS = pytest.mark.parametrize("entry", registry.OPS, ids=str)


def test_every_registered_op_belongs_to_one_entry():
    """A new op in the C++ table without its registry entry fails here, not
    silently outside every test table."""
    names = torch._C._dispatch_get_all_op_names()
    registered = {n.split("::")[1] for n in names if n.startswith("actops::") and "." not in n}
    owners = {}
    for entry in registry.OPS:
        for op in entry.ops:
            assert op not in owners, f"{op} belongs to {owners[op]} and {entry.name}"
            owners[op] = entry.name
    unowned = sorted(registered - {"cpu_capability"} - set(owners))
    assert not unowned, (
        f"the library registers {unowned}, which no entry of actops.registry names: add the op's entry "
        "(actops/registry.py), its function (actops/functional.py) and its module (actops/nn.py)"
    )
    assert set(owners) <= registered


@OPS
def test_entry_names_its_faces(entry):
    assert entry.kind in registry.KINDS
    assert entry.function is getattr(actops, entry.name) and entry.name in actops.__all__
    assert entry.function.__module__ == "actops.functional" and entry.function.__name__ == entry.name
    if entry.inplace_op:
        assert entry.inplace_function is getattr(actops, f"{entry.name}_")
    assert entry.module_classes and all(name in actops.nn.__all__ for name in entry.modules)
    assert entry.formula
    if entry.learnable:
        assert entry.learnable in inspect.signature(entry.function).parameters
    for name, choices in entry.choices.items():
        assert entry.defaults[name] == choices[0], (name, choices)
    assert registry.get(entry.name) is entry


def test_get_and_names():
    assert registry.names("gated") == ("swiglu", "geglu", "reglu")
    assert set(registry.names()) >= {"mish", "relu2", "swish", "gelu", "trelu", "maxout"}
    with pytest.raises(KeyError, match="no op 'softsign'; known: mish"):
        registry.get("softsign")
    with pytest.raises(ValueError, match="unknown kind"):
        registry.names("binary")


@pytest.mark.parametrize(
    "sample", [form(entry, op) for entry in registry.OPS for op in entry.function_ops], ids=lambda f: f.op
)
def test_reference_formula_computes_what_the_op_computes(sample):
    tensors = sample.make(torch.float64)
    expected = sample.entry.reference(**sample.python_arguments(tensors))
    torch.testing.assert_close(sample.call(tensors), expected, rtol=1e-12, atol=1e-12)


def test_the_docstring_examples_hold():
    result = doctest.testmod(registry, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0


@pytest.mark.parametrize("function", [getattr(actops, name) for name in actops.functional.__all__], ids=str)
def test_function_bodies_have_their_source_and_signature(function):
    """The bodies written from the registry (actops/_faces.py) are real Python
    source, which inspect (and TorchScript) read; the signature is the hand-written one."""
    source = inspect.getsource(function)
    (definition,) = ast.parse(source).body
    assert definition.name == function.__name__
    arguments = definition.args
    assert [a.arg for a in arguments.args + arguments.kwonlyargs] == list(inspect.signature(function).parameters)
    assert function.__doc__ and function.__doc__.strip()


def test_torchscript_compiles_the_written_bodies():
    scripted = torch.jit.script(actops.swish)
    x, beta = torch.randn(6), torch.rand(6)
    assert "ops.actops.swish_learnable(" in scripted.code and "ops.actops.swish(" in scripted.code
    assert torch.equal(scripted(x, beta), actops.swish(x, beta))
    assert torch.equal(scripted(x, 1.5), actops.swish(x, 1.5))
