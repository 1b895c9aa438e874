"""``actops.patch(model)``: the activations and gated MLPs of an existing model,
computed by actops' ops, in place.

Recognised (each by its exact class, never a subclass, whose forward may differ):

- element-wise modules, swapped for an ``actops.nn`` module in their parent:
  ``torch.nn.Mish`` -> :class:`actops.nn.Mish`; ``torch.nn.SiLU`` ->
  :class:`actops.nn.Swish` (``beta=1``); ``torch.nn.GELU`` ->
  :class:`actops.nn.GELU` (same ``approximate``); and the activation modules of
  Hugging Face transformers' ``ACT2FN``: ``silu`` (``SiLUActivation``),
  ``swish`` (``torch.nn.SiLU``), ``gelu`` and ``gelu_python``
  (``GELUActivation``, erf) -> ``GELU("none")``; ``gelu_pytorch_tanh``,
  ``gelu_python_tanh`` (``GELUTanh``), ``gelu_new`` (``NewGELUActivation``) and
  ``gelu_accurate`` (``AccurateGELUActivation``), all
  :math:`0.5x(1+\\tanh(\\sqrt{2/\\pi}(x+0.044715x^3)))` -> ``GELU("tanh")``;
  ``quick_gelu`` (:math:`x\\sigma(1.702x)`) -> ``Swish(beta=1.702)``; ``mish``
  -> ``Mish``; ``relu2`` (:math:`\\operatorname{relu}(x)^2`) -> ``ReLU2``.
  ``gelu_fast`` is not replaced: it rounds :math:`\\sqrt{2/\\pi}` to
  ``0.7978845608``, a different function in float64.
- the gated MLPs ``down_proj(act_fn(gate_proj(x)) * up_proj(x))`` of
  transformers' Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma 2 and Gemma 3:
  the product becomes one fused op, ``actops.swiglu(gate, up)`` when
  ``act_fn`` is SiLU (``beta=1.702`` for ``quick_gelu``), ``actops.geglu(gate,
  up, approximate=...)`` for the GELUs above (Gemma's ``gelu_pytorch_tanh``:
  ``"tanh"``) and ``actops.reglu`` for ReLU. Any other ``act_fn`` leaves the MLP
  as it is (``verbose`` says why), its ``act_fn`` still replaced element-wise
  when it is one of the above.
- GPT-OSS's experts (``GptOssExperts._apply_gate``: interleaved gate/up,
  gate clamped to ``<= limit``, up to ``[-limit, limit]``,
  ``(up + 1) * gate * sigmoid(alpha * gate)``) -> ``actops.swiglu(gate_up,
  layout="interleaved", beta=alpha, limit=limit, up_offset=1.0)``, whichever
  experts implementation (eager, batched_mm, grouped_mm) calls it.

Parameter names, buffers and the module tree do not change (an MLP keeps its
``gate_proj``, ``up_proj``, ``down_proj`` and ``act_fn`` children), so
``state_dict`` checkpoints load into the patched and the unpatched model
alike. A patched MLP's class becomes a subclass of its own class (same name,
``isinstance`` still true) whose forward calls the fused op; its ``act_fn``
child is kept but no longer called. The whole model still pickles
(``torch.save(model)``) and deep-copies.

``inplace=True`` activations (``nn.SiLU(inplace=True)``, ``nn.Mish(inplace=True)``)
become in-place actops modules
(``actops.nn.Swish(inplace=True)``, ``actops.nn.Mish(inplace=True)``): the
input is still overwritten, as the model expects.
A module with hooks registered on it is left alone (the hooks would be lost).

transformers is never imported here: its classes are recognised by their
module and name, which a model's modules already carry, so ``patch`` works on
a plain ``torch.nn`` model where transformers is not installed.
"""

from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Tuple

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


# ---- gated MLPs --------------------------------------------------------------------------

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


def _describe_spec(spec: _Spec) -> str:
    if spec[0] == "swiglu":
        beta = "" if spec[1] == 1.0 else f", beta={spec[1]}"
        return f"actops.swiglu(gate_proj(x), up_proj(x){beta})"
    if spec[0] == "geglu":
        return f"actops.geglu(gate_proj(x), up_proj(x), approximate={spec[1]!r})"
    return "actops.reglu(gate_proj(x), up_proj(x))"


