#pragma once
// Deterministic sums of doubles on the device: the same bits on every run.
//
// Floating-point addition is not associative, so a sum whose order depends on which block
// finishes first (atomicAdd) changes in the last bits from run to run. Here the order is
// fixed by n alone, in two passes:
//   pass 1: block b of `segments` sums elements [b*s, (b+1)*s) (s = ceil(n / segments)):
//           thread t adds elements t, t + threads, ... in order, then the block adds its
//           threads' sums in a fixed binary tree;
//   pass 2: one block adds the `segments` partial sums the same way.
// Several rows (e.g. the cross-entropy and smoothness terms) go through one launch, one
// grid row each.
#if !defined(__CUDACC__)
#error "farbound/cuda/reduce.cuh is compiled only by nvcc"
#endif

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "farbound/cuda/check.cuh"

namespace farbound::cuda {

namespace detail {

inline constexpr int sum_threads = 256;       // threads per block, a power of two
inline constexpr std::int64_t max_segments = 1024;

// out[row * out_stride + b] = sum of in[row * in_stride + b*segment ..] over one segment.
// (A template only so that every translation unit may include it.)
template <class Real>
__global__ void __launch_bounds__(sum_threads)
    sum_segments_kernel(const Real* in, std::int64_t n, std::int64_t in_stride, std::int64_t segment, Real* out,
                        std::int64_t out_stride) {
  __shared__ Real partial[sum_threads];
  const Real* row = in + blockIdx.y * in_stride;
  const std::int64_t begin = blockIdx.x * segment, end = begin + segment < n ? begin + segment : n;
  Real sum = 0;
  for (std::int64_t j = begin + threadIdx.x; j < end; j += sum_threads) sum += row[j];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int width = sum_threads / 2; width > 0; width /= 2) {
    if (int(threadIdx.x) < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.y * out_stride + blockIdx.x] = partial[0];
}

}  // namespace detail

// Segments of pass 1 for n elements: at most max_segments, at least sum_threads elements each.
inline std::int64_t sum_segment_count(std::int64_t n) {
  return std::clamp<std::int64_t>((n + detail::sum_threads - 1) / detail::sum_threads, 1, detail::max_segments);
}

// sums[row] = sum_j in[row * n + j] for rows 0 .. rows-1 (rows <= 65535), enqueued on
// `stream`. partials must hold rows * sum_segment_count(n) doubles; sums may be device or
// pinned host memory.
inline void deterministic_sum_rows(const double* in, std::int64_t n, int rows, double* partials, double* sums,
                                   cudaStream_t stream) {
  const std::int64_t segments = sum_segment_count(n), segment = (n + segments - 1) / segments;
  detail::sum_segments_kernel<double><<<dim3(unsigned(segments), unsigned(rows)), detail::sum_threads, 0, stream>>>(
      in, n, n, segment, partials, segments);
  FARBOUND_CUDA_CHECK(cudaGetLastError());
  detail::sum_segments_kernel<double><<<dim3(1, unsigned(rows)), detail::sum_threads, 0, stream>>>(partials, segments, segments,
                                                                                          segments, sums, 1);
  FARBOUND_CUDA_CHECK(cudaGetLastError());
}

}  // namespace farbound::cuda
