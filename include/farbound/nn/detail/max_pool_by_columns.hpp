#pragma once
// Max pooling over windows of a run-time size k that do not overlap (stride k), forward and
// backward by columns: a row of windows is k input rows of the same n = windows * k columns,
// so the work of a window row is done column-wise over whole input rows of up to
// max_pool_column_chunk values, which the compiler vectorises, and only k values per window
// are left for the scalar steps. Walking each window's k^2 values one by one (pool.hpp's
// general loop) chains k^2 dependent steps per output.
//
// Floats with AVX-512 (and BMI2) where k is 4, 8 or 16 run on lanes instead: 16 / k windows a
// register, each row's k values reduced within it (max_pool_lanes, max_unpool_lanes); 2.3x
// less time than by columns for 4 x 4 windows over 64 @ 32 x 32 (docs/performance.md, "LeNet's
// narrow pools and run-time windows on lanes").
//
// `pl` is pool.hpp's plane (extents, kernel(), origin(p, q)). All give the row-major walk's
// results exactly: the forward's maximum (a zero maximum, whose sign depends on the order,
// is found again by `window_max` in order by columns) and the backward's winner, the first
// position in row-major window order equal to the maximum or NaN.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#if defined(__AVX512F__) && defined(__BMI2__)
#include <immintrin.h>
#endif

#include "farbound/nn/detail/max_unpool_2x2.hpp"

