#pragma once
// Sums, maxima and dot products over arrays of SIMD registers (xsimd batches) in short chains:
// the smoothness kernels' reductions over a row's classes, one register a class
// (smoothness_lanes.hpp) or one register a block of classes (smoothness_rows_avx512.hpp).
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"

namespace farbound::detail {

// Pairwise sum and maximum of a[0..N): chains of log2(N) steps rather than N - 1.
template <std::size_t N, class V>
FARBOUND_FORCE_INLINE V pairwise_sum(const V* a) {
  if constexpr (N == 1) return a[0];
  else return pairwise_sum<N / 2>(a) + pairwise_sum<N - N / 2>(a + N / 2);
}
template <std::size_t N, class V>
FARBOUND_FORCE_INLINE V pairwise_max(const V* a) {
  if constexpr (N == 1) return a[0];
  else return xsimd::max(pairwise_max<N / 2>(a), pairwise_max<N - N / 2>(a + N / 2));
}

// sum_c a[c] b[c] over c in [0, N), on two chains of fused multiply-adds.
template <std::size_t N, class V>
FARBOUND_FORCE_INLINE V dot(const V* a, const V* b) {
  if constexpr (N == 1) {
    return a[0] * b[0];
  } else {
    V even = a[0] * b[0], odd = a[1] * b[1];
    FARBOUND_UNROLL for (std::size_t c = 2; c + 1 < N; c += 2) {
      even = xsimd::fma(a[c], b[c], even);
      odd = xsimd::fma(a[c + 1], b[c + 1], odd);
    }
    if constexpr (N % 2 == 1) even = xsimd::fma(a[N - 1], b[N - 1], even);
    return even + odd;
  }
}

}  // namespace farbound::detail
