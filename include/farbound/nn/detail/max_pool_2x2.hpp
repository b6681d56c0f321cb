#pragma once
// Max-pool forward for 2 x 2 windows at stride 2 on float with AVX-512, 8 windows per
// register: the compiler's version of the scalar loop (pool.hpp) ran at about 1 cycle per
// input element on LeNet's planes, a quarter of a copy's rate.
//
// One output row p covers input rows 2p (top) and 2p + 1 (bottom). A register holds the 16
// inputs of 8 windows' top row, another their bottom row. The scalar loop keeps the first
// maximum in row-major order (a0, a1, b0, b1), which decides only the sign of a zero; taking
// the maximum within each row first, then between the rows, with the same "later wins only
// if greater" rule, gives the same element:
//   top = a1 > a0 ? a1 : a0,  bottom = b1 > b0 ? b1 : b0,  y = bottom > top ? bottom : top
// (if b0 > top the scan's last two steps give bottom, otherwise they give top unless
// b1 > top, and then b1 > b0 too). Each "later wins only if greater" is one vmaxps; a
// compare and a blend per step cost 1.75x as much time (LeNet's 28 x 28 planes, one thread:
// 40.8 -> 23.3 us for 64 images). A window holding a NaN gives NaN. Even lanes hold the
// results; a permutation packs them into 8 outputs. The row's last windows run with masked
// loads and stores, so nothing past the row is read or written.
#include <cstdint>
#include <limits>

#include <xsimd/xsimd.hpp>

namespace farbound::detail {

// The row kernel for element type T where the target has one (float with AVX-512):
// MaxPool2x2<T>::row. Elsewhere the template is only declared: pool.hpp names it in an
// `if constexpr (has_simd_max_pool_2x2<T>)` branch, as a dependent name that a discarded
// branch never instantiates.
template <class T>
struct MaxPool2x2;
template <class T>
inline constexpr bool has_simd_max_pool_2x2 = false;

#if defined(__AVX512F__)
template <>
inline constexpr bool has_simd_max_pool_2x2<float> = true;

template <>
struct MaxPool2x2<float> {
  // y[q] for q < out_width from input rows x0 (top) and x1 (bottom).
  static void row(std::int64_t out_width, const float* __restrict x0, const float* __restrict x1,
                  float* __restrict y) {
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
  }
};
#endif

}  // namespace farbound::detail
