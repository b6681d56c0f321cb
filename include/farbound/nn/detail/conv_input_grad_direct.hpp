#pragma once
// The input gradient of a stride-1 convolution with few output channels (LeNet's first
// layer: 1 -> 6, 5 x 5), one item at a time, as a direct correlation with lanes over the
// image's columns:
//   dx[c, h, w] = sum_{o, i, j} W[o, c, i, j] gpad[o, h + k-1-i, w + k-1-j]
// where gpad is the output gradient g with a = k-1-pad zeros around it (the adjoint
// convolution's padding).
//
// The shifted-rows lowering (conv_lowering.hpp) runs this as a product dcol = W^T g of
// depth O, then sums k*k shifted rows of dcol into each input row. At O = 6 each number of
// dcol is six fmas between its load and store, and the sum reads k*k rows per image row
// again: conv1's input gradient took 7.6-7.7 us per image on one Zen 3 core. Here a register
// tile is R image rows by NV vectors of columns, and for every (o, i, j) one weight is
// broadcast and each accumulator takes one fma with a load of gpad: one pass, no
// intermediate rows.
//
// Each input-gradient number is one fma chain over (o, i, j) in order, from zero: the bits
// depend on the shapes only, never on the thread count.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/gemm_kernel.hpp"
#include "farbound/nn/detail/im2col.hpp"

namespace farbound::detail {

// The geometry of one item's padded gradient and input gradient (stride 1, padding <= k-1).
template <class T>
struct DirectInputGradGeometry {
  static constexpr std::int64_t lanes = xsimd::batch<T>::size;
  std::int64_t kernel, padding, out_channels, in_channels, height, width;  // k, pad, O, C, H, W
  bool operator==(const DirectInputGradGeometry&) const = default;

  // The output gradient's extent (stride 1) and its zeros around it in gpad.
  std::int64_t out_height() const { return height + 2 * padding - kernel + 1; }
  std::int64_t out_width() const { return width + 2 * padding - kernel + 1; }
  std::int64_t adjoint_padding() const { return kernel - 1 - padding; }

  // dx's rows computed whole vectors wide, and gpad's rows wide enough for them.
  std::int64_t vector_width() const { return (width + lanes - 1) / lanes * lanes; }
  std::int64_t padded_height() const { return height + kernel - 1; }
  std::int64_t padded_pitch() const { return vector_width() + kernel - 1; }
  std::int64_t padded_numel() const { return out_channels * padded_height() * padded_pitch(); }
  // Where the rows land when W is not whole vectors (copied into dx after), else nothing.
  std::int64_t scratch_numel() const { return width == vector_width() ? 0 : height * vector_width(); }
};

namespace input_grad_impl {

// Accumulators per register tile: 12 of AVX2's 16 registers (beside the broadcast weight and
// a loaded vector), 24 of AVX-512's 32.
template <class V>
constexpr int max_accumulators() {
  return std::is_base_of_v<xsimd::avx512f, typename V::arch_type> ? 24 : 12;
}
// Vectors of columns per tile; wider images take several column blocks.
inline constexpr int max_vectors = 4;

// dx rows [h0, h0 + R), vector columns [0, NV) from `at`: gpad at (h0 + k-1, w0 + k-1) of
// channel 0, dx at (h0, w0). Without GCC's predictive commoning, as conv_weight_grad.hpp's
// tile: tile row t + 1 at kernel row i + 1 reads what tile row t read at kernel row i, and
// GCC would carry those vectors in registers the accumulators need.
template <class V, int R, int NV, class T>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-predictive-commoning")))
#endif
void tile(const DirectInputGradGeometry<T>& g, const T* w, const T* at, T* dx, std::int64_t dx_pitch) {
  const std::int64_t k = g.kernel, kk = k * k, pitch = g.padded_pitch(), plane = g.padded_height() * pitch;
  V acc[R][NV];
  FARBOUND_UNROLL for (int t = 0; t < R; ++t)
    FARBOUND_UNROLL for (int v = 0; v < NV; ++v) acc[t][v] = V(T(0));
  for (std::int64_t o = 0; o < g.out_channels; ++o) {
    const T* wo = w + o * g.in_channels * kk;
    for (std::int64_t i = 0; i < k; ++i)
      for (std::int64_t j = 0; j < k; ++j) {
        const V weight(wo[i * k + j]);
        const T* row = at + o * plane - i * pitch - j;
        FARBOUND_UNROLL for (int t = 0; t < R; ++t)
          FARBOUND_UNROLL for (int v = 0; v < NV; ++v)
            acc[t][v] = gemm_impl::fused_multiply_add(weight, V::load_unaligned(row + t * pitch + v * V::size), acc[t][v]);
      }
  }
  FARBOUND_UNROLL for (int t = 0; t < R; ++t)
    FARBOUND_UNROLL for (int v = 0; v < NV; ++v) acc[t][v].store_unaligned(dx + t * dx_pitch + v * V::size);
}

// tile<V, n, NV> for a run-time n in [1, max_accumulators / NV].
template <class V, int NV, class T, int... M>
void tile_of(int n, std::integer_sequence<int, M...>, const DirectInputGradGeometry<T>& g, const T* w, const T* at, T* dx,
             std::int64_t dx_pitch) {
  (void)((n == M + 1 ? (tile<V, M + 1, NV>(g, w, at, dx, dx_pitch), true) : false) || ...);
}

// The rows of one column block of NV vectors, in tiles of nearly equal height (16 rows as
// 6 + 5 + 5 rather than 6 + 6 + four single rows, whose NV chains each would leave the fma
// units waiting on their latency).
template <class V, int NV, class T>
void column_block(const DirectInputGradGeometry<T>& g, const T* w, const T* gpad, std::int64_t w0, T* dx,
                  std::int64_t dx_pitch) {
  constexpr int R = max_accumulators<V>() / NV;
  const std::int64_t pitch = g.padded_pitch(), corner = (g.kernel - 1) * (pitch + 1) + w0;
  const std::int64_t tiles = (g.height + R - 1) / R, rows = (g.height + tiles - 1) / tiles;
  for (std::int64_t h = 0; h < g.height; h += rows)
    tile_of<V, NV>(int(std::min(rows, g.height - h)), std::make_integer_sequence<int, R>{}, g, w,
                   gpad + corner + h * pitch, dx + h * dx_pitch + w0, dx_pitch);
}

template <class V, class T, int... N>
void column_block_of(int nv, std::integer_sequence<int, N...>, const DirectInputGradGeometry<T>& g, const T* w,
                     const T* gpad, std::int64_t w0, T* dx, std::int64_t dx_pitch) {
  (void)((nv == N + 1 ? (column_block<V, N + 1>(g, w, gpad, w0, dx, dx_pitch), true) : false) || ...);
}

}  // namespace input_grad_impl

// Whether a convolution's input gradient runs here: stride 1, padding <= k-1, and at most 8
// output channels (the product's depth). As measured on one Zen 3 core (docs/performance.md,
// backward passes with the weight gradient, which is unchanged): LeNet's conv1 (1 -> 6, 5 x 5,
// 32 x 32, batch 250) 2 934-3 063 us against 3 320-3 528, 3 -> 8 (3 x 3, 32 x 32, batch 64)
// 1 192-1 225 against 1 232-1 318, 16 -> 8 (3 x 3, 16 x 16) 1 328-1 388 against 1 436-1 496;
// at 16 output channels (LeNet's conv2) the product wins, 3 918-4 079 against 7 236-7 320 here.
inline bool input_grad_direct(std::int64_t stride, std::int64_t kernel, std::int64_t padding, std::int64_t out_channels) {
  return stride == 1 && padding <= kernel - 1 && out_channels <= 8;
}

// Lays out one item's output gradient g [O, P, Q] in gpad (see the top of this file): only
// the interior is written, so the margins stay as the caller zeroed them once.
template <class T>
void pad_output_grad(const DirectInputGradGeometry<T>& g, const T* grad_out, T* gpad) {
  const std::int64_t pitch = g.padded_pitch(), a = g.adjoint_padding(), P = g.out_height(), Q = g.out_width();
  for (std::int64_t o = 0; o < g.out_channels; ++o)
    for (std::int64_t p = 0; p < P; ++p) copy_run(grad_out + (o * P + p) * Q, gpad + (o * g.padded_height() + p + a) * pitch + a, Q);
}

// dx [C, H, W] of one item from its padded output gradient; weight [O, C, k, k]; scratch of
// g.scratch_numel() numbers.
template <class T>
void conv_input_grad_direct(const DirectInputGradGeometry<T>& g, const T* weight, const T* gpad, T* scratch, T* dx) {
  using V = xsimd::batch<T>;
  constexpr int max_vectors = input_grad_impl::max_vectors;
  const std::int64_t vectors = g.vector_width() / g.lanes, kk = g.kernel * g.kernel;
  const bool direct = g.scratch_numel() == 0;
  for (std::int64_t c = 0; c < g.in_channels; ++c) {
    T* out = direct ? dx + c * g.height * g.width : scratch;
    for (std::int64_t v0 = 0; v0 < vectors; v0 += max_vectors)
      input_grad_impl::column_block_of<V>(int(std::min<std::int64_t>(max_vectors, vectors - v0)),
                                          std::make_integer_sequence<int, max_vectors>{}, g, weight + c * kk, gpad,
                                          v0 * g.lanes, out, g.vector_width());
    if (!direct)
      for (std::int64_t h = 0; h < g.height; ++h)
        copy_run(scratch + h * g.vector_width(), dx + (c * g.height + h) * g.width, g.width);
  }
}

// The direct input gradient with per-thread workspaces: each thread's zero-padded g, then
// its scratch rows.
template <class T>
class DirectInputGrad {
 public:
  // Sizes the workspaces of `threads` threads for geometry g and zeroes them, unless they
  // already are (gpad's margins stay zero from pass to pass: run writes only the interior,
  // and the scratch rows before it reads them).
  void prepare(const DirectInputGradGeometry<T>& g, std::int64_t threads) {
    const Shape shape{threads, g.padded_numel() + g.scratch_numel()};
    if (g == g_ && workspaces_.shape() == shape) return;
    g_ = g;
    workspaces_.resize(shape);
    workspaces_.zero();
  }
  // dx [C, H, W] of one item from its output gradient [O, P, Q], on the workspace of `slot`.
  void run(std::int64_t slot, const T* weight, const T* grad_out, T* dx) {
    T* gpad = workspaces_.data() + slot * workspaces_.size(1);
    pad_output_grad(g_, grad_out, gpad);
    conv_input_grad_direct(g_, weight, gpad, gpad + g_.padded_numel(), dx);
  }

 private:
  DirectInputGradGeometry<T> g_{};
  Tensor<T> workspaces_;
};

}  // namespace farbound::detail
