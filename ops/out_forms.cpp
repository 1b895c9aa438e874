#include "ops/out_forms.h"

#include <ATen/core/LegacyTypeDispatch.h>
#include <ATen/core/grad_mode.h>
#include <ATen/native/Resize.h>
#include <torch/csrc/autograd/VariableTypeUtils.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "ops/op_support.h"

namespace actops {

// Not at::Tag::out: with it, Inductor (torch 2.13) lowers every call of the
// functional op to its .out overload and, when the call leaves a parameter
// at its default, passes that parameter twice ("swish.out(buf0, 1.0,
// beta=1.0, out=buf1)"), which fails. The Functionalize kernel below gives
// torch.compile what the tag would.
const std::vector<at::Tag>& out_tags() {
  static const std::vector<at::Tag> tags{at::Tag::pt2_compliant_tag};
  return tags;
}

namespace {
// at::Tag::inplace where this torch has it (torch 2.11 has none): looked up
// through a template, so that one source builds against both.
template <typename Tag, typename = void>
struct InplaceTag {
  static void add(std::vector<Tag>& /*tags*/) {}
};
template <typename Tag>
struct InplaceTag<Tag, std::void_t<decltype(Tag::inplace)>> {
  static void add(std::vector<Tag>& tags) { tags.push_back(Tag::inplace); }
};
}  // namespace

const std::vector<at::Tag>& inplace_tags() {
  static const std::vector<at::Tag> tags = [] {
    std::vector<at::Tag> t{at::Tag::pt2_compliant_tag};
    InplaceTag<at::Tag>::add(t);
    return t;
  }();
  return tags;
}

std::string out_schema(const std::string& name, const std::string& arguments) {
  const bool has_star = arguments.find(", *") != std::string::npos;
  return name + ".out(" + arguments + (has_star ? "" : ", *") + ", Tensor(a!) out) -> Tensor(a!)";
}

void check_out(const at::Tensor& out, at::ScalarType dtype, const at::Tensor& like, const char* op) {
  TORCH_CHECK(out.defined(), op, ": out is an undefined tensor");
  TORCH_CHECK_TYPE(out.scalar_type() == dtype, op, ": out has dtype ", dtype_name(out.scalar_type()),
                   " but the result has dtype ", dtype_name(dtype), " (out= does not cast)");
  check_same_device(out, like, op, "out", "the input");
}

namespace {
// Whether a and b are one view: the same address, sizes, strides and dtype.
bool same_view(const at::Tensor& a, const at::Tensor& b) {
  return a.defined() && b.defined() && a.const_data_ptr() == b.const_data_ptr() && a.sizes() == b.sizes() &&
         a.strides() == b.strides() && a.dtype() == b.dtype();
}

// The bytes [first, second) that a strided tensor's elements lie in.
std::pair<uintptr_t, uintptr_t> byte_span(const at::Tensor& t) {
  if (t.numel() == 0 || !t.has_storage()) {
    return {0, 0};
  }
  int64_t low = 0;
  int64_t high = 0;
  for (int64_t d = 0; d < t.dim(); ++d) {
    const int64_t extent = (t.size(d) - 1) * t.stride(d);
    (extent < 0 ? low : high) += extent;
  }
  const auto base = reinterpret_cast<uintptr_t>(t.const_data_ptr());
  const auto size = static_cast<int64_t>(t.element_size());
  return {base + low * size, base + (high + 1) * size};
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// Whether two strided tensors may have an element in common. Exact for two
// views with the same strides (the halves or the even and odd columns of one
// tensor): a common element is a solution of base_b - base_a = sum_k c_k s_k
// with each c_k = i_k - j_k in its range, searched largest stride first; a
// search that branches too much, and any other pair, falls back to whether
// their address ranges overlap.
bool may_share_elements(const at::Tensor& a, const at::Tensor& b) {
  const auto sa = byte_span(a);
  const auto sb = byte_span(b);
  if (sa.first >= sb.second || sb.first >= sa.second) {
    return false;
  }
  const int64_t size = static_cast<int64_t>(a.element_size());
  // base_b - base_a in bytes
  const auto delta = static_cast<int64_t>(reinterpret_cast<uintptr_t>(b.const_data_ptr()) -
                                          reinterpret_cast<uintptr_t>(a.const_data_ptr()));
  if (a.dim() != b.dim() || a.strides() != b.strides() || b.element_size() != a.element_size() || delta % size != 0) {
    return true;
  }
  struct Dim {
    int64_t stride, lo, hi;  // c ranges over [lo, hi]
  };
  std::vector<Dim> dims;
  for (int64_t d = 0; d < a.dim(); ++d) {
    if (a.stride(d) > 0 && (a.size(d) > 1 || b.size(d) > 1)) {
      dims.push_back({a.stride(d), -(b.size(d) - 1), a.size(d) - 1});
    }
  }
  std::sort(dims.begin(), dims.end(), [](const Dim& x, const Dim& y) { return x.stride > y.stride; });
  // the least and the most that the dims after k can add
  std::vector<int64_t> low_after(dims.size() + 1, 0);
  std::vector<int64_t> high_after(dims.size() + 1, 0);
  for (size_t k = dims.size(); k-- > 0;) {
    low_after[k] = low_after[k + 1] + dims[k].lo * dims[k].stride;
    high_after[k] = high_after[k + 1] + dims[k].hi * dims[k].stride;
  }
  int budget = 256;
  const std::function<bool(size_t, int64_t)> reach = [&](size_t k, int64_t rest) -> bool {
    if (k == dims.size()) {
      return rest == 0;
    }
    if (--budget < 0) {
      return true;
    }
    const int64_t s = dims[k].stride;
    const int64_t c_lo = std::max(dims[k].lo, ceil_div(rest - high_after[k + 1], s));
    const int64_t c_hi = std::min(dims[k].hi, floor_div(rest - low_after[k + 1], s));
    for (int64_t c = c_lo; c <= c_hi; ++c) {
      if (reach(k + 1, rest - c * s)) {
        return true;
      }
    }
    return false;
  };
  return reach(0, delta / size);
}
}  // namespace

void check_out_overlap(const at::Tensor& out, const at::Tensor& input, const char* arg, const char* op) {
  if (same_view(out, input)) {
    return;
  }
  TORCH_CHECK(!may_share_elements(out, input), op, ": out shares memory with ", arg, " without being exactly ", arg,
              " (the same view): writing out would corrupt the result; pass an out that does not overlap ", arg);
}

namespace {

// "actops::mish" -> "actops.mish": the op's name in errors.
std::string error_name(const c10::OperatorHandle& op) {
  std::string name = op.schema().name();
  const auto colons = name.find("::");
  return colons == std::string::npos ? name : name.replace(colons, 2, ".");
}

// As ATen's generated VariableType kernels of out= overloads: no gradient is
// recorded through out=, so an input that requires grad (with grad mode on)
// is an error rather than a silently detached result; likewise a tangent.
void out_autograd(const c10::OperatorHandle& op, c10::DispatchKeySet keys, torch::jit::Stack* stack) {
  const size_t n = op.schema().arguments().size();
  bool requires_grad = false;
  bool has_tangent = false;
  for (const c10::IValue& v : torch::jit::last(*stack, n)) {
    if (v.isTensor() && v.toTensor().defined()) {
      const at::Tensor& t = v.toTensor();
      requires_grad = requires_grad || t.requires_grad();
      has_tangent = has_tangent || t._fw_grad(/*level=*/0).defined();
    }
  }
  TORCH_CHECK(!(requires_grad && at::GradMode::is_enabled()), error_name(op),
              ": functions with out=... arguments don't support automatic differentiation, but one of the arguments "
              "requires grad (call it under torch.no_grad(), or without out=)");
  TORCH_CHECK(!has_tangent, error_name(op),
              ": functions with out=... arguments don't support forward-mode automatic differentiation, but one of the "
              "arguments has a tangent");
  at::AutoDispatchBelowAutograd guard;
  op.redispatchBoxed(keys & c10::after_autograd_keyset, stack);
}

// As ATen's ADInplaceOrView kernels: after the write, every tensor the
// schema marks as written gets its version bumped, so a backward that saved
// it before raises "one of the variables needed for gradient computation has
// been modified by an inplace operation".
void bump_written_versions(const c10::OperatorHandle& op, c10::DispatchKeySet keys, torch::jit::Stack* stack) {
  const auto& arguments = op.schema().arguments();
  std::vector<at::Tensor> written;
  const auto values = torch::jit::last(*stack, arguments.size());
  for (size_t i = 0; i < arguments.size(); ++i) {
    const auto* alias = arguments[i].alias_info();
    if (alias != nullptr && alias->isWrite() && values[i].isTensor()) {
      written.push_back(values[i].toTensor());
    }
  }
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    op.redispatchBoxed(keys & c10::after_ADInplaceOrView_keyset, stack);
  }
  for (const auto& t : written) {
    torch::autograd::increment_version(t);
  }
}

// Functionalization (torch.compile, AOTAutograd, export): the out= or
// in-place overload becomes its functional op and a copy into the written
// tensor, which functionalization knows how to trace. (Without this kernel
// torch.compile takes the auto_functionalize path, whose reinplacing loses
// track of the alias an in-place custom op returns and lets Inductor reuse
// its buffer while it is still live.) The written tensor is the op's first
// tensor argument marked (a!): `out`, last in an out= schema, is taken off
// the stack so that what remains are exactly the functional op's arguments;
// an in-place op's arguments are its functional op's. The first result is
// copied into it and returned in its place (or, where the overload returns
// one value fewer than its functional op, not returned).
void functionalize(const c10::OperatorHandle& op, c10::DispatchKeySet /*keys*/, torch::jit::Stack* stack) {
  const auto& schema = op.schema();
  const bool is_out = schema.overload_name() == "out";
  std::string name = schema.name();
  if (!is_out) {
    name.pop_back();  // "actops::mish_" -> "actops::mish"
  }
  const c10::OperatorHandle functional = c10::Dispatcher::singleton().findSchemaOrThrow(name.c_str(), "");
  at::Tensor written;
  if (is_out) {
    written = stack->back().toTensor();
    stack->pop_back();
  } else {
    written = torch::jit::last(*stack, schema.arguments().size())[0].toTensor();
  }
  functional.callBoxed(stack);
  const size_t n_returns = functional.schema().returns().size();
  c10::IValue& first = (*stack)[stack->size() - n_returns];
  const at::Tensor result = first.toTensor();
  TORCH_CHECK_TYPE(written.scalar_type() == result.scalar_type(), error_name(op), ": ", (is_out ? "out" : "x"),
                   " has dtype ", dtype_name(written.scalar_type()), " but the result has dtype ",
                   dtype_name(result.scalar_type()));
  if (is_out) {
    at::native::resize_output_symint(written, result.sym_sizes());
  }
  written.copy_(result);
  if (schema.returns().size() == n_returns) {
    first = written;
  } else {  // trelu_with_mask_: x written, only the mask returned
    stack->erase(stack->end() - n_returns);
  }
}

}  // namespace

void register_out_autograd(torch::Library& m, const std::string& name) {
  m.impl(name.c_str(), c10::DispatchKey::Autograd, torch::CppFunction::makeFromBoxedFunction<&out_autograd>());
  register_inplace_view(m, name);
}

void register_inplace_view(torch::Library& m, const std::string& name) {
  m.impl(name.c_str(), c10::DispatchKey::ADInplaceOrView,
         torch::CppFunction::makeFromBoxedFunction<&bump_written_versions>());
  m.impl(name.c_str(), c10::DispatchKey::Functionalize, torch::CppFunction::makeFromBoxedFunction<&functionalize>());
}

}  // namespace actops
