"""``actops.patch(model)``: the activations and gated MLPs of an existing model,
computed by actops' ops, in place.

Recognised:

- element-wise modules, by their exact class, swapped for an ``actops.nn``
  module in their parent: ``torch.nn.Mish`` -> :class:`actops.nn.Mish`;
  ``torch.nn.SiLU`` -> :class:`actops.nn.Swish` (``beta=1``); ``torch.nn.GELU``
  -> :class:`actops.nn.GELU` (same ``approximate``); and the activation modules
  of Hugging Face transformers' ``ACT2FN``: ``silu`` (``SiLUActivation``),
  ``swish`` (``torch.nn.SiLU``), ``gelu`` and ``gelu_python``
  (``GELUActivation``, erf) -> ``GELU("none")``; ``gelu_pytorch_tanh``,
  ``gelu_python_tanh`` (``GELUTanh``), ``gelu_new`` (``NewGELUActivation``) and
  ``gelu_accurate`` (``AccurateGELUActivation``), all
  :math:`0.5x(1+\\tanh(\\sqrt{2/\\pi}(x+0.044715x^3)))` -> ``GELU("tanh")``;
  ``quick_gelu`` (:math:`x\\sigma(1.702x)`) -> ``Swish(beta=1.702)``; ``mish``
  -> ``Mish``; ``relu2`` (:math:`\\operatorname{relu}(x)^2`) -> ``ReLU2``.
  ``gelu_fast`` is not replaced: it rounds :math:`\\sqrt{2/\\pi}` to
  ``0.7978845608``, a different function in float64.
- gated MLPs and experts, by the code of their methods, whatever their class
  is called: a module whose ``forward`` (or ``_apply_gate``) has the same
  bytecode as one of the forms below, transcribed from transformers 5.24.0, is
  fused; a class with a forward of its own is not (see ``_FORM_SOURCES``):

  - ``down_proj(act_fn(gate_proj(x)) * up_proj(x))`` (LlamaMLP's forward, and
    the "Copied from" ones of Mistral, Qwen2/3, Gemma 1-3, DeepSeek-V3,
    Qwen2-MoE's shared expert, Dinov2's SwiGLU FFN, ...; or the product
    returned directly, as Idefics2's and Qwen2.5-VL's vision MLPs do) ->
    ``down_proj(actops.swiglu(gate_proj(x), up_proj(x)))``;
  - Phi-3's packed ``gate_up_proj(x).chunk(2, -1)`` (Phi-3, GLM, ...) ->
    ``down_proj(actops.swiglu(gate_up_proj(x), layout="gate_up"))``, the
    halves read in place;
  - the experts of Mixtral, Qwen2-MoE, Qwen3-MoE, DeepSeek-V3, ... (packed
    ``gate_up_proj`` of shape (experts, 2I, H), transformers'
    ``use_experts_implementation``): their ``_apply_gate`` (which the
    ``batched_mm``, ``grouped_mm`` and ``deepgemm`` implementations call)
    becomes ``actops.swiglu(gate_up, layout="gate_up")``, and the ``eager``
    loop, which computes ``act_fn(gate) * up`` inline, becomes the same loop
    calling it. Experts whose eager loop is another one get the fused
    ``_apply_gate`` only. ``sonicmoe`` runs its own fused CUDA kernel, which
    calls neither, and is left as it is;
  - GPT-OSS's experts (``GptOssExperts._apply_gate``: interleaved gate/up,
    gate clamped to ``<= limit``, up to ``[-limit, limit]``,
    ``(up + 1) * gate * sigmoid(alpha * gate)``) -> ``actops.swiglu(gate_up,
    layout="interleaved", beta=alpha, limit=limit, up_offset=1.0)``, whichever
    experts implementation calls it.

  The fused op follows the activation: ``actops.swiglu`` for SiLU
  (``beta=1.702`` for ``quick_gelu``), ``actops.geglu(approximate=...)`` for
  the GELUs above (Gemma's ``gelu_pytorch_tanh``: ``"tanh"``), ``actops.reglu``
  for ReLU. Any other activation leaves the module as it is (``verbose`` says
  why), its activation still replaced element-wise when it is one of the above.

Parameter names, buffers and the module tree do not change (an MLP keeps its
``gate_proj``, ``up_proj``, ``down_proj`` and ``act_fn`` children), so
``state_dict`` checkpoints load into the patched and the unpatched model
alike. A patched module's class becomes a subclass of its own class (same name,
``isinstance`` still true) whose forward (or ``_apply_gate``) calls the fused
op; its activation child is kept but no longer called. The whole model still
pickles (``torch.save(model)``) and deep-copies.

``inplace=True`` activations (``nn.SiLU(inplace=True)``, ``nn.Mish(inplace=True)``)
become in-place actops modules
(``actops.nn.Swish(inplace=True)``, ``actops.nn.Mish(inplace=True)``): the
input is still overwritten, as the model expects.
A module with hooks registered on it is left alone (the hooks would be lost).

transformers is never imported here: its activation classes are recognised by
their module and name, its MLPs by code compiled from the forms' text, so
``patch`` works on a plain ``torch.nn`` model where transformers is not
installed.
"""

