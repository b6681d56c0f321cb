#pragma once
// A stride-1 convolution of a whole batch as three packed GEMMs whose operands are never
// materialised ("implicit im2col"): the packers of packed_gemm.hpp read the image windows
// straight from the input.
//
// With x [N, C, H, W], W [O, C, k, k] and y [N, O, P, Q] (P = H + 2*pad - k + 1), number
// the weight positions r = (c, i, j) (R = C*k*k of them) and the output positions of the
// whole batch f = (n, p, q) (N*P*Q of them). Then with X(r, f) = x[n, c, p+i-pad, q+j-pad]
// (zero outside the image) and g = dL/dy:
//   y(o, f)      = b[o] + sum_r W[o, r] X(r, f)      M = O, N = N*P*Q, K = R
//   dL/dW[o, r] += sum_f g(o, f) X(r, f)             M = O, N = R,     K = N*P*Q
//   dL/dx        = the same convolution applied to g with the weights W'[c, (o, i, j)] =
//                  W[o, c, k-1-i, k-1-j] and padding k-1-pad (the adjoint of a stride-1
//                  convolution is a full convolution with the flipped kernel); M = C.
// Each product sees the whole batch along N or K, so even a 4x4 image with 512 channels
// gives the micro-kernel long panels, where one image at a time gives it 16 columns
// (Conv2d::lowers_whole_batch says where that pays).
// y(o, f) is element y[n, o, p, q]: C runs along pq inside an item (ItemC).
#include <algorithm>
#include <cstdint>

#include "farbound/nn/detail/packed_gemm.hpp"

namespace farbound::detail {

// The batch, its channels and the window: everything X(r, f) needs.
struct BatchConvGeometry {
  std::int64_t items, channels, height, width, kernel, padding, out_height, out_width;

  bool operator==(const BatchConvGeometry&) const = default;

  std::int64_t rows() const { return channels * kernel * kernel; }
  std::int64_t positions() const { return out_height * out_width; }
  std::int64_t columns() const { return items * positions(); }
};

// Walks the output positions f in [f0, f0 + count) as runs within one output row:
// visit(offset, n, p, q, length) for each run, offset = f - f0 of its first position.
template <class Visit>
void for_each_output_run(const BatchConvGeometry& g, std::int64_t f0, std::int64_t count, Visit&& visit) {
  std::int64_t n = f0 / g.positions(), pq = f0 % g.positions();
  std::int64_t p = pq / g.out_width, q = pq % g.out_width;
  for (std::int64_t offset = 0; offset < count;) {
    const std::int64_t length = std::min(g.out_width - q, count - offset);
    visit(offset, n, p, q, length);
    offset += length;
    q = 0;
    if (++p == g.out_height) p = 0, ++n;
  }
}

// dst[e * step] = X(r, f0 + offset + e) for the e of one run: the image row the window
// position r reads for output row (n, p), columns q .. q + length - 1.
template <class T>
void gather_window_run(const BatchConvGeometry& g, const T* x, std::int64_t r, std::int64_t n, std::int64_t p,
                       std::int64_t q, std::int64_t length, T* dst, std::int64_t step) {
  const std::int64_t kk = g.kernel * g.kernel, c = r / kk, i = r % kk / g.kernel, j = r % g.kernel;
  const std::int64_t ih = p + i - g.padding;
  if (ih < 0 || ih >= g.height) {
    for (std::int64_t e = 0; e < length; ++e) dst[e * step] = T(0);
    return;
  }
  const T* row = x + ((n * g.channels + c) * g.height + ih) * g.width;
  const std::int64_t w0 = q + j - g.padding;  // image column of the run's first element
  for (std::int64_t e = 0; e < length; ++e) {
    const std::int64_t iw = w0 + e;
    dst[e * step] = iw >= 0 && iw < g.width ? row[iw] : T(0);
  }
}

// B(r, f) = X(r, f): the forward product's (and the input gradient's) second operand.
template <class T>
struct ImplicitIm2col {
  BatchConvGeometry g;
  const T* x;
};

template <class T>
void pack_b(const ImplicitIm2col<T>& B, std::int64_t k0, std::int64_t kc, std::int64_t n0, int cols, T* dst) {
  constexpr std::int64_t NR = gemm_impl::packed_cols<T>;
  for (std::int64_t k = 0; k < kc; ++k) {
    T* d = dst + k * NR;
    for_each_output_run(B.g, n0, cols, [&](std::int64_t offset, std::int64_t n, std::int64_t p, std::int64_t q,
                                           std::int64_t length) {
      gather_window_run(B.g, B.x, k0 + k, n, p, q, length, d + offset, 1);
    });
    std::fill(d + cols, d + NR, T(0));
  }
}

// B(f, r) = X(r, f): the weight gradient's second operand.
template <class T>
struct ImplicitIm2colTransposed {
  BatchConvGeometry g;
  const T* x;
};

template <class T>
void pack_b(const ImplicitIm2colTransposed<T>& B, std::int64_t k0, std::int64_t kc, std::int64_t n0, int cols,
            T* dst) {
  constexpr std::int64_t NR = gemm_impl::packed_cols<T>;
  for (std::int64_t j = 0; j < NR; ++j) {
    if (j >= cols) {
      for (std::int64_t k = 0; k < kc; ++k) dst[k * NR + j] = T(0);
      continue;
    }
    for_each_output_run(B.g, k0, kc, [&](std::int64_t offset, std::int64_t n, std::int64_t p, std::int64_t q,
                                         std::int64_t length) {
      gather_window_run(B.g, B.x, n0 + j, n, p, q, length, dst + offset * NR + j, NR);
    });
  }
}

// A tensor [N, M, P, Q] seen as the matrix (m, f = (n, p, q)): g for the weight gradient
// (as A) and y or dL/dx (as C).
template <class T>
struct ItemMatrix {
  T* data;
  std::int64_t rows, positions;  // M and P*Q

  T* at(std::int64_t m, std::int64_t f) const {
    return data + (f / positions * rows + m) * positions + f % positions;
  }
  std::int64_t row_stride() const { return positions; }
  // Whether columns [f, f + count) sit in one item, i.e. are contiguous in memory.
  bool contiguous(std::int64_t f, std::int64_t count) const { return f % positions + count <= positions; }
};

template <class T>
void pack_a(const ItemMatrix<const T>& A, std::int64_t m0, int rows, std::int64_t k0, std::int64_t kc, T* dst) {
  constexpr int MR = gemm_impl::packed_rows;
  for (int i = 0; i < MR; ++i) {
    if (i >= rows) {
      for (std::int64_t k = 0; k < kc; ++k) dst[k * MR + i] = T(0);
      continue;
    }
    // Runs of f inside one item are contiguous along pq.
    for (std::int64_t k = 0; k < kc;) {
      const std::int64_t f = k0 + k, length = std::min(kc - k, A.positions - f % A.positions);
      const T* src = A.at(m0 + i, f);
      for (std::int64_t e = 0; e < length; ++e) dst[(k + e) * MR + i] = src[e];
      k += length;
    }
  }
}

// flipped[c, (o, i, j)] = weight[o, c, k-1-i, k-1-j] for k*k = kk: the kernel of the adjoint
// convolution (the batch lowering's input gradient).
template <class T>
void flip_kernels(const T* weight, std::int64_t O, std::int64_t C, std::int64_t kk, T* flipped) {
  for (std::int64_t o = 0; o < O; ++o)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t t = 0; t < kk; ++t) flipped[c * O * kk + o * kk + t] = weight[(o * C + c) * kk + kk - 1 - t];
}

}  // namespace farbound::detail
