#pragma once
// Max-pool forward for 2 x 2 windows at stride 2 on float with AVX-512 or AVX2, a register of
// windows at a time: the compiler's version of the scalar loop (pool.hpp) ran at about 1
// cycle per input element on LeNet's planes, a quarter of a copy's rate.
//
// One output row p covers input rows 2p (top) and 2p + 1 (bottom). The scalar loop keeps
// the first maximum in row-major order (a0, a1, b0, b1), which decides only the sign of a
// zero; taking the maximum within each row first, then between the rows, with the same
// "later wins only if greater" rule, gives the same element:
//   top = a1 > a0 ? a1 : a0,  bottom = b1 > b0 ? b1 : b0,  y = bottom > top ? bottom : top
// (if b0 > top the scan's last two steps give bottom, otherwise they give top unless
// b1 > top, and then b1 > b0 too). Each "later wins only if greater" is one vmaxps; a
// compare and a blend per step cost 1.75x as much time (LeNet's 28 x 28 planes, one thread:
// 40.8 -> 23.3 us for 64 images). A window holding a NaN gives NaN.
//   AVX-512: 8 windows per register, their 16 inputs of a row in one register; even lanes
//            hold the results and a permutation packs them into 8 outputs. The row's last
//            windows run with masked loads and stores, so nothing past the row is read or
//            written.
//   AVX2:    8 windows from two registers per row, split into their first and second
//            inputs by two shuffles, one permutation to put the windows in order. A row of
//            8 or more windows ends with the last 8 again (overlapping the block before:
//            the same values written twice), since AVX2's masked store is slow
//            (detail/avx_row_ends.hpp); shorter rows (LeNet's 5) load masked and store by
//            avx_row_ends' ladder.
#include <algorithm>
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

#include "farbound/detail/avx_row_ends.hpp"

namespace farbound::detail {

// The row kernel for element type T where the target has one (float with AVX-512 or AVX2):
// MaxPool2x2<T>::row. Elsewhere the template is only declared: pool.hpp names it in an
// `if constexpr (has_simd_max_pool_2x2<T>)` branch, as a dependent name that a discarded
// branch never instantiates.
template <class T>
struct MaxPool2x2;
template <class T>
inline constexpr bool has_simd_max_pool_2x2 = false;

#if defined(__AVX512F__) || defined(__AVX2__)
template <>
inline constexpr bool has_simd_max_pool_2x2<float> = true;

template <>
struct MaxPool2x2<float> {
  // y[q] for q < out_width from input rows x0 (top) and x1 (bottom).
  static void row(std::int64_t out_width, const float* __restrict x0, const float* __restrict x1,
                  float* __restrict y) {
#if defined(__AVX512F__)
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
    const __m512 nan = _mm512_set1_ps(std::numeric_limits<float>::quiet_NaN());
    // The maximum of (v[2k], v[2k + 1]) in lane 2k, the later one only if greater: vmaxps
    // returns its first operand only if it is greater, its second otherwise (also where
    // either is NaN). A NaN in either is recorded in the pair's two lanes of has_nan.
    const auto pair_max = [](__m512 v, __mmask16& has_nan) {
      const __m512 next = _mm512_permute_ps(v, 0xB1);  // swaps the lanes of each pair
      has_nan |= _mm512_cmp_ps_mask(v, next, _CMP_UNORD_Q);
      return _mm512_max_ps(next, v);
    };
    const auto windows = [&](std::int64_t q, __mmask16 inputs, __mmask8 outputs) {
      __mmask16 has_nan = 0;
      const __m512 top = pair_max(_mm512_maskz_loadu_ps(inputs, x0 + 2 * q), has_nan);
      const __m512 bottom = pair_max(_mm512_maskz_loadu_ps(inputs, x1 + 2 * q), has_nan);
      const __m512 m = _mm512_mask_blend_ps(has_nan, _mm512_max_ps(bottom, top), nan);
      _mm256_mask_storeu_ps(y + q, outputs, _mm512_castps512_ps256(_mm512_permutexvar_ps(even, m)));
    };
    std::int64_t q = 0;
    for (; q + 8 <= out_width; q += 8) windows(q, 0xFFFF, 0xFF);
    if (const std::int64_t n = out_width - q; n > 0) windows(q, __mmask16((1u << (2 * n)) - 1), __mmask8((1u << n) - 1));
#else
    const __m256 nan = _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN());
    // The 8 windows whose inputs are (t0, t1) in the top row and (b0, b1) in the bottom one.
    // shuffle_ps takes each window's first (0x88) or second (0xdd) input, in the window
    // order 0 1 4 5 | 2 3 6 7; vmaxps returns its first operand only if it is greater, its
    // second otherwise (also where either is NaN), so a NaN is blended in afterwards.
    const auto windows = [&](__m256 t0, __m256 t1, __m256 b0, __m256 b1) {
      const __m256 t_first = _mm256_shuffle_ps(t0, t1, 0x88), t_second = _mm256_shuffle_ps(t0, t1, 0xdd);
      const __m256 b_first = _mm256_shuffle_ps(b0, b1, 0x88), b_second = _mm256_shuffle_ps(b0, b1, 0xdd);
      const __m256 has_nan = _mm256_or_ps(_mm256_cmp_ps(t_first, t_second, _CMP_UNORD_Q),
                                          _mm256_cmp_ps(b_first, b_second, _CMP_UNORD_Q));
      const __m256 top = _mm256_max_ps(t_second, t_first), bottom = _mm256_max_ps(b_second, b_first);
      const __m256 m = _mm256_blendv_ps(_mm256_max_ps(bottom, top), nan, has_nan);
      return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m), 0xd8));  // windows 0 1 2 3 | 4 5 6 7
    };
    const auto block = [&](std::int64_t q) {
      _mm256_storeu_ps(y + q, windows(_mm256_loadu_ps(x0 + 2 * q), _mm256_loadu_ps(x0 + 2 * q + 8),
                                      _mm256_loadu_ps(x1 + 2 * q), _mm256_loadu_ps(x1 + 2 * q + 8)));
    };
    if (out_width < 8) {
      const std::int64_t low = std::min<std::int64_t>(2 * out_width, 8), high = 2 * out_width - low;
      store_first(y, windows(load_first(x0, low), load_first(x0 + 8, high), load_first(x1, low), load_first(x1 + 8, high)),
                  out_width);
      return;
    }
    std::int64_t q = 0;
    for (; q + 8 <= out_width; q += 8) block(q);
    if (q < out_width) block(out_width - 8);
#endif
  }
};
#endif

}  // namespace farbound::detail