from __future__ import annotations

import inspect
import textwrap
import types
import warnings
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from actops import functional as _F
from actops import nn as _ann

__all__ = ["patch"]

_TRANSFORMERS_ACTIVATIONS = "transformers.activations"


def _key(cls: type) -> Tuple[str, str]:
    return cls.__module__, cls.__qualname__


# ---- element-wise activations ---------------------------------------------------------


def _elementwise(module: nn.Module) -> Optional[Tuple[nn.Module, str]]:
    """The actops module computing ``module``'s function, and a note; None if unknown."""
    cls = type(module)
    inplace = bool(getattr(module, "inplace", False))
    if cls is nn.Mish:
        return _ann.Mish(inplace=inplace), "actops.nn.Mish(inplace=True)" if inplace else "actops.nn.Mish()"
    if cls is nn.SiLU:
        return _ann.Swish(inplace=inplace), "actops.nn.Swish(beta=1.0" + (", inplace=True)" if inplace else ")")
    if cls is nn.GELU:
        return _ann.GELU(module.approximate), f"actops.nn.GELU(approximate={module.approximate!r})"
    key = _key(cls)
    if key[0] != _TRANSFORMERS_ACTIVATIONS:
        return None
    name = key[1]
    if name == "SiLUActivation":
        return _ann.Swish(), "actops.nn.Swish(beta=1.0)"
    if name == "GELUActivation":
        return _ann.GELU("none"), "actops.nn.GELU(approximate='none')"
    if name in ("GELUTanh", "NewGELUActivation", "AccurateGELUActivation"):
        return _ann.GELU("tanh"), "actops.nn.GELU(approximate='tanh')"
    if name == "QuickGELUActivation":
        return _ann.Swish(1.702), "actops.nn.Swish(beta=1.702)"
    if name == "MishActivation":
        return _ann.Mish(), "actops.nn.Mish()"
    if name == "ReLUSquaredActivation":
        return _ann.ReLU2(), "actops.nn.ReLU2()"
    return None


# ---- gated MLPs: the forms actops knows, by their code ------------------------------------
#
# A module is fused when its class's method has the same code as one of the forms
# below, whatever the class is called: transformers' "Copied from" classes
# (DeepSeek-V3's MLP is LlamaMLP's forward under another name) are separate
# functions with identical bytecode, and a subclass that brings its own forward
# is not one of them. The forms are transcribed from transformers 5.24.0 and
# compiled here, by the interpreter that runs the model, so that the bytecode
# compared was produced by the same compiler as the model's: bytecode differs
# between Python versions, so a stored hash of it would match on one only. The
# reference cannot be taken from the model either (DeepSeek-V3 holds no LlamaMLP),
# and importing transformers to read its classes would make it a dependency.

