// The two-tensor ops of the op table, f(a, b): parametric rows (x and a
// tensor parameter that broadcasts to x) and gated rows (gate and up,
// broadcasting both ways, plus the packed layout), each with its out=
// overload (<name>.out, <name>_packed.out). Schemas, device (CPU, CUDA) and
// Meta kernels, from one template per row (their autograd is
// autograd/table.cpp's). The two tensors follow torch's type promotion (as
// torch.mul does): computed in the promoted dtype, each gradient returned in
// its input's dtype.
#include <ATen/ExpandUtils.h>
#include <ATen/TensorIterator.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/result_type.h>

#include <string>
#include <tuple>
#include <vector>

#include "ops/kernel_stubs.h"
#include "ops/math/all.h"
#include "ops/op_support.h"
#include "ops/out_forms.h"
#include "ops/packed_layout.h"
#include "ops/registration.h"
#include "ops/rows.h"

namespace actops {
namespace {

using Pair = std::tuple<at::Tensor, at::Tensor>;
using Triple = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

// The shape a and b broadcast to, or an error naming the op and both tensors.
c10::SymDimVector broadcast_shape(const at::Tensor& a, const at::Tensor& b, const char* op, const char* a_name,
                                  const char* b_name) {
  const auto sa = a.sym_sizes();
  const auto sb = b.sym_sizes();
  const size_t n = std::max(sa.size(), sb.size());
  c10::SymDimVector shape(n);
  for (size_t i = 0; i < n; ++i) {
    const c10::SymInt da = i < n - sa.size() ? c10::SymInt(1) : sa[i - (n - sa.size())];
    const c10::SymInt db = i < n - sb.size() ? c10::SymInt(1) : sb[i - (n - sb.size())];
    TORCH_CHECK(da == 1 || db == 1 || da == db, op, ": ", a_name, " of shape ", sa, " and ", b_name, " of shape ", sb,
                " do not broadcast");
    shape[i] = da == 1 ? db : da;
  }
  return shape;
}

// A gradient pass with several outputs in one sweep: `inputs` in (each of
// `like`'s shape or broadcast to it), one `like`-shaped output per entry of
// `shapes_of`, each then summed to that tensor's shape and cast to its dtype.
// A single-valued last entry (a scalar parameter) gets its gradient summed
// in double: by the CPU kernel, with no full-size temporary; on a GPU, from
// a full-size gradient by ATen's reduction, which sums in a fixed order (the
// same bits on every run).
template <typename Row>
std::vector<at::Tensor> gradients_kernel(const char* op, Pass pass, const typename Row::args_t& args,
                                         at::TensorList inputs, const at::Tensor& like, at::TensorList shapes_of) {
  const at::Tensor& last = shapes_of.back();
  const bool sum_single = last.numel() == 1 && like.numel() > 1;
  const bool sum_in_kernel = sum_single && like.is_cpu();
  const size_t n_stored = shapes_of.size() - (sum_in_kernel ? 1 : 0);
  std::vector<at::Tensor> outputs;
  at::TensorIteratorConfig config;
  for (size_t k = 0; k < n_stored; ++k) {
    outputs.push_back(empty_like_preserving(like));
    config.add_output(outputs.back());
  }
  for (const auto& input : inputs) {
    config.add_const_input(input);
  }
  auto iter = config.build();
  double total = 0.0;
  launch(binary_stub<Row>, op, iter.device(), iter, pass, args, sum_in_kernel ? &total : nullptr);
  for (size_t k = 0; k < n_stored; ++k) {
    if (sum_single && k == shapes_of.size() - 1) {
      outputs[k] = outputs[k].sum(at::kDouble).reshape(last.sizes()).to(last.scalar_type());
    } else {
      outputs[k] = outputs[k].sum_to_size_symint(shapes_of[k].sym_sizes()).to(shapes_of[k].scalar_type());
    }
  }
  if (sum_in_kernel) {
    outputs.push_back(at::full(last.sizes(), total, last.options()));
  }
  return outputs;
}

std::vector<at::Tensor> gradients_meta(const at::Tensor& like, at::TensorList shapes_of) {
  std::vector<at::Tensor> outputs;
  for (const auto& target : shapes_of) {
    outputs.push_back(at::empty_symint(target.sym_sizes(), like.options().dtype(target.scalar_type())));
  }
  return outputs;
}

template <typename Row, typename Math, typename Args = typename Row::args_t>
struct BinaryOp;

template <typename Row, typename Math, typename... A>
struct BinaryOp<Row, Math, std::tuple<A...>> : rows::Names<Row> {
  using rows::Names<Row>::name;
  using rows::Names<Row>::backward_name;
  using rows::Names<Row>::double_backward_name;
  using rows::Names<Row>::packed_name;
  using rows::Names<Row>::packed_backward_name;
  using args_t = std::tuple<A...>;
  static constexpr bool kGated = Row::kind == rows::Kind::Gated;

