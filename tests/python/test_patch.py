"""actops.patch: tiny randomly initialised transformers models (built from
configs, nothing downloaded) and plain torch.nn models compute the same logits
and gradients patched and unpatched, in train and eval mode, compiled, after
checkpoints move both ways; and every replacement is counted, so a silent no-op
fails."""

from __future__ import annotations

import copy
import inspect
import io
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import actops
from actops import patching
from actops.patching import patch

import transformers  # noqa: E402  (pinned in requirements-dev.txt: these tests must run)
from transformers.activations import ACT2FN  # noqa: E402
from transformers.integrations.moe import use_experts_implementation  # noqa: E402
from conftest import TINY_DECODER, TINY_VOCAB  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
VOCAB = TINY_VOCAB
COMMON = TINY_DECODER
LAYERS = COMMON["num_hidden_layers"]
MOE = dict(num_experts_per_tok=2, moe_intermediate_size=32)


def _experts(build_model, implementation):
    def build():
        model = build_model()
        model.set_experts_implementation(implementation)
        return model

    return build


def _gpt_oss():
    config = transformers.GptOssConfig(
        **{**COMMON, "intermediate_size": 64}, num_local_experts=4, num_experts_per_tok=2, sliding_window=8
    )
    return transformers.GptOssForCausalLM(config)


def _deepseek_v3():
    config = transformers.DeepseekV3Config(
        **{k: v for k, v in COMMON.items() if k != "head_dim"},
        **MOE,
        n_routed_experts=4,
        n_shared_experts=1,
        first_k_dense_replace=1,  # layer 0 dense, layer 1 MoE
        n_group=2,
        topk_group=1,
        q_lora_rank=32,
        kv_lora_rank=16,
        qk_rope_head_dim=8,
        qk_nope_head_dim=8,
        v_head_dim=16,
    )
    return transformers.DeepseekV3ForCausalLM(config)


def _mixtral():
    return transformers.MixtralForCausalLM(
        transformers.MixtralConfig(**COMMON, num_local_experts=4, num_experts_per_tok=2)
    )


def _qwen2_moe():
    config = transformers.Qwen2MoeConfig(**COMMON, **MOE, num_experts=4, shared_expert_intermediate_size=64)
    return transformers.Qwen2MoeForCausalLM(config)


def _qwen3_moe():
    return transformers.Qwen3MoeForCausalLM(transformers.Qwen3MoeConfig(**COMMON, **MOE, num_experts=4))


def _dinov2():
    config = transformers.Dinov2Config(
        hidden_size=64, num_hidden_layers=LAYERS, num_attention_heads=4, image_size=32, patch_size=8, num_labels=3
    )
    config.use_swiglu_ffn = True
    return transformers.Dinov2ForImageClassification(config)


SWIGLU = ("swiglu", 1.0)
GEGLU_TANH = ("geglu", "tanh")
GPT_OSS = ("gpt_oss", ("gpt_oss",))


def per_layer(path, cls_name, form, spec, layers=range(LAYERS)):
    return {path.format(i): (cls_name, form, spec) for i in layers}


def gpt_oss_experts():
    return per_layer("model.layers.{}.mlp.experts", "GptOssExperts", *GPT_OSS)


def _moe_archs(name, build_model, expected, implementations=("eager", "batched_mm", "grouped_mm")):
    return {
        (name if implementation == "eager" else f"{name}-{implementation}"): (
            _experts(build_model, implementation),
            expected,
        )
        for implementation in implementations
    }


