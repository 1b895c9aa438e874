"""actops.onnx: models that use actops export to ONNX with both of torch's
exporters and run in ONNX Runtime, without actops, with PyTorch's outputs.

Every case of every op (each form: number and learnable parameters, split
and packed gated units in every layout, clamp and offset, dim other than the
last, the saving forms, in place and out=) is one output of one model,
exported once per exporter and opset and run once; each case is then its
own test. A patched tiny Llama and a small model of actops.nn layers are
exported with dynamic batch and sequence axes and run at other shapes."""

from __future__ import annotations

import dataclasses
import io
import itertools
import math
import subprocess
import sys
import warnings
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import onnx  # noqa: F401  (pinned in requirements-dev.txt: these tests must run)
import onnxruntime
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import actops
import actops.onnx
from actops import nn as ann
from actops import registry

from conftest import TINY_DECODER, TINY_VOCAB, by_registry_name

onnxruntime.set_default_logger_severity(3)

EXPORTERS = ("torchscript", "dynamo")
# The oldest opset supported (Gelu decomposed) and the first with ONNX Gelu.
OPSETS = (actops.onnx.MIN_OPSET, actops.onnx.GELU_OPSET)
SHAPE = (4, 6, 8)  # every dim even, dim 1 also divisible by 3: packed and grouped along each
CHANNELS = SHAPE[1]

RTOL = 1e-5
# ONNX Runtime's Sigmoid, Erf, Tanh and Gelu hold an absolute, not a relative,
# accuracy in the far negative tails (its Sigmoid is off by about 1e-7 where
# it is 1e-8 or less): there, these ops' outputs are held to this fraction of
# their largest magnitude. Every other op is held to RTOL alone, tails included.
TAIL_ATOL = by_registry_name({"swish": 1e-6, "swiglu": 1e-6, "gelu": 1e-6, "geglu": 1e-6}, "TAIL_ATOL")

# The non-default settings each op is exported with, beside its defaults.
SETTINGS = by_registry_name(
    {
        "swish": [{"beta": 1.7}, {"beta": math.inf}, {"beta": -math.inf}],  # the limits: relu, min(x, 0)
        "trelu": [{"threshold": 0.5, "alpha": 0.1}, {"threshold": -1.5, "alpha": 1.3}],
        "swiglu": [{"beta": 1.702}],
        "geglu": [{"approximate": "tanh"}],
        "maxout": [
            {"pieces": 2, "dim": -1},
            {"pieces": 3, "dim": 1},
            {"pieces": 2, "dim": 0},
            {"pieces": 4, "dim": -1},
        ],
    },
    "SETTINGS",
)
# A gated unit's clamp and offset: off, and GPT-OSS's kind of setting.
CLAMPS = [{}, {"limit": 1.5}, {"up_offset": 1.0}, {"limit": 1.5, "up_offset": 1.0}]
PACKED_DIMS = (-1, 0, 1)
# The saving forms, called as torch.ops.actops.<op>(x, *args).
SAVING_ARGS = by_registry_name({"trelu_with_mask": (0.5, 0.1), "maxout_with_indices": (3, 1)}, "SAVING_ARGS")


def sample(shape=SHAPE, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = 3 * torch.randn(shape, generator=g)
    rows = x.view(-1, shape[-1])
    rows[0] = torch.linspace(-20.0, 20.0, shape[-1])  # the tails
    if rows.shape[0] > 1:
        rows[1, ::2] = 0.0  # zeros: the limits of swish at beta = +-inf
    return x


# ---- the cases: each a call of an op, taken from the registry ------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    label: str
    entry: registry.Op
    call: Callable[[torch.nn.Module, torch.Tensor], Any]  # (the model, x) -> a tensor or a tuple

    def __str__(self) -> str:
        return self.label


def _label(name: str, **settings) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in settings.items())})"


