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
#include "farbound/core/host_device.hpp"
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

constexpr std::size_t W = 16;

// Sum and maximum of a[0..N) pairwise (chains of log2(N) steps), then of the lanes.
template <std::size_t N>
FARBOUND_FORCE_INLINE __m512 add_tree(const __m512* a) {
  if constexpr (N == 1) return a[0];
  else return _mm512_add_ps(add_tree<N / 2>(a), add_tree<N - N / 2>(a + N / 2));
}
template <std::size_t N>
FARBOUND_FORCE_INLINE __m512 max_tree(const __m512* a) {
  if constexpr (N == 1) return a[0];
  else return _mm512_max_ps(max_tree<N / 2>(a), max_tree<N - N / 2>(a + N / 2));
}
template <std::size_t N>
FARBOUND_FORCE_INLINE float sum(const __m512* a) { return _mm512_reduce_add_ps(add_tree<N>(a)); }
// sum_c a[c] b[c] on two chains of fused multiply-adds, then the lanes.
template <std::size_t N>
FARBOUND_FORCE_INLINE float dot(const __m512* a, const __m512* b) {
  __m512 even = _mm512_mul_ps(a[0], b[0]), odd = _mm512_setzero_ps();
  if constexpr (N > 1) odd = _mm512_mul_ps(a[1], b[1]);
  for (std::size_t i = 2; i < N; ++i) {
    if (i % 2 == 0) even = _mm512_fmadd_ps(a[i], b[i], even);
    else odd = _mm512_fmadd_ps(a[i], b[i], odd);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(even, odd));
}

// A row of C logits (C in ((NB - 1) W, NB W]) into NB registers, -inf past C; and back.
template <std::size_t NB>
FARBOUND_FORCE_INLINE void load(const float* z, __mmask16 last, __m512* x) {
  for (std::size_t b = 0; b + 1 < NB; ++b) x[b] = _mm512_loadu_ps(z + b * W);
  x[NB - 1] = _mm512_mask_loadu_ps(_mm512_set1_ps(-std::numeric_limits<float>::infinity()), last, z + (NB - 1) * W);
}
template <std::size_t NB>
FARBOUND_FORCE_INLINE void store(const __m512* x, __mmask16 last, float* z) {
  for (std::size_t b = 0; b + 1 < NB; ++b) _mm512_storeu_ps(z + b * W, x[b]);
  _mm512_mask_storeu_ps(z + (NB - 1) * W, last, x[NB - 1]);
}

// e = exp(x - max x) in place; returns max x.
template <std::size_t NB>
FARBOUND_FORCE_INLINE float exponentials(__m512* x) {
  const float shift = _mm512_reduce_max_ps(max_tree<NB>(x));
  const xsimd::batch<float> s(shift);
  for (std::size_t b = 0; b < NB; ++b) x[b] = simd::exp_nonpositive(xsimd::batch<float>(x[b]) - s);
  return shift;
}

// The first place where x[0..NB) equals its largest value m, as one bit in that register's
// mask (top[b]; 0 in the others): where the zero-sum rebuilds put a row's total.
template <std::size_t NB>
FARBOUND_FORCE_INLINE void first_largest(const __m512* x, float m, __mmask16* top) {
  static_assert(NB <= 8, "two 64-bit words of lanes");
  std::uint64_t words[2] = {0, 0};
  for (std::size_t b = 0; b < NB; ++b)
    words[b / 4] |= std::uint64_t(_mm512_cmp_ps_mask(x[b], _mm512_set1_ps(m), _CMP_EQ_OQ)) << (16 * (b % 4));
  const std::uint64_t low = words[0] & (~words[0] + 1), high = words[0] ? 0 : words[1] & (~words[1] + 1);
  for (std::size_t b = 0; b < NB; ++b) top[b] = __mmask16((b < 4 ? low : high) >> (16 * (b % 4)));
}

