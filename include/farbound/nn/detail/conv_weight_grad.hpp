#pragma once
// The weight gradient of a stride-1 convolution with few output channels (LeNet's), one
// item at a time, with the vector lanes over the output channels:
//   dW[o, c, i, j] += sum_{p, q} g[o, p, q] xpad[c, p + i, q + j]
//
// The shifted-rows lowering (conv_lowering.hpp) would make this O x C*k*k dot products of
// length L along the output positions (gemm_nt): each accumulated in one vector, reduced
// horizontally at the end, with 2 loads per fma in a 4 x 4 tile and the gap columns
// multiplied by zeros. Here g is transposed once per item to gt[P*Q][Op] (Op = O rounded up
// to the lane width, zero lanes past O) and, for each input channel c, a register tile holds
// one accumulator (a vector over o) per weight position (i, j) of up to `tile_kernel_rows`
// kernel rows. Every output position costs one load of gt and one broadcast of each input
// number xpad[c, p + i, q + j] it meets: k*k fmas per load, no horizontal sums and no gap
// columns. The lanes are the narrowest vector that holds O (lane_vector): LeNet's 16 channels
// fill an AVX-512 register, its 6 use 6 of an AVX2 register's 8.
//
// The result is dW transposed, dwt[(c, i, j)][Op]. Each element is one fma chain over the
// positions (p, q) in order, continued from its old value, so the bits depend on the shapes
// and on the order the items are added in, never on the thread count.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/host_device.hpp"
#include "farbound/nn/detail/gemm_kernel.hpp"
#include "farbound/nn/detail/transpose.hpp"