def _gated_mlp_forward(self, x: Tensor) -> Tensor:
    gate = self.gate_proj(x)
    up = self.up_proj(x)
    op = self._actops_spec[0]
    if op == "swiglu":
        hidden = _F.swiglu(gate, up, beta=self._actops_spec[1])
    elif op == "geglu":
        hidden = _F.geglu(gate, up, approximate=self._actops_spec[1])
    else:
        hidden = _F.reglu(gate, up)
    return self.down_proj(hidden)


def _gpt_oss_apply_gate(self, gate_up: Tensor) -> Tensor:
    limit = None if self.limit is None else float(self.limit)
    return _F.swiglu(gate_up, layout="interleaved", beta=float(self.alpha), limit=limit, up_offset=1.0)


# The classes recognised, by (module, qualname), with the names their replaced
# method uses (co_names of the code object: a guard against another version's
# different forward under the same class name).
_LLAMA_STYLE_MLPS = {
    ("transformers.models.llama.modeling_llama", "LlamaMLP"),
    ("transformers.models.mistral.modeling_mistral", "MistralMLP"),
    ("transformers.models.qwen2.modeling_qwen2", "Qwen2MLP"),
    ("transformers.models.qwen3.modeling_qwen3", "Qwen3MLP"),
    ("transformers.models.gemma.modeling_gemma", "GemmaMLP"),
    ("transformers.models.gemma2.modeling_gemma2", "Gemma2MLP"),
    ("transformers.models.gemma3.modeling_gemma3", "Gemma3MLP"),
}
_LLAMA_STYLE_NAMES = ("down_proj", "act_fn", "gate_proj", "up_proj")
_GPT_OSS_EXPERTS = ("transformers.models.gpt_oss.modeling_gpt_oss", "GptOssExperts")
_GPT_OSS_NAMES = ("clamp", "limit", "torch", "sigmoid", "alpha")

_CLASSES: Dict[Tuple[type, _Spec], type] = {}


def _rebuild(base: type, spec: _Spec) -> nn.Module:
    """Unpickling (and deepcopy) of a patched module: an empty instance of the
    patched class, whose state pickle then sets."""
    return object.__new__(_patched_class(base, spec))


def _reduce_ex(self, protocol):
    return _rebuild, (self._actops_base, self._actops_spec), self.__getstate__()


def _extra_repr(self) -> str:
    own = self._actops_base.extra_repr(self)
    note = f"actops: {self._actops_note}"
    return f"{own}, {note}" if own else note


def _patched_class(base: type, spec: _Spec) -> type:
    """The subclass of ``base`` whose forward (or ``_apply_gate``) is actops'."""
    cls = _CLASSES.get((base, spec))
    if cls is not None:
        return cls
    namespace: Dict[str, object] = {
        "__module__": __name__,
        "__qualname__": base.__qualname__,
        "__doc__": base.__doc__,
        "__reduce_ex__": _reduce_ex,
        "extra_repr": _extra_repr,
        "_actops_base": base,
        "_actops_spec": spec,
    }
    if spec[0] == "gpt_oss":
        namespace["_apply_gate"] = _gpt_oss_apply_gate
        namespace["_actops_note"] = (
            "_apply_gate = swiglu(gate_up, layout='interleaved', beta=alpha, limit=limit, up_offset=1.0)"
        )
    else:
        namespace["forward"] = _gated_mlp_forward
        namespace["_actops_note"] = "forward = down_proj(" + _describe_spec(spec) + ")"
    cls = type(base.__name__, (base,), namespace)
    _CLASSES[(base, spec)] = cls
    return cls


def _code_names(cls: type, method: str) -> Tuple[str, ...]:
    function = cls.__dict__.get(method)
    code = getattr(function, "__code__", None)
    return tuple(code.co_names) if code is not None else ()


def _has_hooks(module: nn.Module) -> bool:
    return any(
        getattr(module, name, None)
        for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    )


