#pragma once
// Pieces of 8 or 16 float rows to and from column vectors in AVX2 or AVX-512 registers, by
// row loads and stores of a few elements and transposes within the 128-bit lanes: what
// lane_rows.hpp's load and store run on those targets where they can (see there).
#include <algorithm>
#include <cstddef>

#include "farbound/core/host_device.hpp"
#include "farbound/detail/transpose_16x16.hpp"
#include "farbound/detail/transpose_8x8.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace farbound::detail::lane_rows {

#if defined(__AVX2__) && !defined(__AVX512F__)
// Two columns of 8 rows (row l's pair at first + l * stride) to and from two vectors, by
// 64-bit row loads and stores and 4 to 8 shuffles rather than an 8 x 8 transpose (24): the
// last block at 10 classes. (__m64 and __m128i may alias the floats.)
FARBOUND_FORCE_INLINE void load_pairs(const float* first, std::size_t stride, __m256* columns) {
  const auto pair = [&](std::size_t l) {
    return _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(first + l * stride)));
  };
  const auto rows = [&](std::size_t l) {  // rows l, l + 1 | l + 4, l + 5
    const auto two = [&](std::size_t m) { return _mm256_insertf128_ps(_mm256_castps128_ps256(pair(m)), pair(m + 4), 1); };
    return _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(two(l)), _mm256_castps_pd(two(l + 1))));
  };
  const __m256 r01 = rows(0), r23 = rows(2);
  columns[0] = _mm256_shuffle_ps(r01, r23, 0x88);
  columns[1] = _mm256_shuffle_ps(r01, r23, 0xdd);
}
FARBOUND_FORCE_INLINE void store_pairs(__m256 c0, __m256 c1, float* first, std::size_t stride) {
  const auto put = [&](std::size_t l, __m128 rows) {  // rows l and l + 1
    _mm_storel_pi(reinterpret_cast<__m64*>(first + l * stride), rows);
    _mm_storeh_pi(reinterpret_cast<__m64*>(first + (l + 1) * stride), rows);
  };
  const __m256 lo = _mm256_unpacklo_ps(c0, c1), hi = _mm256_unpackhi_ps(c0, c1);  // rows 0, 1 | 4, 5 and 2, 3 | 6, 7
  put(0, _mm256_castps256_ps128(lo));
  put(2, _mm256_castps256_ps128(hi));
  put(4, _mm256_extractf128_ps(lo, 1));
  put(6, _mm256_extractf128_ps(hi, 1));
}

// Eight whole rows of 8 (row l at first + l * stride) to and from 8 column vectors. Rows l and
// l + 4 share a register, one in each 128-bit lane (a 128-bit load and an insert from memory;
// a 128-bit store and an extract), so the transpose is two 4 x 4 ones within the lanes, 16
// shuffles, without transpose_8x8's 8 lane-crossing vperm2f128 (the C = 10 kernel 8 % faster).
FARBOUND_FORCE_INLINE void load_rows_8(const float* first, std::size_t stride, __m256* columns) {
  __m256 left[4], right[4];  // columns 0-3 and 4-7 of rows l | l + 4
  FARBOUND_UNROLL for (std::size_t l = 0; l < 4; ++l) {
    const float* a = first + l * stride;
    const float* b = a + 4 * stride;
    left[l] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(a)), _mm_loadu_ps(b), 1);
    right[l] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(a + 4)), _mm_loadu_ps(b + 4), 1);
  }
  transpose_4x4_in_lanes(left, columns);
  transpose_4x4_in_lanes(right, columns + 4);
}
FARBOUND_FORCE_INLINE void store_rows_8(const __m256* columns, float* first, std::size_t stride) {
  __m256 left[4], right[4];
  transpose_4x4_in_lanes(columns, left);
  transpose_4x4_in_lanes(columns + 4, right);
  FARBOUND_UNROLL for (std::size_t l = 0; l < 4; ++l) {
    float* a = first + l * stride;
    float* b = a + 4 * stride;
    _mm_storeu_ps(a, _mm256_castps256_ps128(left[l]));
    _mm_storeu_ps(a + 4, _mm256_castps256_ps128(right[l]));
    _mm_storeu_ps(b, _mm256_extractf128_ps(left[l], 1));
    _mm_storeu_ps(b + 4, _mm256_extractf128_ps(right[l], 1));
  }
}
#endif