# name -> (builder, the modules patch fuses: path -> (class name, form, spec))
ARCHS = {
    "llama": (
        lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(**COMMON)),
        per_layer("model.layers.{}.mlp", "LlamaMLP", "mlp", SWIGLU),
    ),
    "mistral": (
        lambda: transformers.MistralForCausalLM(transformers.MistralConfig(**COMMON, sliding_window=8)),
        per_layer("model.layers.{}.mlp", "MistralMLP", "mlp", SWIGLU),
    ),
    "qwen2": (
        lambda: transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**COMMON)),
        per_layer("model.layers.{}.mlp", "Qwen2MLP", "mlp", SWIGLU),
    ),
    "qwen3": (
        lambda: transformers.Qwen3ForCausalLM(transformers.Qwen3Config(**COMMON)),
        per_layer("model.layers.{}.mlp", "Qwen3MLP", "mlp", SWIGLU),
    ),
    "gemma": (
        lambda: transformers.GemmaForCausalLM(transformers.GemmaConfig(**COMMON)),
        per_layer("model.layers.{}.mlp", "GemmaMLP", "mlp", GEGLU_TANH),
    ),
    "gemma2": (
        lambda: transformers.Gemma2ForCausalLM(transformers.Gemma2Config(**COMMON, sliding_window=8)),
        per_layer("model.layers.{}.mlp", "Gemma2MLP", "mlp", GEGLU_TANH),
    ),
    "gemma3": (
        lambda: transformers.Gemma3ForCausalLM(transformers.Gemma3TextConfig(**COMMON, sliding_window=8)),
        per_layer("model.layers.{}.mlp", "Gemma3MLP", "mlp", GEGLU_TANH),
    ),
    "phi3": (
        lambda: transformers.Phi3ForCausalLM(transformers.Phi3Config(**COMMON, pad_token_id=0)),
        per_layer("model.layers.{}.mlp", "Phi3MLP", "packed_mlp", SWIGLU),
    ),
    "dinov2": (_dinov2, per_layer("dinov2.encoder.layer.{}.mlp", "Dinov2SwiGLUFFN", "mlp", SWIGLU)),
    # eager and batched_mm run in float64; grouped_mm (the default) only in float32
    **_moe_archs("gpt_oss", _gpt_oss, gpt_oss_experts()),
    **_moe_archs("mixtral", _mixtral, per_layer("model.layers.{}.mlp.experts", "MixtralExperts", "experts", SWIGLU)),
    **_moe_archs(
        "qwen2_moe",
        _qwen2_moe,
        {
            **per_layer("model.layers.{}.mlp.experts", "Qwen2MoeExperts", "experts", SWIGLU),
            **per_layer("model.layers.{}.mlp.shared_expert", "Qwen2MoeMLP", "mlp", SWIGLU),
        },
    ),
    **_moe_archs(
        "qwen3_moe", _qwen3_moe, per_layer("model.layers.{}.mlp.experts", "Qwen3MoeExperts", "experts", SWIGLU)
    ),
    **_moe_archs(
        "deepseek_v3",
        _deepseek_v3,
        {
            "model.layers.0.mlp": ("DeepseekV3MLP", "mlp", SWIGLU),
            "model.layers.1.mlp.experts": ("DeepseekV3Experts", "experts", SWIGLU),
            "model.layers.1.mlp.shared_experts": ("DeepseekV3MLP", "mlp", SWIGLU),
        },
    ),
}
NEW_ARCHS = {
    a for a in ARCHS if a.split("-")[0] in ("phi3", "dinov2", "mixtral", "qwen2_moe", "qwen3_moe", "deepseek_v3")
}
TOLERANCE = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=2e-4, atol=2e-5)}


def build(arch, dtype=torch.float64):
    torch.manual_seed(0)
    model = ARCHS[arch][0]().to(dtype)
    if arch.startswith("gpt_oss"):
        with torch.no_grad():  # wider routing and gate values than the default init: the clamps matter
            for layer in model.model.layers:
                layer.mlp.experts.gate_up_proj.normal_(0, 0.5)
                layer.mlp.experts.gate_up_proj_bias.normal_(0, 2.0)
    return model


def patched_modules(model):
    return {
        name: (type(m).__name__, type(m)._actops_form, type(m)._actops_spec)
        for name, m in model.named_modules()
        if hasattr(type(m), "_actops_spec")
    }


def tokens(batch=2, length=12):
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(1))


def inputs_for(arch, dtype=torch.float64):
    generator = torch.Generator().manual_seed(1)
    if arch == "dinov2":
        pixels = torch.randn(2, 3, 32, 32, generator=generator, dtype=dtype)
        return dict(pixel_values=pixels, labels=torch.tensor([0, 2]))
    ids = tokens()
    return dict(input_ids=ids, labels=ids)


def run(model, inputs):
    if isinstance(inputs, torch.Tensor):
        inputs = dict(input_ids=inputs, labels=inputs)
    model.zero_grad(set_to_none=True)
    out = model(**inputs)
    out.loss.backward()
    return out.logits.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


