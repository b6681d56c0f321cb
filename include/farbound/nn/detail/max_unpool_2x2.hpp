#pragma once
// Max-pool backward for 2 x 2 windows at stride 2 on float, vectorised across a row of
// windows: the scalar version walks each window to find the position that takes the
// gradient and adds it there, a scatter the compiler cannot vectorise (3.6-5x slower than a
// copy of the same bytes, benchmarks/micro).
//
// One output row p covers input rows 2p and 2p + 1. A batch of L outputs y[q .. q+L) and
// their gradients g are duplicated lane-wise (y0 y0 y1 y1 ...) to line up with 2 batches of
// each input row. In each row a lane "hits" when it equals the window's maximum or is NaN
// (xsimd::isnan: xsimd's != is an ordered compare, false for NaN);
// the winner is the first hit in window order (top-left, top-right, bottom-left,
// bottom-right), as in the scalar version. Adjacent float lanes 2k, 2k+1 are the two halves
// of 64-bit lane k, so "the left neighbour in my window" is a 32-bit shift of the hit mask
// viewed as 64-bit lanes:
//   top winner    = top & ~(top << 32)
//   bottom winner = bottom & ~(bottom << 32) & ~(any top hit in the window)
// and each input position gets g where it wins, else 0 (the same values as the scalar version).
// On AVX a row of L windows or more ends with its last L again (LeNet's 14: 10 % faster than
// masked loads). In shorter rows the windows run through the same kernel with the lanes past the
// row zero (avx_row_ends.hpp's masked loads; a zero lane wins with gradient 0 and is not
// stored): LeNet's second pooling layer has 5 windows a row, and the scalar loop took 4.7 ns
// per input element there (zero-padded copies of the row's end, as before, 28 ns per row on
// Zen 3). Only where xsimd 8.1 has a float swizzle (AVX, AVX2); elsewhere the caller keeps
// the scalar loop. AVX-512 has its own version below, on mask registers.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/detail/avx_row_ends.hpp"

