#pragma once
// im2col and its adjoint col2im for one [C, H, W] item of a square-window convolution.
//
// The column matrix has one row per weight position r = (c, i, j) (c*k*k + i*k + j, the
// layout of a [out, C, k, k] weight) and one column per output position (p, q):
//   col[r, p*Q + q] = x[c, p*s - pad + i, q*s - pad + j]   (0 outside the image)
// so the convolution is the matrix product  y[o, :] = sum_r W[o, r] col[r, :].
// col2im adds a column-matrix gradient back onto the image: the transpose of im2col.
#include <algorithm>
#include <cstdint>

#include "farbound/detail/lanes.hpp"
#include "farbound/nn/detail/window.hpp"

namespace farbound::detail {

// dst[e] = src[e], dst[e] = src[e] + value and dst[e] += src[e] for e in [0, n): the short
// runs (a few dozen elements) of image rows, as inline vectors rather than calls to memcpy.
template <class T>
void copy_run(const T* src, T* dst, std::int64_t n) {
  SimdBlocks::for_each<T>(std::size_t(n), [&](auto lanes, std::size_t e) { lanes.store(lanes.load(src + e), dst + e); });
}
template <class T>
void copy_run_plus(const T* src, T value, T* dst, std::int64_t n) {
  SimdBlocks::for_each<T>(std::size_t(n), [&]<class L>(L lanes, std::size_t e) {
    lanes.store(lanes.load(src + e) + typename L::vec(value), dst + e);
  });
}
template <class T>
void add_run(const T* src, T* dst, std::int64_t n) {
  SimdBlocks::for_each<T>(std::size_t(n),
                          [&](auto lanes, std::size_t e) { lanes.store(lanes.load(dst + e) + lanes.load(src + e), dst + e); });
}

// One item's convolution geometry.
struct ConvItemGeometry {
  WindowGeometry window;
  std::int64_t channels = 0, height = 0, width = 0, out_height = 0, out_width = 0;

  std::int64_t col_rows() const { return channels * window.kernel * window.kernel; }
  std::int64_t col_cols() const { return out_height * out_width; }
  std::int64_t item_numel() const { return channels * height * width; }
};

// Visits every output row of every column-matrix row: inside(col_offset, image_offset,
// cols) when output row p reads an image row, where col_offset is the index of col[r, p*Q]
// and image_offset + q*stride is the index of the image element read by output column q
// (valid for q in cols); outside(col_offset) when the output row reads only padding.
template <class Inside, class Outside>
void for_each_window_row(const ConvItemGeometry& g, Inside inside, Outside outside) {
  const WindowGeometry& w = g.window;
  const std::int64_t k = w.kernel, P = g.out_height, Q = g.out_width;
  for (std::int64_t c = 0; c < g.channels; ++c)
    for (std::int64_t i = 0; i < k; ++i) {
      const auto rows = w.valid_outputs(P, g.height, i);
      for (std::int64_t j = 0; j < k; ++j) {
        const std::int64_t r = (c * k + i) * k + j;
        const auto cols = w.valid_outputs(Q, g.width, j);
        for (std::int64_t p = 0; p < P; ++p) {
          const std::int64_t col_offset = (r * P + p) * Q;
          if (p < rows.first || p >= rows.last) {
            outside(col_offset);
            continue;
          }
          const std::int64_t ih = p * w.stride - w.padding + i;
          inside(col_offset, (c * g.height + ih) * g.width + j - w.padding, cols);
        }
      }
    }
}

// col = im2col(x); x is [C, H, W], col is [C*k*k, P*Q].
template <class T>
void im2col(const ConvItemGeometry& g, const T* x, T* col) {
  const std::int64_t Q = g.out_width, s = g.window.stride;
  for_each_window_row(
      g,
      [&](std::int64_t co, std::int64_t xo, WindowGeometry::Range cols) {
        T* dst = col + co;
        std::fill(dst, dst + cols.first, T(0));
        if (s == 1)
          copy_run(x + (xo + cols.first), dst + cols.first, cols.last - cols.first);
        else
          for (std::int64_t q = cols.first; q < cols.last; ++q) dst[q] = x[xo + q * s];
        std::fill(dst + cols.last, dst + Q, T(0));
      },
      [&](std::int64_t co) { std::fill(col + co, col + co + Q, T(0)); });
}

// x += col2im(col): the adjoint of im2col, accumulated onto x.
template <class T>
void col2im_add(const ConvItemGeometry& g, const T* col, T* x) {
  const std::int64_t s = g.window.stride;
  for_each_window_row(
      g,
      [&](std::int64_t co, std::int64_t xo, WindowGeometry::Range cols) {
        if (s == 1)
          add_run(col + (co + cols.first), x + (xo + cols.first), cols.last - cols.first);
        else
          for (std::int64_t q = cols.first; q < cols.last; ++q) x[xo + q * s] += col[co + q];
      },
      [](std::int64_t) {});
}

}  // namespace farbound::detail