def assert_same_run(reference, candidate, dtype):
    ref_logits, ref_grads = reference
    logits, grads = candidate
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(logits, ref_logits, **tol)
    assert grads.keys() == ref_grads.keys()
    # each gradient to its own scale; one that is zero but for rounding (the key bias of
    # attention: softmax ignores it) to a millionth of the model's largest
    floor = 1e-6 * max(grad.abs().max().item() for grad in ref_grads.values())
    for name, grad in ref_grads.items():
        scale = max(grad.abs().max().item(), floor) or 1.0
        torch.testing.assert_close(grads[name], grad, rtol=tol["rtol"], atol=tol["atol"] * scale, msg=name)


def dtypes_for(arch):
    if arch.endswith("grouped_mm"):
        return [torch.float32]
    return [torch.float64] if arch in NEW_ARCHS else [torch.float64, torch.float32]


CASES = [(arch, dtype) for arch in ARCHS for dtype in dtypes_for(arch)]


class CalledOps(TorchDispatchMode):
    """The names of the ops a region runs (aten's and actops')."""

    def __init__(self):
        super().__init__()
        self.names = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


# ---- transformers models -------------------------------------------------------------


@pytest.mark.parametrize("arch,dtype", CASES, ids=[f"{a}-{str(d)[6:]}" for a, d in CASES])
def test_logits_and_gradients_match(arch, dtype):
    model = build(arch, dtype)
    patched = patch(copy.deepcopy(model))
    assert patched_modules(patched) == ARCHS[arch][1]  # not a silent no-op
    inputs = inputs_for(arch, dtype)
    for training in (True, False):
        model.train(training)
        patched.train(training)
        with CalledOps() as called:
            result = run(patched, inputs)
        assert_same_run(run(model, inputs), result, dtype)
        # the activation runs only inside the fused ops
        assert {"aten.silu", "aten.gelu"}.isdisjoint(called.names), called.names
        assert {"actops.swiglu", "actops.swiglu_packed", "actops.geglu"} & called.names, called.names


@pytest.mark.parametrize("arch", list(ARCHS))
def test_counts_the_replacements(arch, capsys):
    model = build(arch)
    assert patch(model, verbose=True) is model
    expected = ARCHS[arch][1]
    found = patched_modules(model)
    assert found == expected
    for name in found:
        module = model.get_submodule(name)
        assert isinstance(module, type(module)._actops_base) and type(module)._actops_base.__name__ == found[name][0]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(expected) + 1, lines
    assert sorted(line.split(": ")[1] for line in lines[:-1]) == sorted(expected), lines
    assert all(": fused: " in line for line in lines[:-1]), lines
    assert lines[-1] == f"actops.patch: {len(expected)} fused, 0 activations swapped, 0 recognised but left alone"
    # a second call has nothing left to do
    patch(model, verbose=True)
    assert capsys.readouterr().out.splitlines() == [
        "actops.patch: 0 fused, 0 activations swapped, 0 recognised but left alone"
    ]
    assert patched_modules(model) == found


def test_verbose_lines(capsys):
    patch(build("llama"), verbose=True)
    patch(build("gemma"), verbose=True)
    patch(build("gpt_oss"), verbose=True)
    patch(build("phi3"), verbose=True)
    patch(build("qwen3_moe"), verbose=True)
    lines = capsys.readouterr().out.splitlines()
    summary = f"actops.patch: {LAYERS} fused, 0 activations swapped, 0 recognised but left alone"
    assert lines == [
        *(
            f"actops.patch: model.layers.{i}.mlp: fused: LlamaMLP(act_fn=SiLUActivation) -> "
            "forward = down_proj(actops.swiglu(gate_proj(x), up_proj(x)))"
            for i in range(LAYERS)
        ),
        summary,
        *(
            f"actops.patch: model.layers.{i}.mlp: fused: GemmaMLP(act_fn=GELUTanh) -> "
            "forward = down_proj(actops.geglu(gate_proj(x), up_proj(x), approximate='tanh'))"
            for i in range(LAYERS)
        ),
        summary,
        *(
            f"actops.patch: model.layers.{i}.mlp.experts: fused: GptOssExperts._apply_gate -> "
            "_apply_gate = swiglu(gate_up, layout='interleaved', beta=alpha, limit=limit, up_offset=1.0)"
            for i in range(LAYERS)
        ),
        summary,
        *(
            f"actops.patch: model.layers.{i}.mlp: fused: Phi3MLP(activation_fn=SiLUActivation) -> "
            "forward = down_proj(actops.swiglu(gate_up_proj(x), layout='gate_up'))"
            for i in range(LAYERS)
        ),
        summary,
        *(
            f"actops.patch: model.layers.{i}.mlp.experts: fused: Qwen3MoeExperts(act_fn=SiLUActivation) -> "
            "_apply_gate = actops.swiglu(gate_up, layout='gate_up'), in the eager loop and in every "
            "implementation that calls it"
            for i in range(LAYERS)
        ),
        summary,
    ]