  // ---- checks and shapes ----
  static void check_args(const char* op, A... s) { (void)math::Maker<Math>::make(op, s...); }

  // a and b: floating, one device; b broadcasts to a (parametric) or both
  // broadcast (gated). Returns the output's shape.
  static c10::SymDimVector check_pair(const char* op, const at::Tensor& a, const at::Tensor& b) {
    check_floating(a, op, Row::a_name);
    check_floating(b, op, Row::b_name);
    check_same_device(b, a, op, Row::b_name, Row::a_name);
    if constexpr (!kGated) {
      TORCH_CHECK(at::is_expandable_to(b.sym_sizes(), a.sym_sizes()), op, ": ", Row::b_name, " of shape ",
                  b.sym_sizes(), " does not broadcast to ", Row::a_name, " of shape ", a.sym_sizes());
      return c10::SymDimVector(a.sym_sizes().begin(), a.sym_sizes().end());
    } else {
      return broadcast_shape(a, b, op, Row::a_name, Row::b_name);
    }
  }

  // The output: a's layout where it has the output's shape.
  static at::Tensor new_output(const at::Tensor& a, const c10::SymDimVector& shape, at::ScalarType dtype) {
    if (a.sym_sizes() == c10::SymIntArrayRef(shape)) {
      return empty_like_preserving(a, dtype);
    }
    return at::empty_symint(shape, a.options().dtype(dtype));
  }

  // grad (or another output-like tensor) must have the output's shape and dtype.
  static void check_output_like(const char* op, const char* arg, const at::Tensor& t, const c10::SymDimVector& shape,
                                at::ScalarType dtype, const at::Tensor& a) {
    check_floating(t, op, arg);
    check_same_device(t, a, op, arg, Row::a_name);
    TORCH_CHECK_TYPE(t.scalar_type() == dtype, op, ": ", arg, " has dtype ", dtype_name(t.scalar_type()),
                     " but the output has dtype ", dtype_name(dtype));
    TORCH_CHECK(t.sym_sizes() == c10::SymIntArrayRef(shape), op, ": ", arg, " has shape ", t.sym_sizes(),
                " but the output has shape ", c10::SymIntArrayRef(shape));
  }

  // ---- split: device and Meta kernels ----
  // f(a, b) into out (of a and b's promoted dtype; the iterator resizes it)
  static at::Tensor value_into(const char* op, const at::Tensor& a, const at::Tensor& b, const at::Tensor& out,
                               A... s) {
    const auto dtype = out.scalar_type();
    const at::Tensor a_promoted = a.to(dtype);
    const at::Tensor b_promoted = b.to(dtype);
    auto iter =
        at::TensorIteratorConfig().add_output(out).add_const_input(a_promoted).add_const_input(b_promoted).build();
    launch(binary_stub<Row>, op, iter.device(), iter, Pass::Value, args_t(s...), nullptr);
    return out;
  }
  static at::Tensor forward_kernel(const at::Tensor& a, const at::Tensor& b, A... s) {
    const char* op = name();
    check_args(op, s...);
    const auto shape = check_pair(op, a, b);
    at::Tensor out = new_output(a, shape, at::result_type(a, b));
    return value_into(op, a, b, out, s...);
  }
  static at::Tensor forward_meta(const at::Tensor& a, const at::Tensor& b, A... s) {
    check_args(name(), s...);
    return new_output(a, check_pair(name(), a, b), at::result_type(a, b));
  }

