// The CPU loops shared by the element-wise and two-tensor ops: TensorIterator for
// shapes, strides and threads, one scalar and one Vectorized lambda built from
// the same formula. bfloat16 and float16 are widened to float, computed, and
// rounded once. The streaming policy is ops/cpu/streaming.h's, the
// deterministic sums ops/cpu/sums.h's. Included only by per-instruction-set
// kernel files.
#pragma once

#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <c10/util/bit_cast.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif
#include <tuple>
#include <vector>

#include "ops/cpu/streaming.h"
#include "ops/cpu/sums.h"
#include "ops/kernel_stubs.h"
#include "ops/math/common.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {

// take ? a : b as a select of bits, for the plain loops that the compiler is
// to vectorize: GCC does not if-convert a floating-point select under
// -ftrapping-math (its default), and a loop with a branch is not vectorized
// at all (TReLU's mask kernels and Maxout's groups were scalar, and random
// data mispredicted half their branches).
template <typename T>
ACTOPS_INLINE T select_bits(bool take, T a, T b) {
  using Bits = std::conditional_t<sizeof(T) == 2, uint16_t, std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>;
  const Bits all = static_cast<Bits>(Bits(0) - static_cast<Bits>(take));
  return c10::bit_cast<T>(static_cast<Bits>((c10::bit_cast<Bits>(a) & all) | (c10::bit_cast<Bits>(b) & ~all)));
}

// For the small lambdas of the loops, which GCC may otherwise leave out of
// line: a call per vector would spill every live vector register.
#define ACTOPS_LAMBDA_INLINE __attribute__((always_inline))

// Calls f(scalar_t{}) for the four floating dtypes; the op's entry point has
// already rejected every other dtype with a message naming the op.
template <typename F>
void dispatch_floating(at::ScalarType dtype, const char* op, const F& f) {
  switch (dtype) {
    case at::kFloat:
      return f(float{});
    case at::kDouble:
      return f(double{});
    case at::kBFloat16:
      return f(c10::BFloat16{});
    case at::kHalf:
      return f(c10::Half{});
    default:
      TORCH_CHECK(false, op, ": unsupported dtype ", dtype);
  }
}

// Adds the first `lanes` lanes of v to a DoubleSum (all of them from
// V::size() on, none at 0 or below).
template <typename V, typename Sum>
ACTOPS_INLINE void add_lanes(Sum& sum, const V& v, int64_t lanes) {
  if (lanes >= V::size()) {
    sum.add(v);
  } else if (lanes > 0) {
    sum.add(V::set(V(0), v, lanes));
  }
}

// A multi-output element-wise loop: NOut outputs and NIn inputs of one dtype
// (outputs first, as TensorIterator orders them). `f` maps a std::array of NIn
// values to a std::array of NOut values and is generic over scalars and
// Vectorized. Whole vectors wherever, along the inner dimension, every output is
// contiguous and every input contiguous or broadcast (a per-channel or single
// parameter); elsewhere (other strides, a run's ends) the same vector
// formula runs on lanes gathered through a buffer, so that every element
// gets the same bits wherever it is.
//
// With SumLast, f's last output is not stored but summed over every element
// into *total (the iterator then has NOut - 1 outputs): the gradient of a
// single broadcast parameter, without a full-size temporary to reduce. The
// sum is deterministic and independent of the thread count: each fixed block
// of kSumBlock elements is summed in double, in order, and the blocks' sums
// are added in order.