def test_gpt_oss_clamps_are_exercised():
    """The test models' gate/up values reach past GPT-OSS's limit (7), so the clamps are compared too."""
    model = build("gpt_oss")
    experts = model.model.layers[0].mlp.experts
    seen = []
    experts.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    model(tokens())
    gate_up = seen[0] @ experts.gate_up_proj[0] + experts.gate_up_proj_bias[0]
    assert (gate_up[..., ::2] > experts.limit).any() and (gate_up[..., 1::2].abs() > experts.limit).any()


COMPILED = [
    ("llama", "inductor"),
    ("gemma", "inductor"),
    ("gpt_oss-batched_mm", "inductor"),
    *((arch, "aot_eager") for arch in ("mistral", "qwen2", "qwen3", "gemma2", "gemma3", "phi3")),
    ("qwen3_moe-batched_mm", "aot_eager"),
]


@pytest.mark.parametrize("arch,backend", COMPILED, ids=[f"{a}-{b}" for a, b in COMPILED])
def test_compiled_patched_mlp_matches(arch, backend):
    torch._dynamo.reset()
    model = build(arch, torch.float32)
    block = model.model.layers[0].mlp
    experts = arch.startswith(("gpt_oss", "qwen3_moe"))
    reference = block.experts if experts else block
    mlp = copy.deepcopy(reference)
    patch(mlp)
    assert hasattr(type(mlp), "_actops_spec")
    compiled = torch.compile(mlp, fullgraph=True, backend=backend, dynamic=False)

    x = torch.randn(2, 5, COMMON["hidden_size"], generator=torch.Generator().manual_seed(2))
    if experts:
        x = x.reshape(-1, COMMON["hidden_size"]) * 4
        _, scores, indices = (block.router if arch.startswith("gpt_oss") else block.gate)(x)
        args = (indices, scores.detach())
    else:
        args = ()
    outputs = []
    for module, owner in ((reference, reference), (compiled, mlp)):
        owner.zero_grad(set_to_none=True)
        xi = x.clone().requires_grad_()
        y = module(xi, *args)
        y.backward(torch.ones_like(y))
        outputs.append((y.detach(), xi.grad, {n: p.grad for n, p in owner.named_parameters() if p.grad is not None}))
    (y0, gx0, g0), (y1, gx1, g1) = outputs
    torch.testing.assert_close(y1, y0, rtol=2e-4, atol=2e-5)
    torch.testing.assert_close(gx1, gx0, rtol=2e-4, atol=2e-5)
    assert g1.keys() == g0.keys() and g0
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], rtol=2e-4, atol=2e-5 * g0[name].abs().max().item(), msg=name)


def _roundtrip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("arch", ["llama", "gemma3", "gpt_oss", "phi3", "qwen3_moe"])
def test_state_dict_loads_both_ways(arch):
    ids = tokens()
    plain = build(arch)
    patched = patch(build(arch))
    with torch.no_grad():
        for p in patched.parameters():  # other weights than `plain`'s
            p.mul_(1.5)
    assert plain.state_dict().keys() == patched.state_dict().keys()
    for name, tensor in plain.state_dict().items():
        assert patched.state_dict()[name].shape == tensor.shape, name

    # unpatched checkpoint -> patched model
    fresh_patched = patch(build(arch))
    fresh_patched.load_state_dict(_roundtrip(plain.state_dict()), strict=True)
    assert_same_run(run(plain, ids), run(fresh_patched, ids), torch.float64)
    # patched checkpoint -> unpatched model
    fresh_plain = build(arch)
    fresh_plain.load_state_dict(_roundtrip(patched.state_dict()), strict=True)
    assert_same_run(run(fresh_plain, ids), run(patched, ids), torch.float64)


