// Each family of ops defines its schemas and registers its device and Meta
// kernels into the one TORCH_LIBRARY(actops) (ops/library.cpp); autograd/
// registers the Autograd kernels in its own TORCH_LIBRARY_IMPL blocks.
#pragma once

#include <torch/library.h>

#include <string>
#include <vector>

namespace actops {

// Every op is traceable by torch.compile without graph breaks.
inline const std::vector<at::Tag>& op_tags() {
  static const std::vector<at::Tag> tags{at::Tag::pt2_compliant_tag};
  return tags;
}

// Registers `fn` for `key` on op `name`.
template <typename Fn>
void register_kernel(torch::Library& m, const std::string& name, c10::DispatchKey key, Fn fn) {
  m.impl(name.c_str(), torch::dispatch(key, fn));
}

// Registers a kernel written for every device (it builds its TensorIterator
// or contiguous tensors and launches its stub's kernel for their device,
// ops/kernel_stubs.h) for the CPU and, in a CUDA build, for CUDA.
template <typename Fn>
void register_device_kernel(torch::Library& m, const std::string& name, Fn fn) {
  register_kernel(m, name, c10::DispatchKey::CPU, fn);
#if defined(ACTOPS_WITH_CUDA)
  register_kernel(m, name, c10::DispatchKey::CUDA, fn);
#endif
}

void define_unary_ops(torch::Library& m);       // ops/unary_ops.cpp, from the table
void define_binary_ops(torch::Library& m);      // ops/binary_ops.cpp, from the table
void define_trelu_mask_ops(torch::Library& m);  // ops/trelu.cpp
void define_maxout_ops(torch::Library& m);      // ops/maxout.cpp

}  // namespace actops
