#pragma once
// Max pooling over windows that span whole rows and do not overlap (ResNet9's 8 x 8 pool
// over 8 x 8 planes): each window is a contiguous run of n = k * W values, forward and
// backward.
//
// Forward, one run: one pass of whole vectors for the lane-wise maximum and NaNs, the rest
// one by one (the lane walkers' two passes took 2.5x as long); a zero maximum, whose sign
// depends on the order, is found again by the caller's row-major `window_max`. Forward,
// max_runs_together runs (16 on AVX-512, 8 on AVX2) of a multiple of a register's floats:
// each run's vectors reduce lane-wise to one, and the runs' horizontal maxima come out of a
// tree of two-source shuffles (on AVX-512 8 + 4 + 2 + 1 pairs, each two permutes and a max:
// 3 instructions a run; on AVX2 4 + 2 + 1), instead of a horizontal reduction per run whose
// chain of shuffles the core waits out; the runs holding a NaN or with a zero maximum go
// through the one-run path.
//
// Backward, runs of at most 64 floats on AVX-512 and AVX2: the scalar way zeroes the run,
// finds the first hit (a value equal to the maximum, or NaN) with an early exit per vector,
// and adds the gradient there: a pass to zero, a chain of dependent tests, a store into lines
// just written. Here each vector's hits are one compare into a 16- or 8-bit mask, the masks
// of the run one 64-bit word whose lowest set bit is the winner, and every position is
// written once: g at the winner, 0 elsewhere (a gradient of -0 lands as -0, where the add
// into zeros gave +0, as in the 2 x 2 vector version). When the maximum m is a number,
// `v == m or v is NaN` is one compare, _CMP_EQ_UQ; when m is NaN the run holds one, and the
// hit is the first NaN.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/detail/avx_row_ends.hpp"
#include "farbound/detail/lanes.hpp"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace farbound::detail {

// The maximum of the run window[0, n), NaN if it holds one; window_max(window) for a zero.
template <class T, class WindowMax>
T run_max(const T* window, std::size_t n, WindowMax&& window_max) {
  using B = xsimd::batch<T>;
  B lanes(-std::numeric_limits<T>::infinity());
  typename B::batch_bool_type nan_lanes(false);
  std::size_t e = 0;
  for (; e + B::size <= n; e += B::size) {
    const B v = B::load_unaligned(window + e);
    lanes = xsimd::max(lanes, v);
    nan_lanes = nan_lanes | xsimd::isnan(v);  // one unordered compare (`!(v == v)` took five on AVX2)
  }
  T m = BatchLanes<B>::max_lane(lanes);
  bool nan = xsimd::any(nan_lanes);
  for (; e < n; ++e) {
    m = window[e] > m ? window[e] : m;
    nan |= window[e] != window[e];
  }
  if (nan) return std::numeric_limits<T>::quiet_NaN();
  return m == T(0) ? window_max(window) : m;
}

// The runs the forward below reduces together, one per lane of a float register at the end of
// its tree (1 where it has no vector version).
#if defined(__AVX512F__)
inline constexpr std::size_t max_runs_together = 16;
#elif defined(__AVX2__)
inline constexpr std::size_t max_runs_together = 8;
#else
inline constexpr std::size_t max_runs_together = 1;
#endif

// Whether runs of n values of T take the forward of max_runs_together runs below (float,
// whole vectors).
template <class T>
constexpr bool has_max_of_runs(std::size_t n) {
  return std::is_same_v<T, float> && max_runs_together > 1 && n % max_runs_together == 0;
}

// Whether runs of n values of T take the one-hot backward below (float, n <= 64).
template <class T>
constexpr bool has_one_hot_unpool(std::size_t n) {
  return std::is_same_v<T, float> && max_runs_together > 1 && n <= 64;
}

