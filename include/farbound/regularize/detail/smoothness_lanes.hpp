#pragma once
// The smoothness loss with anchors on the SIMD lanes: the CPU path for few classes.
//
// smoothness_kernel.hpp walks one anchor's rows with lanes over the classes. At C = 10 a
// row is one 8-wide block and two single elements, and each of the row's reductions (max,
// sum of exponentials, the zero-sum rebuilds, s_k, t) ends in a horizontal step, so the
// kernel spends its time on a row's chain of latencies rather than on its ten numbers.
// Here W anchors (W = the width of xsimd::batch<T>) run side by side, one per lane:
// element c of the W anchors' rows is gathered into one vector, and every "sum over c" is
// W sums at once, lane by lane, with no horizontal step.
//
// The notation, the math and the zero-sum rebuilds are those of smoothness_kernel.hpp; the
// sums over c run in ascending c here, so the two kernels agree to a few roundings, and the
// scalar reference checks both. Each neighbour is finished in the visit that reads it:
// dL/dz_k needs q_k, delta_k and s_k, none of which depend on the other neighbours, so its
// gradient is written straight away, while v_c and GR's sum accumulate over the visits and
// the anchor's gradient comes last. Nothing is parked in the gradient rows.
//
// The loops over classes run to a compile-time Cn >= C (4, 8, 10 or 16), the missing
// classes holding logits of -inf, so that they unroll and the rows stay in registers:
// 1.2-1.4x faster at C = 10 than loops to a run-time C.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/exp.hpp"
#include "farbound/core/host_device.hpp"
#include "farbound/detail/avx_row_ends.hpp"
#include "farbound/detail/transpose_16x16.hpp"
#include "farbound/detail/transpose_8x8.hpp"
#include "farbound/regularize/detail/smoothness_kernel.hpp"

namespace farbound::detail {

// Classes up to which smoothness_loss runs anchors on lanes (docs/performance.md).
inline constexpr std::size_t lane_anchor_max_classes = 16;

// Moving W rows (row l at first + l * stride, elements [0, C), C <= 16) to and from W
// vectors, vector c holding element c of every row. With 16 floats on AVX-512: 16 masked
// row loads or stores and a 16 x 16 transpose in registers (64 shuffles), several times
// cheaper than gathers and scatters on current cores. With 8 floats on AVX2: each block of
// 8 columns as 8 row loads (masked at the row's end) or stores (the row end by
// avx_row_ends.hpp's ladder: AVX2's masked store is slow) and an 8 x 8 transpose. Elsewhere:
// gathers, and stores lane by lane. Always inlined: as calls, the columns went through
// memory both ways (14 % of the kernel's time at C = 10).
namespace lane_rows {

template <class T>
using Batch = xsimd::batch<T>;
template <class T>
constexpr bool in_registers = std::is_same_v<T, float> && Batch<T>::size == 16;
template <class T>
constexpr bool in_avx2_registers = std::is_same_v<T, float> && Batch<T>::size == 8;

template <class T>
xsimd::batch<xsimd::as_integer_t<T>> row_offsets(std::size_t stride) {
  alignas(64) xsimd::as_integer_t<T> at[Batch<T>::size];
  for (std::size_t l = 0; l < Batch<T>::size; ++l) at[l] = xsimd::as_integer_t<T>(l * stride);
  return xsimd::batch<xsimd::as_integer_t<T>>::load_aligned(at);
}

// Lane l of the result is base[l * stride] (the gather for the cases above that need one).
template <class T>
Batch<T> gather(const T* base, std::size_t stride) {
  using V = Batch<T>;
#if defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) {  // xsimd 8.1 gathers element by element here
    if constexpr (std::is_same_v<T, float>) return V(_mm512_i32gather_ps(row_offsets<T>(stride), base, 4));
    else return V(_mm512_i64gather_pd(row_offsets<T>(stride), base, 8));
  }
#elif defined(__AVX2__)
  if constexpr (in_avx2_registers<T>) return V(_mm256_i32gather_ps(base, row_offsets<T>(stride), 4));
#endif
  alignas(64) T lanes[V::size];
  for (std::size_t l = 0; l < V::size; ++l) lanes[l] = base[l * stride];
  return V::load_aligned(lanes);
}

// Also fills columns [C, Cn) with -inf: a class that is not there (exp(-inf) = 0 gives it
// p = q = 0, so it adds nothing to any sum and receives a zero gradient).
template <std::size_t Cn, class T>
FARBOUND_FORCE_INLINE void load(const T* first, std::size_t stride, std::size_t C, Batch<T>* columns) {
  const T absent = -std::numeric_limits<T>::infinity();
#if defined(__AVX512F__)
  if constexpr (in_registers<T>) {
    const __mmask16 mask = __mmask16((1u << C) - 1);
    __m512 m[16];
    for (std::size_t l = 0; l < 16; ++l) m[l] = _mm512_mask_loadu_ps(_mm512_set1_ps(absent), mask, first + l * stride);
    transpose_16x16(m);
    for (std::size_t c = 0; c < Cn; ++c) columns[c] = m[c];
    return;
  }
#elif defined(__AVX2__)
  if constexpr (in_avx2_registers<T>) {
    for (std::size_t block = 0; block < Cn; block += 8) {  // C > block: Cn is the least count >= C
      const std::size_t width = std::min<std::size_t>(C - block, 8);
      __m256 m[8];
      for (std::size_t l = 0; l < 8; ++l) {
        const float* row = first + l * stride + block;
        m[l] = width == 8 ? _mm256_loadu_ps(row) : load_first(row, std::int64_t(width));
      }
      transpose_8x8(m);
      for (std::size_t c = block; c < std::min<std::size_t>(Cn, block + 8); ++c)
        columns[c] = c < C ? Batch<T>(m[c - block]) : Batch<T>(absent);
    }
    return;
  }
#endif
  for (std::size_t c = 0; c < Cn; ++c) columns[c] = c < C ? gather(first + c, stride) : Batch<T>(absent);
}

// Writes columns [0, C) of the Cn given.
template <std::size_t Cn, class T>
FARBOUND_FORCE_INLINE void store(const Batch<T>* columns, std::size_t C, T* first, std::size_t stride) {
#if defined(__AVX512F__)
  if constexpr (in_registers<T>) {
    const __mmask16 mask = __mmask16((1u << C) - 1);
    __m512 m[16];
    for (std::size_t c = 0; c < 16; ++c) m[c] = c < Cn ? __m512(columns[c]) : _mm512_setzero_ps();
    transpose_16x16(m);
    for (std::size_t l = 0; l < 16; ++l) _mm512_mask_storeu_ps(first + l * stride, mask, m[l]);
    return;
  }
#elif defined(__AVX2__)
  if constexpr (in_avx2_registers<T>) {
    for (std::size_t block = 0; block < std::min(C, Cn); block += 8) {
      const std::size_t width = std::min<std::size_t>(C - block, 8);
      __m256 m[8];
      for (std::size_t c = 0; c < 8; ++c) m[c] = block + c < Cn ? __m256(columns[block + c]) : _mm256_setzero_ps();
      transpose_8x8(m);
      for (std::size_t l = 0; l < 8; ++l) store_first(first + l * stride + block, m[l], std::int64_t(width));
    }
    return;
  }
#endif
  alignas(64) T lanes[Batch<T>::size];
  for (std::size_t c = 0; c < std::min(C, Cn); ++c) {
    columns[c].store_aligned(lanes);
    for (std::size_t l = 0; l < Batch<T>::size; ++l) first[l * stride + c] = lanes[l];
  }
}

}  // namespace lane_rows