def _elementwise_cases(entry: registry.Op) -> List[Case]:
    f, f_ = entry.function, entry.inplace_function
    numbers = entry.kind == "unary" or entry.learnable_op is not None  # Snake's alpha is always a tensor
    cases = []
    if numbers:  # the defaults and every choice, the settings, out= and in place
        choices = [dict(zip(entry.choices, values)) for values in itertools.product(*entry.choices.values())]
        for settings in choices + SETTINGS.get(entry.name, []):
            cases.append(Case(_label(entry.name, **settings), entry, lambda m, x, s=settings: f(x, **s)))
        settings = SETTINGS.get(entry.name, [{}])[0]
        cases.append(Case(_label(entry.name, **settings) + "[out]", entry, lambda m, x, s=settings: _out(f, x, **s)))
        if f_ is not None:
            cases.append(Case(_label(f"{entry.name}_", **settings), entry, lambda m, x, s=settings: f_(x.clone(), **s)))
    if entry.kind == "parametric":  # learnable: one value as a constant, one per channel as a parameter
        one = {entry.learnable: torch.tensor(0.6)}
        label = f"{entry.name}({entry.learnable}=tensor(0.6))"
        cases.append(Case(label, entry, lambda m, x: f(x, **one)))
        cases.append(Case(label + "[out]", entry, lambda m, x: _out(f, x, **one)))
        cases.append(Case(f"nn.{entry.modules[0]}(per channel)", entry, lambda m, x, n=entry.name: m.layers[n](x)))
    return cases


def _out(function, *args, **kwargs):
    out = torch.empty_like(function(*args, **kwargs))  # of the result's shape: a resize would not export
    result = function(*args, **kwargs, out=out)
    assert result is out
    return out


def _gated_cases(entry: registry.Op) -> List[Case]:
    f = entry.function
    options = [{}] + SETTINGS.get(entry.name, [])
    cases = []
    for settings in [{**o, **c} for o in options for c in CLAMPS]:
        cases.append(Case(_label(entry.name, **settings), entry, lambda m, x, s=settings: f(x, x.flip(0), **s)))
    cases.append(Case(_label(entry.name, up="broadcast"), entry, lambda m, x: f(x, x[:1, :1])))
    cases.append(Case(_label(entry.name, limit=1.5) + "[out]", entry, lambda m, x: _out(f, x, x.flip(0), limit=1.5)))
    for layout, dim in itertools.product(registry.LAYOUTS, PACKED_DIMS):
        settings = dict(dim=dim, layout=layout)
        cases.append(Case(_label(entry.name, **settings), entry, lambda m, x, s=settings: f(x, **s)))
    for layout, clamp in itertools.product(registry.LAYOUTS, CLAMPS[1:]):
        settings = dict(dim=1, layout=layout, **options[-1], **clamp)
        cases.append(Case(_label(entry.name, **settings), entry, lambda m, x, s=settings: f(x, **s)))
    settings = dict(dim=0, layout="interleaved", limit=1.5, up_offset=1.0)
    cases.append(Case(_label(entry.name, **settings) + "[out]", entry, lambda m, x, s=settings: _out(f, x, **s)))
    return cases


def _grouped_cases(entry: registry.Op) -> List[Case]:
    f = entry.function
    cases = [Case(_label(entry.name, **s), entry, lambda m, x, s=s: f(x, **s)) for s in SETTINGS[entry.name]]
    cases.append(Case(_label(entry.name, pieces=3) + "[out]", entry, lambda m, x: _out(f, x, 3)))
    return cases


def _saving_cases(entry: registry.Op) -> List[Case]:
    return [
        Case(f"{op}{SAVING_ARGS[op]}", entry, lambda m, x, op=op: getattr(torch.ops.actops, op)(x, *SAVING_ARGS[op]))
        for op in entry.saving_ops
    ]


CASES_OF_KIND = {
    "unary": _elementwise_cases,
    "parametric": _elementwise_cases,
    "gated": _gated_cases,
    "grouped": _grouped_cases,
}
CASES = [case for entry in registry.OPS for case in CASES_OF_KIND[entry.kind](entry) + _saving_cases(entry)]
assert len({case.label for case in CASES}) == len(CASES), "two cases share a label"


