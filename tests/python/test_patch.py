"""actops.patch: tiny randomly initialised transformers models (built from
configs, nothing downloaded) and plain torch.nn models compute the same logits
and gradients patched and unpatched, in train and eval mode, compiled, after
checkpoints move both ways; and every replacement is counted, so a silent no-op
fails."""

from __future__ import annotations

import copy
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

import actops
from actops.patching import patch

import transformers  # noqa: E402  (pinned in requirements-dev.txt: these tests must run)
from transformers.activations import ACT2FN  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
VOCAB = 128
COMMON = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    vocab_size=VOCAB,
    max_position_embeddings=64,
)
LAYERS = COMMON["num_hidden_layers"]


def _gpt_oss(implementation):
    def build():
        config = transformers.GptOssConfig(
            **{**COMMON, "intermediate_size": 64}, num_local_experts=4, num_experts_per_tok=2, sliding_window=8
        )
        model = transformers.GptOssForCausalLM(config)
        model.set_experts_implementation(implementation)
        return model

    return build


# name -> (builder, class name of the patched module, the actops op it calls: _actops_spec)
ARCHS = {
    "llama": (lambda: transformers.LlamaForCausalLM(transformers.LlamaConfig(**COMMON)), "LlamaMLP", ("swiglu", 1.0)),
    "mistral": (
        lambda: transformers.MistralForCausalLM(transformers.MistralConfig(**COMMON, sliding_window=8)),
        "MistralMLP",
        ("swiglu", 1.0),
    ),
    "qwen2": (lambda: transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**COMMON)), "Qwen2MLP", ("swiglu", 1.0)),
    "qwen3": (lambda: transformers.Qwen3ForCausalLM(transformers.Qwen3Config(**COMMON)), "Qwen3MLP", ("swiglu", 1.0)),
    "gemma": (lambda: transformers.GemmaForCausalLM(transformers.GemmaConfig(**COMMON)), "GemmaMLP", ("geglu", "tanh")),
    "gemma2": (
        lambda: transformers.Gemma2ForCausalLM(transformers.Gemma2Config(**COMMON, sliding_window=8)),
        "Gemma2MLP",
        ("geglu", "tanh"),
    ),
    "gemma3": (
        lambda: transformers.Gemma3ForCausalLM(transformers.Gemma3TextConfig(**COMMON, sliding_window=8)),
        "Gemma3MLP",
        ("geglu", "tanh"),
    ),
    # eager and batched_mm run in float64; grouped_mm (the default) only in float32
    "gpt_oss": (_gpt_oss("eager"), "GptOssExperts", ("gpt_oss",)),
    "gpt_oss-batched_mm": (_gpt_oss("batched_mm"), "GptOssExperts", ("gpt_oss",)),
    "gpt_oss-grouped_mm": (_gpt_oss("grouped_mm"), "GptOssExperts", ("gpt_oss",)),
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
    return {name: type(m)._actops_spec for name, m in model.named_modules() if hasattr(type(m), "_actops_spec")}


def tokens(batch=2, length=12):
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(1))


def run(model, ids):
    model.zero_grad(set_to_none=True)
    out = model(ids, labels=ids)
    out.loss.backward()
    return out.logits.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}


def assert_same_run(reference, candidate, dtype):
    ref_logits, ref_grads = reference
    logits, grads = candidate
    tol = TOLERANCE[dtype]
    torch.testing.assert_close(logits, ref_logits, **tol)
    assert grads.keys() == ref_grads.keys()
    for name, grad in ref_grads.items():
        scale = grad.abs().max().item() or 1.0
        torch.testing.assert_close(grads[name], grad, rtol=tol["rtol"], atol=tol["atol"] * scale, msg=name)


def dtypes_for(arch):
    return [torch.float32] if arch == "gpt_oss-grouped_mm" else [torch.float64, torch.float32]


CASES = [(arch, dtype) for arch in ARCHS for dtype in dtypes_for(arch)]


# ---- transformers models -------------------------------------------------------------


@pytest.mark.parametrize("arch,dtype", CASES, ids=[f"{a}-{str(d)[6:]}" for a, d in CASES])
def test_logits_and_gradients_match(arch, dtype):
    model = build(arch, dtype)
    patched = patch(copy.deepcopy(model))
    assert len(patched_modules(patched)) == LAYERS  # not a silent no-op
    ids = tokens()
    for training in (True, False):
        model.train(training)
        patched.train(training)
        assert_same_run(run(model, ids), run(patched, ids), dtype)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_counts_the_replacements(arch, capsys):
    model = build(arch)
    assert patch(model, verbose=True) is model
    _, cls_name, spec = ARCHS[arch]
    found = patched_modules(model)
    suffix = "mlp.experts" if arch.startswith("gpt_oss") else "mlp"
    assert found == {f"model.layers.{i}.{suffix}": spec for i in range(LAYERS)}
    for name in found:
        module = model.get_submodule(name)
        assert type(module).__name__ == cls_name and isinstance(module, type(module)._actops_base)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == LAYERS, lines
    assert all(line.startswith("actops.patch: model.layers.") for line in lines), lines
    # a second call has nothing left to do
    patch(model, verbose=True)
    assert capsys.readouterr().out == "" and patched_modules(model) == found


