#pragma once
// A 16 x 16 block of floats transposed in AVX-512 registers: 64 shuffles, several times
// cheaper than gathers or scatters on current cores, and its in-lane part, 4 x 4 transposes
// within the 128-bit lanes. Shared by the smoothness loss's anchors on lanes (regularize)
// and the dense layer's few-row forward (nn).
#if defined(__AVX512F__)
#include <immintrin.h>

#include "farbound/core/host_device.hpp"

namespace farbound::detail {

// Within each 128-bit lane, the 4 x 4 block of v[0..3] transposed: out[c] holds, in lane k,
// element c of lane k of v[0], v[1], v[2] and v[3] (8 shuffles, none across lanes; the
// AVX2 one is in transpose_8x8.hpp).
[[gnu::always_inline]] inline void transpose_4x4_in_lanes(const __m512 v[4], __m512 out[4]) {
  const __m512 t0 = _mm512_unpacklo_ps(v[0], v[1]), t1 = _mm512_unpackhi_ps(v[0], v[1]);
  const __m512 t2 = _mm512_unpacklo_ps(v[2], v[3]), t3 = _mm512_unpackhi_ps(v[2], v[3]);
  out[0] = _mm512_shuffle_ps(t0, t2, 0x44);
  out[1] = _mm512_shuffle_ps(t0, t2, 0xEE);
  out[2] = _mm512_shuffle_ps(t1, t3, 0x44);
  out[3] = _mm512_shuffle_ps(t1, t3, 0xEE);
}

// m[i] = row i, for i < 16, becomes m[j] = column j: within 128-bit lanes by groups of four
// rows, then across lanes. Always inlined: as a call, its 16 rows went through memory both ways.
[[gnu::always_inline]] inline void transpose_16x16(__m512 m[16]) {
  __m512 u[16];  // u[4j + c] holds, in 128-bit lane k, column 4k + c of rows 4j .. 4j + 3
  FARBOUND_UNROLL for (int j = 0; j < 4; ++j) transpose_4x4_in_lanes(m + 4 * j, u + 4 * j);
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