#if defined(__AVX512F__)
// Elements [0, 4) of 16 rows (row l at first + l * stride) to and from 4 column vectors. Rows
// i, i + 4, i + 8 and i + 12 share a register, one in each 128-bit lane (a 128-bit load and
// three masked broadcasts from memory; a 128-bit store and three extracts to memory), so the
// transpose is a 4 x 4 one within the lanes, 8 shuffles. transpose_16x16's 64 shuffles all
// take one port of an Intel core, which bounded the C = 10 kernel there; the broadcasts'
// merges mostly do not (on the Xeon of docs/performance.md, 8 of them beside 8 shuffles in
// 11.5 cycles, 9 and 8 alone) and the extracts go to the store ports as plain stores do.
FARBOUND_FORCE_INLINE void load_quarter_rows(const float* first, std::size_t stride, __m512* columns) {
  __m512 rows[4];
  FARBOUND_UNROLL for (std::size_t i = 0; i < 4; ++i) {
    const float* row = first + i * stride;
    rows[i] = _mm512_castps128_ps512(_mm_loadu_ps(row));
    FARBOUND_UNROLL for (std::size_t lane = 1; lane < 4; ++lane)
      rows[i] = _mm512_mask_broadcast_f32x4(rows[i], __mmask16(0xf << (4 * lane)),
                                            _mm_loadu_ps(row + 4 * lane * stride));
  }
  transpose_4x4_in_lanes(rows, columns);
}
FARBOUND_FORCE_INLINE void store_quarter_rows(const __m512* columns, float* first, std::size_t stride) {
  __m512 rows[4];
  transpose_4x4_in_lanes(columns, rows);
  FARBOUND_UNROLL for (std::size_t i = 0; i < 4; ++i) {
    float* row = first + i * stride;
    _mm_storeu_ps(row, _mm512_castps512_ps128(rows[i]));
    FARBOUND_UNROLL for (std::size_t lane = 1; lane < 4; ++lane)
      _mm_storeu_ps(row + 4 * lane * stride, _mm512_extractf32x4_ps(rows[i], int(lane)));
  }
}

// Elements [0, 8) of 16 rows to and from 8 column vectors: rows i and i + 4 (i + 8 and
// i + 12) by 256-bit loads and stores, one row in each half of a register, two-source
// permutes between those and the quarters' registers above, and their 4 x 4 transposes. Half
// the loads and two thirds of the stores of two quarters for 8 more shuffles (a store cost
// 2 cycles on that Xeon, a 512-bit masked one 3).
inline constexpr int low_quarters[16] = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
inline constexpr int high_quarters[16] = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
inline constexpr int low_halves[16] = {0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23};
inline constexpr int high_halves[16] = {8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31};
FARBOUND_FORCE_INLINE __m512 permute_two(__m512 a, const int (&index)[16], __m512 b) {
  return _mm512_permutex2var_ps(a, _mm512_loadu_si512(index), b);
}
FARBOUND_FORCE_INLINE void load_half_rows(const float* first, std::size_t stride, __m512* columns) {
  __m512 left[4], right[4];  // elements 0-3 and 4-7 of rows i, i + 4, i + 8, i + 12 in the lanes
  FARBOUND_UNROLL for (std::size_t i = 0; i < 4; ++i) {
    const auto two_rows = [&](std::size_t l) {  // rows l and l + 4 (AVX-512 F's 64-bit insert: no DQ)
      const float* row = first + l * stride;
      const auto half = [](const float* at) { return _mm256_loadu_pd(reinterpret_cast<const double*>(at)); };
      return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(half(row)), half(row + 4 * stride), 1));
    };
    const __m512 near = two_rows(i), far = two_rows(i + 8);
    left[i] = permute_two(near, low_quarters, far);
    right[i] = permute_two(near, high_quarters, far);
  }
  transpose_4x4_in_lanes(left, columns);
  transpose_4x4_in_lanes(right, columns + 4);
}
FARBOUND_FORCE_INLINE void store_half_rows(const __m512* columns, float* first, std::size_t stride) {
  __m512 left[4], right[4];
  transpose_4x4_in_lanes(columns, left);
  transpose_4x4_in_lanes(columns + 4, right);
  FARBOUND_UNROLL for (std::size_t i = 0; i < 4; ++i) {
    const auto put_two_rows = [&](std::size_t l, __m512 rows) {  // rows l and l + 4
      float* row = first + l * stride;
      _mm256_storeu_ps(row, _mm512_castps512_ps256(rows));
      _mm256_storeu_ps(row + 4 * stride, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(rows), 1)));
    };
    put_two_rows(i, permute_two(left[i], low_halves, right[i]));
    put_two_rows(i + 8, permute_two(left[i], high_halves, right[i]));
  }
}

// Whether rows of C elements, C known when compiled, move in such pieces: halves from 0
// (and 8), then a quarter ending at C (overlapping the half where 8 does not divide C, so
// that nothing outside a row is read or written; the overlap is written twice with the
// same values). At C = 10 the kernel took 3-4 % less time in cache with quarters than with
// transpose_16x16, and 3 % less again with the half.
template <std::size_t C>
constexpr bool in_pieces = C <= 16 && (C == 4 || (C >= 8 && C % 8 <= 4));
#endif

}  // namespace farbound::detail::lane_rows
