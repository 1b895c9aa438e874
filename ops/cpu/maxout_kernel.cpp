// Compiled once per instruction set (see ops/cpu/dispatch.h); the plain
// loops below are vectorized by the compiler for each set.
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include <algorithm>
#include <type_traits>

#include "ops/cpu/loops.h"
#include "ops/kernel_stubs.h"
#include "ops/math/maxout.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {
namespace {

constexpr const char* kMaxout = "actops.maxout";

// An index that a caller of maxout_backward passed must pick one of the k
// pieces: anything else would write out of bounds (or drop the gradient).
inline void check_index(int64_t j, int64_t k, int64_t position) {
  TORCH_CHECK(static_cast<uint64_t>(j) < static_cast<uint64_t>(k), "actops.maxout_backward: indices[", position,
              "] = ", j, " is out of range for ", k, " pieces");
}

// Rows of (outer, group) pairs per parallel task: about 32K elements read.
int64_t grain(const MaxoutShape& s) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, s.pieces * s.inner)); }

// Groups of k consecutive values (maxout over the innermost dim), rows
// [begin, end): processed in blocks, one piece at a time across the block,
// with branch-free selects (select_bits), so the compiler vectorizes across
// groups (K > 0 makes the stride a constant for the common small piece
// counts).
template <int K, typename scalar_t, typename index_t>
void maxout_groups(const scalar_t* src, scalar_t* dst, index_t* idx, int64_t begin, int64_t end, int64_t k_runtime) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t k = K > 0 ? K : k_runtime;
  constexpr int64_t kBlock = 256;
  // 32-bit lanes like the values', narrowed on store; 64-bit when the
  // indices are (more than 2^31 pieces)
  using lane_t = std::conditional_t<sizeof(index_t) == 8, int64_t, int32_t>;
  opmath_t best[kBlock];
  lane_t arg[kBlock];
  for (int64_t start = begin; start < end; start += kBlock) {
    const int64_t n = std::min(kBlock, end - start);
    const scalar_t* group = src + start * k;
    for (int64_t g = 0; g < n; ++g) {
      best[g] = static_cast<opmath_t>(group[g * k]);
      arg[g] = 0;
    }
    for (int64_t j = 1; j < k; ++j) {
      for (int64_t g = 0; g < n; ++g) {
        const opmath_t v = static_cast<opmath_t>(group[g * k + j]);
        const bool take = math::maxout_replaces(v, best[g]);
        best[g] = select_bits(take, v, best[g]);
        arg[g] = take ? static_cast<lane_t>(j) : arg[g];
      }
    }
    for (int64_t g = 0; g < n; ++g) {
      dst[start + g] = static_cast<scalar_t>(best[g]);
    }
    if (idx != nullptr) {
      for (int64_t g = 0; g < n; ++g) {
        idx[start + g] = static_cast<index_t>(arg[g]);
      }
    }
  }
}