# name -> (source, the function's name in it). The texts are transformers',
# verbatim; only their names and local variable names may differ from the
# model's method (neither changes what the code does).
_FORM_SOURCES = {
    # LlamaMLP.forward, and Mistral's, Qwen2/3's, Gemma 1-3's, DeepSeek-V3's, Qwen2-MoE's,
    # Dinov2SwiGLUFFN's, ... (136 classes in transformers 5.24)
    "mlp": (
        """
        def forward(self, x):
            down_proj = self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))
            return down_proj
        """,
        "forward",
    ),
    # Idefics', Idefics2's, Qwen2.5-VL vision's, ... MLP.forward: the same product, returned directly
    "mlp_return": (
        """
        def forward(self, x):
            return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))
        """,
        "forward",
    ),
    # Phi3MLP.forward (Phi-3, Phi-4-mini, GLM, GLM-4, Dia, ...): one packed projection, then chunk
    "packed_mlp": (
        """
        def forward(self, hidden_states):
            up_states = self.gate_up_proj(hidden_states)

            gate, up_states = up_states.chunk(2, dim=-1)
            up_states = up_states * self.activation_fn(gate)

            return self.down_proj(up_states)
        """,
        "forward",
    ),
    # the forward that transformers.integrations.moe.use_experts_implementation gives an
    # experts class: it dispatches on config._experts_implementation, to the class's own
    # forward for "eager"
    "experts_dispatch": (
        """
        def use_experts_implementation(experts_interface):
            def wrapper(original_forward):
                def forward(self, *args, **kwargs):
                    experts_forward = experts_interface.get_interface(self.config._experts_implementation, original_forward)
                    return experts_forward(self, *args, **kwargs)

                return forward

            return wrapper
        """,
        "use_experts_implementation",  # the forward it makes: a closure over two names
    ),
    # MixtralExperts.forward, the eager loop over the experts (Qwen2-MoE's, Qwen3-MoE's,
    # DeepSeek-V3's, ...: 55 classes in transformers 5.24)
    "experts_eager": (
        """
        def forward(self, hidden_states, top_k_index, top_k_weights):
            final_hidden_states = torch.zeros_like(hidden_states)
            with torch.no_grad():
                expert_mask = torch.nn.functional.one_hot(top_k_index, num_classes=self.num_experts + 1)
                expert_mask = expert_mask.permute(2, 1, 0)
                expert_hit = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()

            for expert_idx in expert_hit:
                expert_idx = expert_idx[0]
                if expert_idx == self.num_experts:
                    continue
                top_k_pos, token_idx = torch.where(expert_mask[expert_idx])
                current_state = hidden_states[token_idx]
                gate, up = nn.functional.linear(current_state, self.gate_up_proj[expert_idx]).chunk(2, dim=-1)
                current_hidden_states = self.act_fn(gate) * up
                current_hidden_states = nn.functional.linear(current_hidden_states, self.down_proj[expert_idx])
                current_hidden_states = current_hidden_states * top_k_weights[token_idx, top_k_pos, None]
                final_hidden_states.index_add_(0, token_idx, current_hidden_states.to(final_hidden_states.dtype))

            return final_hidden_states
        """,
        "forward",
    ),
    # transformers.integrations.moe._default_apply_gate, which the batched_mm, grouped_mm
    # and deepgemm experts implementations call
    "experts_gate": (
        '''
        def _default_apply_gate(self, gate_up_out):
            """Default gating mechanism."""
            gate, up = gate_up_out.chunk(2, dim=-1)  # (S, intermediate_dim)
            return self.act_fn(gate) * up  # (S, intermediate_dim)
        ''',
        "_default_apply_gate",
    ),
    # GptOssExperts._apply_gate, which all its experts implementations call
    "gpt_oss_gate": (
        """
        def _apply_gate(self, gate_up):
            gate, up = gate_up[..., ::2], gate_up[..., 1::2]
            gate = gate.clamp(min=None, max=self.limit)
            up = up.clamp(min=-self.limit, max=self.limit)
            glu = gate * torch.sigmoid(gate * self.alpha)
            gated_output = (up + 1) * glu
            return gated_output
        """,
        "_apply_gate",
    ),
}

# What the code does, not how it was written: co_flags' future-import and docstring bits,
# names, line numbers and local variable names are left out.
_CODE_FLAGS = (
    inspect.CO_OPTIMIZED
    | inspect.CO_NEWLOCALS
    | inspect.CO_VARARGS
    | inspect.CO_VARKEYWORDS
    | inspect.CO_NESTED
    | inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ITERABLE_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
)


def _code_key(code: types.CodeType, doc: Optional[str] = None) -> tuple:
    consts = [_code_key(c) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c)) for c in code.co_consts]
    if doc is not None and consts and consts[0] == ("str", repr(doc)):
        consts[0] = ("NoneType", "None")  # a docstring's slot; without one it holds None
    return (
        code.co_code,
        tuple(consts),
        code.co_names,
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_nlocals,
        code.co_freevars,
        code.co_cellvars,
        code.co_flags & _CODE_FLAGS,
        getattr(code, "co_exceptiontable", b""),
    )