@pytest.mark.parametrize("arch", ["llama", "phi3", "qwen3_moe"])
def test_whole_patched_model_pickles_and_deep_copies(arch):
    model = patch(build(arch))
    ids = tokens()
    expected = model(ids).logits
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    for other in (torch.load(buffer, weights_only=False), copy.deepcopy(model)):
        assert patched_modules(other) == patched_modules(model) == ARCHS[arch][1]
        for name in patched_modules(model):
            module = other.get_submodule(name)
            assert type(module) is type(model.get_submodule(name)) and module is not model.get_submodule(name)
        torch.testing.assert_close(other(ids).logits, expected, rtol=0, atol=0)


def test_a_pickle_of_an_earlier_patched_mlp_loads():
    """Before the forms, a patched module pickled as _rebuild(base, spec)."""
    from transformers.models.llama.modeling_llama import LlamaMLP

    mlp = patching._rebuild(LlamaMLP, ("swiglu", 1.0))
    assert type(mlp) is type(patch(build("llama")).model.layers[0].mlp)
    assert type(mlp)._actops_form == "mlp"


# ---- recognised by the code of the forward, not by the class ----------------------------


class MyGatedMLP(nn.Module):
    """Not a transformers class: LlamaMLP's forward, written here."""

    def __init__(self, act=None, hidden=16, intermediate=24):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, hidden, bias=False)
        self.act_fn = nn.SiLU() if act is None else act

    def forward(self, x):
        down_proj = self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))
        return down_proj


class UpGatedMLP(MyGatedMLP):
    """Its own forward, with the activation on up instead: another function."""

    def forward(self, x):
        down_proj = self.down_proj(self.act_fn(self.up_proj(x)) * self.gate_proj(x))
        return down_proj


class ScaledLlamaMLP(transformers.models.llama.modeling_llama.LlamaMLP):
    """A subclass of LlamaMLP with its own forward."""

    def forward(self, x):
        return 2 * super().forward(x)


class NamedLlamaMLP(transformers.models.llama.modeling_llama.LlamaMLP):
    """A subclass that keeps LlamaMLP's forward."""


@use_experts_implementation
class LoopExperts(transformers.models.mixtral.modeling_mixtral.MixtralExperts):
    """Mixtral's experts with another eager loop (one token at a time), which
    does not call the default _apply_gate that the other implementations call."""

    def forward(self, hidden_states, top_k_index, top_k_weights):
        out = torch.zeros_like(hidden_states)
        for t in range(hidden_states.shape[0]):
            for k in range(top_k_index.shape[1]):
                e = int(top_k_index[t, k])
                gate, up = nn.functional.linear(hidden_states[t], self.gate_up_proj[e]).chunk(2, dim=-1)
                out[t] += top_k_weights[t, k] * nn.functional.linear(self.act_fn(gate) * up, self.down_proj[e])
        return out


def _same_mlp(reference, module, x, keyword=None):
    results = []
    for m in (reference, module):
        xi = x.clone().requires_grad_()
        y = m(**{keyword: xi}) if keyword else m(xi)
        grads = torch.autograd.grad(y, [xi, *m.parameters()], torch.ones_like(y))
        results.append((y, grads))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-10, atol=1e-10)
    for g1, g0 in zip(results[1][1], results[0][1]):
        torch.testing.assert_close(g1, g0, rtol=1e-10, atol=1e-10)


def _llama_config():
    return transformers.LlamaConfig(hidden_size=16, intermediate_size=24, num_attention_heads=2, num_key_value_heads=2)


@pytest.mark.parametrize(
    "make,form",
    [
        (lambda: MyGatedMLP(), "mlp"),
        (lambda: NamedLlamaMLP(_llama_config()), "mlp"),
        # the forward returning the product directly, its parameter named hidden_state
        (
            lambda: transformers.models.qwen2_5_vl.modeling_qwen2_5_vl.Qwen2_5_VLMLP(
                SimpleNamespace(hidden_size=16, intermediate_size=24, hidden_act="silu"), bias=True
            ),
            "mlp",
        ),
        (lambda: transformers.models.idefics2.modeling_idefics2.Idefics2MLP(16, 24, 16, "gelu_pytorch_tanh"), "mlp"),
        (
            lambda: transformers.models.glm.modeling_glm.GlmMLP(
                SimpleNamespace(hidden_size=16, intermediate_size=24, hidden_act="silu")
            ),
            "packed_mlp",
        ),
    ],
    ids=["own-class", "subclass-keeping-forward", "qwen2_5_vl-vision", "idefics2", "glm"],
)
def test_a_known_forward_is_fused_whatever_the_class(make, form):
    torch.manual_seed(0)
    reference = make().double()
    mlp = patch(copy.deepcopy(reference))
    assert type(mlp)._actops_form == form and type(mlp)._actops_base is type(reference)
    x = torch.randn(3, 5, 16, dtype=torch.float64)
    _same_mlp(reference, mlp, x)
    parameter = list(inspect.signature(type(reference).forward).parameters)[1]
    assert list(inspect.signature(type(mlp).forward).parameters)[1] == parameter
    _same_mlp(reference, mlp, x, keyword=parameter)  # called by keyword, as before


