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
// Each lowering also maps the rows' gradient dcol [R, L] back onto the image (the adjoint),
// writing the item's input gradient. Im2col does it by col2im into a zeroed gradient.
// ShiftedRows gathers instead of scattering, so it writes every element once: for each
// padded image position t, dxpad[c, t] = sum_{i,j} dcol[(c,i,j), t - i*Wp - j], summed in
// registers.
// (Adding each run at its offset instead reloads, one element further on, the vector just
// stored by the previous run, and misses store-to-load forwarding every time.) Its dcol rows
// therefore sit in a buffer with zero margins around them: (k-1)*Wp + k-1 before each row
// and enough after it for the last vector of the padded plane.
#include <algorithm>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "farbound/nn/detail/gemm.hpp"
#include "farbound/nn/detail/im2col.hpp"

namespace farbound::detail {

struct ShiftedRowsLowering {
  ConvItemGeometry g;
  std::int64_t padded_height, padded_width;
  std::int64_t rows_length;   // L rounded up to whole vectors
  std::int64_t plane_length;  // Hp*Wp rounded up to whole vectors
  std::int64_t margin;        // zeros between (and around) the rows of dcol

  template <class T>
  static ShiftedRowsLowering make(const ConvItemGeometry& geometry) {
    constexpr std::int64_t W = xsimd::batch<T>::size;
    const auto round_up = [](std::int64_t n) { return (n + W - 1) / W * W; };
    const std::int64_t k = geometry.window.kernel, pad = geometry.window.padding;
    const std::int64_t Hp = geometry.height + 2 * pad, Wp = geometry.width + 2 * pad;
    const std::int64_t L = round_up((geometry.out_height - 1) * Wp + geometry.out_width);
    const std::int64_t plane = round_up(Hp * Wp);
    return {geometry, Hp, Wp, L, plane, std::max((k - 1) * Wp + k - 1, plane - L)};
  }

  std::int64_t length() const { return rows_length; }
  std::int64_t pitch() const { return padded_width; }
  static constexpr bool output_layout = false;  // gap columns: the product needs a wide buffer
  // Workspace elements per thread for the padded image, with slack for the last row's run.
  std::int64_t input_buffer_numel() const { return g.channels * padded_height * padded_width + plane_length; }
  // Where dcol's rows go in the gradient buffer, which also holds one padded plane.
  std::int64_t dcol_offset() const { return margin; }
  std::int64_t dcol_stride() const { return rows_length + margin; }
  std::int64_t grad_buffer_numel() const { return margin + g.col_rows() * dcol_stride() + plane_length; }
  // Zeros the margins of a gradient buffer; the rows and the plane are written before use.
  template <class T>
  void clear_margins(T* grad_buffer) const {
    for (std::int64_t r = 0; r <= g.col_rows(); ++r) std::fill_n(grad_buffer + r * dcol_stride(), margin, T(0));
  }

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
    const std::int64_t pad = g.window.padding, image = g.channels * padded_height * padded_width;
    // Without padding the copy covers the image: only the slack after it needs zeros.
    std::fill(buffer + (pad == 0 ? image : 0), buffer + input_buffer_numel(), T(0));
    for (std::int64_t c = 0; c < g.channels; ++c)
      for (std::int64_t h = 0; h < g.height; ++h)
        copy_run(x + (c * g.height + h) * g.width, buffer + (c * padded_height + h + pad) * padded_width + pad, g.width);
    return {buffer, offsets};
  }

  // dx = adjoint of input_rows applied to the dcol rows in `grad_buffer` (margins zero):
  // every element of dx is written once, so it needs no zeroing first.
  template <class T>
  void write_input_grad(T* grad_buffer, const std::int64_t*, T* dx) const {
    using V = xsimd::batch<T>;
    const std::int64_t k = g.window.kernel, pad = g.window.padding;
    T* plane = grad_buffer + margin + g.col_rows() * dcol_stride();
    for (std::int64_t c = 0; c < g.channels; ++c) {
      const T* rows = grad_buffer + margin + c * k * k * dcol_stride();  // row (c, 0, 0)
      // Four vectors of t at a time: four independent chains of adds instead of one.
      const auto gather = [&]<int NV>(std::int64_t t) {
        V sum[NV];
        for (int v = 0; v < NV; ++v) sum[v] = V(T(0));
        for (std::int64_t i = 0; i < k; ++i)
          for (std::int64_t j = 0; j < k; ++j) {
            const T* row = rows + (i * k + j) * dcol_stride() + (t - i * padded_width - j);
            for (int v = 0; v < NV; ++v) sum[v] += V::load_unaligned(row + v * std::int64_t(V::size));
          }
        for (int v = 0; v < NV; ++v) sum[v].store_unaligned(plane + t + v * std::int64_t(V::size));
      };
      constexpr std::int64_t W = V::size;
      std::int64_t t = 0;
      for (; t + 4 * W <= plane_length; t += 4 * W) gather.template operator()<4>(t);
      for (; t < plane_length; t += W) gather.template operator()<1>(t);
      for (std::int64_t h = 0; h < g.height; ++h)
        copy_run(plane + (h + pad) * padded_width + pad, dx + (c * g.height + h) * g.width, g.width);
    }
  }
};

struct Im2colLowering {
  ConvItemGeometry g;

  std::int64_t length() const { return g.col_cols(); }
  std::int64_t pitch() const { return g.out_width; }
  static constexpr bool output_layout = true;  // the product is the output itself
  std::int64_t input_buffer_numel() const { return g.col_rows() * g.col_cols(); }
  std::int64_t dcol_offset() const { return 0; }
  std::int64_t dcol_stride() const { return length(); }
  std::int64_t grad_buffer_numel() const { return g.col_rows() * g.col_cols(); }
  template <class T>
  void clear_margins(T*) const {}
  void make_offsets(std::int64_t*) const {}

  template <class T>
  StridedRows<T> input_rows(const T* x, T* buffer, const std::int64_t*) const {
    im2col(g, x, buffer);
    return {buffer, length()};
  }

  // dx = col2im of the dcol rows (overlapping windows add up, so dx starts at zero).
  template <class T>
  void write_input_grad(T* grad_buffer, const std::int64_t*, T* dx) const {
    std::fill_n(dx, g.item_numel(), T(0));
    col2im_add(g, grad_buffer, dx);
  }
};

}  // namespace farbound::detail