namespace farbound::detail {

namespace conv_weight_grad_impl {

// Accumulators a register tile may hold (one more register each for gt and a broadcast).
#if XSIMD_WITH_AVX512F
inline constexpr int tile_registers = 25;
#else
inline constexpr int tile_registers = 12;
#endif

template <int K>
inline constexpr int tile_kernel_rows = std::clamp(tile_registers / K, 1, K);

// Kernel rows [0, KR) of one input channel: x at xpad[c, i0, 0], gt at gt[0][o0], dwt at
// dwt[(c, i0, 0)][o0].
// Without GCC's predictive commoning (on at -O3): it sees that position q + 1 reads the
// numbers q read one place further on and keeps them from one q to the next, in registers
// it does not have next to 25 accumulators. It spilled them to the stack and broadcast each
// with a shuffle of its own; without it, every broadcast is the fma's memory operand
// ({1to16}), and LeNet's conv2 backward took 885-898 us instead of 956-1074 on one thread.
template <class V, int K, int KR, class T>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-predictive-commoning")))
#endif
void channel_tile(std::int64_t P, std::int64_t Q, const T* x, std::int64_t Wp, const T* gt, std::int64_t Op, T* dwt) {
  V acc[KR][K];
  FARBOUND_UNROLL for (int i = 0; i < KR; ++i)
    FARBOUND_UNROLL for (int j = 0; j < K; ++j) acc[i][j] = V::load_unaligned(dwt + (i * K + j) * Op);
  for (std::int64_t p = 0; p < P; ++p) {
    const T* row = x + p * Wp;
    const T* g = gt + p * Q * Op;
    for (std::int64_t q = 0; q < Q; ++q) {
      const V gq = V::load_unaligned(g + q * Op);
      FARBOUND_UNROLL for (int i = 0; i < KR; ++i)
        FARBOUND_UNROLL for (int j = 0; j < K; ++j)
          acc[i][j] = gemm_impl::fused_multiply_add(V(row[i * Wp + q + j]), gq, acc[i][j]);
    }
  }
  FARBOUND_UNROLL for (int i = 0; i < KR; ++i)
    FARBOUND_UNROLL for (int j = 0; j < K; ++j) acc[i][j].store_unaligned(dwt + (i * K + j) * Op);
}

template <class V, int K, class T>
void add_weight_grad(std::int64_t C, std::int64_t P, std::int64_t Q, const T* xpad, std::int64_t Hp, std::int64_t Wp,
                     const T* gt, std::int64_t Op, T* dwt) {
  constexpr int KR = tile_kernel_rows<K>;
  for (std::int64_t o = 0; o < Op; o += std::int64_t(V::size))
    for (std::int64_t c = 0; c < C; ++c) {
      const T* x = xpad + c * Hp * Wp;
      T* dw = dwt + c * K * K * Op + o;
      int i = 0;
      for (; i + KR <= K; i += KR) channel_tile<V, K, KR>(P, Q, x + i * Wp, Wp, gt + o, Op, dw + i * K * Op);
      if constexpr (K % KR != 0) channel_tile<V, K, K % KR>(P, Q, x + i * Wp, Wp, gt + o, Op, dw + i * K * Op);
    }
}

// Calls f(V{}) with the narrowest vector of at least O lanes (the widest if none is) among
// the widths the target has with a fused fma (gemm_kernel.hpp's fused_fma). W starts at 1 or
// more: from 0 (double on SSE2, 2 lanes) it would double to 0 forever.
template <class T, std::int64_t W = std::max<std::int64_t>(1, std::int64_t(xsimd::batch<T>::size) / 4), class F>
void with_lane_vector(std::int64_t O, F&& f) {
  constexpr std::int64_t widest = xsimd::batch<T>::size;
  if constexpr (W >= widest) {
    f(xsimd::batch<T>{});
  } else {
    using V = xsimd::make_sized_batch_t<T, std::size_t(W)>;
    if constexpr (!std::is_void_v<V>) {
      if constexpr (gemm_impl::fused_fma<typename V::arch_type>) {
        if (O <= W) return f(V{});
      }
    }
    with_lane_vector<T, 2 * W>(O, f);
  }
}

}  // namespace conv_weight_grad_impl

// Kernel sizes the lanes-over-outputs weight gradient is instantiated for (stride 1); a 1 x 1
// kernel would leave one accumulator per tile, and others go through gemm_nt.
inline bool weight_grad_over_outputs(std::int64_t kernel, std::int64_t stride) {
  return stride == 1 && kernel >= 2 && kernel <= 7;
}

// Op: O rounded up to the lanes the kernel runs on.
template <class T>
std::int64_t weight_grad_lanes(std::int64_t O) {
  std::int64_t lanes = 0;
  conv_weight_grad_impl::with_lane_vector<T>(O, [&](auto v) { lanes = std::int64_t(decltype(v)::size); });
  return (O + lanes - 1) / lanes * lanes;
}

// dwt[(c, i, j)][Op] += the weight gradient of one item (see the top of this file): g is
// the item's [O, P, Q] output gradient, gt a workspace of P*Q*Op numbers, xpad the item's
// zero-padded [C, Hp, Wp] input.
template <class T>
void add_weight_grad_over_outputs(std::int64_t kernel, std::int64_t C, std::int64_t O, std::int64_t P,
                                  std::int64_t Q, const T* xpad, std::int64_t Hp, std::int64_t Wp, const T* g, T* gt,
                                  T* dwt) {
  const std::int64_t Op = weight_grad_lanes<T>(O);
  transpose(g, O, P * Q, gt, Op, Op);
  conv_weight_grad_impl::with_lane_vector<T>(O, [&](auto v) {
    using V = decltype(v);
    const auto run = [&]<int K>() { conv_weight_grad_impl::add_weight_grad<V, K>(C, P, Q, xpad, Hp, Wp, gt, Op, dwt); };
    switch (kernel) {
      case 2: return run.template operator()<2>();
      case 3: return run.template operator()<3>();
      case 4: return run.template operator()<4>();
      case 5: return run.template operator()<5>();
      case 6: return run.template operator()<6>();
      default: return run.template operator()<7>();
    }
  });
}

}  // namespace farbound::detail