@pytest.mark.parametrize("make", [lambda: UpGatedMLP(), lambda: ScaledLlamaMLP(_llama_config())], ids=["up", "scaled"])
def test_a_forward_of_its_own_is_left_alone(make, capsys):
    torch.manual_seed(0)
    reference = make().double()
    mlp = patch(copy.deepcopy(reference), verbose=True)
    assert type(mlp) is type(reference) and type(mlp.act_fn) is actops.nn.Swish
    lines = capsys.readouterr().out.splitlines()
    name = type(reference).__name__
    assert lines[0] == f"actops.patch: (model): not fused: {name}: its forward is none of the forms actops knows"
    assert lines[1].startswith("actops.patch: act_fn: activation swapped: ")
    _same_mlp(reference, mlp, torch.randn(3, 16, dtype=torch.float64))


def test_experts_with_another_eager_loop_get_the_fused_gate_only(capsys):
    config = transformers.MixtralConfig(**{**COMMON, "hidden_size": 16, "intermediate_size": 8}, num_local_experts=3)
    torch.manual_seed(0)
    reference = LoopExperts(config).double()
    with torch.no_grad():
        reference.gate_up_proj.normal_()
        reference.down_proj.normal_()
    experts = patch(copy.deepcopy(reference), verbose=True)
    assert type(experts)._actops_form == "experts_gate" and "forward" not in vars(type(experts))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("actops.patch: (model): fused: LoopExperts(act_fn=SiLUActivation) -> _apply_gate = ")
    assert "its eager loop is not one actops knows and still calls act_fn" in lines[0]
    assert lines[1] == "actops.patch: act_fn: activation swapped: SiLUActivation -> actops.nn.Swish(beta=1.0)"

    x = torch.randn(5, 16, dtype=torch.float64)
    index = torch.tensor([[0, 1], [2, 0], [1, 2], [0, 2], [1, 0]])
    weights = torch.rand(5, 2, dtype=torch.float64)
    for implementation in ("eager", "batched_mm"):
        results = []
        for module in (reference, experts):
            module.config._experts_implementation = implementation  # each has its copy of the config
            with CalledOps() as called:
                y = module(x, index, weights)
            results.append(y)
        if implementation == "batched_mm":  # through the fused _apply_gate
            assert "actops.swiglu_packed" in called.names and "aten.silu" not in called.names
        else:  # its own loop, through the swapped act_fn
            assert "actops.swish" in called.names and "actops.swiglu_packed" not in called.names
        torch.testing.assert_close(results[1], results[0], rtol=1e-10, atol=1e-10)


# ---- an MLP's activation: fused, element-wise, or left alone -------------------------

# hidden_act -> the gated op the MLP gets (None: the MLP is left alone), and the
# module its act_fn becomes when the MLP is left alone (None: unchanged)
HIDDEN_ACTS = {
    "silu": (("swiglu", 1.0), None),
    "swish": (("swiglu", 1.0), None),
    "quick_gelu": (("swiglu", 1.702), None),
    "gelu": (("geglu", "none"), None),
    "gelu_python": (("geglu", "none"), None),
    "gelu_pytorch_tanh": (("geglu", "tanh"), None),
    "gelu_python_tanh": (("geglu", "tanh"), None),
    "gelu_new": (("geglu", "tanh"), None),
    "gelu_accurate": (("geglu", "tanh"), None),
    "relu": (("reglu",), None),
    "mish": (None, actops.nn.Mish),
    "relu2": (None, actops.nn.ReLU2),
    "tanh": (None, None),
    "gelu_fast": (None, None),
    "sigmoid": (None, None),
}


