// Console output for the examples, formatted with fmt (see CMakeLists.txt for
// why it lives in its own library).
#pragma once

#include <string>

namespace report {

void check(const std::string& what, double max_error, double tolerance, bool ok);
void step(int step, int steps, double loss, double accuracy);
void line(const std::string& text);

}  // namespace report
