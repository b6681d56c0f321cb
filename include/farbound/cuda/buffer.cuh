#pragma once
// Owning device and pinned host memory: RAII, move-only, grown only when asked for more.
//
// A workspace keeps its buffers between calls and calls reserve(n) with each call's size,
// so the steady state of a training loop allocates nothing. Allocation failures throw
// cuda_error naming the call and the byte count's source line.
#if !defined(__CUDACC__)
#error "farbound/cuda/buffer.cuh is compiled only by nvcc"
#endif

#include <cuda_runtime.h>

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "farbound/cuda/check.cuh"

namespace farbound::cuda {

namespace detail {

// Device memory, or page-locked host memory (the target of asynchronous copies back).
template <bool Pinned>
struct Allocator {
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    if constexpr (Pinned)
      FARBOUND_CUDA_CHECK(cudaMallocHost(&p, bytes));
    else
      FARBOUND_CUDA_CHECK(cudaMalloc(&p, bytes));
    return p;
  }
  static void release(void* p) {
    if constexpr (Pinned)
      cudaFreeHost(p);
    else
      cudaFree(p);
  }
};

template <class T, class Allocator>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n) { reserve(n); }
  Buffer(Buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}
  Buffer& operator=(Buffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    if (data_) Allocator::release(data_);
  }

  // Room for at least n elements; the contents are lost when it grows.
  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    if (data_) Allocator::release(data_);
    data_ = nullptr;
    capacity_ = 0;
    data_ = static_cast<T*>(Allocator::allocate(n * sizeof(T)));
    capacity_ = n;
  }
  T* data() const { return data_; }
  std::size_t capacity() const { return capacity_; }

 private:
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace detail

template <class T>
using DeviceBuffer = detail::Buffer<T, detail::Allocator<false>>;
template <class T>
using PinnedBuffer = detail::Buffer<T, detail::Allocator<true>>;

// A device copy of host data (synchronous: for set-up, tests and harnesses, not per step).
template <class T>
DeviceBuffer<T> to_device(std::span<const T> host) {
  DeviceBuffer<T> device(host.size());
  FARBOUND_CUDA_CHECK(cudaMemcpy(device.data(), host.data(), host.size_bytes(), cudaMemcpyHostToDevice));
  return device;
}

// The first n elements of a device buffer, on the host (synchronous).
template <class T>
std::vector<T> to_host(const DeviceBuffer<T>& device, std::size_t n) {
  std::vector<T> host(n);
  FARBOUND_CUDA_CHECK(cudaMemcpy(host.data(), device.data(), n * sizeof(T), cudaMemcpyDeviceToHost));
  return host;
}

}  // namespace farbound::cuda