@pytest.mark.parametrize("hidden_act", list(HIDDEN_ACTS))
def test_llama_mlp_with_each_activation(hidden_act, capsys):
    spec, elementwise = HIDDEN_ACTS[hidden_act]
    config = transformers.LlamaConfig(**COMMON, hidden_act=hidden_act)
    reference = transformers.models.llama.modeling_llama.LlamaMLP(config).double()
    mlp = patch(copy.deepcopy(reference), verbose=True)
    lines = capsys.readouterr().out.splitlines()
    act_name = type(reference.act_fn).__name__
    if spec is not None:
        assert type(mlp)._actops_spec == spec
        assert lines == [
            f"actops.patch: (model): fused: LlamaMLP(act_fn={act_name}) -> {type(mlp)._actops_note}",
            "actops.patch: 1 fused, 0 activations swapped, 0 recognised but left alone",
        ]
    else:
        assert type(mlp) is type(reference)
        assert lines[0] == (
            f"actops.patch: (model): not fused: LlamaMLP: its act_fn is {act_name}, "
            "which no actops gated op computes"
        )
        if elementwise is None:
            assert len(lines) == 2 and type(mlp.act_fn) is type(reference.act_fn)
        else:
            assert type(mlp.act_fn) is elementwise
            assert lines[1].startswith(
                f"actops.patch: act_fn: activation swapped: {act_name} -> actops.nn.{elementwise.__name__}("
            )
        swapped = 0 if elementwise is None else 1
        assert lines[-1] == f"actops.patch: 0 fused, {swapped} activations swapped, 1 recognised but left alone"

    x = torch.randn(3, 7, COMMON["hidden_size"], dtype=torch.float64) * 3
    results = []
    for module in (reference, mlp):
        xi = x.clone().requires_grad_()
        y = module(xi)
        grads = torch.autograd.grad(y, [xi, *module.parameters()], torch.ones_like(y))
        results.append((y, grads))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-10, atol=1e-10)
    for g1, g0 in zip(results[1][1], results[0][1]):
        torch.testing.assert_close(g1, g0, rtol=1e-10, atol=1e-10)


def test_mlp_whose_act_fn_has_a_hook_is_left_alone(capsys):
    model = build("llama")
    model.model.layers[1].mlp.act_fn.register_forward_hook(lambda *args: None)
    patch(model, verbose=True)
    assert list(patched_modules(model)) == ["model.layers.0.mlp"]
    assert "model.layers.1.mlp: not fused: LlamaMLP: its act_fn has hooks" in capsys.readouterr().out


# ---- element-wise modules -----------------------------------------------------------------

ELEMENTWISE = {
    "silu": (actops.nn.Swish, 1.0),
    "swish": (actops.nn.Swish, 1.0),
    "quick_gelu": (actops.nn.Swish, 1.702),
    "gelu": (actops.nn.GELU, "none"),
    "gelu_python": (actops.nn.GELU, "none"),
    "gelu_pytorch_tanh": (actops.nn.GELU, "tanh"),
    "gelu_python_tanh": (actops.nn.GELU, "tanh"),
    "gelu_new": (actops.nn.GELU, "tanh"),
    "gelu_accurate": (actops.nn.GELU, "tanh"),
    "mish": (actops.nn.Mish, None),
    "relu2": (actops.nn.ReLU2, None),
}


def _check_same_function(reference, module, x):
    results = []
    for m in (reference, module):
        xi = x.clone().requires_grad_()
        y = m(xi)
        (g,) = torch.autograd.grad(y, xi, torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y))
        results.append((y, g))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_transformers_activation_modules(name):
    cls, parameter = ELEMENTWISE[name]
    reference = nn.Sequential(ACT2FN[name])
    model = patch(copy.deepcopy(reference))
    assert type(model[0]) is cls
    if cls is actops.nn.Swish:
        assert model[0].beta == parameter
    if cls is actops.nn.GELU:
        assert model[0].approximate == parameter
    _check_same_function(reference, model, torch.linspace(-8, 8, 401, dtype=torch.float64))


def test_gelu_fast_and_unknown_activations_stay():
    model = nn.Sequential(ACT2FN["gelu_fast"], ACT2FN["tanh"], nn.ReLU(), nn.Hardswish(), ACT2FN["gelu_10"])
    before = [type(m) for m in model]
    patch(model)
    assert [type(m) for m in model] == before