template <int NOut, int NIn, bool SumLast = false, bool kLight = false, typename F>
void map_multi(at::TensorIteratorBase& iter, const char* op, const F& f, double* total = nullptr) {
  constexpr int NStore = SumLast ? NOut - 1 : NOut;
  dispatch_floating(iter.common_dtype(), op, [&](auto tag) {
    using scalar_t = decltype(tag);
    using opmath_t = at::opmath_type<scalar_t>;
    using Vec = at::vec::Vectorized<scalar_t>;
    constexpr int64_t kSize = sizeof(scalar_t);
    constexpr int64_t kLine = 64;  // bytes in a cache line
    const bool stream = !SumLast && streams(iter, NStore, kLight);
    // one run along the inner dimension; with SumLast, adds its sum to *sum
    const auto loop = [&](char** data_arg, const int64_t* strides_arg, int64_t n, double* sum) {
      // Local copies of the formula, the pointers and the strides: the
      // compiler would otherwise reload each of them after every store
      // through char*, which may alias them (the formula's parameters too:
      // beta, a limit, converted and broadcast once here).
      const F fn = f;
      std::array<char*, NStore + NIn> data;
      std::array<int64_t, NStore + NIn> strides;
      for (int k = 0; k < NStore + NIn; ++k) {
        data[k] = data_arg[k];
        strides[k] = strides_arg[k];
      }
      // Vectorized where, along the inner dimension, every input is
      // contiguous, broadcast, or every other element (the gate and up of
      // an interleaved packed tensor: loaded as two vectors and split), and
      // the outputs are contiguous or (two outputs) interleaved pairs.
      bool vectorizable = true;
      bool strided_inputs = false;
      const bool interleaved_outputs =
          NStore == 2 && strides[0] == 2 * kSize && strides[1] == 2 * kSize && data[1] == data[0] + kSize;
      for (int k = 0; k < NStore; ++k) {
        vectorizable &= strides[k] == kSize || interleaved_outputs;
      }
      for (int k = NStore; k < NStore + NIn; ++k) {
        vectorizable &= strides[k] == kSize || strides[k] == 0 || strides[k] == 2 * kSize;
        strided_inputs |= strides[k] == 2 * kSize;
      }
      DoubleSum<opmath_t> vector_sum;
      // The formula on one vector of inputs: the NStore outputs, and with
      // SumLast the last output added to the sum over its first `lanes`
      // lanes. Every element goes through it (never a scalar copy of the
      // formula), so an element's bits do not depend on its strides, on
      // where its run starts or ends, or on the thread count.
      const auto compute = [&](const std::array<Vec, NIn>& in, int64_t lanes) ACTOPS_LAMBDA_INLINE {
        std::array<Vec, NStore> out;
        if constexpr (at::is_reduced_floating_point_v<scalar_t>) {
          using FVec = at::vec::Vectorized<float>;
          std::array<FVec, NIn> lo, hi;
          for (int k = 0; k < NIn; ++k) {
            std::tie(lo[k], hi[k]) = at::vec::convert_to_float<scalar_t>(in[k]);
          }
          const std::array<FVec, NOut> out_lo = fn(lo);
          const std::array<FVec, NOut> out_hi = fn(hi);
          for (int k = 0; k < NStore; ++k) {
            out[k] = at::vec::convert_from_float<scalar_t>(out_lo[k], out_hi[k]);
          }
          if constexpr (SumLast) {
            add_lanes(vector_sum, out_lo[NOut - 1], lanes);
            add_lanes(vector_sum, out_hi[NOut - 1], lanes - FVec::size());
          }
        } else {
          const std::array<Vec, NOut> all = fn(in);
          for (int k = 0; k < NStore; ++k) {
            out[k] = all[k];
          }
          if constexpr (SumLast) {
            add_lanes(vector_sum, all[NOut - 1], lanes);
          }
        }
        return out;
      };
      // `count` (<= Vec::size()) elements from i at any strides, through a
      // vector of lanes gathered into a buffer (the lanes past `count`
      // repeat the last element) and scattered back.
      const auto partial_at = [&](int64_t i, int64_t count) {
        std::array<Vec, NIn> in;
        for (int k = 0; k < NIn; ++k) {
          alignas(64) scalar_t lanes[Vec::size()];
          const char* ptr = data[NStore + k];
          const int64_t stride = strides[NStore + k];
          for (int64_t l = 0; l < Vec::size(); ++l) {
            lanes[l] = *reinterpret_cast<const scalar_t*>(ptr + (i + std::min<int64_t>(l, count - 1)) * stride);
          }
          in[k] = Vec::loadu(lanes);
        }
        const std::array<Vec, NStore> out = compute(in, count);
        for (int k = 0; k < NStore; ++k) {
          alignas(64) scalar_t lanes[Vec::size()];
          out[k].store(lanes);
          for (int64_t l = 0; l < count; ++l) {
            *reinterpret_cast<scalar_t*>(data[k] + (i + l) * strides[k]) = lanes[l];
          }
        }
      };
      // Streaming stores (see stream_threshold) start at a cache line of
      // every output: the first `head` elements are written on their own.
      bool streaming = stream && vectorizable && !interleaved_outputs;
      int64_t head = 0;
      if (streaming) {
        const auto offset = reinterpret_cast<uintptr_t>(data[0]) % kLine;
        for (int k = 0; k < NStore; ++k) {
          streaming &= reinterpret_cast<uintptr_t>(data[k]) % kLine == offset;
        }
        streaming &= offset % kSize == 0;
        head = streaming ? std::min<int64_t>(n, static_cast<int64_t>((kLine - offset) % kLine) / kSize) : 0;
        if (head > 0) {
          partial_at(0, head);
        }
      }
      int64_t i = head;
      if (vectorizable) {
        // the NStore outputs at element i, from whole vectors of the inputs
        const auto vector_at = [&](int64_t i) ACTOPS_LAMBDA_INLINE {
          std::array<Vec, NIn> in;
          for (int k = 0; k < NIn; ++k) {
            const char* ptr = data[NStore + k];
            const int64_t stride = strides[NStore + k];
            if (stride == 0) {
              in[k] = Vec(*reinterpret_cast<const scalar_t*>(ptr));
            } else if (stride == kSize) {
              in[k] = Vec::loadu(ptr + i * kSize);
            } else {
              const char* pairs = ptr + i * stride;
              in[k] = std::get<0>(at::vec::deinterleave2(Vec::loadu(pairs), Vec::loadu(pairs + Vec::size() * kSize)));
            }
          }
          return compute(in, Vec::size());
        };
        const auto store_at = [&](int64_t i, const std::array<Vec, NStore>& out) ACTOPS_LAMBDA_INLINE {
          if constexpr (NStore == 2) {
            if (interleaved_outputs) {
              const auto [first, second] = at::vec::interleave2(out[0], out[1]);
              first.store(data[0] + i * 2 * kSize);
              second.store(data[0] + (i * 2 + Vec::size()) * kSize);
              return;
            }
          }
          for (int k = 0; k < NStore; ++k) {
            if (streaming) {
              store_stream(data[k] + i * kSize, out[k]);
            } else {
              out[k].store(data[k] + i * kSize);
            }
          }
        };
        // the odd elements' two-vector load reaches one element past its
        // last one: stop a vector early and leave it to the partial vector
        const int64_t vector_end = strided_inputs ? n - 1 : n;
        // two vectors at a time: two independent chains of the formula for
        // the core to overlap (as ATen's vectorized loop does; mish and
        // exact GELU took 1.06-1.09x the time one vector at a time)
        for (; i + 2 * Vec::size() <= vector_end; i += 2 * Vec::size()) {
          const auto first = vector_at(i);
          const auto second = vector_at(i + Vec::size());
          store_at(i, first);
          store_at(i + Vec::size(), second);
        }
        for (; i + Vec::size() <= vector_end; i += Vec::size()) {
          store_at(i, vector_at(i));
        }
      }
      for (; i < n; i += Vec::size()) {
        partial_at(i, std::min<int64_t>(Vec::size(), n - i));
      }
      if (streaming) {
        stream_fence();
      }
      if constexpr (SumLast) {
        *sum += vector_sum.total();
      }
    };
    if constexpr (SumLast) {
      const int64_t numel = iter.numel();
      const int64_t blocks = (numel + kSumBlock - 1) / kSumBlock;
      std::vector<double> partial(blocks, 0.0);
      at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
        for (int64_t b = first; b < last; ++b) {
          double block_sum = 0;
          iter.serial_for_each(
              [&](char** data, const int64_t* strides, int64_t n) { loop(data, strides, n, &block_sum); },
              {b * kSumBlock, std::min(numel, (b + 1) * kSumBlock)});
          partial[b] = block_sum;
        }
      });
      double sum = 0;
      for (const double block_sum : partial) {
        sum += block_sum;
      }
      *total += sum;
    } else {
      // With rows (two or more dimensions), each row's start fetches the
      // first lines of the next row's inputs (see prefetch_next_row).
      const bool rows = iter.ndim() >= 2;
      std::array<int64_t, NIn> outer{};
      for (int k = 0; rows && k < NIn; ++k) {
        outer[k] = iter.strides(NStore + k)[1];
      }
      iter.for_each([&](char** data, const int64_t* strides, int64_t n) {
        for (int k = 0; rows && k < NIn; ++k) {
          prefetch_next_row(data[NStore + k] + outer[k]);
        }
        loop(data, strides, n, nullptr);
      });
    }
  });
}

// out = f(x); `f` is generic over scalars and Vectorized (map_multi's loop,
// so that every element's bits are the vector formula's).
template <bool kLight = false, typename F>
void map_value(at::TensorIteratorBase& iter, const char* op, const F& f) {
  map_multi<1, 1, false, kLight>(iter, op, [f](const auto& in) ACTOPS_LAMBDA_INLINE { return std::array{f(in[0])}; });
}

// out = grad * f(x), with grad and x of one dtype.
template <bool kLight = false, typename F>
void map_scaled(at::TensorIteratorBase& iter, const char* op, const F& f) {
  map_multi<1, 2, false, kLight>(iter, op,
                                 [f](const auto& in) ACTOPS_LAMBDA_INLINE { return std::array{in[0] * f(in[1])}; });
}

}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
