"""DTensor sharding rules for every actops op, derived from the op schemas.

DTensor (``torch.distributed.tensor``: tensor parallelism, torchtitan,
transformers' ``tp_plan``) runs an op on the local shards of its inputs
once it knows which placements of inputs and outputs are consistent. For
a custom op it asks the rule registered with the public
``torch.distributed.tensor.experimental.register_sharding``, which lists
the acceptable (output placements, input placements) on one mesh
dimension; DTensor expands them to the whole mesh and redistributes the
inputs to the cheapest one. The rules here are read from each op's schema,
as ``actops/_batching.py`` reads the vmap rules, so a new row of the C++
op table needs no edit. Every list also holds "all replicated", and no
input may be ``Partial``: the ops are nonlinear, so DTensor reduces a
``Partial`` input first.

The kinds, from the schema:

- **broadcast** (every op but the packed gated ones and Maxout): the
  tensor inputs combine element-wise, right-aligned as :func:`torch.mul`
  broadcasts them. ``Shard(d)`` of the output comes from ``Shard`` of each
  input on its dim aligned with ``d`` where it has the output's size there,
  and from a replicated input where it broadcasts along ``d`` (a parameter
  of one value, a per-channel parameter for a batch shard). An output shaped
  like an input (a return named ``grad_<arg>``: a parameter's gradient, a
  split gated unit's ``grad_up``) follows that input's shard, and is
  ``Partial`` (a sum over the ranks) where that input was replicated: each
  rank reduced it over its own part of the broadcast dimension.
- **packed** (an ``int dim`` and a ``layout``: ``swiglu_packed`` and its
  backward): every dim but ``dim`` propagates. ``Shard(dim)`` propagates
  only for ``layout="interleaved"`` and only where every rank's shard holds
  whole (gate, up) pairs and its output shard is half its input shard;
  other layouts keep gate and up in different halves, so an input sharded
  along ``dim`` is replicated along it first (an all-gather of ``x``).
- **grouped** (an ``int dim`` and ``pieces``: ``maxout`` and its helpers):
  every dim but ``dim`` propagates; ``Shard(dim)`` only where every local
  size of ``x`` along ``dim`` is a multiple of ``pieces`` and its output's
  local size is that over ``pieces``.

The in-place ops (``mish_``) take their op's rule and keep ``x``'s
placement, as DTensor requires of an in-place op; a ``Partial`` ``x`` is
refused by DTensor. Three forms go through DTensor dispatch rules (the
public ``torch.library.register_torch_dispatch``) instead, for what a
sharding rule cannot say:

- the ``out=`` overloads (:func:`_write_out`): the op's result, then copied
  into ``out`` at ``out``'s placement. DTensor's cache does not key on a
  keyword argument, ``out`` included, so a sharding rule's choice made for
  one ``out`` would be replayed on another (a replicated ``out`` resized to
  a shard and relabelled);
- ``trelu_with_mask_`` (:func:`_local_inplace`), in place but returning the
  mask, not ``x``, where DTensor would hand back ``x``: run on the local
  shard, its mask wrapped with ``x``'s placement;
- the packed forward ops (:func:`_replicate_packed_dim`), below.

Two DTensor behaviours shape the code:

- DTensor caches the chosen sharding per input placement and shape and per
  the op's positional arguments from its first int one on
  (``register_sharding``'s ``RuntimeSchemaInfo``), not per a keyword-only
  string: a packed forward op's ``layout`` is not in its key (its
  backward's, positional, is). Its rule therefore offers ``Shard(dim)``
  only when ``x`` is already sharded along ``dim``, and its dispatch rule
  replicates ``x`` along ``dim`` before any other layout reaches the cache:
  every cached entry is then right for every layout.
- The dispatcher leaves out trailing arguments at their defaults, so the
  rules read them from the schema.

``register_sharding_rules()`` registers everything the loaded library
defines; calling it again registers only what is missing. ``import actops``
calls it at once where ``torch.distributed.tensor`` is already imported,
and otherwise when it is (importing it costs about half a second: actops'
own import stays as cheap without DTensor).
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from actops._after_import import after_import

__all__ = ["install", "register_sharding_rules", "registered_ops", "sharding_kind"]

_DTENSOR_MODULE = "torch.distributed.tensor"

_REGISTERED: set = set()
_LIBRARY: Optional[torch.library.Library] = None


# ---- the kinds, from the schemas ---------------------------------------------------------


def _is_tensor(type_: torch._C.JitType) -> bool:
    if isinstance(type_, torch._C.OptionalType):
        type_ = type_.getElementType()
    return isinstance(type_, torch._C.TensorType)


def sharding_kind(schema: torch._C.FunctionSchema) -> Tuple[str, Any]:
    """How an op's placements propagate, read from its schema:

    - ("packed", i): an ``int dim`` at argument i and a ``layout``;
    - ("grouped", i): an ``int dim`` at argument i and ``pieces``;
    - ("local_inplace", None): in place, but returning a new tensor
      (``trelu_with_mask_`` returns the mask), which DTensor's in-place
      path cannot return;
    - ("broadcast", likes): element-wise with broadcasting; ``likes`` gives,
      per output, the index among the tensor inputs of the one whose shape it
      has (a return named ``grad_<arg>``), or None for the broadcast shape.
    """
    names = [argument.name for argument in schema.arguments]
    if "dim" in names and "layout" in names:
        return "packed", names.index("dim")
    if "dim" in names and "pieces" in names:
        return "grouped", names.index("dim")
    if schema.is_mutable and not any(a.is_out for a in schema.arguments):
        if schema.returns and schema.returns[0].alias_info is None:
            return "local_inplace", None
    tensors = [a.name for a in schema.arguments if _is_tensor(a.type) and not a.is_out]
    likes = tuple(
        tensors.index(ret.name[len("grad_") :])
        if ret.name.startswith("grad_") and ret.name[len("grad_") :] in tensors
        else None
        for ret in schema.returns
    )
    return "broadcast", likes


def _bind(schema: torch._C.FunctionSchema, args: Sequence[Any], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """Every argument by name, the ones the dispatcher left out at their schema default."""
    bound = {}
    for i, argument in enumerate(schema.arguments):
        if i < len(args):
            bound[argument.name] = args[i]
        elif argument.name in kwargs:
            bound[argument.name] = kwargs[argument.name]
        elif argument.has_default_value():
            bound[argument.name] = argument.default_value
    return bound


# ---- local sizes --------------------------------------------------------------------------


def _chunks(size: int, parts: int) -> List[int]:
    """The local sizes of a dim of ``size`` under ``Shard`` over ``parts``
    ranks: torch.chunk's, ceil(size / parts) each, the last ones shorter or
    empty."""
    step = -(-size // parts) if size else 0
    return [max(0, min(step, size - i * step)) for i in range(parts)]


def _local_sizes(size: int, mesh_sizes: Sequence[int]) -> List[int]:
    """The local sizes of a dim sharded over each of these mesh dims in turn."""
    sizes = [size]
    for parts in mesh_sizes:
        sizes = [local for s in sizes for local in _chunks(s, parts)]
    return sizes


def _whole_groups(size: int, group: int, mesh_shape: Sequence[int]) -> bool:
    """Whether ``Shard`` along a dim of ``size`` made of groups of ``group``
    consecutive elements (a packed input's (gate, up) pairs, Maxout's
    pieces) leaves whole groups on every rank, with each rank's output shard
    (one element per group) the one ``Shard`` gives the output, for every
    set of mesh dims that may shard the dim."""
    if group < 1 or size % group:
        return False
    mesh_dims = range(len(mesh_shape))
    for count in range(1, len(mesh_shape) + 1):
        for chosen in itertools.combinations(mesh_dims, count):
            parts = [mesh_shape[m] for m in chosen]
            inputs, outputs = _local_sizes(size, parts), _local_sizes(size // group, parts)
            if [group * o for o in outputs] != inputs:
                return False
    return True


# ---- the rules ----------------------------------------------------------------------------


def _placements():
    from torch.distributed.tensor import Partial, Replicate, Shard

    return Partial, Replicate, Shard


def _broadcast_strategies(specs: Sequence[Any], likes: Sequence[Optional[int]]) -> List[Tuple[list, list]]:
    Partial, Replicate, Shard = _placements()
    shapes = [tuple(spec.shape) for spec in specs]
    shape = tuple(torch.broadcast_shapes(*shapes))
    rank = len(shape)
    strategies = [([Replicate() for _ in likes], [Replicate() for _ in specs])]
    for d in range(rank):
        inputs = []
        for own in shapes:
            k = d - (rank - len(own))
            inputs.append(Shard(k) if k >= 0 and own[k] == shape[d] else Replicate())
        outputs = [
            Shard(d) if like is None else (inputs[like] if isinstance(inputs[like], Shard) else Partial())
            for like in likes
        ]
        strategies.append((outputs, inputs))
    return strategies


def _dim_strategies(
    specs: Sequence[Any], outputs: int, dim: int, along_dim: Callable[[int], bool]
) -> List[Tuple[list, list]]:
    """Every tensor of the op has the same rank and sizes except along
    ``dim``: Shard(d) of all of them for every d != dim, and along dim where
    ``along_dim(d)`` says so."""
    _, Replicate, Shard = _placements()
    rank = len(specs[0].shape)
    d0 = dim % rank if rank else 0
    strategies = [([Replicate()] * outputs, [Replicate()] * len(specs))]
    for d in range(rank):
        if d != d0 or along_dim(d0):
            strategies.append(([Shard(d)] * outputs, [Shard(d)] * len(specs)))
    return strategies


def _sharded_along(spec: Any, d: int) -> bool:
    return any(p.is_shard(d) for p in spec.placements)


def _make_rule(op: torch._ops.OpOverload) -> Callable:
    schema = op._schema
    kind, how = sharding_kind(schema)
    tensor_names = [a.name for a in schema.arguments if _is_tensor(a.type) and not a.is_out]
    outputs = len(schema.returns)
    backward = schema.name.endswith("_backward")

    def rule(*args, **kwargs):
        bound = _bind(schema, args, kwargs)
        specs = [bound[name] for name in tensor_names]
        if kind == "broadcast":
            strategies = _broadcast_strategies(specs, how)
        else:
            dim = bound["dim"]
            mesh_shape = tuple(specs[0].mesh.shape)
            # x is the full-size tensor along dim; grad and indices hold one
            # element per group
            if "x" in bound:
                full = bound["x"].shape[dim]
            else:
                full = None
            if kind == "packed":
                group = 2
                interleaved = bound["layout"] == "interleaved"
                full = full if full is not None else 2 * specs[0].shape[dim]
                # a forward's layout is not in DTensor's cache key: offer
                # Shard(dim) only to an x already sharded there, which
                # _replicate_packed_dim leaves to the interleaved layout alone
                already = backward or _sharded_along(bound["x"], dim % len(bound["x"].shape))

                def along(d, full=full):
                    return interleaved and already and _whole_groups(full, group, mesh_shape)

            else:
                group = bound["pieces"]
                full = full if full is not None else group * specs[0].shape[dim]

                def along(d, full=full):
                    return _whole_groups(full, group, mesh_shape)

            strategies = _dim_strategies(specs, outputs, dim, along)
        return strategies

    rule.__name__ = f"{schema.name.split('::')[1]}_sharding"
    return rule


# ---- DTensor dispatch rules: what a sharding rule cannot say -----------------------------


def _replicate_packed_dim(cls, func, types, args, kwargs):
    """A packed op called on a DTensor with a layout other than
    "interleaved" and ``x`` sharded along ``dim``: ``x`` replicated along
    ``dim`` first, as the sharding cache cannot tell layouts apart. Anything
    else goes on to DTensor (NotImplemented)."""
    from torch.distributed.tensor import DTensor, Replicate

    schema = func._schema
    bound = _bind(schema, args, kwargs)
    x = bound["x"]
    if bound["layout"] == "interleaved" or not isinstance(x, DTensor) or x.dim() == 0:
        return NotImplemented
    d = bound["dim"] % x.dim()
    if not _sharded_along(x, d):
        return NotImplemented
    placements = [Replicate() if p.is_shard(d) else p for p in x.placements]
    with torch.no_grad():
        x = x.detach().redistribute(x.device_mesh, placements)
    args = (x,) + tuple(args[1:])
    return func(*args, **kwargs)


def _write_out(cls, func, types, args, kwargs):
    """An ``out=`` overload on DTensors: the op's result, then copied into
    ``out`` (redistributed to ``out``'s placement), as torch's composite
    ``out=`` ops do. Not a sharding rule: DTensor's cache does not key on
    ``out`` (a keyword argument), and it would resize a local ``out`` and
    give it the result's placement. A DTensor ``out`` is not resized."""
    from torch.distributed.tensor import DTensor

    kwargs = dict(kwargs)
    out = kwargs.pop(next(argument.name for argument in func._schema.arguments if argument.is_out))
    tensors = [a for a in args if isinstance(a, torch.Tensor)] + [out]
    if not all(isinstance(t, DTensor) for t in tensors):
        return NotImplemented  # DTensor's own error on mixing DTensors and tensors
    result = getattr(torch.ops.actops, func._schema.name.split("::")[1]).default(*args, **kwargs)
    if out.shape != result.shape or out.dtype != result.dtype:
        raise RuntimeError(
            f"{func}: a DTensor out must have the result's shape and dtype, "
            f"{tuple(result.shape)} {result.dtype}; got {tuple(out.shape)} {out.dtype} (a DTensor is not resized)"
        )
    out.copy_(result)
    return out


def _local_inplace(cls, func, types, args, kwargs):
    """An in-place op that returns a new tensor (``trelu_with_mask_``, its
    mask): run on ``x``'s local shard, which it overwrites where it lies,
    and its result wrapped with ``x``'s placements. Element-wise, so any
    Shard or Replicate placement is consistent; a Partial ``x`` is refused."""
    from torch.distributed.tensor import DTensor

    x = args[0]
    if not isinstance(x, DTensor):
        return NotImplemented
    if any(p.is_partial() for p in x.placements):
        raise RuntimeError(
            f"{func._schema.name.replace('::', '.')}: x is Partial {tuple(x.placements)}, a sum still to be taken; "
            "an in-place nonlinear op cannot run on it: redistribute x (x.redistribute(mesh, [Replicate()])) "
            "or call the out-of-place op"
        )
    with torch.no_grad():
        local = x.to_local()
    result = func(local, *args[1:], **kwargs)
    return DTensor.from_local(result, x.device_mesh, x.placements, run_check=False, shape=x.shape, stride=x.stride())


# ---- registration -------------------------------------------------------------------------


def _overloads() -> List[torch._ops.OpOverload]:
    """Every overload of every actops op with a tensor argument."""
    found = []
    for qualname in torch._C._dispatch_get_all_op_names():
        if not qualname.startswith("actops::"):
            continue
        name, _, overload = qualname[len("actops::") :].partition(".")
        op = getattr(getattr(torch.ops.actops, name), overload or "default")
        if any(_is_tensor(argument.type) for argument in op._schema.arguments):
            found.append(op)
    return sorted(found, key=str)


def register_sharding_rules() -> None:
    """Register the sharding rule of every actops op the loaded library
    defines, every overload (``out=``) and in-place form included. Idempotent.
    Does nothing where torch.distributed is not available."""
    global _LIBRARY
    if not torch.distributed.is_available():
        return
    from torch.distributed.tensor import DTensor
    from torch.distributed.tensor.experimental import register_sharding

    for op in _overloads():
        key = str(op)
        if key in _REGISTERED:
            continue
        kind, _ = sharding_kind(op._schema)
        if _LIBRARY is None:
            _LIBRARY = torch.library.Library("actops", "FRAGMENT")
        if any(argument.is_out for argument in op._schema.arguments):
            torch.library.register_torch_dispatch(op, DTensor, _write_out, lib=_LIBRARY)
        elif kind == "local_inplace":
            torch.library.register_torch_dispatch(op, DTensor, _local_inplace, lib=_LIBRARY)
        else:
            register_sharding(op)(_make_rule(op))
            if kind == "packed" and not op._schema.name.endswith("_backward"):
                torch.library.register_torch_dispatch(op, DTensor, _replicate_packed_dim, lib=_LIBRARY)
        _REGISTERED.add(key)


def registered_ops() -> Tuple[str, ...]:
    """The overloads (``actops.mish.default``) whose rule this module registered."""
    return tuple(sorted(_REGISTERED))


def install() -> None:
    """What ``import actops`` calls: register now if DTensor is already
    imported, else when it is."""
    if not torch.distributed.is_available():
        return
    after_import(
        _DTENSOR_MODULE,
        register_sharding_rules,
        "the DTensor sharding rules could not be registered; actops ops on DTensors will raise DTensor's "
        "'no sharding strategy' error",
    )