// Anchors a .. a + W - 1 with C <= lane_anchor_max_classes classes and K neighbours each;
// z, zn, r, labels, dz and dzn point at anchor a's rows (layout as in smoothness_anchor).
// Writes dL/dz and dL/dz_k, and each anchor's terms into terms[W]; ce_weight applies to
// labelled anchors, gr_weight is smoothness_anchor's. next_zn and next_dzn, where not null,
// are the next block's neighbour rows: a slice of them is asked for with each neighbour, the
// logits into L1 and the gradient rows with the intent to write (prefetchw). Without the
// latter every masked store of a row waited for its lines to be read for ownership: from
// memory the block took twice as long as in cache, and prefetching the logits alone did not
// change that (docs/performance.md).
template <std::size_t Cn, class T>
void smoothness_anchor_lanes_padded(const T* z, const T* zn, const T* r, std::size_t K, std::size_t C,
                                    const std::int32_t* labels, T ce_weight, T gr_weight, T* dz, T* dzn,
                                    AnchorTerms<T>* terms, const T* next_zn, T* next_dzn) {
  using V = xsimd::batch<T>;
  constexpr std::size_t W = V::size;
  const auto lane_values = [](auto value) {  // a vector whose lane l holds value(l)
    alignas(64) T lanes[W];
    for (std::size_t l = 0; l < W; ++l) lanes[l] = T(value(l));
    return V::load_aligned(lanes);
  };
  const V label = lane_values([&](std::size_t l) { return labels[l]; });
  const V ce_weights = lane_values([&](std::size_t l) { return labels[l] >= 0 ? ce_weight : T(0); });
  const auto is_class = [](V index, std::size_t c) { return index == V(T(c)); };
  // softmax of each lane's row x[0..Cn): e[c] = exp(x[c] - shift); top is the first largest
  // logit's index (C - 1 if there is none: a NaN row), as a T.
  struct LaneSoftmax {
    V shift, sum, top;
  };
  const auto softmax = [&](const V* x, V* e) {
    V shift = x[0];
    for (std::size_t c = 1; c < Cn; ++c) shift = xsimd::max(shift, x[c]);
    V sum(T(0)), top(T(C - 1));
    for (std::size_t c = Cn; c-- > 0;) top = xsimd::select(x[c] == shift, V(T(c)), top);
    for (std::size_t c = 0; c < Cn; ++c) {
      e[c] = simd::exp_nonpositive(x[c] - shift);
      sum += e[c];
    }
    return LaneSoftmax{shift, sum, top};
  };
  // row[top] = -sum_{c != top} row[c], in each lane (see "Accuracy" in smoothness_kernel.hpp).
  const auto complete_zero_sum = [&](V* row, V top) {
    V others(T(0));
    for (std::size_t c = 0; c < Cn; ++c) others += xsimd::select(is_class(top, c), V(T(0)), row[c]);
    for (std::size_t c = 0; c < Cn; ++c) row[c] = xsimd::select(is_class(top, c), -others, row[c]);
  };

  V x[Cn], p[Cn], v[Cn], q[Cn], delta[Cn];
  lane_rows::load<Cn>(z, C, C, x);
  const LaneSoftmax ps = softmax(x, p);
  const V p_inv_sum = V(T(1)) / ps.sum;
  for (std::size_t c = 0; c < Cn; ++c) {
    p[c] *= p_inv_sum;
    v[c] = V(T(0));
  }

  // Each neighbour: delta_k = p - q_k; v += w_k delta_k and GR's sum; then its gradient
  // dL/dz_kc = -a w_k q_kc (delta_kc - s_k), s_k = sum_c q_kc delta_kc.
  V weighted_squares(T(0));
  // The next block's rows, a K-th of them (whole cache lines) with each neighbour.
  constexpr std::size_t line = 64 / sizeof(T);
  const std::size_t block = W * K * C, slice = K > 0 ? (block / K + line - 1) / line * line : 0;
  for (std::size_t k = 0; k < K; ++k) {
    if (next_zn)
      for (std::size_t e = k * slice; e < std::min(block, (k + 1) * slice); e += line) {
        __builtin_prefetch(next_zn + e, 0, 3);
        __builtin_prefetch(next_dzn + e, 1, 3);
      }
    lane_rows::load<Cn>(zn + k * C, K * C, C, delta);
    const LaneSoftmax qs = softmax(delta, q);
    const V q_inv_sum = V(T(1)) / qs.sum;
    for (std::size_t c = 0; c < Cn; ++c) {
      q[c] *= q_inv_sum;
      delta[c] = p[c] - q[c];
    }
    complete_zero_sum(delta, ps.top);
    const V rk = lane_rows::gather(r + k, K), w = V(T(1)) / rk, scale = V(-gr_weight) / rk;
    V s(T(0));
    for (std::size_t c = 0; c < Cn; ++c) {
      const V wd = w * delta[c];
      v[c] += wd;
      weighted_squares += wd * delta[c];
      s += q[c] * delta[c];
    }
    for (std::size_t c = 0; c < Cn; ++c) delta[c] = scale * q[c] * (delta[c] - s);
    complete_zero_sum(delta, qs.top);
    lane_rows::store<Cn>(delta, C, dzn + k * C, K * C);
  }

  // dL/dz_c = a p_c (v_c - t) + ce_weight (p_c - [c == y]), t = sum_c p_c v_c.
  V t(T(0)), label_logit(T(0));
  for (std::size_t c = 0; c < Cn; ++c) {
    t += p[c] * v[c];
    label_logit += xsimd::select(is_class(label, c), x[c], V(T(0)));
  }
  for (std::size_t c = 0; c < Cn; ++c)
    v[c] = V(gr_weight) * p[c] * (v[c] - t) + ce_weights * p[c] -
           xsimd::select(is_class(label, c), ce_weights, V(T(0)));
  complete_zero_sum(v, ps.top);
  lane_rows::store<Cn>(v, C, dz, C);

  alignas(64) T ce[W], gr[W];
  xsimd::select(label >= V(T(0)), ps.shift + xsimd::log(ps.sum) - label_logit, V(T(0))).store_aligned(ce);
  (K > 0 ? weighted_squares / V(T(K * C)) : V(T(0))).store_aligned(gr);
  for (std::size_t l = 0; l < W; ++l) terms[l] = {ce[l], gr[l]};
}

// The kernel above with the classes rounded up to a few fixed counts, so that its loops
// over classes unroll and its rows stay in registers.
template <class T>
void smoothness_anchor_lanes(const T* z, const T* zn, const T* r, std::size_t K, std::size_t C,
                             const std::int32_t* labels, T ce_weight, T gr_weight, T* dz, T* dzn,
                             AnchorTerms<T>* terms, const T* next_zn = nullptr, T* next_dzn = nullptr) {
  const auto run = [&]<std::size_t Cn>() {
    smoothness_anchor_lanes_padded<Cn>(z, zn, r, K, C, labels, ce_weight, gr_weight, dz, dzn, terms, next_zn, next_dzn);
  };
  if (C <= 4) run.template operator()<4>();
  else if (C <= 8) run.template operator()<8>();
  else if (C <= 10) run.template operator()<10>();  // MNIST, CIFAR-10
  else run.template operator()<lane_anchor_max_classes>();
}

}  // namespace farbound::detail