def learnable_layers() -> torch.nn.ModuleDict:
    """One layer per parametric op, a parameter per channel, set to distinct
    values (Snake's first α = 0: its limit)."""
    layers = torch.nn.ModuleDict(
        {
            "swish": ann.Swish(learnable=True, num_parameters=CHANNELS),
            "trelu": ann.TReLU(threshold=0.5, learnable=True, num_parameters=CHANNELS),
            "snake": ann.Snake(CHANNELS),
        }
    )
    assert set(layers) == set(registry.names("parametric")), "a parametric op without its learnable layer here"
    with torch.no_grad():
        for i, parameter in enumerate(layers.parameters()):
            parameter.copy_(torch.linspace(0.0, 1.5, CHANNELS) + 0.25 * i)
    return layers


class Cases(torch.nn.Module):
    """Every case, each output one case's result (a tuple for the saving forms)."""

    def __init__(self, cases) -> None:
        super().__init__()
        self.cases = list(cases)
        self.layers = learnable_layers()

    def forward(self, x):
        outputs = []
        for case in self.cases:
            result = case.call(self, x)
            outputs.extend(result if isinstance(result, tuple) else (result,))
        return tuple(outputs)


def onnx_bytes(model, args, exporter, opset, dynamic=None, names=None) -> bytes:
    """The model exported by torch.onnx.export (dynamo=False) or actops.onnx.export
    (dynamo=True); dynamic: {input index: {dim: name}}."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            f = io.BytesIO()
            names = names or [f"input{i}" for i in range(len(args))]
            axes = {names[i]: dims for i, dims in (dynamic or {}).items()}
            torch.onnx.export(
                model, args, f, dynamo=False, opset_version=opset, input_names=names, dynamic_axes=axes or None
            )
            return f.getvalue()
        shapes = None if dynamic is None else tuple(dynamic.get(i) for i in range(len(args)))
        program = actops.onnx.export(model, args, opset_version=opset, dynamic_shapes=shapes, verbose=False)
        return program.model_proto.SerializeToString()


def run(data: bytes, *inputs: torch.Tensor) -> List[torch.Tensor]:
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    feed = {i.name: value.numpy() for i, value in zip(session.get_inputs(), inputs)}
    return [torch.from_numpy(np.asarray(a)) for a in session.run(None, feed)]


@pytest.fixture(scope="module")
def exported() -> Dict[Tuple[str, int], Tuple[onnx.ModelProto, Dict[str, Tuple]]]:
    """(exporter, opset) -> (the ONNX model of every case, {case: (ONNX Runtime's outputs, PyTorch's)})."""
    model = Cases(CASES).eval()
    x = sample()
    with torch.no_grad():
        expected = [case.call(model, x) for case in model.cases]
    found = {}
    for exporter, opset in itertools.product(EXPORTERS, OPSETS):
        data = onnx_bytes(model, (x,), exporter, opset)
        outputs = iter(run(data, x))
        results = {}
        for case, reference in zip(model.cases, expected):
            reference = reference if isinstance(reference, tuple) else (reference,)
            results[case.label] = (tuple(next(outputs) for _ in reference), reference)
        assert next(outputs, None) is None
        found[exporter, opset] = (onnx.load_from_string(data), results)
    return found


def assert_matches(entry: registry.Op, actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    if not expected.is_floating_point():  # masks, indices
        assert torch.equal(actual, expected)
        return
    atol = TAIL_ATOL.get(entry.name, 0.0) * expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=RTOL, atol=atol)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_case_runs_in_onnxruntime_as_in_pytorch(exported, case, exporter, opset):
    actual, expected = exported[exporter, opset][1][case.label]
    for a, e in zip(actual, expected):
        assert_matches(case.entry, a, e)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("exporter", EXPORTERS)
def test_graph_holds_only_standard_onnx_ops(exported, exporter, opset):
    """No actops node and no local function is left; the translations the
    issue names are there (Gelu only from its opset, Erf below it)."""
    model = exported[exporter, opset][0]
    nodes = list(model.graph.node)
    assert {n.domain for n in nodes} <= {"", "ai.onnx"} and not model.functions
    assert {o.domain: o.version for o in model.opset_import}.get("", None) == opset
    types = {n.op_type for n in nodes}
    assert {"Mish", "Relu", "Sigmoid", "Where", "Sin", "Min", "Clip", "Split", "Slice", "ReduceMax", "ArgMax"} <= types
    assert ("Gelu" in types) == (opset >= actops.onnx.GELU_OPSET)
    assert ("Erf" in types) == (opset < actops.onnx.GELU_OPSET)


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_learnable_parameters_are_initializers(exported, exporter):
    model = exported[exporter, OPSETS[0]][0]
    initializers = [onnx.numpy_helper.to_array(t).reshape(-1) for t in model.graph.initializer]
    graph_inputs = {i.name for i in model.graph.input}
    assert len(graph_inputs) == 1  # x only: no parameter is an input
    for name, parameter in Cases([]).layers.named_parameters():
        values = parameter.detach().numpy()
        assert any(a.shape == values.shape and np.array_equal(a, values) for a in initializers), name


class Record(TorchDispatchMode):
    """The actops overloads called under it, as "op.overload", in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: List[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.namespace == "actops":
            self.calls.append(f"{func._schema.name.split('::')[1]}.{func._overloadname}")
        return func(*args, **(kwargs or {}))


def test_every_op_and_form_is_exported():
    """The cases reach every forward and in-place op of the registry and every
    out= overload (the in-place saving form: test_inplace_saving_form)."""
    model = Cases(CASES).eval()
    with torch.no_grad(), Record() as record:
        model(sample())
    reached = set(record.calls)
    wanted = set()
    for entry in registry.OPS:
        wanted |= {f"{op}.default" for op in entry.forward_ops + entry.inplace_ops if not op.endswith("_with_mask_")}
        wanted |= {f"{op}.out" for op in entry.function_ops}
    assert wanted - reached == set()
    assert set(actops.onnx.translation_table()) == {
        getattr(torch.ops.actops, op).default for entry in registry.OPS for op in entry.forward_ops
    }


class SavingInPlace(torch.nn.Module):
    def forward(self, x):
        y = x.clone()
        mask = torch.ops.actops.trelu_with_mask_(y, 0.5, 0.1)
        return y * 2, mask


def test_inplace_saving_form():
    """trelu_with_mask_ overwrites x and returns only the mask: torch.export
    makes it trelu_with_mask, but the TorchScript exporter would leave later
    uses of x reading the old value, so it refuses, naming the op."""
    x = sample()
    expected = SavingInPlace()(x)
    for a, e in zip(run(onnx_bytes(SavingInPlace(), (x,), "dynamo", OPSETS[0]), x), expected):
        assert_matches(registry.get("trelu"), a, e)
    with pytest.raises(actops.onnx.ExportError, match=r"actops::trelu_with_mask_ overwrites x"):
        onnx_bytes(SavingInPlace(), (x,), "torchscript", OPSETS[0])


# ---- opsets: 18 and newer ----------------------------------------------------------------------------


class Small(torch.nn.Module):
    """Linear -> Mish -> SwiGLU -> GELU -> Maxout, of actops.nn layers."""

    def __init__(self, features=8) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.mish = ann.Mish()
        self.swiglu = ann.SwiGLU(features, features, layout="interleaved")
        self.gelu = ann.GELU("tanh")
        self.maxout = ann.Maxout(features, features // 2, pieces=3)
        self.linear = torch.nn.Linear(features, features)

    def forward(self, x):
        return self.maxout(self.gelu(self.swiglu(self.mish(self.linear(x)))))


def test_opsets_below_18_are_refused_naming_the_op():
    x = sample((2, 3, 8))
    with pytest.raises(Exception, match=r"actops::mish needs ONNX opset 18 or newer"):
        onnx_bytes(Small(), (x,), "torchscript", 17)
    with pytest.raises(actops.onnx.ExportError, match=r"actops.onnx.export needs ONNX opset 18 or newer"):
        actops.onnx.export(Small(), (x,), opset_version=17)
    with pytest.raises(actops.onnx.ExportError, match=r"translation_table needs ONNX opset 18"):
        actops.onnx.translation_table(17)


def test_a_table_of_another_opset_is_refused():
    """Gelu of an opset-20 table in an opset-18 model would not load: the table's opset must be the export's."""
    x = sample((2, 3, 8))
    with pytest.raises(
        Exception, match=r"made for opset 20, but the export is at opset 18: pass translation_table\(18\)"
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Small(), (x,), dynamo=True, opset_version=18, custom_translation_table=actops.onnx.translation_table(20)
            )


def test_translation_table_with_torch_onnx_export():
    """The documented call: torch.onnx.export with the table, no actops.onnx.export."""
    x = sample((2, 3, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            Small(), (x,), dynamo=True, opset_version=20, custom_translation_table=actops.onnx.translation_table(20)
        )
    (actual,) = run(program.model_proto.SerializeToString(), x)
    torch.testing.assert_close(actual, Small()(x).detach(), rtol=RTOL, atol=1e-6)


# ---- dynamic axes, and a patched tiny Llama --------------------------------------------------------


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_dynamic_batch_and_sequence(exporter):
    model = Small().eval()
    x = sample((2, 5, 8))
    data = onnx_bytes(model, (x,), exporter, OPSETS[0], dynamic={0: {0: "batch", 1: "sequence"}})
    for shape in [(2, 5, 8), (3, 7, 8), (1, 1, 8)]:
        x = sample(shape, seed=sum(shape))
        (actual,) = run(data, x)
        with torch.no_grad():
            torch.testing.assert_close(actual, model(x), rtol=RTOL, atol=1e-6)


VOCAB = TINY_VOCAB


def tiny_llama() -> torch.nn.Module:
    """A patched LlamaForCausalLM from a tiny config (nothing downloaded), its
    logits for (ids, attention mask)."""
    import transformers  # noqa: PLC0415  (pinned; imported here: only this test needs it)

    config = transformers.LlamaConfig(**TINY_DECODER)
    torch.manual_seed(0)
    model = actops.patch(transformers.LlamaForCausalLM(config))

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids, mask):
            # the mask given: without it transformers' mask code calls aten::diff, which the
            # TorchScript exporter cannot export (not an actops op)
            return self.model(input_ids=ids, attention_mask=mask, use_cache=False).logits

    return Logits().eval()


def tokens(batch, length):
    ids = torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(batch * 100 + length))
    return ids, torch.ones_like(ids)


@pytest.mark.parametrize("exporter", EXPORTERS)
def test_patched_llama_end_to_end(exporter):
    model = tiny_llama()
    with torch.no_grad(), Record() as record:
        model(*tokens(1, 4))
    assert record.calls == ["swiglu.default"] * 2  # one fused SwiGLU per layer, the model's only actops op
    axes = {0: "batch", 1: "sequence"}
    data = onnx_bytes(model, tokens(2, 12), exporter, OPSETS[0], dynamic={0: axes, 1: axes}, names=["ids", "mask"])
    graph = onnx.load_from_string(data).graph
    assert not any(n.domain not in ("", "ai.onnx") for n in graph.node)
    for batch, length in [(2, 12), (3, 7)]:
        ids, mask = tokens(batch, length)
        (actual,) = run(data, ids, mask)
        with torch.no_grad():
            expected = model(ids, mask)
        scale = expected.abs().max().item()
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-5 * scale)


# ---- import ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("torch_onnx_first", [False, True], ids=["actops-first", "torch.onnx-first"])
def test_import_stays_light_and_registers_the_symbolics(torch_onnx_first):
    """import actops imports neither torch.onnx nor an ONNX package; the
    TorchScript exporter knows every op once both are imported, in either order."""
    first = "import torch.onnx" if torch_onnx_first else "pass"
    script = f"""
import sys, io
import torch
{first}
import actops
assert not [m for m in sys.modules if m.startswith("onnx")], "imported by import actops"
assert ("torch.onnx" in sys.modules) == {torch_onnx_first}, "torch.onnx imported by import actops"
import torch.onnx
f = io.BytesIO()
torch.onnx.export(actops.nn.Mish(), (torch.randn(3),), f, dynamo=False, opset_version=18)
assert b"Mish" in f.getvalue()
assert not [m for m in sys.modules if m.startswith(("onnxscript", "onnxruntime"))]
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("ok"), result.stderr[-3000:]
