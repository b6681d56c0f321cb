#pragma once
// The smoothness loss of one anchor with 65 to 128 classes (CIFAR-100's 100) on AVX-512
// floats, a row at most NB = 8 registers.
//
// smoothness_kernel.hpp, which runs these class counts on other targets, walks each row in
// five passes (its maximum, its exponentials, delta_k, v, its gradient), each a loop over
// blocks that ends in a reduction, and evaluates q_k = exp(z_k - max) / sum twice from the
// stored exponentials. Here a row is loaded once into registers and goes through three
// stages: A, its exponentials and their sum; B, delta_k, v += w_k delta_k and the sums of
// delta_k^2 and q_k delta_k; C, its gradient, stored once. Each stage is a chain of
// latencies ending in reductions, and the loop runs A for row k + 2 beside B for row k + 1
// and C for row k, so that the core finds three independent chains within its reorder
// window. At C = 100 on one Zen 4 core, in cache: row by row in registers (one stage) about
// as fast as smoothness_kernel.hpp, A beside B + C 1.2x as fast, the three stages 1.25x
// (docs/performance.md). The rows pass between stages through the L1 cache (e, delta),
// where the multiply-adds take them as memory operands.
//
// The notation and the math are those of smoothness_kernel.hpp; the zero-sum rebuilds are
// done as in smoothness_lanes.hpp (a row's small total subtracted at its top, q_k's at each
// place where e_kc = 1). The sums run in other orders, so the kernels agree to a few
// roundings, and the tests check this one against the scalar reference. Classes past C are
// logits of -inf in the last register (a masked load): their exponentials are 0, so they
// change no maximum and no sum, and their gradients are never stored.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/exp.hpp"
#include "farbound/core/fused.hpp"
#include "farbound/core/host_device.hpp"
#include "farbound/regularize/detail/register_sums.hpp"
#include "farbound/regularize/detail/smoothness_kernel.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace farbound::detail {

// Whether this target has the kernel below for T (AVX-512, floats); smoothness_loss runs it
// for C in [register_rows_min_classes, register_rows_max_classes].
template <class T>
inline constexpr bool has_register_rows =
#if defined(__AVX512F__)
    std::is_same_v<T, float>;
#else
    false;
#endif
inline constexpr std::size_t register_rows_min_classes = 65, register_rows_max_classes = 128;

#if defined(__AVX512F__)
namespace rows512 {

using V = xsimd::batch<float>;  // 16 floats
constexpr std::size_t W = 16;

// Across the lanes: a row's sum, largest value and dot product (register_sums.hpp first).
template <std::size_t NB>
FARBOUND_FORCE_INLINE float sum(const V* a) { return _mm512_reduce_add_ps(pairwise_sum<NB>(a)); }
template <std::size_t NB>
FARBOUND_FORCE_INLINE float row_max(const V* a) { return _mm512_reduce_max_ps(pairwise_max<NB>(a)); }
template <std::size_t NB>
FARBOUND_FORCE_INLINE float row_dot(const V* a, const V* b) { return _mm512_reduce_add_ps(dot<NB>(a, b)); }

// A row of C logits (C in ((NB - 1) W, NB W]) into NB registers, -inf past C; and back.
template <std::size_t NB>
FARBOUND_FORCE_INLINE void load(const float* z, __mmask16 last, V* x) {
  FARBOUND_UNROLL for (std::size_t b = 0; b + 1 < NB; ++b) x[b] = V::load_unaligned(z + b * W);
  x[NB - 1] = _mm512_mask_loadu_ps(_mm512_set1_ps(-std::numeric_limits<float>::infinity()), last, z + (NB - 1) * W);
}
template <std::size_t NB>
FARBOUND_FORCE_INLINE void store(const V* x, __mmask16 last, float* z) {
  FARBOUND_UNROLL for (std::size_t b = 0; b + 1 < NB; ++b) x[b].store_unaligned(z + b * W);
  _mm512_mask_storeu_ps(z + (NB - 1) * W, last, x[NB - 1]);
}

// e = exp(x - shift) in place.
template <std::size_t NB>
FARBOUND_FORCE_INLINE void exponentials(V* x, float shift) {
  FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) x[b] = simd::softmax_exp(x[b] - V(shift));
}

