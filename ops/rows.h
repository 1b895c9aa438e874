// One struct per row of the op table (actops/op_table.h): the op's names, the
// schema text of its scalar parameters and their C++ types (a gated row's
// with ACTOPS_GATED_PARAMS appended). The kernels and
// the op glue are templates over these rows; a row carries no math (the math
// structs are compiled once per instruction set and are named by the table
// where each side expands it).
#pragma once

#include <c10/util/Optional.h>
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

#include "actops/detail/params.h"

// schema_params: the row's parameters in the schema language, with their
// defaults (", float beta=1.0"); args_t: their C++ types, in order.
#define ACTOPS_ROW(name_, kind_, a_, b_, params)                               \
  struct name_ {                                                               \
    static constexpr const char* name = #name_;                                \
    static constexpr const char* qualified_name = "actops." #name_;            \
    static constexpr Kind kind = Kind::kind_;                                  \
    static constexpr const char* a_name = a_;                                  \
    static constexpr const char* b_name = b_;                                  \
    static constexpr const char* schema_params = ACTOPS_PARAMS_SCHEMA(params); \
    static void signature(int ACTOPS_PARAMS_TYPES(params));                    \
    using args_t = typename args_of<decltype(&signature)>::type;               \
  };

#define ACTOPS_UNARY_ROW(name, Math, params) ACTOPS_ROW(name, Unary, "x", "", params)
#define ACTOPS_PARAMETRIC_ROW(name, public_name, Math, p, params) ACTOPS_ROW(name, Parametric, "x", #p, params)
#define ACTOPS_GATED_ROW(name, Math, params) ACTOPS_ROW(name, Gated, "gate", "up", params ACTOPS_GATED_PARAMS)

ACTOPS_UNARY_OPS(ACTOPS_UNARY_ROW)
ACTOPS_PARAMETRIC_OPS(ACTOPS_PARAMETRIC_ROW)
ACTOPS_GATED_OPS(ACTOPS_GATED_ROW)

#undef ACTOPS_UNARY_ROW
#undef ACTOPS_PARAMETRIC_ROW
#undef ACTOPS_GATED_ROW
#undef ACTOPS_ROW
#include "actops/detail/params_end.h"

// The error and node names of a row's ops: "actops.<name>[_suffix]".
template <typename Row>
struct Names {
  static const char* name() { return Row::qualified_name; }
  static const char* backward_name() { return suffixed<0>(); }
  static const char* double_backward_name() { return suffixed<1>(); }
  static const char* packed_name() { return suffixed<2>(); }
  static const char* packed_backward_name() { return suffixed<3>(); }
  static const char* inplace_name() { return suffixed<4>(); }

 private:
  template <int Which>
  static const char* suffixed() {
    static constexpr const char* kSuffixes[] = {"_backward", "_double_backward", "_packed", "_packed_backward", "_"};
    static const std::string s = std::string(Row::qualified_name) + kSuffixes[Which];
    return s.c_str();
  }
};

}  // namespace actops::rows
