#pragma once
// Max-pool backward for windows that are contiguous runs of at most 64 floats (windows
// spanning whole rows: ResNet9's 8 x 8 pool over 8 x 8 planes), on AVX-512.
//
// The scalar way zeroes the run, finds the first hit (a value equal to the maximum, or NaN)
// with an early exit per vector, and adds the gradient there: a pass to zero, a chain of
// dependent tests, a store into lines just written. Here each vector's hits are one
// compare into a 16-bit mask, the masks of the run one 64-bit word whose lowest set bit is
// the winner, and every position is written once: g at the winner, 0 elsewhere (a gradient
// of -0 lands as -0, where the add into zeros gave +0, as in the 2 x 2 vector version).
//
// When m (the window's maximum) is a number, `v == m or v is NaN` is one compare,
// _CMP_EQ_UQ; when m is NaN the window holds one, and the hit is the first NaN.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace farbound::detail {

// Runs this long or shorter take the one-hot backward below.
inline constexpr std::size_t max_one_hot_unpool_run = 64;

template <class T>
inline constexpr bool has_one_hot_unpool =
#if defined(__AVX512F__)
    std::is_same_v<T, float>;
#else
    false;
#endif

#if defined(__AVX512F__)
// dx[0, n) = the gradient g at the first hit of window[0, n) against its maximum m, 0 at
// every other position; n <= max_one_hot_unpool_run.
inline void unpool_run_one_hot(const float* window, std::size_t n, float m, float g, float* dx) {
  const std::size_t vectors = (n + 15) / 16;
  const auto lanes = [n](std::size_t j) {
    return n >= 16 * (j + 1) ? __mmask16(0xffff) : __mmask16((1u << (n - 16 * j)) - 1);
  };
  const __m512 max = _mm512_set1_ps(m);
  const bool nan = m != m;
  std::uint64_t hits = 0;
  for (std::size_t j = 0; j < vectors; ++j) {
    const __m512 v = _mm512_maskz_loadu_ps(lanes(j), window + 16 * j);
    const __mmask16 hit = nan ? _mm512_mask_cmp_ps_mask(lanes(j), v, v, _CMP_UNORD_Q)
                              : _mm512_mask_cmp_ps_mask(lanes(j), v, max, _CMP_EQ_UQ);
    hits |= std::uint64_t(hit) << (16 * j);
  }
  const std::uint64_t winner = hits & (0 - hits);
  const __m512 gradient = _mm512_set1_ps(g);
  for (std::size_t j = 0; j < vectors; ++j)
    _mm512_mask_storeu_ps(dx + 16 * j, lanes(j), _mm512_maskz_mov_ps(__mmask16(winner >> (16 * j)), gradient));
}
#endif

}  // namespace farbound::detail
