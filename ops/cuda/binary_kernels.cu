// The CUDA kernels of every two-tensor row of the op table (parametric and
// gated), for one pass: CMakeLists.txt compiles this file once per pass
// (ACTOPS_CUDA_PASS = Value, First, Second). The two tensors may be
// broadcast, or be the two parts of one packed tensor (strided views, read
// in place), as on the CPU.
#include "ops/cuda/loops.cuh"

namespace actops::cuda {

#define ACTOPS_CUDA_BINARY(name, Math)                                                               \
  template void binary_pass<rows::name, math::Math, Pass::ACTOPS_CUDA_PASS>(at::TensorIteratorBase&, \
                                                                            const rows::name::args_t&);
#define ACTOPS_CUDA_PARAMETRIC(name, public_name, Math, ...) ACTOPS_CUDA_BINARY(name, Math)
#define ACTOPS_CUDA_GATED(name, Math, ...) ACTOPS_CUDA_BINARY(name, Math)
ACTOPS_PARAMETRIC_OPS(ACTOPS_CUDA_PARAMETRIC)
ACTOPS_GATED_OPS(ACTOPS_CUDA_GATED)
#undef ACTOPS_CUDA_PARAMETRIC
#undef ACTOPS_CUDA_GATED
#undef ACTOPS_CUDA_BINARY

}  // namespace actops::cuda