// The first place where x[0..NB) equals its largest value m, as one bit in that register's
// mask (top[b]; 0 in the others): where the zero-sum rebuilds put a row's total.
template <std::size_t NB>
FARBOUND_FORCE_INLINE void first_largest(const V* x, float m, __mmask16* top) {
  bool found = false;
  FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) {
    const unsigned equal = _mm512_cmp_ps_mask(x[b], _mm512_set1_ps(m), _CMP_EQ_OQ);
    top[b] = found ? 0 : __mmask16(equal & (~equal + 1));  // the lowest bit set
    found = found || equal != 0;
  }
}

// row[top] -= sum_c row[c] (the rebuild, as complete_zero_sum in smoothness_lanes.hpp).
template <std::size_t NB>
FARBOUND_FORCE_INLINE void complete_zero_sum(V* row, const __mmask16* top) {
  const V total(sum<NB>(row));
  FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) row[b] = _mm512_mask_sub_ps(row[b], top[b], row[b], total);
}

}  // namespace rows512

// One anchor with C classes in ((NB - 1) 16, NB 16], arguments as smoothness_anchor's
// (smoothness_kernel.hpp; ce_weight already 0 for an unlabelled anchor); next_zn and
// next_dzn, where the next anchor's neighbour logits and gradients lie, are asked into the
// cache a row at a time while this anchor's rows are computed.
template <std::size_t NB>
AnchorTerms<float> smoothness_anchor_in_registers(const float* z, const float* zn, const float* r, std::size_t K,
                                                  std::size_t C, std::int32_t label, float ce_weight, float gr_weight,
                                                  float* dz, float* dzn, const float* next_zn, float* next_dzn) {
  using namespace rows512;
  const __mmask16 last = __mmask16(0xffffu >> (NB * W - C));

  // p = softmax(z) and its top; p and v (accumulated over the neighbours) in the L1 cache,
  // as the rows pass between stages (e, delta): operands of the multiply-adds there. (Left
  // to the compiler as arrays of registers, they took 1.03x as long at C = 100.)
  alignas(64) float p[NB * W], v[NB * W] = {};
  const auto at = [](const float* row, std::size_t b) { return V::load_aligned(row + b * W); };
  __mmask16 p_top[NB];
  V x[NB];
  load<NB>(z, last, x);
  const float p_shift = row_max<NB>(x);
  first_largest<NB>(x, p_shift, p_top);
  exponentials<NB>(x, p_shift);
  const float p_sum = sum<NB>(x);
  FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) (x[b] * V(1.0f / p_sum)).store_aligned(p + b * W);

  // Each neighbour: A, e_k = exp(z_k - max) and 1 / sum_k; B, delta_k = p - q_k (q_k =
  // e_k / sum_k) rebuilt at p's top, v += w_k delta_k, GR's sum w_k sum_c delta_kc^2 and
  // s_k = sum_c q_kc delta_kc; C, dL/dz_kc = -a w_k q_kc (delta_kc - s_k), rebuilt at q_k's
  // largest entry (where e_kc = 1, floor(e_kc) = 1; at each of them in a tie, as
  // smoothness_lanes.hpp says why). Rows k + 2, k + 1 and k in one turn of the loop, the
  // stages always inlined so that they interleave (at -O2 GCC called them: C = 100 7 % slower).
  float weighted_squares = 0;
  alignas(64) float e[3][NB * W], delta[2][NB * W];
  float q_inv_sum[3], scale[2], offset[2];
  const auto stage_a = [&](std::size_t k, std::size_t slot) __attribute__((always_inline)) {
    FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) {
      _mm_prefetch(reinterpret_cast<const char*>(next_zn + k * C + b * W), _MM_HINT_T0);
      __builtin_prefetch(next_dzn + k * C + b * W, 1, 3);
    }
    V row[NB];
    load<NB>(zn + k * C, last, row);
    exponentials<NB>(row, row_max<NB>(row));
    q_inv_sum[slot] = 1.0f / sum<NB>(row);
    FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) row[b].store_aligned(e[slot] + b * W);
  };
  const auto stage_b = [&](std::size_t k, std::size_t slot, std::size_t out) __attribute__((always_inline)) {
    V q[NB], d[NB];  // q: e_k, times q_inv_sum
    const float w = 1.0f / r[k];
    FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) {
      q[b] = at(e[slot], b);
      d[b] = simd::fused_negated_multiply_add(q[b], V(q_inv_sum[slot]), at(p, b));
    }
    complete_zero_sum<NB>(d, p_top);
    FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) {
      xsimd::fma(V(w), d[b], at(v, b)).store_aligned(v + b * W);
      d[b].store_aligned(delta[out] + b * W);
    }
    weighted_squares += w * row_dot<NB>(d, d);
    scale[out] = -gr_weight * w * q_inv_sum[slot];
    offset[out] = -scale[out] * (row_dot<NB>(q, d) * q_inv_sum[slot]);  // -scale s_k
  };
  const auto stage_c = [&](std::size_t k, std::size_t slot, std::size_t in) __attribute__((always_inline)) {
    V g[NB];
    FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b)
      g[b] = at(e[slot], b) * xsimd::fma(V(scale[in]), at(delta[in], b), V(offset[in]));
    const V total(sum<NB>(g));
    FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b)
      g[b] = simd::fused_negated_multiply_add(xsimd::floor(at(e[slot], b)), total, g[b]);
    store<NB>(g, last, dzn + k * C);
  };
  for (std::size_t k = 0; k < K + 2; ++k) {  // stage A for row k, B for k - 1, C for k - 2
    if (k < K) stage_a(k, k % 3);
    if (k >= 1 && k - 1 < K) stage_b(k - 1, (k - 1) % 3, (k - 1) % 2);
    if (k >= 2) stage_c(k - 2, (k - 2) % 3, (k - 2) % 2);
  }

  // dL/dz_c = a p_c (v_c - t) + ce_weight (p_c - [c == y]), t = sum_c p_c v_c.
  V pv[NB];
  FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b) pv[b] = at(p, b) * at(v, b);
  const V t(sum<NB>(pv));
  FARBOUND_UNROLL for (std::size_t b = 0; b < NB; ++b)
    x[b] = xsimd::fma(V(ce_weight), at(p, b), V(gr_weight) * at(p, b) * (at(v, b) - t));
  if (label >= 0) {
    const std::size_t b = std::size_t(label) / W;
    x[b] = _mm512_mask_sub_ps(x[b], __mmask16(1u << (std::size_t(label) % W)), x[b], V(ce_weight));
  }
  complete_zero_sum<NB>(x, p_top);
  store<NB>(x, last, dz);

  const float ce = label >= 0 ? p_shift + std::log(p_sum) - z[label] : 0.0f;
  return {ce, K > 0 ? weighted_squares / float(K * C) : 0.0f};
}

// The same for any C in [register_rows_min_classes, register_rows_max_classes].
inline AnchorTerms<float> smoothness_anchor_in_registers(const float* z, const float* zn, const float* r, std::size_t K,
                                                         std::size_t C, std::int32_t label, float ce_weight,
                                                         float gr_weight, float* dz, float* dzn, const float* next_zn,
                                                         float* next_dzn) {
  const auto run = [&]<std::size_t NB>() {
    return smoothness_anchor_in_registers<NB>(z, zn, r, K, C, label, ce_weight, gr_weight, dz, dzn, next_zn, next_dzn);
  };
  if (C <= 80) return run.template operator()<5>();
  if (C <= 96) return run.template operator()<6>();
  if (C <= 112) return run.template operator()<7>();
  return run.template operator()<8>();
}
#endif

}  // namespace farbound::detail
