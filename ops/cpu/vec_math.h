// Vectorized<S> overloads of the helpers in ops/math/common.h, so that every
// formula in ops/math/ also compiles for SIMD vectors. Included only by the
// per-instruction-set kernel files (ops/cpu/*_kernel.cpp).
#pragma once

#include <ATen/cpu/vec/vec.h>

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

template <typename S>
struct scalar_of<at::vec::Vectorized<S>> {
  using type = S;
};

// `cond` is a comparison result: all bits set in the lanes where it holds.
template <typename S>
inline at::vec::Vectorized<S> where(
    const at::vec::Vectorized<S>& cond,
    const at::vec::Vectorized<S>& a,
    const at::vec::Vectorized<S>& b) {
  return at::vec::Vectorized<S>::blendv(b, a, cond);
}

template <typename S>
inline at::vec::Vectorized<S> nan_min(
    const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b) {
  return at::vec::minimum(a, b);
}
template <typename S>
inline at::vec::Vectorized<S> nan_max(
    const at::vec::Vectorized<S>& a, const at::vec::Vectorized<S>& b) {
  return at::vec::maximum(a, b);
}

// Sleef's exp, correct to 1 ulp.
template <typename S>
inline at::vec::Vectorized<S> exp(const at::vec::Vectorized<S>& x) {
  return x.exp();
}

template <typename S>
inline at::vec::Vectorized<S> erfc(const at::vec::Vectorized<S>& x) {
  return x.erfc();
}

template <typename S>
inline at::vec::Vectorized<S> abs(const at::vec::Vectorized<S>& x) {
  return x.abs();
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
