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
// Each lowering also maps the rows' gradient dcol [R, P*Q] back onto the image (the adjoint),
// writing the item's input gradient. dcol = W^T g is taken on g as the layer gives it, P*Q
// columns with no gaps (the gaps would be a third of conv2's columns in LeNet). Im2col adds
// it back by col2im into a zeroed gradient. ShiftedRows gathers instead of scattering, so
// it writes every element once: dx[c, h, w] = sum_{i,j} dcol[(c,i,j), p*Q + q] with
// p = h + pad - i, q = w + pad - j, summed in registers over a vector of w. A vector of q
// crosses the ends of dcol's rows, so each shift j selects its lanes with 0 <= q < Q (a
// mask), and the rows sit in a buffer with room around them for the vectors' overhang.
// (Adding each run at its offset instead reloads, one element further on, the vector just
// stored by the previous run, and misses store-to-load forwarding every time.)
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
  std::int64_t product_columns;  // P*Q rounded up to whole vectors
  std::int64_t grad_pitch;    // W rounded up to whole vectors: a row of the gathered gradient
  std::int64_t grad_margin;   // room between (and around) the rows of dcol

  template <class T>
  static ShiftedRowsLowering make(const ConvItemGeometry& geometry) {
    constexpr std::int64_t W = xsimd::batch<T>::size;
    const auto round_up = [](std::int64_t n) { return (n + W - 1) / W * W; };
    const std::int64_t k = geometry.window.kernel, pad = geometry.window.padding;
    const std::int64_t Hp = geometry.height + 2 * pad, Wp = geometry.width + 2 * pad;
    const std::int64_t L = round_up((geometry.out_height - 1) * Wp + geometry.out_width);
    const std::int64_t pitch = round_up(geometry.width);
    // The gather reads k-1 numbers before a row of dcol and up to pitch + pad after it.
    return {geometry, Hp, Wp, L, round_up(Hp * Wp), round_up(geometry.col_cols()), pitch, std::max(k - 1, pitch + pad)};
  }

  std::int64_t length() const { return rows_length; }
  std::int64_t pitch() const { return padded_width; }
  static constexpr bool output_layout = false;  // gap columns: the product needs a wide buffer
  // Workspace elements per thread for the padded image, with slack for the last row's run.
  std::int64_t input_buffer_numel() const { return g.channels * padded_height * padded_width + plane_length; }
  // Where dcol's rows go in the gradient buffer, which also holds the gathered gradient.
  std::int64_t dcol_offset() const { return grad_margin; }
  // dcol has P*Q columns rounded up to whole vectors: the product W^T g has no ragged tail
  // (the 4 of LeNet's conv2's 100 ran on narrow vectors as slowly as the 32 before them).
  std::int64_t dcol_columns() const { return product_columns; }
  std::int64_t dcol_stride() const { return product_columns + grad_margin; }
  std::int64_t grad_buffer_numel() const { return grad_margin + g.col_rows() * dcol_stride() + g.height * grad_pitch; }
  // Zeros the room around dcol's rows (the gather masks what it reads there, but reads only
  // numbers that were written).
  template <class T>
  void clear_margins(T* grad_buffer) const {
    for (std::int64_t r = 0; r <= g.col_rows(); ++r) std::fill_n(grad_buffer + r * dcol_stride(), grad_margin, T(0));
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

  // dx = adjoint of input_rows applied to the dcol rows in `grad_buffer`: every element of
  // dx is written once, so it needs no zeroing first.
  template <class T>
  void write_input_grad(T* grad_buffer, const std::int64_t*, T* dx) const {
    using V = xsimd::batch<T>;
    constexpr std::int64_t W = V::size;
    const std::int64_t k = g.window.kernel, pad = g.window.padding, P = g.out_height, Q = g.out_width;
    alignas(64) T lane_numbers[W];
    for (std::int64_t l = 0; l < W; ++l) lane_numbers[l] = T(l);
    constexpr std::int64_t max_shifts = 8;
    T* gathered = grad_buffer + grad_margin + g.col_rows() * dcol_stride();  // [H, grad_pitch]
    for (std::int64_t c = 0; c < g.channels; ++c) {
      const T* rows = grad_buffer + grad_margin + c * k * k * dcol_stride();  // row (c, 0, 0)
      for (std::int64_t w = 0; w < grad_pitch; w += W)
        // Up to max_shifts shifts j at a time, their lane masks computed once for all rows.
        for (std::int64_t j0 = 0; j0 < k; j0 += max_shifts) {
          const std::int64_t shifts = std::min(max_shifts, k - j0);
          xsimd::batch_bool<T> inside[max_shifts];
          for (std::int64_t j = 0; j < shifts; ++j) {
            const V q = V::load_aligned(lane_numbers) + V(T(w + pad - j0 - j));
            inside[j] = q >= V(T(0)) && q < V(T(Q));
          }
          for (std::int64_t h = 0; h < g.height; ++h) {
            T* out = gathered + h * grad_pitch + w;
            V sum = j0 == 0 ? V(T(0)) : V::load_unaligned(out);
            // Shifts i with 0 <= p = h + pad - i < P; each sums its shifts j in a chain of
            // its own (one chain over all the terms would wait on the add latency).
            const std::int64_t first_i = std::max<std::int64_t>(0, h + pad - P + 1), last_i = std::min(k, h + pad + 1);
            for (std::int64_t i = first_i; i < last_i; ++i) {
              const T* row = rows + (i * k + j0) * dcol_stride() + (h + pad - i) * Q + w + pad - j0;
              V sum_i = xsimd::select(inside[0], V::load_unaligned(row), V(T(0)));
              for (std::int64_t j = 1; j < shifts; ++j)
                sum_i += xsimd::select(inside[j], V::load_unaligned(row + j * (dcol_stride() - 1)), V(T(0)));
              sum += sum_i;
            }
            sum.store_unaligned(out);
          }
        }
      for (std::int64_t h = 0; h < g.height; ++h) copy_run(gathered + h * grad_pitch, dx + (c * g.height + h) * g.width, g.width);
    }
  }
};

struct Im2colLowering {
  ConvItemGeometry g;

  std::int64_t length() const { return g.col_cols(); }
  std::int64_t pitch() const { return g.out_width; }
  static constexpr bool output_layout = true;  // the product is the output itself
  std::int64_t input_buffer_numel() const { return g.col_rows() * g.col_cols(); }
  std::int64_t dcol_columns() const { return g.col_cols(); }
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