  // out=: the result's dtype (torch's promotion of a and b) must be out's;
  // an out of another shape is resized by the iterator, as ATen's ops do.
  static at::Tensor& out_kernel(const at::Tensor& a, const at::Tensor& b, A... s, at::Tensor& out) {
    const char* op = name();
    check_args(op, s...);
    check_pair(op, a, b);
    check_out(out, at::result_type(a, b), a, op);
    check_out_overlap(out, a, Row::a_name, op);
    check_out_overlap(out, b, Row::b_name, op);
    value_into(op, a, b, out, s...);
    return out;
  }
  static at::Tensor& out_meta(const at::Tensor& a, const at::Tensor& b, A... s, at::Tensor& out) {
    check_args(name(), s...);
    const auto shape = check_pair(name(), a, b);
    check_out(out, at::result_type(a, b), a, name());
    at::native::resize_output_symint(out, shape);
    return out;
  }

  static at::ScalarType check_backward(const char* op, const at::Tensor& grad, const at::Tensor& a, const at::Tensor& b,
                                       A... s) {
    check_args(op, s...);
    const auto shape = check_pair(op, a, b);
    const auto dtype = at::result_type(a, b);
    check_output_like(op, "grad", grad, shape, dtype, a);
    return dtype;
  }
  static Pair backward_kernel(const at::Tensor& grad, const at::Tensor& a, const at::Tensor& b, A... s) {
    const char* op = backward_name();
    const auto dtype = check_backward(op, grad, a, b, s...);
    auto out = gradients_kernel<Row>(op, Pass::First, args_t(s...), {grad, a.to(dtype), b.to(dtype)}, grad, {a, b});
    return {out[0], out[1]};
  }
  static Pair backward_meta(const at::Tensor& grad, const at::Tensor& a, const at::Tensor& b, A... s) {
    check_backward(backward_name(), grad, a, b, s...);
    auto out = gradients_meta(grad, {a, b});
    return {out[0], out[1]};
  }

  static at::ScalarType check_double_backward(const char* op, const at::Tensor& gg_a, const at::Tensor& gg_b,
                                              const at::Tensor& grad, const at::Tensor& a, const at::Tensor& b,
                                              A... s) {
    const auto dtype = check_backward(op, grad, a, b, s...);
    const std::string gg_a_name = std::string("gg_") + Row::a_name;
    const std::string gg_b_name = std::string("gg_") + Row::b_name;
    check_like(gg_a, a, op, gg_a_name.c_str(), Row::a_name, /*exact_shape=*/true);
    check_like(gg_b, b, op, gg_b_name.c_str(), Row::b_name, /*exact_shape=*/true);
    return dtype;
  }
  static Triple double_backward_kernel(const at::Tensor& gg_a, const at::Tensor& gg_b, const at::Tensor& grad,
                                       const at::Tensor& a, const at::Tensor& b, A... s) {
    const char* op = double_backward_name();
    const auto dtype = check_double_backward(op, gg_a, gg_b, grad, a, b, s...);
    auto out =
        gradients_kernel<Row>(op, Pass::Second, args_t(s...),
                              {gg_a.to(dtype), gg_b.to(dtype), grad, a.to(dtype), b.to(dtype)}, grad, {grad, a, b});
    return {out[0], out[1], out[2]};
  }
  static Triple double_backward_meta(const at::Tensor& gg_a, const at::Tensor& gg_b, const at::Tensor& grad,
                                     const at::Tensor& a, const at::Tensor& b, A... s) {
    check_double_backward(double_backward_name(), gg_a, gg_b, grad, a, b, s...);
    auto out = gradients_meta(grad, {grad, a, b});
    return {out[0], out[1], out[2]};
  }

