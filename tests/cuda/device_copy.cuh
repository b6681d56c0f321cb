#pragma once
// Host <-> device copies for the CUDA tests.
#include <cuda_runtime.h>

#include <span>
#include <vector>

#include "farbound/cuda/buffer.cuh"
#include "farbound/cuda/check.cuh"

template <class T>
farbound::cuda::DeviceBuffer<T> to_device(std::span<const T> host) {
  farbound::cuda::DeviceBuffer<T> device(host.size());
  FARBOUND_CUDA_CHECK(cudaMemcpy(device.data(), host.data(), host.size_bytes(), cudaMemcpyHostToDevice));
  return device;
}

template <class T>
std::vector<T> to_host(const farbound::cuda::DeviceBuffer<T>& device, std::size_t n) {
  std::vector<T> host(n);
  FARBOUND_CUDA_CHECK(cudaMemcpy(host.data(), device.data(), n * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}
