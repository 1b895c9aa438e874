#include "report.h"

#include <fmt/format.h>

namespace report {

void check(const std::string& what, double max_error, double tolerance, bool ok) {
  fmt::print("{:<28} max |error| {:.3e} (tolerance {:.0e}): {}\n", what, max_error, tolerance, ok ? "ok" : "MISMATCH");
}

void step(int step, int steps, double loss, double accuracy) {
  fmt::print("step {:>4}/{}  loss {:.4f}  accuracy {:5.1f}%\n", step, steps, loss, 100.0 * accuracy);
}

void line(const std::string& text) { fmt::print("{}\n", text); }

}  // namespace report
