// Expanders of the op table's params column (actops/op_table.h): a sequence
// of (Type, name, default) with no separator. Included, used and then undone
// by include/actops/detail/params_end.h, so that no helper macro reaches a
// translation unit that includes actops.h. No include guard: it is
// included again by each header that expands the table.
//
//   ACTOPS_PARAMS_DECL(seq)    , double beta = 1.0, ...  (C++, with defaults)
//   ACTOPS_PARAMS_PLAIN(seq)   , double beta, ...        (C++, without)
//   ACTOPS_PARAMS_ARGS(seq)    , beta, ...
//   ACTOPS_PARAMS_TYPES(seq)   , double, ...
//   ACTOPS_PARAMS_SCHEMA(seq)  ", float beta=1.0" ...    (schema text, with defaults)
//
// Each walks the sequence with two macros that call each other, (a)(b)(c)
// -> A(a) B(b) A(c) ..., and ends by pasting _END onto the last name.

#define ACTOPS_PARAMS_CPP_Float double
#define ACTOPS_PARAMS_CPP_OptionalFloat c10::optional<double>
#define ACTOPS_PARAMS_CPP_Str c10::string_view
#define ACTOPS_PARAMS_DEFAULT_Float(d) d
#define ACTOPS_PARAMS_DEFAULT_OptionalFloat(d) c10::nullopt
#define ACTOPS_PARAMS_DEFAULT_Str(d) d
#define ACTOPS_PARAMS_SCHEMA_Float "float"
#define ACTOPS_PARAMS_SCHEMA_OptionalFloat "float?"
#define ACTOPS_PARAMS_SCHEMA_Str "str"

#define ACTOPS_PARAMS_END(...) ACTOPS_PARAMS_END_(__VA_ARGS__)
#define ACTOPS_PARAMS_END_(...) __VA_ARGS__##_END

#define ACTOPS_PARAMS_DECL(seq) ACTOPS_PARAMS_END(ACTOPS_PARAMS_DECL_A seq)
#define ACTOPS_PARAMS_DECL_A(t, n, d) , ACTOPS_PARAMS_CPP_##t n = ACTOPS_PARAMS_DEFAULT_##t(d) ACTOPS_PARAMS_DECL_B
#define ACTOPS_PARAMS_DECL_B(t, n, d) , ACTOPS_PARAMS_CPP_##t n = ACTOPS_PARAMS_DEFAULT_##t(d) ACTOPS_PARAMS_DECL_A
#define ACTOPS_PARAMS_DECL_A_END
#define ACTOPS_PARAMS_DECL_B_END

#define ACTOPS_PARAMS_PLAIN(seq) ACTOPS_PARAMS_END(ACTOPS_PARAMS_PLAIN_A seq)
#define ACTOPS_PARAMS_PLAIN_A(t, n, d) , ACTOPS_PARAMS_CPP_##t n ACTOPS_PARAMS_PLAIN_B
#define ACTOPS_PARAMS_PLAIN_B(t, n, d) , ACTOPS_PARAMS_CPP_##t n ACTOPS_PARAMS_PLAIN_A
#define ACTOPS_PARAMS_PLAIN_A_END
#define ACTOPS_PARAMS_PLAIN_B_END

#define ACTOPS_PARAMS_ARGS(seq) ACTOPS_PARAMS_END(ACTOPS_PARAMS_ARGS_A seq)
#define ACTOPS_PARAMS_ARGS_A(t, n, d) , n ACTOPS_PARAMS_ARGS_B
#define ACTOPS_PARAMS_ARGS_B(t, n, d) , n ACTOPS_PARAMS_ARGS_A
#define ACTOPS_PARAMS_ARGS_A_END
#define ACTOPS_PARAMS_ARGS_B_END

#define ACTOPS_PARAMS_TYPES(seq) ACTOPS_PARAMS_END(ACTOPS_PARAMS_TYPES_A seq)
#define ACTOPS_PARAMS_TYPES_A(t, n, d) , ACTOPS_PARAMS_CPP_##t ACTOPS_PARAMS_TYPES_B
#define ACTOPS_PARAMS_TYPES_B(t, n, d) , ACTOPS_PARAMS_CPP_##t ACTOPS_PARAMS_TYPES_A
#define ACTOPS_PARAMS_TYPES_A_END
#define ACTOPS_PARAMS_TYPES_B_END

#define ACTOPS_PARAMS_SCHEMA(seq) "" ACTOPS_PARAMS_END(ACTOPS_PARAMS_SCHEMA_A seq)
#define ACTOPS_PARAMS_SCHEMA_A(t, n, d) ", " ACTOPS_PARAMS_SCHEMA_##t " " #n "=" #d ACTOPS_PARAMS_SCHEMA_B
#define ACTOPS_PARAMS_SCHEMA_B(t, n, d) ", " ACTOPS_PARAMS_SCHEMA_##t " " #n "=" #d ACTOPS_PARAMS_SCHEMA_A
#define ACTOPS_PARAMS_SCHEMA_A_END
#define ACTOPS_PARAMS_SCHEMA_B_END