def _function_key(function: object) -> Optional[tuple]:
    code = getattr(function, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    return _code_key(code, getattr(function, "__doc__", None))


def _compile_form(source: str, name: str) -> tuple:
    # under the imports of transformers' modules: CPython 3.11 and 3.12 compile
    # `torch.f(x)` differently when `torch` is a name a module imports
    source = "import torch\nfrom torch import nn\n" + textwrap.dedent(source)
    namespace: Dict[str, object] = {}
    exec(compile(source, f"<actops.patching: {name}>", "exec", dont_inherit=True), namespace)
    function = namespace[name]
    if name == "use_experts_implementation":
        function = function(None)(None)
    return _function_key(function)


_FORMS = {form: _compile_form(source, name) for form, (source, name) in _FORM_SOURCES.items()}


def _is_form(function: object, *forms: str) -> bool:
    key = _function_key(function)
    return key is not None and any(key == _FORMS[form] for form in forms)


def _closure(function: object) -> Dict[str, object]:
    code = function.__code__
    return {name: cell.cell_contents for name, cell in zip(code.co_freevars, function.__closure__ or ())}


# What a patched module computes: ("swiglu", beta) | ("geglu", approximate) |
# ("reglu",) for a gated MLP, ("gpt_oss",) for GPT-OSS's experts.
_Spec = Tuple


def _gate_spec(act: nn.Module) -> Optional[_Spec]:
    cls = type(act)
    if cls is nn.SiLU:
        return ("swiglu", 1.0)
    if cls is nn.GELU:
        return ("geglu", act.approximate)
    if cls is nn.ReLU:
        return ("reglu",)
    module, name = _key(cls)
    if module != _TRANSFORMERS_ACTIVATIONS:
        return None
    if name == "SiLUActivation":
        return ("swiglu", 1.0)
    if name == "QuickGELUActivation":
        return ("swiglu", 1.702)
    if name == "GELUActivation":
        return ("geglu", "none")
    if name in ("GELUTanh", "NewGELUActivation", "AccurateGELUActivation"):
        return ("geglu", "tanh")
    return None


def _gated(spec: _Spec, *args, **kwargs) -> Tensor:
    if spec[0] == "swiglu":
        return _F.swiglu(*args, beta=spec[1], **kwargs)
    if spec[0] == "geglu":
        return _F.geglu(*args, approximate=spec[1], **kwargs)
    return _F.reglu(*args, **kwargs)


def _call_text(spec: _Spec, arguments: str) -> str:
    if spec[0] == "swiglu":
        extra = "" if spec[1] == 1.0 else f", beta={spec[1]}"
    elif spec[0] == "geglu":
        extra = f", approximate={spec[1]!r}"
    else:
        extra = ""
    return f"actops.{spec[0]}({arguments}{extra})"


# ---- the fused methods ---------------------------------------------------------------------


def _mlp_forward(self, x: Tensor) -> Tensor:
    return self.down_proj(_gated(self._actops_spec, self.gate_proj(x), self.up_proj(x)))


def _packed_mlp_forward(self, hidden_states: Tensor) -> Tensor:
    return self.down_proj(_gated(self._actops_spec, self.gate_up_proj(hidden_states), dim=-1, layout="gate_up"))


def _experts_apply_gate(self, gate_up_out: Tensor) -> Tensor:
    return _gated(self._actops_spec, gate_up_out, dim=-1, layout="gate_up")


def _experts_eager_forward(self, hidden_states: Tensor, top_k_index: Tensor, top_k_weights: Tensor) -> Tensor:
    # the "experts_eager" form's loop, its gate through the fused _apply_gate
    final_hidden_states = torch.zeros_like(hidden_states)
    with torch.no_grad():
        expert_mask = torch.nn.functional.one_hot(top_k_index, num_classes=self.num_experts + 1)
        expert_mask = expert_mask.permute(2, 1, 0)
        expert_hit = torch.greater(expert_mask.sum(dim=(-1, -2)), 0).nonzero()
    for expert_idx in expert_hit:
        expert_idx = expert_idx[0]
        if expert_idx == self.num_experts:
            continue
        top_k_pos, token_idx = torch.where(expert_mask[expert_idx])
        current_state = hidden_states[token_idx]
        gate_up = nn.functional.linear(current_state, self.gate_up_proj[expert_idx])
        current_hidden_states = self._apply_gate(gate_up)
        current_hidden_states = nn.functional.linear(current_hidden_states, self.down_proj[expert_idx])
        current_hidden_states = current_hidden_states * top_k_weights[token_idx, top_k_pos, None]
        final_hidden_states.index_add_(0, token_idx, current_hidden_states.to(final_hidden_states.dtype))
    return final_hidden_states


def _experts_forward(self, *args, **kwargs):
    # the dispatch of use_experts_implementation, with the fused loop as "eager"
    forward = self._actops_experts_interface.get_interface(self.config._experts_implementation, _experts_eager_forward)
    return forward(self, *args, **kwargs)


def _gpt_oss_apply_gate(self, gate_up: Tensor) -> Tensor:
    limit = None if self.limit is None else float(self.limit)
    return _F.swiglu(gate_up, layout="interleaved", beta=float(self.alpha), limit=limit, up_offset=1.0)


def _with_parameters_of(function: Callable, original: Callable) -> Callable:
    """``function`` with its parameters named as ``original``'s, so that a call by
    keyword binds as before (the forms compared leave names out)."""
    code, names = function.__code__, original.__code__.co_varnames[: original.__code__.co_argcount]
    if code.co_varnames[: code.co_argcount] == names:
        return function
    varnames = names + code.co_varnames[code.co_argcount :]
    renamed = types.FunctionType(code.replace(co_varnames=varnames), function.__globals__, function.__name__)
    renamed.__qualname__ = function.__qualname__
    return renamed


# form -> (the attribute holding the activation, which the patched class no longer calls
# (None: it still does, or there is none), the verbose note with "{}" for the fused call)
_FORM_NOTES = {
    "mlp": ("act_fn", "forward = down_proj({})", "gate_proj(x), up_proj(x)"),
    "packed_mlp": ("activation_fn", "forward = down_proj({})", "gate_up_proj(x), layout='gate_up'"),
    "experts": (
        "act_fn",
        "_apply_gate = {}, in the eager loop and in every implementation that calls it",
        "gate_up, layout='gate_up'",
    ),
    "experts_gate": (
        None,
        "_apply_gate = {} (batched_mm, grouped_mm, deepgemm); its eager loop is not one actops knows "
        "and still calls act_fn",
        "gate_up, layout='gate_up'",
    ),
    "gpt_oss": (None, "_apply_gate = {}", ""),
}

_CLASSES: Dict[Tuple[type, str, _Spec], type] = {}


def _rebuild(base: type, spec: _Spec, form: Optional[str] = None) -> nn.Module:
    """Unpickling (and deepcopy) of a patched module: an empty instance of the
    patched class, whose state pickle then sets. (Pickles of an earlier actops
    name no form: theirs follows from the spec.)"""
    if form is None:
        form = "gpt_oss" if spec == ("gpt_oss",) else "mlp"
    return object.__new__(_patched_class(base, form, spec))


def _reduce_ex(self, protocol):
    return _rebuild, (self._actops_base, self._actops_spec, self._actops_form), self.__getstate__()


def _extra_repr(self) -> str:
    own = self._actops_base.extra_repr(self)
    note = f"actops: {self._actops_note}"
    return f"{own}, {note}" if own else note


def _patched_class(base: type, form: str, spec: _Spec) -> type:
    """The subclass of ``base`` whose methods of ``form`` call actops' fused op."""
    cls = _CLASSES.get((base, form, spec))
    if cls is not None:
        return cls
    unused, note, arguments = _FORM_NOTES[form]
    namespace: Dict[str, object] = {
        "__module__": __name__,
        "__qualname__": base.__qualname__,
        "__doc__": base.__doc__,
        "__reduce_ex__": _reduce_ex,
        "extra_repr": _extra_repr,
        "_actops_base": base,
        "_actops_form": form,
        "_actops_spec": spec,
        "_actops_unused": unused,
    }
    if form == "gpt_oss":
        namespace["_apply_gate"] = _gpt_oss_apply_gate
        namespace["_actops_note"] = note.format(
            "swiglu(gate_up, layout='interleaved', beta=alpha, limit=limit, up_offset=1.0)"
        )
    else:
        namespace["_actops_note"] = note.format(_call_text(spec, arguments))
    if form == "mlp":
        namespace["forward"] = _with_parameters_of(_mlp_forward, base.forward)
    elif form == "packed_mlp":
        namespace["forward"] = _with_parameters_of(_packed_mlp_forward, base.forward)
    elif form in ("experts", "experts_gate"):
        namespace["_apply_gate"] = _experts_apply_gate
    if form == "experts":
        namespace["forward"] = _experts_forward
        namespace["_actops_experts_interface"] = _closure(base.forward)["experts_interface"]
    cls = type(base.__name__, (base,), namespace)
    _CLASSES[(base, form, spec)] = cls
    return cls


def _has_hooks(module: nn.Module) -> bool:
    return any(
        getattr(module, name, None)
        for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    )


def _looks_gated(module: nn.Module) -> bool:
    """Named like a gated MLP or experts module, whatever its code: worth a line
    under ``verbose`` when it is left alone."""
    children = module._modules
    return all(name in children for name in ("gate_proj", "up_proj", "down_proj")) or (
        hasattr(module, "gate_up_proj") and hasattr(module, "down_proj")
    )


def _experts_form(cls: type) -> Optional[str]:
    """An experts class's form: "gpt_oss", "experts" (its _apply_gate and eager loop
    known), "experts_gate" (only its _apply_gate), or None."""
    gate = getattr(cls, "_apply_gate", None)
    if _is_form(gate, "gpt_oss_gate"):
        return "gpt_oss"
    if not _is_form(gate, "experts_gate"):
        return None
    forward = getattr(cls, "forward", None)
    if _is_form(forward, "experts_dispatch") and _is_form(_closure(forward).get("original_forward"), "experts_eager"):
        return "experts"
    return "experts_gate"


def _fused(module: nn.Module) -> Tuple[Optional[str], Optional[_Spec], Optional[str], str]:
    """(form, spec, None, description) to patch ``module``; (None, None, reason,
    description) for a gated module left alone; (None, None, None, '') for any
    other module."""
    cls = type(module)
    name = cls.__name__
    forward = getattr(cls, "forward", None)
    if _is_form(forward, "mlp", "mlp_return"):
        form = "mlp"
    elif _is_form(forward, "packed_mlp"):
        form = "packed_mlp"
    else:
        form = _experts_form(cls)
    if form is None:
        if _looks_gated(module):
            return None, None, "its forward is none of the forms actops knows", name
        return None, None, None, ""
    for overridden in ("forward", "_apply_gate"):
        if overridden in module.__dict__:
            return None, None, f"its {overridden} is overridden on the instance", name
    if form == "gpt_oss":
        return form, ("gpt_oss",), None, f"{name}._apply_gate"
    act_name = "activation_fn" if form == "packed_mlp" else "act_fn"
    act = getattr(module, act_name, None)
    if not isinstance(act, nn.Module):
        return None, None, f"its {act_name} is {type(act).__name__}, not a module actops recognises", name
    if _has_hooks(act):
        return None, None, f"its {act_name} has hooks, which a fused op would skip", name
    spec = _gate_spec(act)
    if spec is None:
        return None, None, f"its {act_name} is {type(act).__name__}, which no actops gated op computes", name
    return form, spec, None, f"{name}({act_name}={type(act).__name__})"


# ---- the walk ------------------------------------------------------------------------------


def patch(model: nn.Module, verbose: bool = False) -> nn.Module:
    """Computes ``model``'s activations and gated MLPs with actops' ops, in place.

    Swaps every recognised activation module (``torch.nn.Mish``, ``SiLU``,
    ``GELU`` and transformers' ``ACT2FN`` modules: silu/swish, gelu,
    gelu_pytorch_tanh, gelu_new, gelu_accurate, quick_gelu, mish, relu2) for
    the ``actops.nn`` module computing the same function, and makes every
    module whose forward (or experts ``_apply_gate``) has the code of a gated
    form actops knows call one fused ``actops.swiglu`` / ``actops.geglu`` /
    ``actops.reglu`` instead of an activation, then a product: the MLPs of
    Llama and the models that copy its forward (Mistral, Qwen2/3, Gemma 1-3,
    DeepSeek-V3, Dinov2's SwiGLU FFN, ...), Phi-3's packed MLP, the experts of
    Mixtral, Qwen2-MoE, Qwen3-MoE, DeepSeek-V3 and GPT-OSS. Parameter names
    and the module tree are unchanged, so checkpoints load into the patched
    and the unpatched model alike. Anything else is left as it is. Calling it
    again changes nothing more.

    Args:
        model: any ``torch.nn.Module``.
        verbose: print one line per module: ``fused`` (a gated module now
            calling one op), ``activation swapped`` (an activation module
            replaced, nothing fused), ``not fused`` / ``not swapped`` (a
            recognised module left alone, with the reason), then the counts.

    Returns:
        ``model`` (or, if ``model`` itself is a bare activation module, its
        replacement).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"actops.patch expects a torch.nn.Module, got {type(model).__name__}")
    lines: List[str] = []
    replaced: Dict[int, nn.Module] = {}  # id(old activation) -> its actops module (shared modules stay shared)
    seen: set = set()
    counts = {"fused": 0, "swapped": 0, "left alone": 0}

    def path_of(prefix: str) -> str:
        return prefix or "(model)"

    def visit(module: nn.Module, prefix: str) -> None:
        if id(module) in seen or isinstance(module, torch.jit.ScriptModule):
            return
        seen.add(id(module))
        if not hasattr(type(module), "_actops_spec"):
            form, spec, reason, old = _fused(module)
            if form is not None:
                new_class = _patched_class(type(module), form, spec)
                module.__class__ = new_class
                counts["fused"] += 1
                lines.append(f"{path_of(prefix)}: fused: {old} -> {new_class._actops_note}")
            elif reason is not None:
                counts["left alone"] += 1
                lines.append(f"{path_of(prefix)}: not fused: {old}: {reason}")
        unused = getattr(type(module), "_actops_unused", None) if hasattr(type(module), "_actops_spec") else None
        for name, child in list(module._modules.items()):
            if child is None or name == unused:  # an activation the fused op replaced: no longer called
                continue
            path = f"{prefix}.{name}" if prefix else name
            new = swap(child, path)
            if new is not child:
                setattr(module, name, new)
            else:
                visit(child, path)

    def swap(child: nn.Module, path: str) -> nn.Module:
        if id(child) in replaced:
            new = replaced[id(child)]
            counts["swapped"] += 1
            lines.append(
                f"{path}: activation swapped: {_describe_old(child)} -> the same actops module as its other occurrence"
            )
            return new
        found = _elementwise(child)
        if found is None:
            return child
        if _has_hooks(child):
            counts["left alone"] += 1
            lines.append(f"{path}: not swapped: {_describe_old(child)}: it has hooks, which a new module would lose")
            return child
        new, description = found
        new.train(child.training)
        replaced[id(child)] = new
        counts["swapped"] += 1
        lines.append(f"{path}: activation swapped: {_describe_old(child)} -> {description}")
        return new

    root = model
    if _elementwise(model) is not None:
        root = swap(model, "(model)")
    else:
        visit(model, "")
    if verbose:
        for line in lines:
            print(f"actops.patch: {line}")
        print(
            f"actops.patch: {counts['fused']} fused, {counts['swapped']} activations swapped, "
            f"{counts['left alone']} recognised but left alone"
        )
    if counts["fused"] or counts["swapped"]:
        _warn_about_devices(root)
    return root


def _describe_old(module: nn.Module) -> str:
    cls = type(module)
    extra = module.extra_repr()
    return f"{cls.__name__}({extra})" if cls.__module__.startswith("torch.") else cls.__name__


def _has_kernels(device_type: str) -> bool:
    if device_type == "meta":
        return True
    try:
        return torch._C._dispatch_has_kernel_for_dispatch_key("actops::swiglu", device_type.upper())
    except RuntimeError:  # no dispatch key of that name
        return False


def _warn_about_devices(model: nn.Module) -> None:
    devices = {t.device.type for t in model.parameters()} | {t.device.type for t in model.buffers()}
    missing = sorted(d for d in devices if not _has_kernels(d))
    if missing:
        warnings.warn(
            f"actops.patch: the model has tensors on {', '.join(missing)}, where this build of actops has no "
            "kernels; the patched modules will fail there",
            stacklevel=3,
        )
