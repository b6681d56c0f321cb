#pragma once
// How one [C, H, W] item of a convolution becomes matrix products.
//
// Both lowerings present the input as R = C*k*k rows of length L, row r = (c, i, j) holding
// what weight position (c, i, j) multiplies at every output position, so that
//   y[o, :] = sum_r W[o, r] row_r[:]     (gemm)
// with the outputs laid out as P rows of `pitch` columns, of which the first Q are real.
//
// ShiftedRows (stride 1): with the image zero-padded to [C, Hp, Wp] (Hp = H + 2*pad), output
// (p, q) reads xpad[c, p + i, q + j] = xpad[off_r + p*Wp + q], off_r = c*Hp*Wp + i*Wp + j.
// Numbering outputs f = p*Wp + q, row r is the contiguous run xpad[off_r + f]: the product
// reads the image in place (OffsetRows) and no im2col matrix (k*k copies of the image) is
// made. The price is Wp - Q "gap" columns per output row, computed and dropped in the
// forward pass and fed zeros in the backward pass: (Wp - Q) / Wp extra work, 12% for LeNet's
// first layer. The rows run to L = (P-1)*Wp + Q rounded up to whole SIMD vectors, so neither
// product has a ragged tail; the image is copied into a zeroed buffer with that much slack
// at the end (C*Hp*Wp + slack numbers, small next to the products).
//
// Im2col (any stride): the rows are the im2col matrix (detail/im2col.hpp), L = P*Q, pitch Q,
// already the output layout.
//
// Each lowering also adds the rows' gradient dcol [R, L] back onto the image (the adjoint):
// ShiftedRows by adding each run at its offset, Im2col by col2im.
#include <algorithm>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "farbound/nn/detail/gemm.hpp"
#include "farbound/nn/detail/im2col.hpp"

namespace farbound::detail {

struct ShiftedRowsLowering {
  ConvItemGeometry g;
  std::int64_t padded_height, padded_width, rows_length;

  template <class T>
  static ShiftedRowsLowering make(const ConvItemGeometry& geometry) {
    constexpr std::int64_t W = xsimd::batch<T>::size;
    const std::int64_t pad = geometry.window.padding, padded_width = geometry.width + 2 * pad;
    const std::int64_t L = (geometry.out_height - 1) * padded_width + geometry.out_width;
    return {geometry, geometry.height + 2 * pad, padded_width, (L + W - 1) / W * W};
  }

  std::int64_t length() const { return rows_length; }
  std::int64_t pitch() const { return padded_width; }
  static constexpr bool output_layout = false;  // gap columns: the product needs a wide buffer
  // Workspace elements per thread for the padded image (and for its gradient).
  std::int64_t input_buffer_numel() const {
    return g.channels * padded_height * padded_width + rows_length - ((g.out_height - 1) * padded_width + g.out_width);
  }
  std::int64_t grad_buffer_numel() const { return input_buffer_numel(); }

  // off_r for every row r = (c, i, j).
  void make_offsets(std::int64_t* offsets) const {
    const std::int64_t k = g.window.kernel;
    for (std::int64_t c = 0; c < g.channels; ++c)
      for (std::int64_t i = 0; i < k; ++i)
        for (std::int64_t j = 0; j < k; ++j)
          offsets[(c * k + i) * k + j] = (c * padded_height + i) * padded_width + j;
  }

  // The rows for item x: its zero-padded copy in `buffer`.
  template <class T>
  OffsetRows<T> input_rows(const T* x, T* buffer, const std::int64_t* offsets) const {
    std::fill_n(buffer, input_buffer_numel(), T(0));
    for (std::int64_t c = 0; c < g.channels; ++c)
      for (std::int64_t h = 0; h < g.height; ++h) copy_run(x + (c * g.height + h) * g.width, interior(buffer, c, h), g.width);
    return {buffer, offsets};
  }

  // dx += adjoint of input_rows applied to dcol [R, L], through the padded `buffer`.
  template <class T>
  void add_input_grad(const T* dcol, const std::int64_t* offsets, T* dx, T* buffer) const {
    std::fill_n(buffer, grad_buffer_numel(), T(0));
    for (std::int64_t r = 0; r < g.col_rows(); ++r) add_run(dcol + r * rows_length, buffer + offsets[r], rows_length);
    for (std::int64_t c = 0; c < g.channels; ++c)
      for (std::int64_t h = 0; h < g.height; ++h) add_run(interior(buffer, c, h), dx + (c * g.height + h) * g.width, g.width);
  }

 private:
  // Start of image row (c, h) inside the padded buffer.
  template <class T>
  T* interior(T* buffer, std::int64_t c, std::int64_t h) const {
    return buffer + (c * padded_height + h + g.window.padding) * padded_width + g.window.padding;
  }
};

struct Im2colLowering {
  ConvItemGeometry g;

  std::int64_t length() const { return g.col_cols(); }
  std::int64_t pitch() const { return g.out_width; }
  static constexpr bool output_layout = true;  // the product is the output itself
  std::int64_t input_buffer_numel() const { return g.col_rows() * g.col_cols(); }
  std::int64_t grad_buffer_numel() const { return 0; }
  void make_offsets(std::int64_t*) const {}

  template <class T>
  StridedRows<T> input_rows(const T* x, T* buffer, const std::int64_t*) const {
    im2col(g, x, buffer);
    return {buffer, length()};
  }

  template <class T>
  void add_input_grad(const T* dcol, const std::int64_t*, T* dx, T*) const {
    col2im_add(g, dcol, dx);
  }
};

}  // namespace farbound::detail
