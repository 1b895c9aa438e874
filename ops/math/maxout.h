// What maxout's CPU and CUDA kernels share: the tie and NaN rule (a value v
// replaces the running maximum b when larger, or when NaN, which wins as in
// torch.max; ties keep the first maximum, whose index the backward uses),
// and the integer dtypes its indices come in.
#pragma once

#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>

#include <cstdint>

#include "ops/math/common.h"

namespace actops::math {
inline namespace ACTOPS_MATH_NS {

// (Bitwise, not short-circuit, operators: the CPU compiler turns them into
// vector compares and blends.)
template <typename T>
C10_HOST_DEVICE ACTOPS_INLINE bool maxout_replaces(T v, T b) {
  return (b == b) & ((v > b) | (v != v));
}

// Calls f(index_t{}) for the dtype of maxout's indices (ops/maxout.cpp,
// maxout_index_dtype: the smallest that holds `pieces`).
template <typename F>
void dispatch_maxout_index(at::ScalarType dtype, const F& f) {
  switch (dtype) {
    case at::kByte:
      return f(uint8_t{});
    case at::kShort:
      return f(int16_t{});
    case at::kInt:
      return f(int32_t{});
    case at::kLong:
      return f(int64_t{});
    default:
      TORCH_CHECK(false, "actops.maxout: unsupported index dtype ", dtype);
  }
}

}  // namespace ACTOPS_MATH_NS
}  // namespace actops::math
