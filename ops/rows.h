// One struct per row of the op table (actops/op_table.h): the op's names, the
// schema text of its scalar parameters and their C++ types. The kernels and
// the op glue are templates over these rows; a row carries no math (the math
// structs are compiled once per instruction set and are named by the table
// where each side expands it).
#pragma once

#include <c10/util/string_view.h>

#include <string>
#include <tuple>

#include "actops/op_table.h"

namespace actops::rows {

template <typename Signature>
struct args_of;
template <typename... Args>
struct args_of<void (*)(int, Args...)> {
  using type = std::tuple<Args...>;
};

enum class Kind { Unary, Parametric, Gated };

#define ACTOPS_ROW(name_, kind_, a_, b_, params, schema_)           \
  struct name_ {                                                    \
    static constexpr const char* name = #name_;                     \
    static constexpr const char* qualified_name = "actops." #name_; \
    static constexpr Kind kind = Kind::kind_;                       \
    static constexpr const char* a_name = a_;                       \
    static constexpr const char* b_name = b_;                       \
    static constexpr const char* schema_params = schema_;           \
    static void signature(int ACTOPS_UNPAREN(params));              \
    using args_t = typename args_of<decltype(&signature)>::type;    \
  };

#define ACTOPS_UNARY_ROW(name, Math, params, args, schema) ACTOPS_ROW(name, Unary, "x", "", params, schema)
#define ACTOPS_PARAMETRIC_ROW(name, public_name, Math, p, params, args, schema) \
  ACTOPS_ROW(name, Parametric, "x", #p, params, schema)
#define ACTOPS_GATED_ROW(name, Math, params, args, schema) ACTOPS_ROW(name, Gated, "gate", "up", params, schema)

ACTOPS_UNARY_OPS(ACTOPS_UNARY_ROW)
ACTOPS_PARAMETRIC_OPS(ACTOPS_PARAMETRIC_ROW)
ACTOPS_GATED_OPS(ACTOPS_GATED_ROW)

// The error and node names of a row's ops: "actops.<name>[_suffix]".
template <typename Row>
struct Names {
  static const char* name() { return Row::qualified_name; }
  static const char* backward_name() { return suffixed<0>(); }
  static const char* double_backward_name() { return suffixed<1>(); }
  static const char* packed_name() { return suffixed<2>(); }
  static const char* packed_backward_name() { return suffixed<3>(); }

 private:
  template <int Which>
  static const char* suffixed() {
    static constexpr const char* kSuffixes[] = {"_backward", "_double_backward", "_packed", "_packed_backward"};
    static const std::string s = std::string(Row::qualified_name) + kSuffixes[Which];
    return s.c_str();
  }
};

#undef ACTOPS_UNARY_ROW
#undef ACTOPS_PARAMETRIC_ROW
#undef ACTOPS_GATED_ROW
#undef ACTOPS_ROW

}  // namespace actops::rows
