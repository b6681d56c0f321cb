#pragma once
// An 8 x 8 block of floats transposed in AVX registers: 24 shuffles (the AVX2 counterpart of
// transpose_16x16.hpp), and its in-lane half, 4 x 4 transposes within the 128-bit lanes.
// Shared by the dense layer's few-row forward (nn) and the smoothness loss's anchors on
// lanes (regularize).
#if defined(__AVX__) && !defined(__AVX512F__)
#include <immintrin.h>

#include "farbound/core/host_device.hpp"

namespace farbound::detail {

// Within each 128-bit lane, the 4 x 4 block of v[0..3] transposed: out[c] holds, in lane k,
// element c of lane k of v[0], v[1], v[2] and v[3] (pairs of rows interleaved, then groups
// of four): 8 shuffles.
[[gnu::always_inline]] inline void transpose_4x4_in_lanes(const __m256 v[4], __m256 out[4]) {
  const __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
  const __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
  out[0] = _mm256_shuffle_ps(t0, t2, 0x44);
  out[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
  out[2] = _mm256_shuffle_ps(t1, t3, 0x44);
  out[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

// m[i] = row i, for i < 8, becomes m[j] = column j: rows 0-3 and 4-7 transposed within the
// 128-bit lanes, then the lanes swapped across. Always inlined, as transpose_16x16.
[[gnu::always_inline]] inline void transpose_8x8(__m256 m[8]) {
  __m256 u[8];  // u[c] (u[4 + c]) holds, in 128-bit lane k, column 4k + c of rows 0-3 (4-7)
  transpose_4x4_in_lanes(m, u);
  transpose_4x4_in_lanes(m + 4, u + 4);
  FARBOUND_UNROLL for (int c = 0; c < 4; ++c) {
    m[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    m[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}

}  // namespace farbound::detail
#endif
