// The CUDA kernels of every unary row of the op table, for one pass:
// CMakeLists.txt compiles this file once per pass (ACTOPS_CUDA_PASS = Value,
// First, Second), so that no translation unit holds them all.
#include "ops/cuda/loops.cuh"

namespace actops::cuda {

#define ACTOPS_CUDA_UNARY(name, Math, ...)                                                          \
  template void unary_pass<rows::name, math::Math, Pass::ACTOPS_CUDA_PASS>(at::TensorIteratorBase&, \
                                                                           const rows::name::args_t&);
ACTOPS_UNARY_OPS(ACTOPS_CUDA_UNARY)
#undef ACTOPS_CUDA_UNARY

}  // namespace actops::cuda
