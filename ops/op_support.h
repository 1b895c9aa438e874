// What the op glue of every op shares: argument checks that name the op and
// the argument, output allocation, typed dispatcher handles and schema text.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <string>
#include <tuple>

namespace actops {

// The typed dispatcher handle of "actops::<name>".
template <typename Signature>
c10::TypedOperatorHandle<Signature> typed_op(const std::string& name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(("actops::" + name).c_str(), "").typed<Signature>();
}

// Calls `f(args...)` with a tuple's elements appended after `first...`.
template <typename F, typename Tuple, typename... First>
decltype(auto) apply_after(const F& f, const Tuple& args, const First&... first) {
  return std::apply([&](const auto&... a) -> decltype(auto) { return f(first..., a...); }, args);
}

std::string dtype_name(at::ScalarType dtype);

// Rejects undefined tensors and every dtype but float32/float64/bfloat16/
// float16, naming the op, the argument and the dtype.
void check_floating(const at::Tensor& t, const char* op, const char* arg);

// `other` must be usable element by element with `ref` (called `ref_name` in
// the message): same dtype and device, and, when `exact_shape`, the same
// shape, else a shape that broadcasts to ref's without changing it (a
// parameter: one value or one per channel).
void check_like(const at::Tensor& other, const at::Tensor& ref, const char* op, const char* arg, const char* ref_name,
                bool exact_shape);

// Both on one device.
void check_same_device(const at::Tensor& a, const at::Tensor& b, const char* op, const char* a_name,
                       const char* b_name);

// A new tensor like x (shape and memory format), optionally of another dtype.
at::Tensor empty_like_preserving(const at::Tensor& x);
at::Tensor empty_like_preserving(const at::Tensor& x, at::ScalarType dtype);

// Schema parameter text (", float beta=1.0") without its defaults: the
// backward ops' schemas repeat the forward's parameters without defaults.
std::string without_defaults(const char* params);

}  // namespace actops
