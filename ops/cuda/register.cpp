// Puts the CUDA kernels in their stubs (ops/kernel_stubs.h): every row of
// the op table from the two templates of ops/cuda/kernels.h, with no CUDA
// code of its own, and trelu's mask kernels and maxout's.
#include <c10/util/Exception.h>

#include "ops/cuda/kernels.h"
#include "ops/kernel_stubs.h"
#include "ops/math/all.h"
#include "ops/rows.h"

namespace actops::cuda {
namespace {

template <typename Row, typename Math>
void unary_kernel(at::TensorIteratorBase& iter, Pass pass, const typename Row::args_t& args) {
  switch (pass) {
    case Pass::Value:
      return unary_pass<Row, Math, Pass::Value>(iter, args);
    case Pass::First:
      return unary_pass<Row, Math, Pass::First>(iter, args);
    case Pass::Second:
      return unary_pass<Row, Math, Pass::Second>(iter, args);
  }
}

// A scalar parameter's gradient is never summed in the kernel on a GPU: the
// glue reduces the full-size gradient (ops/binary_ops.cpp, gradients_kernel).
template <typename Row, typename Math>
void binary_kernel(at::TensorIteratorBase& iter, Pass pass, const typename Row::args_t& args,
                   double* parameter_gradient) {
  TORCH_INTERNAL_ASSERT(parameter_gradient == nullptr, Row::qualified_name,
                        ": the CUDA kernels do not sum a parameter's gradient");
  switch (pass) {
    case Pass::Value:
      return binary_pass<Row, Math, Pass::Value>(iter, args);
    case Pass::First:
      return binary_pass<Row, Math, Pass::First>(iter, args);
    case Pass::Second:
      return binary_pass<Row, Math, Pass::Second>(iter, args);
  }
}

#define ACTOPS_REGISTER_UNARY(name, Math, ...) \
  ACTOPS_REGISTER_CUDA_KERNEL(unary_stub<rows::name>, (&unary_kernel<rows::name, math::Math>));
#define ACTOPS_REGISTER_PARAMETRIC(name, public_name, Math, ...) \
  ACTOPS_REGISTER_CUDA_KERNEL(binary_stub<rows::name>, (&binary_kernel<rows::name, math::Math>));
#define ACTOPS_REGISTER_GATED(name, Math, ...) \
  ACTOPS_REGISTER_CUDA_KERNEL(binary_stub<rows::name>, (&binary_kernel<rows::name, math::Math>));
ACTOPS_UNARY_OPS(ACTOPS_REGISTER_UNARY)
ACTOPS_PARAMETRIC_OPS(ACTOPS_REGISTER_PARAMETRIC)
ACTOPS_GATED_OPS(ACTOPS_REGISTER_GATED)
#undef ACTOPS_REGISTER_UNARY
#undef ACTOPS_REGISTER_PARAMETRIC
#undef ACTOPS_REGISTER_GATED

ACTOPS_REGISTER_CUDA_KERNEL(trelu_stub, &trelu_kernel);
ACTOPS_REGISTER_CUDA_KERNEL(trelu_with_mask_stub, &trelu_with_mask_kernel);
ACTOPS_REGISTER_CUDA_KERNEL(trelu_masked_gradient_stub, &trelu_masked_gradient_kernel);
ACTOPS_REGISTER_CUDA_KERNEL(maxout_forward_stub, &maxout_forward_kernel);
ACTOPS_REGISTER_CUDA_KERNEL(maxout_backward_stub, &maxout_backward_kernel);

}  // namespace
}  // namespace actops::cuda
