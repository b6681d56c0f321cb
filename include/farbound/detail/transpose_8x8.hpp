#pragma once
// An 8 x 8 block of floats transposed in AVX registers: 24 shuffles (the AVX2 counterpart of
// transpose_16x16.hpp). Shared by the dense layer's few-row forward (nn) and the smoothness
// loss's anchors on lanes (regularize).
#if defined(__AVX__) && !defined(__AVX512F__)
#include <immintrin.h>

namespace farbound::detail {

// m[i] = row i, for i < 8, becomes m[j] = column j: pairs of rows interleaved, then groups
// of four within 128-bit lanes, then the lanes swapped across. Always inlined, as
// transpose_16x16.
[[gnu::always_inline]] inline void transpose_8x8(__m256 m[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(m[2 * i], m[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(m[2 * i], m[2 * i + 1]);
  }
  // u[4j + c] holds, in 128-bit lane k, column 4k + c of rows 4j .. 4j + 3.
  for (int j = 0; j < 2; ++j) {
    u[4 * j] = _mm256_shuffle_ps(t[4 * j], t[4 * j + 2], 0x44);
    u[4 * j + 1] = _mm256_shuffle_ps(t[4 * j], t[4 * j + 2], 0xEE);
    u[4 * j + 2] = _mm256_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0x44);
    u[4 * j + 3] = _mm256_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0xEE);
  }
  for (int c = 0; c < 4; ++c) {
    m[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
    m[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
  }
}

}  // namespace farbound::detail
#endif
