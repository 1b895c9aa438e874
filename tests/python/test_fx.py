"""torch.fx.symbolic_trace, which FX-based tools (quantization, graph
rewriters) run: every face of every op is recorded as its actops op, the
split gated form and tensor beta / alpha included, and the traced module
computes what the module does. (transformers 5 has no HFTracer any more: a
patched Llama MLP is traced with torch.fx itself.)"""

from __future__ import annotations

import pytest
import torch

import actops
from actops import registry
from conftest import form

ops = torch.ops.actops


class EveryFace(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.beta = torch.nn.Parameter(torch.full((8,), 1.3, dtype=torch.float64))
        self.alpha = torch.nn.Parameter(torch.full((8,), 0.1, dtype=torch.float64))

    def forward(self, x):
        y = actops.swiglu(x[..., :8], x[..., 8:], beta=1.702, limit=7.0)  # split, as views
        y = actops.swish(y, self.beta) + actops.swish(y, 0.5)
        y = actops.trelu(y, 0.5, self.alpha) + actops.trelu(y, 0.5, 0.01)
        y = actops.geglu(torch.cat([y, y], -1), -1, layout="interleaved") + actops.reglu(x, dim=-1)
        y = actops.gelu(y, approximate="tanh") + actops.relu2(y)
        return actops.mish(y) + actops.maxout(x, 2, -1)


def test_symbolic_trace_records_every_op():
    module = EveryFace()
    traced = torch.fx.symbolic_trace(module)
    targets = {node.target for node in traced.graph.nodes if node.op == "call_function"}
    expected = {
        ops.swiglu.default,
        ops.swish_learnable.default,
        ops.swish.default,
        ops.trelu_learnable.default,
        ops.trelu.default,
        ops.geglu_packed.default,
        ops.reglu_packed.default,
        ops.gelu.default,
        ops.relu2.default,
        ops.mish.default,
        ops.maxout.default,
    }
    assert expected <= targets, expected - targets
    x = torch.randn(4, 16, dtype=torch.float64)
    assert torch.equal(traced(x), module(x))


class OneForm(torch.nn.Module):
    """actops.<name> in one form of the registry (conftest.Form): x the
    traced input, a learnable parameter an nn.Parameter, other tensors buffers."""

    def __init__(self, sample):
        super().__init__()
        self.sample = sample
        tensors = sample.make(torch.float64)
        for name, tensor in zip(sample.tensor_names[1:], tensors[1:]):
            if name == sample.entry.learnable:
                self.register_parameter(name, torch.nn.Parameter(tensor))
            else:
                self.register_buffer(name, tensor)

    def forward(self, x):
        return self.sample.call((x, *(getattr(self, name) for name in self.sample.tensor_names[1:])))


FORMS = [form(entry, op) for entry in registry.OPS for op in entry.function_ops]


@pytest.mark.parametrize("sample", FORMS, ids=str)
def test_symbolic_trace_records_every_form_of_every_op(sample):
    module = OneForm(sample)
    traced = torch.fx.symbolic_trace(module)
    targets = {node.target for node in traced.graph.nodes if node.op == "call_function"}
    assert sample.overload.default in targets, targets
    x = sample.make(torch.float64)[0]
    assert torch.equal(traced(x), module(x))


def test_symbolic_trace_of_a_patched_llama_mlp():
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaMLP

    config = LlamaConfig(hidden_size=16, intermediate_size=32, num_attention_heads=2, num_key_value_heads=2)
    mlp = LlamaMLP(config).double()
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    expected = mlp(x)
    traced = torch.fx.symbolic_trace(actops.patch(mlp))
    assert ops.swiglu.default in {node.target for node in traced.graph.nodes}
    torch.testing.assert_close(traced(x), expected, rtol=1e-12, atol=1e-12)
