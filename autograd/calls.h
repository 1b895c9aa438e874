// The dispatcher calls that the autograd templates (unary.h, binary.h) make
// for a row of the op table, through the call layer of the public API
// (actops.h: find_op and detail::call, the operator handle looked up once):
// the op, its backward and double backward, in place, packed. `args` is a
// tuple of the row's scalar arguments, owned (std::string) or not.
#pragma once

#include <string>
#include <tuple>

#include "actops/actops.h"
#include "ops/packed_layout.h"
#include "ops/rows.h"

namespace actops::autograd {

template <typename Row, typename Args = typename Row::args_t>
struct Calls;

template <typename Row, typename... A>
struct Calls<Row, std::tuple<A...>> : rows::Names<Row> {
  using args_t = std::tuple<A...>;
  using Names = rows::Names<Row>;
  using T = at::Tensor;
  using Pair = std::tuple<T, T>;
  using Triple = std::tuple<T, T, T>;

  // The row's ops, by their suffix.
  enum Which { kOp, kBackward, kDoubleBackward, kPacked, kPackedBackward };
  static const char* suffix(Which which) {
    static constexpr const char* kSuffixes[] = {"", "_backward", "_double_backward", "_packed", "_packed_backward"};
    return kSuffixes[which];
  }

  // Calls the op "actops::<name><suffix>" returning Ret with the tensors
  // (and dim, layout) `first` and then the scalar arguments; the handle is
  // looked up once per op (each `which` is its own instantiation).
  template <Which which, typename Ret, typename... First, typename Tuple>
  static Ret call(const Tuple& args, const First&... first) {
    static const c10::OperatorHandle op =
        detail::find_op(("actops::" + std::string(Row::name) + suffix(which)).c_str());
    return std::apply([&](const auto&... v) { return detail::call<Ret, First..., A...>(op, first..., v...); }, args);
  }

  template <typename Tuple>
  static T forward(const T& x, const Tuple& args) {
    return call<kOp, T>(args, x);
  }
  template <typename Tuple>
  static T backward(const T& grad, const T& x, const Tuple& args) {
    return call<kBackward, T>(args, grad, x);
  }
  template <typename Tuple>
  static T double_backward(const T& grad, const T& x, const Tuple& args) {
    return call<kDoubleBackward, T>(args, grad, x);
  }
  // x overwritten (the in-place overload takes x by mutable reference).
  template <typename Tuple>
  static T& inplace(T& x, const Tuple& args) {
    static const auto op = detail::find_op_overload(("actops::" + std::string(Row::name) + "_").c_str(), "")
                               .template typed<T&(T&, A...)>();
    return std::apply([&](const auto&... v) -> T& { return op.call(x, A(v)...); }, args);
  }

  // two-tensor rows
  template <typename Tuple>
  static T forward(const T& a, const T& b, const Tuple& args) {
    return call<kOp, T>(args, a, b);
  }
  template <typename Tuple>
  static Pair backward(const T& grad, const T& a, const T& b, const Tuple& args) {
    return call<kBackward, Pair>(args, grad, a, b);
  }
  template <typename Tuple>
  static Triple double_backward(const T& gg_a, const T& gg_b, const T& grad, const T& a, const T& b,
                                const Tuple& args) {
    return call<kDoubleBackward, Triple>(args, gg_a, gg_b, grad, a, b);
  }

  // gated rows' packed layout
  template <typename Tuple>
  static T packed(const T& x, int64_t dim, c10::string_view layout, const Tuple& args) {
    return call<kPacked, T>(args, x, dim, layout);
  }
  template <typename Tuple>
  static T packed_backward(const T& grad, const T& x, int64_t dim, c10::string_view layout, const Tuple& args) {
    return call<kPackedBackward, T>(args, grad, x, dim, layout);
  }
  static Pair parts(const T& x, int64_t dim, c10::string_view layout) {
    return packed_parts(x, dim, layout, Names::packed_name());
  }
  static T join(const T& gate, const T& up, int64_t dim, c10::string_view layout) {
    return packed_join(gate, up, dim, layout, Names::packed_name());
  }
};

}  // namespace actops::autograd
