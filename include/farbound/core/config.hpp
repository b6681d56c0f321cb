#pragma once
#include <cstddef>
// Build-wide switches and the host/device marker shared by CPU and CUDA code.

#define FARBOUND_VERSION_MAJOR 0
#define FARBOUND_VERSION_MINOR 1
#define FARBOUND_VERSION_PATCH 0

// Element-wise math that both the CPU code and the CUDA kernels call (the CuTe / mdspan
// pattern): under nvcc it becomes __host__ __device__, elsewhere nothing.
#if defined(__CUDACC__)
#define FARBOUND_HOST_DEVICE __host__ __device__
#else
#define FARBOUND_HOST_DEVICE
#endif

namespace farbound {
// Every tensor's storage starts on a 64-byte boundary: one cache line, one AVX-512 register.
inline constexpr std::size_t tensor_alignment = 64;
}  // namespace farbound