def test_verbose_lines(capsys):
    patch(build("llama"), verbose=True)
    patch(build("gemma"), verbose=True)
    patch(build("gpt_oss"), verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        *(
            f"actops.patch: model.layers.{i}.mlp: LlamaMLP(act_fn=SiLUActivation) -> "
            "forward = down_proj(actops.swiglu(gate_proj(x), up_proj(x)))"
            for i in range(LAYERS)
        ),
        *(
            f"actops.patch: model.layers.{i}.mlp: GemmaMLP(act_fn=GELUTanh) -> "
            "forward = down_proj(actops.geglu(gate_proj(x), up_proj(x), approximate='tanh'))"
            for i in range(LAYERS)
        ),
        *(
            f"actops.patch: model.layers.{i}.mlp.experts: GptOssExperts._apply_gate -> "
            "_apply_gate = swiglu(gate_up, layout='interleaved', beta=alpha, limit=limit, up_offset=1.0)"
            for i in range(LAYERS)
        ),
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
    *((arch, "aot_eager") for arch in ("mistral", "qwen2", "qwen3", "gemma2", "gemma3")),
]


@pytest.mark.parametrize("arch,backend", COMPILED, ids=[f"{a}-{b}" for a, b in COMPILED])
def test_compiled_patched_mlp_matches(arch, backend):
    torch._dynamo.reset()
    model = build(arch, torch.float32)
    reference = model.model.layers[0].mlp
    if arch.startswith("gpt_oss"):
        reference = reference.experts
    mlp = copy.deepcopy(reference)
    patch(mlp)
    assert hasattr(type(mlp), "_actops_spec")
    compiled = torch.compile(mlp, fullgraph=True, backend=backend, dynamic=False)

    x = torch.randn(2, 5, COMMON["hidden_size"], generator=torch.Generator().manual_seed(2))
    if arch.startswith("gpt_oss"):
        x = x.reshape(-1, COMMON["hidden_size"]) * 4
        _, scores, indices = model.model.layers[0].mlp.router(x)
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


@pytest.mark.parametrize("arch", ["llama", "gemma3", "gpt_oss"])
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


def test_whole_patched_model_pickles_and_deep_copies():
    model = patch(build("llama"))
    ids = tokens()
    expected = model(ids).logits
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    for other in (torch.load(buffer, weights_only=False), copy.deepcopy(model)):
        assert patched_modules(other) == patched_modules(model)
        mlp = other.model.layers[0].mlp
        assert type(mlp) is type(model.model.layers[0].mlp) and mlp is not model.model.layers[0].mlp
        torch.testing.assert_close(other(ids).logits, expected, rtol=0, atol=0)


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
        assert lines == [f"actops.patch: (model): LlamaMLP(act_fn={act_name}) -> {type(mlp)._actops_note}"]
    else:
        assert type(mlp) is type(reference)
        assert lines[0] == (
            f"actops.patch: (model): LlamaMLP left alone: its act_fn is {act_name}, "
            "which no actops gated op computes"
        )
        if elementwise is None:
            assert len(lines) == 1 and type(mlp.act_fn) is type(reference.act_fn)
        else:
            assert type(mlp.act_fn) is elementwise
            assert lines[1].startswith(f"actops.patch: act_fn: {act_name} -> actops.nn.{elementwise.__name__}(")

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
    assert "model.layers.1.mlp: LlamaMLP left alone: its act_fn has hooks" in capsys.readouterr().out


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
        "actops.patch: 1: Mish() -> actops.nn.Mish()",
        "actops.patch: 3: SiLU() -> actops.nn.Swish(beta=1.0)",
        "actops.patch: 4.1: GELU(approximate='tanh') -> actops.nn.GELU(approximate='tanh')",
        "actops.patch: 6: GELU(approximate='none') -> actops.nn.GELU(approximate='none')",
        "actops.patch: 8: SiLU(inplace=True) -> actops.nn.Swish(beta=1.0, inplace=True)",
        "actops.patch: 9.0: Mish(inplace=True) -> actops.nn.Mish(inplace=True)",
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