#if defined(__AVX512F__)
namespace whole_rows {

// For halve<Lanes> below: lane i of the result's first (second) operand of the max is
// lane first[i] (second[i]) of a, or of b from 16 on.
template <int Lanes>
struct HalvingLanes {
  std::int32_t first[16], second[16];
  constexpr HalvingLanes() : first{}, second{} {
    constexpr int runs_per_vector = 16 / Lanes, half = Lanes / 2;
    for (int i = 0; i < 16; ++i) {
      const int run = i / half, lane = i % half;
      first[i] = (run % runs_per_vector) * Lanes + lane + (run >= runs_per_vector ? 16 : 0);
      second[i] = first[i] + half;
    }
  }
};

// a and b hold partial maxima of 16 / Lanes runs each, Lanes lanes a run; the result holds
// those of all 2 * 16 / Lanes runs (a's first), Lanes / 2 lanes a run.
template <int Lanes>
FARBOUND_FORCE_INLINE __m512 halve(__m512 a, __m512 b) {
  static constexpr HalvingLanes<Lanes> lanes;
  const __m512 first = _mm512_permutex2var_ps(a, _mm512_loadu_si512(lanes.first), b);
  const __m512 second = _mm512_permutex2var_ps(a, _mm512_loadu_si512(lanes.second), b);
  return _mm512_max_ps(first, second);
}

}  // namespace whole_rows

// y[r] = the maximum of run r, x + r * n (n a multiple of 16), for r in [0, 16), where the
// run holds no NaN and its maximum is not zero; returns the runs where it does (their y to be
// found by run_max).
inline std::uint32_t max_of_runs(const float* x, std::size_t n, float* y) {
  __m512 m[16];
  std::uint32_t redo = 0;
  for (int r = 0; r < 16; ++r) {
    const float* run = x + std::size_t(r) * n;
    __m512 lanes = _mm512_loadu_ps(run);
    __mmask16 nan = _mm512_cmp_ps_mask(lanes, lanes, _CMP_UNORD_Q);
    for (std::size_t e = 16; e < n; e += 16) {
      const __m512 v = _mm512_loadu_ps(run + e);
      lanes = _mm512_max_ps(lanes, v);
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    }
    m[r] = lanes;
    redo |= std::uint32_t(nan != 0) << r;
  }
  __m512 m8[8], m4[4], m2[2];
  for (int i = 0; i < 8; ++i) m8[i] = whole_rows::halve<16>(m[2 * i], m[2 * i + 1]);
  for (int i = 0; i < 4; ++i) m4[i] = whole_rows::halve<8>(m8[2 * i], m8[2 * i + 1]);
  for (int i = 0; i < 2; ++i) m2[i] = whole_rows::halve<4>(m4[2 * i], m4[2 * i + 1]);
  const __m512 maxima = whole_rows::halve<2>(m2[0], m2[1]);
  _mm512_storeu_ps(y, maxima);
  return redo | _mm512_cmp_ps_mask(maxima, _mm512_setzero_ps(), _CMP_EQ_OQ);
}

// dx[0, n) = the gradient g at the first hit of window[0, n) against its maximum m, 0 at
// every other position; n <= 64.
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
#elif defined(__AVX2__)
// y[r] = the maximum of run r, x + r * n (n a multiple of 8), for r in [0, 8), where the run
// holds no NaN and its maximum is not zero; returns the runs where it does (their y to be
// found by run_max). One unordered compare looks for NaN in two vectors at once.
inline std::uint32_t max_of_runs(const float* x, std::size_t n, float* y) {
  __m256 m[8];
  std::uint32_t redo = 0;
  for (int r = 0; r < 8; ++r) {
    const float* run = x + std::size_t(r) * n;
    __m256 lanes = _mm256_set1_ps(-std::numeric_limits<float>::infinity()), nan = _mm256_setzero_ps();
    std::size_t e = 0;
    for (; e + 16 <= n; e += 16) {
      const __m256 v = _mm256_loadu_ps(run + e), w = _mm256_loadu_ps(run + e + 8);
      lanes = _mm256_max_ps(_mm256_max_ps(lanes, v), w);
      nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, w, _CMP_UNORD_Q));
    }
    if (e < n) {
      const __m256 v = _mm256_loadu_ps(run + e);
      lanes = _mm256_max_ps(lanes, v);
      nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    m[r] = lanes;
    redo |= std::uint32_t(!_mm256_testz_ps(nan, nan)) << r;
  }
  // Runs a and b, 8 lanes each, to 4 lanes each (a in the even lanes); then two such to 2
  // lanes each (runs in lanes 0-3 of each half); then the halves.
  const auto pairs = [](__m256 a, __m256 b) { return _mm256_max_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b)); };
  const auto quads = [](__m256 a, __m256 b) {
    return _mm256_max_ps(_mm256_shuffle_ps(a, b, 0x44), _mm256_shuffle_ps(a, b, 0xee));
  };
  const __m256 low = quads(pairs(m[0], m[1]), pairs(m[2], m[3])), high = quads(pairs(m[4], m[5]), pairs(m[6], m[7]));
  const __m256 maxima = _mm256_max_ps(_mm256_permute2f128_ps(low, high, 0x20), _mm256_permute2f128_ps(low, high, 0x31));
  _mm256_storeu_ps(y, maxima);
  return redo | std::uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(maxima, _mm256_setzero_ps(), _CMP_EQ_OQ)));
}

