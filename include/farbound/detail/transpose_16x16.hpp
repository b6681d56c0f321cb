#pragma once
// A 16 x 16 block of floats transposed in AVX-512 registers: 64 shuffles, several times
// cheaper than gathers or scatters on current cores. Shared by the smoothness loss's anchors
// on lanes (regularize) and the dense layer's few-row forward (nn).
#if defined(__AVX512F__)
#include <immintrin.h>

#include "farbound/core/host_device.hpp"

namespace farbound::detail {

// m[i] = row i, for i < 16, becomes m[j] = column j: within 128-bit lanes by pairs of rows,
// then across lanes. Always inlined: as a call, its 16 rows went through memory both ways.
[[gnu::always_inline]] inline void transpose_16x16(__m512 m[16]) {
  __m512 t[16], u[16];
  FARBOUND_UNROLL for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(m[2 * i], m[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(m[2 * i], m[2 * i + 1]);
  }
  // u[4j + c] holds, in 128-bit lane k, column 4k + c of rows 4j .. 4j + 3.
  FARBOUND_UNROLL for (int j = 0; j < 4; ++j) {
    u[4 * j] = _mm512_shuffle_ps(t[4 * j], t[4 * j + 2], 0x44);
    u[4 * j + 1] = _mm512_shuffle_ps(t[4 * j], t[4 * j + 2], 0xEE);
    u[4 * j + 2] = _mm512_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0x44);
    u[4 * j + 3] = _mm512_shuffle_ps(t[4 * j + 1], t[4 * j + 3], 0xEE);
  }
  FARBOUND_UNROLL for (int c = 0; c < 4; ++c) {
    const __m512 low = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), high = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
    const __m512 low2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44), high2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
    m[c] = _mm512_shuffle_f32x4(low, low2, 0x88);
    m[4 + c] = _mm512_shuffle_f32x4(low, low2, 0xDD);
    m[8 + c] = _mm512_shuffle_f32x4(high, high2, 0x88);
    m[12 + c] = _mm512_shuffle_f32x4(high, high2, 0xDD);
  }
}

}  // namespace farbound::detail
#endif
