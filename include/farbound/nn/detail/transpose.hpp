#pragma once
// A matrix transposed, with zero rows added: the layout change before a product that needs
// the other operand order (Dense's W^T, the convolution weight gradient's g^T, the packed
// GEMM's slivers of a transposed operand).
//
//   dst[c * ld + r] = src[r * src_ld + c]   for r < rows
//                   = 0                     for rows <= r < padded_rows,   c < cols
//
// (transpose: src_ld = cols.)
// Element by element the strided writes cost about a nanosecond each. With AVX, floats go
// by 8 x 8 blocks in registers (eight row loads, 24 shuffles, eight stores; rows past `rows`
// load as zeros), 4-6x faster at the layers' shapes, and a last group of 4 rows by 4 x 4
// blocks; the edges, other types and targets go element by element.
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"

namespace farbound::detail {

template <class T>
void transpose_strided(const T* src, std::int64_t src_ld, std::int64_t rows, std::int64_t cols, T* dst, std::int64_t ld,
                       std::int64_t padded_rows) {
  const auto element = [&](std::int64_t r, std::int64_t c) { dst[c * ld + r] = r < rows ? src[r * src_ld + c] : T(0); };
  std::int64_t r0 = 0;
#if XSIMD_WITH_AVX
  if constexpr (std::is_same_v<T, float>) {
    for (; r0 + 8 <= padded_rows; r0 += 8) {
      std::int64_t c0 = 0;
      for (; c0 + 8 <= cols; c0 += 8) {
        __m256 in[8], pairs[8], quads[8];
        FARBOUND_UNROLL for (int i = 0; i < 8; ++i)
          in[i] = r0 + i < rows ? _mm256_loadu_ps(src + (r0 + i) * src_ld + c0) : _mm256_setzero_ps();
        // Pairs of rows interleaved, then quadruples, then the 128-bit halves exchanged.
        FARBOUND_UNROLL for (int i = 0; i < 4; ++i) {
          pairs[2 * i] = _mm256_unpacklo_ps(in[2 * i], in[2 * i + 1]);
          pairs[2 * i + 1] = _mm256_unpackhi_ps(in[2 * i], in[2 * i + 1]);
        }
        FARBOUND_UNROLL for (int h = 0; h < 2; ++h)
          FARBOUND_UNROLL for (int i = 0; i < 2; ++i) {
            quads[4 * h + 2 * i] = _mm256_shuffle_ps(pairs[4 * h + i], pairs[4 * h + i + 2], 0x44);
            quads[4 * h + 2 * i + 1] = _mm256_shuffle_ps(pairs[4 * h + i], pairs[4 * h + i + 2], 0xEE);
          }
        T* out = dst + c0 * ld + r0;
        FARBOUND_UNROLL for (int i = 0; i < 4; ++i) {
          _mm256_storeu_ps(out + i * ld, _mm256_permute2f128_ps(quads[i], quads[i + 4], 0x20));
          _mm256_storeu_ps(out + (i + 4) * ld, _mm256_permute2f128_ps(quads[i], quads[i + 4], 0x31));
        }
      }
      for (; c0 < cols; ++c0)
        for (std::int64_t r = r0; r < r0 + 8; ++r) element(r, c0);
    }
    // A last group of 4 rows (the packed GEMM's 12-row slivers) by 4 x 4 blocks.
    for (; r0 + 4 <= padded_rows; r0 += 4) {
      std::int64_t c0 = 0;
      for (; c0 + 4 <= cols; c0 += 4) {
        __m128 in[4];
        FARBOUND_UNROLL for (int i = 0; i < 4; ++i)
          in[i] = r0 + i < rows ? _mm_loadu_ps(src + (r0 + i) * src_ld + c0) : _mm_setzero_ps();
        _MM_TRANSPOSE4_PS(in[0], in[1], in[2], in[3]);
        FARBOUND_UNROLL for (int i = 0; i < 4; ++i) _mm_storeu_ps(dst + (c0 + i) * ld + r0, in[i]);
      }
      for (; c0 < cols; ++c0)
        for (std::int64_t r = r0; r < r0 + 4; ++r) element(r, c0);
    }
  }
#endif
  for (; r0 < padded_rows; ++r0)
    for (std::int64_t c = 0; c < cols; ++c) element(r0, c);
}

template <class T>
void transpose(const T* src, std::int64_t rows, std::int64_t cols, T* dst, std::int64_t ld, std::int64_t padded_rows) {
  transpose_strided(src, cols, rows, cols, dst, ld, padded_rows);
}

}  // namespace farbound::detail