def plain_model():
    return nn.Sequential(
        nn.Linear(8, 16),
        nn.Mish(),
        nn.Linear(16, 16),
        nn.SiLU(),
        nn.Sequential(nn.Linear(16, 16), nn.GELU("tanh")),
        nn.Linear(16, 16),
        nn.GELU(),
        nn.Linear(16, 16),
        nn.SiLU(inplace=True),
        nn.ModuleList([nn.Mish(inplace=True)]),
        nn.Linear(16, 4),
        nn.ReLU(),
    ).double()


def _plain_forward(model, x):
    for m in model:
        x = m[0](x) if isinstance(m, nn.ModuleList) else m(x)
    return x


def test_plain_torch_model(capsys):
    torch.manual_seed(0)
    reference = plain_model()
    model = patch(copy.deepcopy(reference), verbose=True)
    assert [type(m) for m in model[:4]] == [nn.Linear, actops.nn.Mish, nn.Linear, actops.nn.Swish]
    assert type(model[4][1]) is actops.nn.GELU and model[4][1].approximate == "tanh"
    assert type(model[6]) is actops.nn.GELU and model[6].approximate == "none"
    assert type(model[8]) is actops.nn.Swish and type(model[9][0]) is actops.nn.Mish
    assert model[8].inplace and model[9][0].inplace and not model[1].inplace and not model[3].inplace
    assert type(model[11]) is nn.ReLU
    assert capsys.readouterr().out.splitlines() == [
        "actops.patch: 1: activation swapped: Mish() -> actops.nn.Mish()",
        "actops.patch: 3: activation swapped: SiLU() -> actops.nn.Swish(beta=1.0)",
        "actops.patch: 4.1: activation swapped: GELU(approximate='tanh') -> actops.nn.GELU(approximate='tanh')",
        "actops.patch: 6: activation swapped: GELU(approximate='none') -> actops.nn.GELU(approximate='none')",
        "actops.patch: 8: activation swapped: SiLU(inplace=True) -> actops.nn.Swish(beta=1.0, inplace=True)",
        "actops.patch: 9.0: activation swapped: Mish(inplace=True) -> actops.nn.Mish(inplace=True)",
        "actops.patch: 0 fused, 6 activations swapped, 0 recognised but left alone",
    ]
    assert reference.state_dict().keys() == model.state_dict().keys()
    x = torch.randn(5, 8, dtype=torch.float64)
    results = []
    for m in (reference, model):
        for training in (True, False):
            m.train(training)
            m.zero_grad(set_to_none=True)
            y = _plain_forward(m, x)
            y.square().sum().backward()
            results.append((y.detach(), [p.grad for p in m.parameters()]))
    for (y0, g0), (y1, g1) in zip(results[:2], results[2:]):
        torch.testing.assert_close(y1, y0, rtol=1e-10, atol=1e-12)
        for a, b in zip(g1, g0):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_shared_modules_stay_shared_and_hooked_ones_stay():
    shared = nn.SiLU()
    hooked = nn.Mish()
    hooked.register_forward_hook(lambda *args: None)
    model = patch(nn.Sequential(shared, nn.Linear(4, 4), shared, hooked))
    assert type(model[0]) is actops.nn.Swish and model[0] is model[2]
    assert model[3] is hooked


def test_a_bare_activation_returns_its_replacement():
    assert type(patch(nn.GELU("tanh"))) is actops.nn.GELU
    with pytest.raises(TypeError):
        patch(lambda x: x)


def test_works_without_transformers():
    """patch never imports transformers (a plain model's patch leaves it out of
    sys.modules) and works where importing it fails."""
    script = textwrap.dedent("""
        import sys
        import torch
        from actops.patching import patch
        model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.SiLU(), torch.nn.Mish())
        patch(model)
        assert type(model[1]).__name__ == "Swish" and type(model[2]).__name__ == "Mish", model
        assert not any(name.split(".")[0] == "transformers" for name in sys.modules), "transformers was imported"
        sys.modules["transformers"] = None  # as if not installed: `import transformers` raises ImportError
        model = patch(torch.nn.Sequential(torch.nn.GELU("tanh")))
        assert type(model[0]).__name__ == "GELU" and type(model[0]).__module__ == "actops.nn", model
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr
