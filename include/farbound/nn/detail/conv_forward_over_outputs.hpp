#pragma once
// The forward pass of a stride-1 convolution whose output channels fill one 16-float row of
// lanes (LeNet's second layer: one AVX-512 register, or two AVX2 ones), one item at a time,
// with the vector lanes over the output channels:
//   y[o, p, q] = b[o] + sum_{c, i, j} W[o, c, i, j] xpad[c, p + i, q + j]
//
// The shifted-rows GEMM (conv_lowering.hpp) runs this as a 16 x L x C*k*k product: its
// 6 x 64 register tile leaves a third of the rows' tiles short at M = 16, and its rows
// carry Wp - Q gap columns per output row (4 of LeNet's conv2's 14). Here a register tile is
// a run of up to `max_run` output positions of one output row, one accumulator (a vector
// over o) each, started at the bias. For every weight position (c, i, j) it loads the
// weights' vector W^T[(c, i, j)] once and adds the input number under each position,
// broadcast from memory into the fma: one load per fma and no gap columns. The result is y
// transposed, [P*Q][lanes], turned into [O][P*Q] at the end (transpose.hpp).
//
// Each output is one fma chain over (c, i, j) in order, started at the bias: the bits depend
// on the shapes only, never on the thread count.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/nn/detail/gemm_kernel.hpp"
#include "farbound/nn/detail/transpose.hpp"

namespace farbound::detail {

namespace conv_forward_impl {

// Registers per output position, together the lanes over the output channels
// (forward_lanes<T>() numbers): one on AVX-512, two elsewhere (where it runs: AVX2).
template <class T>
constexpr int registers_per_position() {
  using V = xsimd::batch<T>;
  return std::is_base_of_v<xsimd::avx512f, typename V::arch_type> ? 1 : 2;
}

// Positions per register tile: registers_per_position accumulators each, beside the weights'
// registers (the broadcasts are memory operands on AVX-512, a register on AVX2), within
// AVX-512's 32 vector registers or AVX2's 16.
template <class T>
constexpr int max_run() {
  return registers_per_position<T>() == 1 ? 16 : 6;
}

// Output positions [q0, q0 + N) of one output row: x at xpad[0, p, q0], yt at yt[p*Q + q0].
// Without GCC's predictive commoning, as conv_weight_grad.hpp's tile: weight position j + 1
// reads the numbers j read one place further on, and GCC would carry them in registers the
// accumulators need.
template <class V, int N, int VR, class T>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-predictive-commoning")))
#endif
void run_tile(std::int64_t C, std::int64_t K, const T* x, std::int64_t Hp, std::int64_t Wp, const T* wt, const T* bias,
              T* yt) {
  constexpr std::int64_t lanes = VR * V::size;
  V acc[N][VR];
  FARBOUND_UNROLL for (int r = 0; r < VR; ++r) {
    const V b = V::load_unaligned(bias + r * V::size);
    FARBOUND_UNROLL for (int t = 0; t < N; ++t) acc[t][r] = b;
  }
  for (std::int64_t c = 0; c < C; ++c)
    for (std::int64_t i = 0; i < K; ++i) {
      const T* row = x + (c * Hp + i) * Wp;
      const T* w = wt + (c * K + i) * K * lanes;
      for (std::int64_t j = 0; j < K; ++j) {
        V wj[VR];
        FARBOUND_UNROLL for (int r = 0; r < VR; ++r) wj[r] = V::load_unaligned(w + j * lanes + r * V::size);
        FARBOUND_UNROLL for (int t = 0; t < N; ++t) {
          const V xt(row[j + t]);
          FARBOUND_UNROLL for (int r = 0; r < VR; ++r) acc[t][r] = gemm_impl::fused_multiply_add(xt, wj[r], acc[t][r]);
        }
      }
    }
  FARBOUND_UNROLL for (int t = 0; t < N; ++t)
    FARBOUND_UNROLL for (int r = 0; r < VR; ++r) acc[t][r].store_unaligned(yt + t * lanes + r * V::size);
}

// run_tile<V, n> for a run-time n in [1, max_run].
template <class V, int VR, class T, int... M>
void run_tile_of(int n, std::integer_sequence<int, M...>, std::int64_t C, std::int64_t K, const T* x, std::int64_t Hp,
                 std::int64_t Wp, const T* wt, const T* bias, T* yt) {
  (void)((n == M + 1 ? (run_tile<V, M + 1, VR>(C, K, x, Hp, Wp, wt, bias, yt), true) : false) || ...);
}

}  // namespace conv_forward_impl

// The numbers per output position: the lanes of registers_per_position registers (16 floats
// on AVX-512 and on AVX2).
template <class T>
constexpr std::int64_t forward_lanes() {
  return conv_forward_impl::registers_per_position<T>() * std::int64_t(xsimd::batch<T>::size);
}

// Whether a convolution runs its forward pass here: AVX-512 or AVX2, stride 1, a kernel of
// 2-7, and output channels that fill more than half of forward_lanes (9-16 floats, 5-8
// doubles). As measured (docs/performance.md): LeNet's conv2 (16 channels) in 4.4 us per
// image instead of the GEMM's 7.0 on AVX-512 (Zen 4), in 5.7-6.0 instead of 8.4-11.2 on
// AVX2 (Zen 3); its conv1 (6 channels, 784 positions) in 8.3 us on 16 lanes and 5.3 on 8,
// where the GEMM takes 2.7 (Zen 4). Other targets were not measured and keep the GEMM.
template <class T>
bool forward_over_outputs(std::int64_t kernel, std::int64_t stride, std::int64_t out_channels) {
  using V = xsimd::batch<T>;
  constexpr bool avx512 = std::is_base_of_v<xsimd::avx512f, typename V::arch_type>;
  constexpr bool avx2 = std::is_base_of_v<xsimd::avx2, typename V::arch_type> && !avx512;
  if constexpr (!avx512 && !avx2) return false;
  constexpr std::int64_t lanes = forward_lanes<T>();
  return stride == 1 && kernel >= 2 && kernel <= 7 && 2 * out_channels > lanes && out_channels <= lanes;
}

// y[O][P*Q] = the item's output (see the top of this file): xpad is its [C, Hp, Wp] zero-
// padded input, wt the weights transposed to [C*k*k][forward_lanes<T>()] (zero lanes past O),
// bias [forward_lanes<T>()] (likewise), yt a workspace of P*Q*forward_lanes<T>() numbers.
template <class T>
void conv_forward_over_outputs(std::int64_t kernel, std::int64_t C, std::int64_t O, std::int64_t P, std::int64_t Q,
                               const T* xpad, std::int64_t Hp, std::int64_t Wp, const T* wt, const T* bias, T* yt, T* y) {
  using V = xsimd::batch<T>;
  constexpr int VR = conv_forward_impl::registers_per_position<T>();
  constexpr std::int64_t lanes = forward_lanes<T>();
  constexpr int max_run = conv_forward_impl::max_run<T>();
  // Q in runs of nearly equal length: 28 as 14 + 14 rather than 16 + 12.
  const std::int64_t runs = (Q + max_run - 1) / max_run, run = (Q + runs - 1) / runs;
  for (std::int64_t p = 0; p < P; ++p)
    for (std::int64_t q0 = 0; q0 < Q; q0 += run) {
      const int n = int(std::min(run, Q - q0));
      conv_forward_impl::run_tile_of<V, VR>(n, std::make_integer_sequence<int, max_run>{}, C, kernel, xpad + p * Wp + q0, Hp,
                                        Wp, wt, bias, yt + (p * Q + q0) * lanes);
    }
  transpose_strided(yt, lanes, P * Q, O, y, P * Q, P * Q);
}

}  // namespace farbound::detail