  // ---- packed (gated rows): gate and up parts of x along dim, as views ----
  static Pair parts_checked(const at::Tensor& x, int64_t dim, c10::string_view layout, const char* op) {
    return packed_parts(x, dim, layout, op);
  }

  static at::Tensor packed_kernel(const at::Tensor& x, int64_t dim, c10::string_view layout, A... s) {
    const char* op = packed_name();
    check_args(op, s...);
    auto [gate, up] = parts_checked(x, dim, layout, op);
    at::Tensor out = empty_like_preserving(gate);
    auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(gate).add_const_input(up).build();
    launch(binary_stub<Row>, op, iter.device(), iter, Pass::Value, args_t(s...), nullptr);
    return out;
  }
  static at::Tensor& packed_out_kernel(const at::Tensor& x, int64_t dim, c10::string_view layout, A... s,
                                       at::Tensor& out) {
    const char* op = packed_name();
    check_args(op, s...);
    auto [gate, up] = parts_checked(x, dim, layout, op);
    check_out(out, x.scalar_type(), x, op);
    // out may be exactly the gate part or the up part of x (each element
    // read, then written), nothing else of x (x itself would be resized)
    check_out_overlap(out, gate, "x (its gate part)", op);
    check_out_overlap(out, up, "x (its up part)", op);
    auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(gate).add_const_input(up).build();
    launch(binary_stub<Row>, op, iter.device(), iter, Pass::Value, args_t(s...), nullptr);
    return out;
  }
  static at::Tensor& packed_out_meta(const at::Tensor& x, int64_t dim, c10::string_view layout, A... s,
                                     at::Tensor& out) {
    check_args(packed_name(), s...);
    auto parts = parts_checked(x, dim, layout, packed_name());
    check_out(out, x.scalar_type(), x, packed_name());
    at::native::resize_output_symint(out, std::get<0>(parts).sym_sizes());
    return out;
  }
  static at::Tensor packed_meta(const at::Tensor& x, int64_t dim, c10::string_view layout, A... s) {
    check_args(packed_name(), s...);
    return empty_like_preserving(std::get<0>(parts_checked(x, dim, layout, packed_name())));
  }

  static Pair check_packed_backward(const char* op, const at::Tensor& grad, const at::Tensor& x, int64_t dim,
                                    c10::string_view layout, A... s) {
    check_args(op, s...);
    auto p = parts_checked(x, dim, layout, op);
    check_like(grad, std::get<0>(p), op, "grad", "the output", /*exact_shape=*/true);
    return p;
  }
  static at::Tensor packed_backward_kernel(const at::Tensor& grad, const at::Tensor& x, int64_t dim,
                                           c10::string_view layout, A... s) {
    const char* op = packed_backward_name();
    auto [gate, up] = check_packed_backward(op, grad, x, dim, layout, s...);
    at::Tensor grad_x = empty_like_preserving(x);
    // Both parts of grad_x written in the same sweep, through views.
    auto [grad_gate, grad_up] = parts_checked(grad_x, dim, layout, op);
    auto iter = at::TensorIteratorConfig()
                    .add_output(grad_gate)
                    .add_output(grad_up)
                    .add_const_input(grad)
                    .add_const_input(gate)
                    .add_const_input(up)
                    .build();
    launch(binary_stub<Row>, op, iter.device(), iter, Pass::First, args_t(s...), nullptr);
    return grad_x;
  }
  static at::Tensor packed_backward_meta(const at::Tensor& grad, const at::Tensor& x, int64_t dim,
                                         c10::string_view layout, A... s) {
    check_packed_backward(packed_backward_name(), grad, x, dim, layout, s...);
    return empty_like_preserving(x);
  }

