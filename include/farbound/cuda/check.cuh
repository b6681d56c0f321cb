#pragma once
// CUDA errors as farbound exceptions that name the failing call and where it was made.
//
//   FARBOUND_CUDA_CHECK(cudaMalloc(&p, bytes));
// throws cuda::cuda_error("cudaMalloc(&p, bytes) failed at file.cuh:42: out of memory").
// Kernel launches report their errors through cudaGetLastError (configuration) and the
// next synchronising call (execution), so the API functions check both.
#if !defined(__CUDACC__)
#error "farbound/cuda/check.cuh is compiled only by nvcc"
#endif

#include <cuda_runtime.h>

#include <string>

#include "farbound/core/error.hpp"

namespace farbound::cuda {

// A CUDA runtime call that failed (out of memory, a bad launch, no device, ...).
class cuda_error : public error {
 public:
  cuda_error(cudaError_t status, const char* call, const char* file, int line)
      : error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
              cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")"),
        status_(status) {}
  cudaError_t status() const { return status_; }

 private:
  cudaError_t status_;
};

inline void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) throw cuda_error(status, call, file, line);
}

// Number of usable CUDA devices: 0 without a device, and also without a driver, where
// cudaGetDeviceCount returns an error instead of 0.
inline int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky error for later calls
    return 0;
  }
  return n;
}

}  // namespace farbound::cuda

#define FARBOUND_CUDA_CHECK(call) ::farbound::cuda::check((call), #call, __FILE__, __LINE__)