// row[top] -= sum_c row[c] (the rebuild, as complete_zero_sum in smoothness_lanes.hpp).
template <std::size_t NB>
FARBOUND_FORCE_INLINE void complete_zero_sum(__m512* row, const __mmask16* top) {
  const __m512 total = _mm512_set1_ps(sum<NB>(row));
  for (std::size_t b = 0; b < NB; ++b) row[b] = _mm512_mask_sub_ps(row[b], top[b], row[b], total);
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
  using V = xsimd::batch<float>;
  const __mmask16 last = __mmask16(0xffffu >> (NB * W - C));

  // p = softmax(z) and its top; p and v (accumulated over the neighbours) in the L1 cache,
  // operands of stage B's multiply-adds.
  alignas(64) float p[NB * W], v[NB * W] = {};
  __mmask16 p_top[NB];
  __m512 x[NB];
  load<NB>(z, last, x);
  const float p_shift = _mm512_reduce_max_ps(max_tree<NB>(x));
  first_largest<NB>(x, p_shift, p_top);
  for (std::size_t b = 0; b < NB; ++b) x[b] = simd::exp_nonpositive(V(x[b]) - V(p_shift));
  const float p_sum = sum<NB>(x);
  const __m512 p_inv_sum = _mm512_set1_ps(1.0f / p_sum);
  for (std::size_t b = 0; b < NB; ++b) _mm512_store_ps(p + b * W, _mm512_mul_ps(x[b], p_inv_sum));

  // Each neighbour: A, e_k = exp(z_k - max) and 1 / sum_k; B, delta_k = p - q_k (q_k =
  // e_k / sum_k) rebuilt at p's top, v += w_k delta_k, GR's sum w_k sum_c delta_kc^2 and
  // s_k = sum_c q_kc delta_kc; C, dL/dz_kc = -a w_k q_kc (delta_kc - s_k), rebuilt at q_k's
  // largest entry (where e_kc = 1, floor(e_kc) = 1; at each of them in a tie, as
  // smoothness_lanes.hpp says why). Rows k + 2, k + 1 and k in one turn of the loop.
  float weighted_squares = 0;
  alignas(64) float e[3][NB * W], delta[2][NB * W];
  float q_inv_sum[3], scale[2], offset[2];
  const auto stage_a = [&](std::size_t k, std::size_t slot) {
    for (std::size_t b = 0; b < NB; ++b) {
      _mm_prefetch(reinterpret_cast<const char*>(next_zn + k * C + b * W), _MM_HINT_T0);
      __builtin_prefetch(next_dzn + k * C + b * W, 1, 3);
    }
    __m512 x[NB];
    load<NB>(zn + k * C, last, x);
    exponentials<NB>(x);
    q_inv_sum[slot] = 1.0f / sum<NB>(x);
    for (std::size_t b = 0; b < NB; ++b) _mm512_store_ps(e[slot] + b * W, x[b]);
  };
  const auto stage_b = [&](std::size_t k, std::size_t slot, std::size_t out) {
    __m512 d[NB], q[NB];
    const float w = 1.0f / r[k];
    const __m512 inv = _mm512_set1_ps(q_inv_sum[slot]);
    for (std::size_t b = 0; b < NB; ++b) {
      q[b] = _mm512_load_ps(e[slot] + b * W);
      d[b] = _mm512_fnmadd_ps(q[b], inv, _mm512_load_ps(p + b * W));
    }
    complete_zero_sum<NB>(d, p_top);
    const __m512 wv = _mm512_set1_ps(w);
    for (std::size_t b = 0; b < NB; ++b) {
      _mm512_store_ps(v + b * W, _mm512_fmadd_ps(wv, d[b], _mm512_load_ps(v + b * W)));
      _mm512_store_ps(delta[out] + b * W, d[b]);
    }
    weighted_squares += w * dot<NB>(d, d);
    scale[out] = -gr_weight * w * q_inv_sum[slot];
    offset[out] = -scale[out] * (dot<NB>(q, d) * q_inv_sum[slot]);  // -scale s_k
  };
  const auto stage_c = [&](std::size_t k, std::size_t slot, std::size_t in) {
    __m512 g[NB];
    const __m512 sc = _mm512_set1_ps(scale[in]), off = _mm512_set1_ps(offset[in]);
    for (std::size_t b = 0; b < NB; ++b)
      g[b] = _mm512_mul_ps(_mm512_load_ps(e[slot] + b * W), _mm512_fmadd_ps(sc, _mm512_load_ps(delta[in] + b * W), off));
    const __m512 total = _mm512_set1_ps(sum<NB>(g));
    for (std::size_t b = 0; b < NB; ++b) g[b] = _mm512_fnmadd_ps(_mm512_floor_ps(_mm512_load_ps(e[slot] + b * W)), total, g[b]);
    store<NB>(g, last, dzn + k * C);
  };
  for (std::size_t k = 0; k < K + 2; ++k) {  // stage A for row k, B for k - 1, C for k - 2
    if (k < K) stage_a(k, k % 3);
    if (k >= 1 && k - 1 < K) stage_b(k - 1, (k - 1) % 3, (k - 1) % 2);
    if (k >= 2) stage_c(k - 2, (k - 2) % 3, (k - 2) % 2);
  }

  // dL/dz_c = a p_c (v_c - t) + ce_weight (p_c - [c == y]), t = sum_c p_c v_c.
  __m512 pv[NB];
  for (std::size_t b = 0; b < NB; ++b) pv[b] = _mm512_mul_ps(_mm512_load_ps(p + b * W), _mm512_load_ps(v + b * W));
  const __m512 t = _mm512_set1_ps(sum<NB>(pv));
  for (std::size_t b = 0; b < NB; ++b) {
    const __m512 pc = _mm512_load_ps(p + b * W);
    x[b] = _mm512_fmadd_ps(_mm512_set1_ps(ce_weight), pc,
                           _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(gr_weight), pc), _mm512_sub_ps(_mm512_load_ps(v + b * W), t)));
  }
  if (label >= 0) {
    const std::size_t b = std::size_t(label) / W;
    x[b] = _mm512_mask_sub_ps(x[b], __mmask16(1u << (std::size_t(label) % W)), x[b], _mm512_set1_ps(ce_weight));
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
