// When the CPU loops (ops/cpu/loops.h) write around the caches, and how:
// the size from which outputs are streamed, whether their pages are already
// in memory, the streaming store itself, and the prefetch of a packed
// tensor's next row. Included only by per-instruction-set kernel files.
#pragma once

#include <ATen/TensorIterator.h>
#include <ATen/cpu/vec/vec.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "ops/math/primitives.h"

namespace actops::cpu {
inline namespace CPU_CAPABILITY {

// Outputs of at least stream_threshold(light) bytes in all are written with
// non-temporal (streaming) stores, around the caches: outputs this large do
// not stay in them anyway, and a plain store first reads the line it writes
// (64 MB written cost 128 MB of memory traffic). Measured on 2 Zen 3 cores,
// out= forms at float32, side by side with plain stores:
// - a light formula (math::is_light: ReLU^2, TReLU, ReGLU) is bound by
//   memory from 2^22 elements (16 MB) on: 0.5-0.9x the time;
// - the others from 2^24 (64 MB) on: mish, swish, tanh GELU and SwiGLU
//   0.7-1.0x, exact GELU and GeGLU, bound by their arithmetic, 0.8-1.0x.
//   At 2^22 and 2^23, where much of the output still fits the 32 MB L3
//   cache, they were mixed (0.85-1.10x): their threshold is 4x the light one.
//   In the other dtypes their arithmetic bounds them even at 2^26 (float64
//   exp, or bfloat16's conversions on half the bytes): float64 took
//   1.09-1.15x with streaming stores, bfloat16 0.82-1.07x; float32 only.
// ACTOPS_STREAM_BYTES sets the light size (read once; 0 sends every call of
// every formula that streams through these loops).
inline int64_t stream_threshold(bool light) {
  static const int64_t bytes = [] {
    const char* env = std::getenv("ACTOPS_STREAM_BYTES");
    return env != nullptr ? std::atoll(env) : int64_t{16} << 20;
  }();
  return light ? bytes : 4 * bytes;
}

// Whether the page holding p is in memory. A fresh allocation's pages are
// not: glibc serves 32 MB and more with a new mapping each time, and the
// first write to each page faults, and the kernel zeroes it through the
// caches, where a streaming store then only adds a write-back (measured:
// 1.2x the time of plain stores for a fresh ReGLU backward at 2^24).
inline bool page_resident(const void* p) {
#if defined(__linux__)
  static const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  unsigned char in_core = 0;
  void* start = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(p) & ~(page - 1));
  return mincore(start, 1, &in_core) == 0 && (in_core & 1) != 0;
#else
  (void)p;
  return true;
#endif
}

// Whether an iterator's NStore outputs together reach stream_threshold(),
// each already in memory at both of its ends (an out= tensor, or memory that
// the allocator reuses); for a heavy formula, only in float32 (see above).
inline bool streams(const at::TensorIteratorBase& iter, int nstore, bool light) {
  if (!light && iter.common_dtype() != at::kFloat) {
    return false;
  }
  const int64_t threshold = stream_threshold(light);
  if (iter.numel() * static_cast<int64_t>(c10::elementSize(iter.common_dtype())) * nstore < threshold) {
    return false;
  }
  if (threshold == 0) {  // the tests' setting: every call, fresh pages too
    return true;
  }
  for (int k = 0; k < nstore; ++k) {
    const at::TensorBase& out = iter.tensor_base(k);
    const char* first = static_cast<const char*>(out.const_data_ptr());
    if (out.numel() == 0 || !page_resident(first) ||
        (out.is_contiguous() && !page_resident(first + out.nbytes() - 1))) {
      return false;
    }
  }
  return true;
}

// v stored at p, which is aligned to the vector's size, bypassing the caches
// where the instruction set has such a store.
template <typename V>
ACTOPS_INLINE void store_stream(char* p, const V& v) {
#if defined(CPU_CAPABILITY_AVX512)
  static_assert(sizeof(V) == sizeof(__m512i));
  __m512i bits;
  std::memcpy(&bits, &v, sizeof(bits));
  _mm512_stream_si512(reinterpret_cast<__m512i*>(p), bits);
#elif defined(CPU_CAPABILITY_AVX2)
  static_assert(sizeof(V) == sizeof(__m256i));
  __m256i bits;
  std::memcpy(&bits, &v, sizeof(bits));
  _mm256_stream_si256(reinterpret_cast<__m256i*>(p), bits);
#else
  v.store(p);
#endif
}
ACTOPS_INLINE void stream_fence() {
#if defined(CPU_CAPABILITY_AVX512) || defined(CPU_CAPABILITY_AVX2)
  _mm_sfence();
#endif
}

// The first kPrefetchLines cache lines from p, fetched ahead: the next row of
// an input whose rows are short and apart (a packed gated tensor's gate and
// up halves, 4 KB each at width 1024 in float32: each a page of its own, at
// whose start the hardware prefetcher starts over). Measured: packed SwiGLU
// out= at 2^24 float32, width 1024, 0.78-0.88x the time (GeGLU 0.81-0.86x)
// in three sittings. A prefetch never faults, so the guess past a chunk's
// last row is harmless.
constexpr int kPrefetchLines = 16;
ACTOPS_INLINE void prefetch_next_row(const char* p) {
  for (int line = 0; line < kPrefetchLines; ++line) {
    __builtin_prefetch(p + line * 64);
  }
}

}  // namespace CPU_CAPABILITY
}  // namespace actops::cpu
