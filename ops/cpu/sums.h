// Deterministic sums for the CPU loops (ops/cpu/loops.h): a parameter's
// gradient summed in double lanes, in fixed blocks, so that its bits do not
// depend on the thread count. Included only by per-instruction-set kernel
// files.
#pragma once

#include <ATen/cpu/vec/vec.h>

#include <cstdint>

#include "ops/math/primitives.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {

// A sum of vectors in double lanes: a parameter's gradient summed over
// millions of elements keeps a float64 sum's accuracy (float lanes would lose
// digits with the chunk length).
template <typename S>
struct DoubleSum {
  double lanes[at::vec::Vectorized<S>::size()] = {};
  void add(const at::vec::Vectorized<S>& v) {
    S values[at::vec::Vectorized<S>::size()];
    v.store(values);
    for (int i = 0; i < at::vec::Vectorized<S>::size(); ++i) {
      lanes[i] += static_cast<double>(values[i]);
    }
  }
  double total() const {
    double t = 0;
    for (double lane : lanes) {
      t += lane;
    }
    return t;
  }
};

#if defined(CPU_CAPABILITY_AVX2) || defined(CPU_CAPABILITY_AVX512)
template <>
struct DoubleSum<double> {
  at::vec::Vectorized<double> sum{0.0};
  void add(const at::vec::Vectorized<double>& v) { sum = sum + v; }
  double total() const {
    double lanes[at::vec::Vectorized<double>::size()];
    sum.store(lanes);
    double t = 0;
    for (double lane : lanes) {
      t += lane;
    }
    return t;
  }
};
template <>
struct DoubleSum<float> {
  DoubleSum<double> low, high;
  void add(const at::vec::Vectorized<float>& v) {
#if defined(CPU_CAPABILITY_AVX512)
    const __m512 x = v;
    low.add(at::vec::Vectorized<double>(_mm512_cvtps_pd(_mm512_castps512_ps256(x))));
    high.add(at::vec::Vectorized<double>(_mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1))));
#else
    const __m256 x = v;
    low.add(at::vec::Vectorized<double>(_mm256_cvtps_pd(_mm256_castps256_ps128(x))));
    high.add(at::vec::Vectorized<double>(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))));
#endif
  }
  double total() const { return low.total() + high.total(); }
};
#endif

// The gradient of a single broadcast parameter is summed over fixed blocks
// of kSumBlock elements, each in double and in order, and the blocks' sums
// are added in order (map_multi's SumLast).
constexpr int64_t kSumBlock = 32768;

}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