namespace farbound::detail {

// Columns per chunk of a window row (and the longest window these functions take).
inline constexpr std::int64_t max_pool_column_chunk = 256;

// A flag or index of the width of T, so that it vectorises beside T.
template <class T>
using MaxPoolLaneInt = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;

// Calls f.template operator()<k>() where windows of k columns run on lanes (floats with
// AVX-512 and BMI2, k = 4, 8 or 16) and returns its result; false elsewhere.
template <class T, class F>
bool with_lane_window([[maybe_unused]] std::int64_t k, [[maybe_unused]] F&& f) {
#if defined(__AVX512F__) && defined(__BMI2__)
  if constexpr (std::is_same_v<T, float>) switch (k) {  // (2 x 2 windows have their own kernels)
      case 4: return f.template operator()<4>();
      case 8: return f.template operator()<8>();
      case 16: return f.template operator()<16>();
      default: break;
    }
#endif
  return false;
}

// Bits 0, k, 2k, ... of a 16-bit lane mask: each window's first lane.
template <int k>
inline constexpr unsigned lane_window_starts = 0xFFFFu / ((1u << k) - 1);

// The lanes' kernels, defined for AVX-512 with BMI2 only; elsewhere with_lane_window never
// instantiates them.
template <int k, class Plane>
void max_pool_lanes(const Plane pl, const float* __restrict x, float* __restrict y);
template <int k, class Plane>
void max_unpool_lanes(const Plane pl, const float* __restrict x, const float* __restrict y, const float* __restrict g,
                      float* __restrict dx);

#if defined(__AVX512F__) && defined(__BMI2__)
// The forward on lanes: each row's k values reduced within the register (log2 k steps of a
// swap and vmaxps: the right half only if greater, so each window's first lane holds the
// row's first maximum), then the rows in order with the same rule: the row-major walk's
// element, zeros included, without walking them again. A register's NaN lanes are tracked on
// the side; pext picks one bit per window.
template <int k, class Plane>
void max_pool_lanes(const Plane pl, const float* __restrict x, float* __restrict y) {
  constexpr int per_register = 16 / k;
  alignas(64) std::int32_t first_lane[16];  // of each window in turn
  for (int w = 0; w < 16; ++w) first_lane[w] = w * k % 16;
  const __m512i firsts = _mm512_load_si512(first_lane);
  const auto row_max = [](__m512 v) {
    v = _mm512_max_ps(_mm512_permute_ps(v, 0xB1), v);
    if constexpr (k >= 4) v = _mm512_max_ps(_mm512_permute_ps(v, 0x4E), v);
    if constexpr (k >= 8) v = _mm512_max_ps(_mm512_shuffle_f32x4(v, v, 0xB1), v);
    if constexpr (k >= 16) v = _mm512_max_ps(_mm512_shuffle_f32x4(v, v, 0x4E), v);
    return v;
  };
  for (std::int64_t p = 0; p < pl.out_height; ++p)
    for (std::int64_t q = 0; q < pl.out_width; q += per_register) {
      const std::int64_t windows = std::min<std::int64_t>(per_register, pl.out_width - q);
      const __mmask16 lanes = __mmask16((1u << (windows * k)) - 1);
      const float* top = x + pl.origin(p, q);
      __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
      unsigned nan = 0;
      for (std::int64_t i = 0; i < k; ++i) {
        const __m512 v = _mm512_maskz_loadu_ps(lanes, top + i * pl.width);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        m = _mm512_max_ps(row_max(v), m);
      }
      unsigned any_nan = nan;  // per window: any of its k lanes
      for (int shift = 1; shift < k; shift *= 2) any_nan |= any_nan >> shift;
      const __mmask16 nan_windows = __mmask16(_pext_u32(any_nan, lane_window_starts<k>));
      const __m512 packed = _mm512_mask_mov_ps(_mm512_permutexvar_ps(firsts, m), nan_windows,
                                               _mm512_set1_ps(std::numeric_limits<float>::quiet_NaN()));
      _mm512_mask_storeu_ps(y + p * pl.out_width + q, __mmask16((1u << windows) - 1), packed);
    }
}
#endif

// y = the maximum of every window (NaN where it holds one): the maximum and NaN flag of every
// column over the k rows first, then of each window's k columns.
template <class T, class Plane, class WindowMax>
void max_pool_by_columns(const Plane pl, const T* __restrict x, T* __restrict y, WindowMax&& window_max) {
  if (with_lane_window<T>(pl.kernel(), [&]<int k>() {
        max_pool_lanes<k>(pl, x, y);
        return true;
      }))
    return;
  using Flag = MaxPoolLaneInt<T>;
  const std::int64_t k = pl.kernel(), windows_per_chunk = max_pool_column_chunk / k;
  T column_max[max_pool_column_chunk];
  Flag column_nan[max_pool_column_chunk];
  for (std::int64_t p = 0; p < pl.out_height; ++p)
    for (std::int64_t q0 = 0; q0 < pl.out_width; q0 += windows_per_chunk) {
      const std::int64_t windows = std::min(windows_per_chunk, pl.out_width - q0), n = windows * k;
      const T* top = x + pl.origin(p, q0);
      for (std::int64_t w = 0; w < n; ++w) {
        column_max[w] = top[w];
        column_nan[w] = -Flag(top[w] != top[w]);
      }
      for (std::int64_t i = 1; i < k; ++i) {
        const T* row = top + i * pl.width;
        for (std::int64_t w = 0; w < n; ++w) {
          const T v = row[w];
          column_max[w] = v > column_max[w] ? v : column_max[w];
          column_nan[w] |= -Flag(v != v);
        }
      }
      for (std::int64_t q = 0; q < windows; ++q) {
        T m = -std::numeric_limits<T>::infinity();
        Flag nan = 0;
        for (std::int64_t j = q * k; j < (q + 1) * k; ++j) {
          m = column_max[j] > m ? column_max[j] : m;
          nan |= column_nan[j];
        }
        T& out = y[p * pl.out_width + q0 + q];
        out = nan ? std::numeric_limits<T>::quiet_NaN() : m;
        if (m == T(0) && !nan) out = window_max(top + q * k);
      }
    }
}

// Whether max_unpool_by_columns writes every input of an H x W plane (g or 0), so that dx
// need not be zeroed first: on lanes (below), where the windows tile the plane.
template <class T>
bool max_unpool_by_columns_writes_all(std::int64_t k, std::int64_t H, std::int64_t W) {
  return with_lane_window<T>(k, [&]<int>() { return H % k == 0 && W % k == 0; });
}

#if defined(__AVX512F__) && defined(__BMI2__)
// The backward on lanes, for the forward's k: each window's y and g copied to its k lanes by
// a permutation; in each row a lane wins where it hits (equals y or is NaN), no lane before it
// in the window's part of the row hit, and no earlier row of the window hit. Those "before"
// are 16-bit masks shifted within each window's k bits. Every input position of a window is
// written, g or 0.
template <int k, class Plane>
void max_unpool_lanes(const Plane pl, const float* __restrict x, const float* __restrict y, const float* __restrict g,
                      float* __restrict dx) {
  constexpr int per_register = 16 / k;
  // Bits whose position within their window is at least s: where a left shift by s stays inside.
  constexpr auto inside = [](int s) {
    unsigned m = 0;
    for (int b = 0; b < 16; ++b) m |= unsigned(b % k >= s) << b;
    return m;
  };
  constexpr unsigned window_ends = lane_window_starts<k> << (k - 1);  // each window's last bit
  // Each window's bits at or after its first set one.
  const auto at_or_after = [&](unsigned m) {
    for (int s = 1; s < k; s *= 2) m |= (m << s) & inside(s);
    return m;
  };
  // All of a window's bits where its last is set.
  const auto whole_window = [](unsigned ends) {
    for (int s = 1; s < k; s *= 2) ends |= ends >> s;
    return ends;
  };
  alignas(64) std::int32_t window_of_lane[16];
  for (int l = 0; l < 16; ++l) window_of_lane[l] = l / k;
  const __m512i spread = _mm512_load_si512(window_of_lane);
  for (std::int64_t p = 0; p < pl.out_height; ++p)
    for (std::int64_t q = 0; q < pl.out_width; q += per_register) {
      const std::int64_t windows = std::min<std::int64_t>(per_register, pl.out_width - q), out = p * pl.out_width + q;
      const __mmask16 lanes = __mmask16((1u << (windows * k)) - 1), outputs = __mmask16((1u << windows) - 1);
      const __m512 ys = _mm512_permutexvar_ps(spread, _mm512_maskz_loadu_ps(outputs, y + out));
      const __m512 gs = _mm512_permutexvar_ps(spread, _mm512_maskz_loadu_ps(outputs, g + out));
      const std::int64_t origin = pl.origin(p, q);
      unsigned taken = 0;  // windows with a hit in an earlier row
      for (std::int64_t i = 0; i < k; ++i) {
        const __m512 v = _mm512_maskz_loadu_ps(lanes, x + origin + i * pl.width);
        const unsigned hit = max_pool_hits(v, ys), hit_or_after = at_or_after(hit);
        const unsigned wins = hit & ~((hit_or_after << 1) & inside(1)) & ~taken;
        taken |= whole_window(hit_or_after & window_ends);
        _mm512_mask_storeu_ps(dx + origin + i * pl.width, lanes, _mm512_maskz_mov_ps(__mmask16(wins), gs));
      }
    }
}
#endif

// dx[winner] += g for every window. Per column, the first of the k rows that hits (equals
// its window's maximum or is NaN) is kept by a select over whole rows, top row first (in
// the order of the addresses: bottom-up, the loads waited on memory and the whole pass took
// 1.5x as long); then each window's winner is the hit with the smallest (row, column), which
// is row-major order. Each window's maximum is first copied out to each of its k columns;
// the vector loads of those copies wait until the small stores are done, so where a row of
// windows is short (8 windows of 4 at 32 x 32) several rows go in one chunk and the wait
// comes once per chunk, not once per row (which took 1.5x as long again). Against the
// window-by-window walk, 2.9x less time for 4 x 4 windows over 64 @ 32x32 (docs/performance.md).
template <class T, class Plane>
void max_unpool_by_columns(const Plane pl, const T* __restrict x, const T* __restrict y, const T* __restrict g,
                           T* __restrict dx) {
  if (with_lane_window<T>(pl.kernel(), [&]<int k>() {
        max_unpool_lanes<k>(pl, x, y, g, dx);
        return true;
      }))
    return;
  using Index = MaxPoolLaneInt<T>;
  const std::int64_t k = pl.kernel(), windows_per_chunk = max_pool_column_chunk / k;
  T window_of_column[max_pool_column_chunk];  // the maximum each column is compared with
  Index first_row[max_pool_column_chunk];     // the first row that hits, k for none
  for (std::int64_t q0 = 0; q0 < pl.out_width; q0 += windows_per_chunk) {
    const std::int64_t windows = std::min(windows_per_chunk, pl.out_width - q0), n = windows * k;
    const std::int64_t rows_per_chunk = max_pool_column_chunk / n;
    for (std::int64_t p0 = 0; p0 < pl.out_height; p0 += rows_per_chunk) {
      const std::int64_t rows = std::min(rows_per_chunk, pl.out_height - p0);
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t q = 0; q < windows; ++q)
          std::fill_n(window_of_column + r * n + q * k, k, y[(p0 + r) * pl.out_width + q0 + q]);
      std::fill_n(first_row, rows * n, Index(k));
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* top = x + pl.origin(p0 + r, q0);
        const T* maxima = window_of_column + r * n;
        Index* first = first_row + r * n;
        for (std::int64_t i = 0; i < k; ++i) {
          const T* row = top + i * pl.width;
          for (std::int64_t w = 0; w < n; ++w) {
            const T v = row[w];
            first[w] = ((v == maxima[w]) | (v != v)) & (first[w] == Index(k)) ? Index(i) : first[w];
          }
        }
      }
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t q = 0; q < windows; ++q) {
          std::int64_t winner = k * k;  // i * k + j of the first hit
          for (std::int64_t j = 0; j < k; ++j)
            winner = std::min(winner, std::int64_t(first_row[r * n + q * k + j]) * k + j);
          const std::int64_t out = (p0 + r) * pl.out_width + q0 + q;
          if (winner < k * k) dx[pl.origin(p0 + r, q0 + q) + (winner / k) * pl.width + winner % k] += g[out];
        }
    }
  }
}

}  // namespace farbound::detail
