#pragma once
// Gaussian neighbours on the GPU: x_ik = x_i + sigma_n N(0, I) and r_ik = ||x_ik - x_i||^2
// in one pass over device memory, bit for bit the neighbours and distances that
// Neighbours<GaussianNoise>::fill makes on the CPU for the same keys (seed, epoch, anchor
// id, neighbour index): each thread runs sampling/gaussian_row.hpp's gaussian_neighbour_row
// for one neighbour, the function the CPU tests compare with the CPU sampler.
//
// One thread per neighbour row keeps the order of the distance sum that of the CPU
// (element 0, 1, ... in double), which is what makes r bitwise equal; the price is that a
// warp's stores are rows apart (benchmarks/cuda/neighbours.cu times it).
#if !defined(__CUDACC__)
#error "farbound/cuda/neighbours.cuh is compiled only by nvcc"
#endif

#include <cuda_runtime.h>

#include <cstdint>
#include <span>
#include <type_traits>

#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/cuda/check.cuh"
#include "farbound/sampling/gaussian_row.hpp"
#include "farbound/sampling/neighbours.hpp"

namespace farbound::cuda {

namespace detail {

template <class T>
__global__ void gaussian_neighbours_kernel(const T* anchors, const std::uint32_t* ids, std::int64_t rows,
                                           std::int64_t K, std::int64_t item, double sigma, std::uint64_t seed,
                                           std::uint32_t epoch, T* neighbours, T* r) {
  const std::int64_t row = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= rows) return;
  const std::int64_t i = row / K, k = row % K;
  const RandomStream stream(seed, Purpose::neighbour, epoch, ids[i], std::uint32_t(k));
  r[row] = T(gaussian_neighbour_row(stream, anchors + i * item, neighbours + row * item, std::size_t(item), sigma));
}

}  // namespace detail

// sampler.fill(epoch, ids, anchors, neighbours, r) with ids, anchors, neighbours and r in
// device memory, enqueued on `stream` (nothing waits for it). The same shape checks and
// errors as fill; neighbours must not overlap anchors.
template <class T>
void gaussian_neighbours(const Neighbours<GaussianNoise>& sampler, std::uint32_t epoch,
                         std::span<const std::uint32_t> ids, std::type_identity_t<TensorView<const T>> anchors,
                         TensorView<T> neighbours, TensorView<T> r, cudaStream_t stream = nullptr) {
  const auto B = std::int64_t(ids.size());
  sampler.check_fill_shapes(B, anchors.shape(), neighbours.shape(), r.shape());
  const std::int64_t rows = B * sampler.per_anchor();
  if (rows == 0) return;
  constexpr int threads = 128;
  detail::gaussian_neighbours_kernel<T><<<unsigned((rows + threads - 1) / threads), threads, 0, stream>>>(
      anchors.data(), ids.data(), rows, sampler.per_anchor(), anchors.shape().item_numel(),
      sampler.perturbation().sigma(), sampler.seed(), epoch, neighbours.data(), r.data());
  FARBOUND_CUDA_CHECK(cudaGetLastError());
}

}  // namespace farbound::cuda