  static void define(torch::Library& m) {
    const std::string op = Row::name;
    const std::string a = Row::a_name;
    const std::string b = Row::b_name;
    const std::string params = Row::schema_params;
    const std::string plain = without_defaults(Row::schema_params);
    // gated ops take their scalar parameters by keyword only
    const std::string star = kGated ? ", *" : "";
    m.def((op + "(Tensor " + a + ", Tensor " + b + star + params + ") -> Tensor").c_str(), op_tags());
    m.def((op + "_backward(Tensor grad, Tensor " + a + ", Tensor " + b + plain + ") -> (Tensor grad_" + a +
           ", Tensor grad_" + b + ")")
              .c_str(),
          op_tags());
    m.def((op + "_double_backward(Tensor gg_" + a + ", Tensor gg_" + b + ", Tensor grad, Tensor " + a + ", Tensor " +
           b + plain + ") -> (Tensor grad_grad, Tensor grad_" + a + ", Tensor grad_" + b + ")")
              .c_str(),
          op_tags());
    register_device_kernel(m, op, &forward_kernel);
    register_device_kernel(m, op + "_backward", &backward_kernel);
    register_device_kernel(m, op + "_double_backward", &double_backward_kernel);
    register_kernel(m, op, c10::DispatchKey::Meta, &forward_meta);
    register_kernel(m, op + "_backward", c10::DispatchKey::Meta, &backward_meta);
    register_kernel(m, op + "_double_backward", c10::DispatchKey::Meta, &double_backward_meta);
    m.def(out_schema(op, "Tensor " + a + ", Tensor " + b + star + params).c_str(), out_tags());
    register_device_kernel(m, op + ".out", &out_kernel);
    register_kernel(m, op + ".out", c10::DispatchKey::Meta, &out_meta);
    register_out_autograd(m, op + ".out");
    if constexpr (kGated) {
      m.def(
          (op + "_packed(Tensor x, int dim=-1, *, str layout=\"" + kGatedLayoutDefault + "\"" + params + ") -> Tensor")
              .c_str(),
          op_tags());
      m.def((op + "_packed_backward(Tensor grad, Tensor x, int dim, str layout" + plain + ") -> Tensor").c_str(),
            op_tags());
      register_device_kernel(m, op + "_packed", &packed_kernel);
      register_device_kernel(m, op + "_packed_backward", &packed_backward_kernel);
      register_kernel(m, op + "_packed", c10::DispatchKey::Meta, &packed_meta);
      register_kernel(m, op + "_packed_backward", c10::DispatchKey::Meta, &packed_backward_meta);
      m.def(out_schema(op + "_packed",
                       std::string("Tensor x, int dim=-1, *, str layout=\"") + kGatedLayoutDefault + "\"" + params)
                .c_str(),
            out_tags());
      register_device_kernel(m, op + "_packed.out", &packed_out_kernel);
      register_kernel(m, op + "_packed.out", c10::DispatchKey::Meta, &packed_out_meta);
      register_out_autograd(m, op + "_packed.out");
    }
  }
};

}  // namespace

void define_binary_ops(torch::Library& m) {
#define ACTOPS_DEFINE_PARAMETRIC(name, public_name, Math, ...) BinaryOp<rows::name, math::Math>::define(m);
#define ACTOPS_DEFINE_GATED(name, Math, ...) BinaryOp<rows::name, math::Math>::define(m);
  ACTOPS_PARAMETRIC_OPS(ACTOPS_DEFINE_PARAMETRIC)
  ACTOPS_GATED_OPS(ACTOPS_DEFINE_GATED)
#undef ACTOPS_DEFINE_PARAMETRIC
#undef ACTOPS_DEFINE_GATED
}

}  // namespace actops