void maxout_forward_kernel(const at::Tensor& x, at::Tensor& out, at::Tensor& indices, const MaxoutShape& s) {
  dispatch_floating(x.scalar_type(), kMaxout, [&](auto tag) {
    using scalar_t = decltype(tag);
    using opmath_t = at::opmath_type<scalar_t>;
    // Without `indices` (a forward that records no gradient) only the values
    // are written.
    math::dispatch_maxout_index(indices.defined() ? indices.scalar_type() : at::kByte, [&](auto index_tag) {
      using index_t = decltype(index_tag);
      const scalar_t* src = x.const_data_ptr<scalar_t>();
      scalar_t* dst = out.mutable_data_ptr<scalar_t>();
      index_t* idx = indices.defined() ? indices.mutable_data_ptr<index_t>() : nullptr;
      const int64_t k = s.pieces;
      const int64_t inner = s.inner;
      at::parallel_for(0, s.outer * s.groups, grain(s), [&](int64_t begin, int64_t end) {
        if (inner == 1) {
          if constexpr (std::is_same_v<index_t, uint8_t>) {
            switch (k) {
              case 2:
                return maxout_groups<2>(src, dst, idx, begin, end, k);
              case 3:
                return maxout_groups<3>(src, dst, idx, begin, end, k);
              case 4:
                return maxout_groups<4>(src, dst, idx, begin, end, k);
              case 8:
                return maxout_groups<8>(src, dst, idx, begin, end, k);
              default:
                break;
            }
          }
          return maxout_groups<0>(src, dst, idx, begin, end, k);
        }
        // k slices of `inner` contiguous values: the inner loops vectorize
        if (idx == nullptr) {
          for (int64_t row = begin; row < end; ++row) {
            const scalar_t* slices = src + row * k * inner;
            scalar_t* best = dst + row * inner;
            std::copy(slices, slices + inner, best);
            for (int64_t j = 1; j < k; ++j) {
              const scalar_t* slice = slices + j * inner;
              for (int64_t i = 0; i < inner; ++i) {
                const bool take =
                    math::maxout_replaces(static_cast<opmath_t>(slice[i]), static_cast<opmath_t>(best[i]));
                best[i] = select_bits(take, slice[i], best[i]);
              }
            }
          }
          return;
        }
        for (int64_t row = begin; row < end; ++row) {
          const scalar_t* slices = src + row * k * inner;
          scalar_t* best = dst + row * inner;
          index_t* arg = idx + row * inner;
          for (int64_t i = 0; i < inner; ++i) {
            best[i] = slices[i];
            arg[i] = 0;
          }
          for (int64_t j = 1; j < k; ++j) {
            const scalar_t* slice = slices + j * inner;
            for (int64_t i = 0; i < inner; ++i) {
              const opmath_t v = static_cast<opmath_t>(slice[i]);
              const opmath_t b = static_cast<opmath_t>(best[i]);
              const bool take = math::maxout_replaces(v, b);
              best[i] = select_bits(take, slice[i], best[i]);
              arg[i] = take ? static_cast<index_t>(j) : arg[i];
            }
          }
        }
      });
    });
  });
}

void maxout_backward_kernel(const at::Tensor& grad, const at::Tensor& indices, at::Tensor& grad_x,
                            const MaxoutShape& s) {
  dispatch_floating(grad.scalar_type(), kMaxout, [&](auto tag) {
    using scalar_t = decltype(tag);
    math::dispatch_maxout_index(indices.scalar_type(), [&](auto index_tag) {
      using index_t = decltype(index_tag);
      const scalar_t* g = grad.const_data_ptr<scalar_t>();
      const index_t* idx = indices.const_data_ptr<index_t>();
      scalar_t* dx = grad_x.mutable_data_ptr<scalar_t>();
      const int64_t k = s.pieces;
      const int64_t inner = s.inner;
      const scalar_t zero(0);
      at::parallel_for(0, s.outer * s.groups, grain(s), [&](int64_t begin, int64_t end) {
        if (inner == 1) {
          // Groups of k consecutive values: clear this task's slice of grad_x
          // (a vectorized fill, still in cache), then one store per group.
          // Each index is checked before its store (one compare per group).
          std::fill(dx + begin * k, dx + end * k, zero);
          for (int64_t row = begin; row < end; ++row) {
            const int64_t j = static_cast<int64_t>(idx[row]);
            check_index(j, k, row);
            dx[row * k + j] = g[row];
          }
          return;
        }
        // Every element written once: the gradient at the group's index, 0
        // elsewhere; the inner loops vectorize (the check is an OR over the
        // row's indices).
        for (int64_t row = begin; row < end; ++row) {
          const index_t* row_idx = idx + row * inner;
          bool bad = false;
          for (int64_t i = 0; i < inner; ++i) {
            bad |= static_cast<uint64_t>(static_cast<int64_t>(row_idx[i])) >= static_cast<uint64_t>(k);
          }
          if (bad) {
            for (int64_t i = 0; i < inner; ++i) {
              check_index(static_cast<int64_t>(row_idx[i]), k, row * inner + i);
            }
          }
          for (int64_t j = 0; j < k; ++j) {
            scalar_t* out = dx + (row * k + j) * inner;
            const scalar_t* in = g + row * inner;
            const index_t* arg = idx + row * inner;
            for (int64_t i = 0; i < inner; ++i) {
              out[i] = static_cast<int64_t>(arg[i]) == j ? in[i] : zero;
            }
          }
        }
      });
    });
  });
}

ACTOPS_REGISTER_CPU_KERNEL(maxout_forward_stub, &maxout_forward_kernel);
ACTOPS_REGISTER_CPU_KERNEL(maxout_backward_stub, &maxout_backward_kernel);

}  // namespace
}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