def _fused(module: nn.Module) -> Tuple[Optional[_Spec], Optional[str], str]:
    """For a recognised MLP/experts module: (spec, None, description) to patch it,
    or (None, reason, name) to leave it alone. (None, None, '') for any other module."""
    cls = type(module)
    key = _key(cls)
    if key in _LLAMA_STYLE_MLPS:
        name = cls.__name__
        if _code_names(cls, "forward") != _LLAMA_STYLE_NAMES:
            return None, f"{name}.forward is not the one actops knows (another transformers version?)", name
        if "forward" in module.__dict__:
            return None, "its forward is overridden on the instance", name
        act = getattr(module, "act_fn", None)
        if not isinstance(act, nn.Module):
            return None, f"its act_fn is {type(act).__name__}, not a module actops recognises", name
        if _has_hooks(act):
            return None, "its act_fn has hooks, which a fused op would skip", name
        spec = _gate_spec(act)
        if spec is None:
            return None, f"its act_fn is {type(act).__name__}, which no actops gated op computes", name
        return spec, None, f"{name}(act_fn={type(act).__name__})"
    if key == _GPT_OSS_EXPERTS:
        name = cls.__name__
        if _code_names(cls, "_apply_gate") != _GPT_OSS_NAMES:
            return None, f"{name}._apply_gate is not the one actops knows (another transformers version?)", name
        if "_apply_gate" in module.__dict__:
            return None, "its _apply_gate is overridden on the instance", name
        return ("gpt_oss",), None, f"{name}._apply_gate"
    return None, None, ""


# ---- the walk ------------------------------------------------------------------------------


def patch(model: nn.Module, verbose: bool = False) -> nn.Module:
    """Computes ``model``'s activations and gated MLPs with actops' ops, in place.

    Swaps every recognised activation module (``torch.nn.Mish``, ``SiLU``,
    ``GELU`` and transformers' ``ACT2FN`` modules: silu/swish, gelu,
    gelu_pytorch_tanh, gelu_new, gelu_accurate, quick_gelu, mish, relu2) for
    the ``actops.nn`` module computing the same function, and makes the gated
    MLPs of transformers' Llama, Mistral, Qwen2, Qwen3, Gemma, Gemma 2,
    Gemma 3 and GPT-OSS's experts call one fused ``actops.swiglu`` /
    ``actops.geglu`` / ``actops.reglu`` instead of an activation, then a
    product. Parameter names and the module tree are unchanged, so
    checkpoints load into the patched and the unpatched model alike.
    Anything else is left as it is. Calling it again changes nothing more.

    Args:
        model: any ``torch.nn.Module``.
        verbose: print one line per replacement (module path: old -> new) and
            one per recognised MLP left alone, with the reason.

    Returns:
        ``model`` (or, if ``model`` itself is a bare activation module, its
        replacement).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"actops.patch expects a torch.nn.Module, got {type(model).__name__}")
    lines: List[str] = []
    replaced: Dict[int, nn.Module] = {}  # id(old activation) -> its actops module (shared modules stay shared)
    seen: set = set()
    changed = [0]  # modules patched or swapped

    def path_of(prefix: str) -> str:
        return prefix or "(model)"

    def visit(module: nn.Module, prefix: str) -> None:
        if id(module) in seen or isinstance(module, torch.jit.ScriptModule):
            return
        seen.add(id(module))
        skip_child = None
        if not hasattr(type(module), "_actops_spec"):
            spec, reason, old = _fused(module)
            if spec is not None:
                new_class = _patched_class(type(module), spec)
                module.__class__ = new_class
                changed[0] += 1
                lines.append(f"{path_of(prefix)}: {old} -> {new_class._actops_note}")
            elif reason is not None:
                lines.append(f"{path_of(prefix)}: {old} left alone: {reason}")
        if hasattr(type(module), "_actops_spec") and type(module)._actops_spec[0] != "gpt_oss":
            skip_child = "act_fn"  # no longer called
        for name, child in list(module._modules.items()):
            if child is None or name == skip_child:
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
            changed[0] += 1
            lines.append(f"{path}: {_describe_old(child)} -> the same actops module as its other occurrence")
            return new
        found = _elementwise(child)
        if found is None:
            return child
        if _has_hooks(child):
            lines.append(f"{path}: {_describe_old(child)} left alone: it has hooks, which a new module would lose")
            return child
        new, description = found
        new.train(child.training)
        replaced[id(child)] = new
        changed[0] += 1
        lines.append(f"{path}: {_describe_old(child)} -> {description}")
        return new

    root = model
    if _elementwise(model) is not None:
        root = swap(model, "(model)")
    else:
        visit(model, "")
    if verbose:
        for line in lines:
            print(f"actops.patch: {line}")
    if changed[0]:
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
