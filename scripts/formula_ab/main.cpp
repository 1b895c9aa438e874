// scripts/formula_ab.sh's driver: each formula of the two sides over the same
// 1024 float32 values (normal, sigma 3: in L1), the sides alternating and
// their order swapped every repetition, both writing the same buffer (two
// buffers 4 KiB apart would alias and bias one side); the minimum of 4000
// repetitions, in ns per element, and the largest difference of the results
// in units in the last place.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "formulas.h"

#define ACTOPS_AB_DECLARE(name, expression)                 \
  extern "C" void name##_before(const float*, float*, int); \
  extern "C" void name##_after(const float*, float*, int);
ACTOPS_AB_FORMULAS(ACTOPS_AB_DECLARE)

namespace {
using Loop = void (*)(const float*, float*, int);
struct Formula {
  const char* name;
  Loop before, after;
};

double seconds_per_call(Loop loop, const float* x, float* y, int n) {
  const auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < 4; ++k) {
    loop(x, y, n);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 4;
}
}  // namespace

int main() {
  constexpr int n = 1024;
  std::vector<float> x(n), y(n), z(n);
  std::mt19937 generator(1);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (float& v : x) {
    v = normal(generator);
  }
#define ACTOPS_AB_ENTRY(name, expression) {#name, name##_before, name##_after},
  const Formula formulas[] = {ACTOPS_AB_FORMULAS(ACTOPS_AB_ENTRY)};
  std::printf("| formula | before ns | after ns | after / before | max ulps apart |\n|---|---:|---:|---:|---:|\n");
  for (const Formula& f : formulas) {
    double best[2] = {1e9, 1e9};
    for (int rep = 0; rep < 4000; ++rep) {
      for (int turn = 0; turn < 2; ++turn) {
        const int side = (rep % 2 == 0) ? turn : 1 - turn;
        best[side] = std::min(best[side], seconds_per_call(side == 0 ? f.before : f.after, x.data(), y.data(), n));
      }
    }
    f.before(x.data(), y.data(), n);
    f.after(x.data(), z.data(), n);
    int64_t apart = 0;
    for (int i = 0; i < n; ++i) {
      int32_t a, b;
      std::memcpy(&a, &y[i], sizeof a);
      std::memcpy(&b, &z[i], sizeof b);
      apart = std::max<int64_t>(apart, std::llabs(static_cast<int64_t>(a) - b));
    }
    std::printf("| %s | %.3f | %.3f | %.2f | %lld |\n", f.name, best[0] / n * 1e9, best[1] / n * 1e9, best[1] / best[0],
                static_cast<long long>(apart));
  }
}