namespace farbound::detail {

template <class T>
inline constexpr bool has_simd_max_unpool_2x2 =
    std::is_same_v<T, float> && (std::is_base_of_v<xsimd::avx, xsimd::default_arch> ||
                                 std::is_base_of_v<xsimd::avx512f, xsimd::default_arch>);

#if defined(__AVX512F__)
// The hit masks the AVX-512 backwards share (here, max_pool_2x2_narrow.hpp and the lanes of
// max_pool_by_columns.hpp): the lanes of v equal to their window's maximum m, or NaN.
inline unsigned max_pool_hits(__m512 v, __m512 m) {
  return unsigned(_mm512_cmp_ps_mask(v, m, _CMP_EQ_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
}
// With pairs of lanes (2k, 2k + 1) as a window's two columns: the first lane of each pair that
// hits, and both lanes of every pair with a hit.
inline constexpr unsigned left_lanes = 0x5555u;
inline unsigned first_hit_in_pair(unsigned hit) { return hit & ~((hit & left_lanes) << 1); }
inline unsigned pairs_hit(unsigned hit) { return ((hit | (hit >> 1)) & left_lanes) * 3; }
#endif

// Writes the gradient of every input position of the out_width windows of output row (x0, x1:
// its two input rows; d0, d1: their gradient rows; y, g: the row's outputs and output
// gradients).
#if defined(__AVX512F__)
// AVX-512: 8 windows per register, the hits as 16-bit masks (bit 2k: a window's left
// column, bit 2k + 1: its right one), and the row's last windows through masked loads and
// stores instead of padded copies (LeNet's 10 x 10 planes have 5 windows a row).
inline void max_unpool_2x2_row(std::int64_t out_width, const float* __restrict x0, const float* __restrict x1,
                               const float* __restrict y, const float* __restrict g, float* __restrict d0,
                               float* __restrict d1) {
  const __m512i duplicate = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const auto windows = [&](std::int64_t q, __mmask16 inputs, __mmask8 outputs) {
    const __m512 ys = _mm512_permutexvar_ps(duplicate, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(outputs, y + q)));
    const __m512 gs = _mm512_permutexvar_ps(duplicate, _mm512_castps256_ps512(_mm256_maskz_loadu_ps(outputs, g + q)));
    const unsigned t = max_pool_hits(_mm512_maskz_loadu_ps(inputs, x0 + 2 * q), ys);
    const unsigned b = max_pool_hits(_mm512_maskz_loadu_ps(inputs, x1 + 2 * q), ys);
    const unsigned top_wins = first_hit_in_pair(t);
    const unsigned bottom_wins = first_hit_in_pair(b) & ~pairs_hit(t);
    _mm512_mask_storeu_ps(d0 + 2 * q, inputs, _mm512_maskz_mov_ps(__mmask16(top_wins), gs));
    _mm512_mask_storeu_ps(d1 + 2 * q, inputs, _mm512_maskz_mov_ps(__mmask16(bottom_wins), gs));
  };
  std::int64_t q = 0;
  for (; q + 8 <= out_width; q += 8) windows(q, 0xFFFF, 0xFF);
  if (const std::int64_t n = out_width - q; n > 0) windows(q, __mmask16((1u << (2 * n)) - 1), __mmask8((1u << n) - 1));
}
#elif defined(__AVX__)
using MaxUnpoolArch = xsimd::default_arch;
struct DuplicateLowHalf {
  static constexpr unsigned get(unsigned i, unsigned) { return i / 2; }
};
struct DuplicateHighHalf {
  static constexpr unsigned get(unsigned i, unsigned n) { return n / 2 + i / 2; }
};

FARBOUND_FORCE_INLINE void max_unpool_2x2_row(std::int64_t out_width, const float* __restrict x0,
                                              const float* __restrict x1, const float* __restrict y,
                                              const float* __restrict g, float* __restrict d0, float* __restrict d1) {
  using V = xsimd::batch<float, MaxUnpoolArch>;
  using U = xsimd::batch<std::uint64_t, MaxUnpoolArch>;
  constexpr std::int64_t L = V::size;
  constexpr auto low = xsimd::make_batch_constant<xsimd::batch<std::uint32_t, MaxUnpoolArch>, DuplicateLowHalf>();
  constexpr auto high = xsimd::make_batch_constant<xsimd::batch<std::uint32_t, MaxUnpoolArch>, DuplicateHighHalf>();
  // A comparison's lanes are all ones or all zeros already (xsimd::select of them compiled to
  // two more instructions each).
  const auto hits = [](V v, V m) { return U(_mm256_castps_si256((v == m) | xsimd::isnan(v))); };
  // L windows: their outputs and gradients yv, gv, their 2L input columns top[2],
  // bottom[2] (rows 2p and 2p + 1); sets the input gradient's, dtop[2] and dbottom[2].
  const auto windows = [&](V yv, V gv, const V* top, const V* bottom, V* dtop, V* dbottom) {
    const V ys[2] = {xsimd::swizzle(yv, low), xsimd::swizzle(yv, high)};
    const V gs[2] = {xsimd::swizzle(gv, low), xsimd::swizzle(gv, high)};
    for (int half = 0; half < 2; ++half) {
      const U t = hits(top[half], ys[half]), b = hits(bottom[half], ys[half]);
      const U top_wins = t & ~(t << 32);
      const U bottom_wins = b & ~(b << 32) & ~(t | (t << 32) | (t >> 32));
      dtop[half] = gs[half] & xsimd::bitwise_cast<V>(top_wins);
      dbottom[half] = gs[half] & xsimd::bitwise_cast<V>(bottom_wins);
    }
  };
  V dtop[2], dbottom[2];
  const auto block = [&](std::int64_t q) {
    const V top[2] = {V::load_unaligned(x0 + 2 * q), V::load_unaligned(x0 + 2 * q + L)};
    const V bottom[2] = {V::load_unaligned(x1 + 2 * q), V::load_unaligned(x1 + 2 * q + L)};
    windows(V::load_unaligned(y + q), V::load_unaligned(g + q), top, bottom, dtop, dbottom);
    for (int half = 0; half < 2; ++half) {
      dtop[half].store_unaligned(d0 + 2 * q + half * L);
      dbottom[half].store_unaligned(d1 + 2 * q + half * L);
    }
  };
  std::int64_t q = 0;
  for (; q + L <= out_width; q += L) block(q);
  // A row of L windows or more ends with its last L again: they write the same values twice
  // (each input position gets g or 0, not a sum), without masked loads and a ladder of stores
  // (LeNet's 14-window rows). Shorter rows' lanes past the row hold zeros (a zero lane wins
  // with gradient 0 and is not stored).
  if (q < out_width && out_width >= L) {
    block(out_width - L);
  } else if (const std::int64_t n = out_width - q; n > 0) {
    const std::int64_t in[2] = {std::min<std::int64_t>(2 * n, L), std::max<std::int64_t>(2 * n - L, 0)};
    const V top[2] = {V(load_first(x0 + 2 * q, in[0])), V(load_first(x0 + 2 * q + L, in[1]))};
    const V bottom[2] = {V(load_first(x1 + 2 * q, in[0])), V(load_first(x1 + 2 * q + L, in[1]))};
    windows(V(load_first(y + q, n)), V(load_first(g + q, n)), top, bottom, dtop, dbottom);
    for (int half = 0; half < 2; ++half) {
      store_first(d0 + 2 * q + half * L, dtop[half], in[half]);
      store_first(d1 + 2 * q + half * L, dbottom[half], in[half]);
    }
  }
}
#else
// Declared only: pool.hpp calls it where has_simd_max_unpool_2x2 holds.
void max_unpool_2x2_row(std::int64_t out_width, const float* __restrict x0, const float* __restrict x1,
                        const float* __restrict y, const float* __restrict g, float* __restrict d0,
                        float* __restrict d1);
#endif

}  // namespace farbound::detail
