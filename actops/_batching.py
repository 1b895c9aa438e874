"""vmap batching rules for every actops op, registered from Python.

Each rule runs its op once on the whole batch (no per-sample loop, so no
"performance drop" fallback warning): it moves every batched input's vmapped
dimension to the front, gives the unbatched inputs one as well (an
``expand``: a view, nothing is copied), calls the op, and returns each tensor
output batched at dimension 0.

Three kinds of ops:

- broadcasting ops (every op but the packed SwiGLU and Maxout), whose tensor
  inputs combine element-wise, right-aligned as :func:`torch.mul` does.
  Each input of logical rank ``r`` in a call whose largest logical rank is
  ``R`` becomes ``[B, 1 x (R - r), *logical shape]``, so the leading batch
  dimension lines up and broadcasting among the logical shapes is unchanged.
  A backward op reduces a parameter's gradient to that padded shape, so the
  outputs shaped like an input are reshaped back to ``[B, *logical shape]``.
- ops with a ``dim`` argument (``swiglu_packed``, ``maxout`` and their
  helpers): every input gets the batch dimension in front and a non-negative
  ``dim`` moves up by one (a negative one counts from the end, unchanged).
- in-place ops (``mish_``, ``trelu_``, ``trelu_with_mask_``): x, their one
  tensor, is written where it lies, batch dimension and all, and the result
  keeps that dimension. The out= overloads get no rule, as ATen's have none.

``register_batching_rules()`` registers a rule for every op that the loaded
library defines, its kind read from the op's schema; calling it again
registers only what is still missing. ``actops`` calls it on import.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

__all__ = ["batching_kind", "register_batching_rules", "registered_ops"]


def batching_kind(schema: torch._C.FunctionSchema) -> Tuple[str, Any]:
    """How an op is batched, read from its schema (so every op the C++ table
    defines gets its rule with nothing to add here):

    - ("dim", i): it has an ``int dim`` argument at position i;
    - ("broadcast", likes): its tensor inputs combine element-wise; ``likes``
      says, per output, which argument's shape it has (a return named
      ``grad_<arg>``), or is None when every output has the broadcast shape.
    """
    names = [argument.name for argument in schema.arguments]
    if "dim" in names:
        return "dim", names.index("dim")
    likes = tuple(
        names.index(ret.name[len("grad_") :])
        if ret.name.startswith("grad_") and ret.name[len("grad_") :] in names
        else None
        for ret in schema.returns
    )
    return "broadcast", (likes if any(like is not None for like in likes) else None)


_LIBRARY: Optional[torch.library.Library] = None
_REGISTERED: set = set()


def _wrap_outputs(outputs: Any) -> Tuple[Any, Any]:
    """(outputs, out_dims): 0 for every tensor output, None for anything else."""
    if isinstance(outputs, (tuple, list)):
        return tuple(outputs), tuple(0 if isinstance(o, Tensor) else None for o in outputs)
    return outputs, (0 if isinstance(outputs, Tensor) else None)


def _broadcast_rule(op: Callable, likes: Optional[Sequence[int]]) -> Callable:
    def rule(info, in_dims, *args, **kwargs):
        batch = info.batch_size
        args = list(args)
        logical: Dict[int, Tuple[int, ...]] = {}
        for i, (arg, bdim) in enumerate(zip(args, in_dims)):
            if not isinstance(arg, Tensor):
                continue
            if bdim is not None:
                arg = arg.movedim(bdim, 0)
                logical[i] = tuple(arg.shape[1:])
            else:
                logical[i] = tuple(arg.shape)
            args[i] = arg
        rank = max(len(shape) for shape in logical.values())
        for i, shape in logical.items():
            arg = args[i]
            pad = rank - len(shape)
            if in_dims[i] is None:
                # [1 x (1 + pad), *shape] expanded to [B, 1 x pad, *shape]: a view
                arg = arg.reshape((1,) * (1 + pad) + shape).expand((batch,) + (1,) * pad + shape)
            elif pad:
                arg = arg.reshape((batch,) + (1,) * pad + shape)
            args[i] = arg
        outputs = op(*args, **kwargs)
        if likes is not None:
            outputs = tuple(
                out.reshape((batch,) + logical[like]) if isinstance(out, Tensor) else out
                for out, like in zip(outputs, likes)
            )
        return _wrap_outputs(outputs)

    return rule


def _dim_rule(op: Callable, dim_index: int) -> Callable:
    schema_args = op._schema.arguments

    def rule(info, in_dims, *args, **kwargs):
        batch = info.batch_size
        args = list(args)
        for i, (arg, bdim) in enumerate(zip(args, in_dims)):
            if not isinstance(arg, Tensor):
                continue
            args[i] = arg.movedim(bdim, 0) if bdim is not None else arg.expand((batch,) + tuple(arg.shape))
        # the dispatcher leaves out trailing arguments at their defaults
        while len(args) <= dim_index:
            argument = schema_args[len(args)]
            args.append(kwargs.pop(argument.name, argument.default_value))
        dim = args[dim_index]
        args[dim_index] = dim + 1 if dim >= 0 else dim
        return _wrap_outputs(op(*args, **kwargs))

    return rule


def _inplace_rule(op: Callable) -> Callable:
    """An in-place op (``mish_``, ``trelu_``, ``trelu_with_mask_``): its one
    tensor, x, is written where it lies, the batched tensor itself, as ATen's
    in-place ops are under vmap. Its result keeps x's batch dimension: x
    itself, or a tensor of x's shape (trelu's mask)."""

    def rule(info, in_dims, *args, **kwargs):
        # x is the op's only tensor, so vmap calls the rule with x batched
        x, bdim = args[0], in_dims[0]
        result = op(*args, **kwargs)
        return (x if result is x else result), bdim

    return rule


def _actops_ops() -> List[str]:
    """Every actops op with a tensor argument, as the loaded library defines
    them, in-place ones included. The out= overloads (``mish.out``) write a
    tensor the caller passed beside the batched ones: they get no rule (vmap
    refuses them, as it refuses ATen's)."""
    names = []
    for qualname in torch._C._dispatch_get_all_op_names():
        if qualname.startswith("actops::") and "." not in qualname:
            name = qualname[len("actops::") :]
            schema = getattr(torch.ops.actops, name).default._schema
            if any(isinstance(argument.type, torch.TensorType) for argument in schema.arguments):
                names.append(name)
    return sorted(names)


def register_batching_rules() -> None:
    """Register the vmap rule of every actops op the loaded library defines.

    Idempotent: an op that already has a rule (registered here before, or a
    FuncTorchBatched kernel of its own) is left alone."""
    global _LIBRARY
    for name in _actops_ops():
        if name in _REGISTERED:
            continue
        qualname = f"actops::{name}"
        if torch._C._dispatch_has_kernel_for_dispatch_key(qualname, "FuncTorchBatched"):
            continue
        if _LIBRARY is None:
            _LIBRARY = torch.library.Library("actops", "FRAGMENT")
        op = getattr(torch.ops.actops, name).default
        if op._schema.is_mutable:
            rule = _inplace_rule(op)
        else:
            kind, how = batching_kind(op._schema)
            rule = _dim_rule(op, how) if kind == "dim" else _broadcast_rule(op, how)
        torch.library.register_vmap(qualname, rule, lib=_LIBRARY)
        _REGISTERED.add(name)


def registered_ops() -> Tuple[str, ...]:
    """The ops whose batching rule this module registered."""
    return tuple(sorted(_REGISTERED))