// dx[0, n) = the gradient g at the first hit of window[0, n) against its maximum m, 0 at
// every other position; n <= 64. The zeros go out in the loop that looks for hits (a loop of
// their own became a call of memset), and the NaN case is a loop of its own rather than a
// test per vector: 1.4x faster at n = 64.
inline void unpool_run_one_hot(const float* window, std::size_t n, float m, float g, float* dx) {
  const auto hits_of = [&](auto hit) {
    std::uint64_t hits = 0;
    std::size_t j = 0;
    for (; j + 8 <= n; j += 8) {
      hits |= std::uint64_t(unsigned(_mm256_movemask_ps(hit(_mm256_loadu_ps(window + j))))) << j;
      _mm256_storeu_ps(dx + j, _mm256_setzero_ps());
    }
    if (j < n) {
      const unsigned tail = unsigned(_mm256_movemask_ps(hit(load_first(window + j, std::int64_t(n - j)))));
      hits |= std::uint64_t(tail & ((1u << (n - j)) - 1)) << j;
      store_first(dx + j, _mm256_setzero_ps(), std::int64_t(n - j));
    }
    return hits;
  };
  const __m256 max = _mm256_set1_ps(m);
  const std::uint64_t hits = m != m ? hits_of([](__m256 v) { return _mm256_cmp_ps(v, v, _CMP_UNORD_Q); })
                                    : hits_of([&](__m256 v) { return _mm256_cmp_ps(v, max, _CMP_EQ_UQ); });
  if (hits) dx[std::countr_zero(hits)] = g;
}
#endif

// The backward of every whole-row window of a plane: its gradient at its first hit, added
// into dx (zeroed by the caller unless every row is a window's: the one-hot runs write every
// position of theirs).
template <class T, class Plane>
void max_unpool_whole_rows(const Plane pl, const T* __restrict x, const T* __restrict y, const T* __restrict g,
                           T* __restrict dx) {
  const std::size_t n = std::size_t(pl.kernel() * pl.width);
  for (std::int64_t p = 0; p < pl.out_height; ++p) {
    const T* window = x + pl.origin(p, 0);
#if defined(__AVX512F__) || defined(__AVX2__)
    if constexpr (std::is_same_v<T, float>)
      if (has_one_hot_unpool<T>(n)) {
        unpool_run_one_hot(window, n, y[p], g[p], dx + pl.origin(p, 0));
        continue;
      }
#endif
    const T m = y[p];
    const std::size_t winner = SimdBlocks::find_first<T>(n, [&]<class L>(L, std::size_t e) {
      const auto v = L::load(window + e);
      if constexpr (L::width == 1) return v == m || v != v;
      else return (v == typename L::vec(m)) | xsimd::isnan(v);
    });
    if (winner < n) dx[pl.origin(p, 0) + std::int64_t(winner)] += g[p];
  }
}

}  // namespace farbound::detail
