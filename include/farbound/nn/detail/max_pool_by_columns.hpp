#pragma once
// Max pooling over windows of a run-time size k that do not overlap (stride k), forward and
// backward by columns: a row of windows is k input rows of the same n = windows * k columns,
// so the work of a window row is done column-wise over whole input rows of up to
// max_pool_column_chunk values, which the compiler vectorises, and only k values per window
// are left for the scalar steps. Walking each window's k^2 values one by one (pool.hpp's
// general loop) chains k^2 dependent steps per output.
//
// `pl` is pool.hpp's plane (extents, kernel(), origin(p, q)). Both give the row-major walk's
// results exactly: the forward's maximum (a zero maximum, whose sign depends on the order,
// is found again by `window_max` in order) and the backward's winner, the first position in
// row-major window order equal to the maximum or NaN.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace farbound::detail {

// Columns per chunk of a window row (and the longest window these functions take).
inline constexpr std::int64_t max_pool_column_chunk = 256;

// A flag or index of the width of T, so that it vectorises beside T.
template <class T>
using MaxPoolLaneInt = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;

// y = the maximum of every window (NaN where it holds one): the maximum and NaN flag of every
// column over the k rows first, then of each window's k columns.
template <class T, class Plane, class WindowMax>
void max_pool_by_columns(const Plane pl, const T* __restrict x, T* __restrict y, WindowMax&& window_max) {
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
