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

#if defined(__AVX2__) && !defined(__AVX512F__)
// Two columns of 8 rows (row l's pair at first + l * stride) to and from two vectors, by
// 64-bit row loads and stores and 4 to 8 shuffles rather than an 8 x 8 transpose (24): the
// last block at 10 classes. (__m64 and __m128i may alias the floats.)
FARBOUND_FORCE_INLINE void load_pairs(const float* first, std::size_t stride, __m256* columns) {
  const auto pair = [&](std::size_t l) {
    return _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(first + l * stride)));
  };
  const auto rows = [&](std::size_t l) {  // rows l, l + 1 | l + 4, l + 5
    const auto two = [&](std::size_t m) { return _mm256_insertf128_ps(_mm256_castps128_ps256(pair(m)), pair(m + 4), 1); };
    return _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(two(l)), _mm256_castps_pd(two(l + 1))));
  };
  const __m256 r01 = rows(0), r23 = rows(2);
  columns[0] = _mm256_shuffle_ps(r01, r23, 0x88);
  columns[1] = _mm256_shuffle_ps(r01, r23, 0xdd);
}
FARBOUND_FORCE_INLINE void store_pairs(__m256 c0, __m256 c1, float* first, std::size_t stride) {
  const auto put = [&](std::size_t l, __m128 rows) {  // rows l and l + 1
    _mm_storel_pi(reinterpret_cast<__m64*>(first + l * stride), rows);
    _mm_storeh_pi(reinterpret_cast<__m64*>(first + (l + 1) * stride), rows);
  };
  const __m256 lo = _mm256_unpacklo_ps(c0, c1), hi = _mm256_unpackhi_ps(c0, c1);  // rows 0, 1 | 4, 5 and 2, 3 | 6, 7
  put(0, _mm256_castps256_ps128(lo));
  put(2, _mm256_castps256_ps128(hi));
  put(4, _mm256_extractf128_ps(lo, 1));
  put(6, _mm256_extractf128_ps(hi, 1));
}
#endif

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
#pragma GCC unroll 4
    for (std::size_t block = 0; block < Cn; block += 8) {  // C > block: Cn is the least count >= C
      const std::size_t width = std::min<std::size_t>(C - block, 8);
      __m256 m[8];
      if (width == 2) {
        load_pairs(first + block, stride, m);
        for (std::size_t c = block; c < std::min<std::size_t>(Cn, block + 8); ++c)
          columns[c] = c < C ? Batch<T>(m[c - block]) : Batch<T>(absent);
        continue;
      }
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
#pragma GCC unroll 4
    for (std::size_t block = 0; block < Cn; block += 8) {  // C > block, as in load
      const std::size_t width = std::min<std::size_t>(C - block, 8);
      if (width == 2) {
        store_pairs(columns[block], columns[block + 1], first + block, stride);
        continue;
      }
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
// where(m, a): a in the lanes where m holds, +0 elsewhere; where_not(m, a) the reverse. On
// AVX and SSE by a bitwise and (and-not) with the mask's register: xsimd::select compiled
// there to an integer compare (a sign-bit mask from one kept in memory) and a blend per
// use, both on the multipliers' ports.
template <class V>
FARBOUND_FORCE_INLINE V where(typename V::batch_bool_type m, V a) {
#if defined(__AVX__) && !defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && sizeof(V) == 32) return V(_mm256_and_ps(m, a));
  if constexpr (std::is_same_v<typename V::value_type, double> && sizeof(V) == 32) return V(_mm256_and_pd(m, a));
#elif defined(__SSE2__) && !defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && sizeof(V) == 16) return V(_mm_and_ps(m, a));
  if constexpr (std::is_same_v<typename V::value_type, double> && sizeof(V) == 16) return V(_mm_and_pd(m, a));
#endif
  return xsimd::select(m, a, V(typename V::value_type(0)));
}
template <class V>
FARBOUND_FORCE_INLINE V where_not(typename V::batch_bool_type m, V a) {
#if defined(__AVX__) && !defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && sizeof(V) == 32) return V(_mm256_andnot_ps(m, a));
  if constexpr (std::is_same_v<typename V::value_type, double> && sizeof(V) == 32) return V(_mm256_andnot_pd(m, a));
#elif defined(__SSE2__) && !defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && sizeof(V) == 16) return V(_mm_andnot_ps(m, a));
  if constexpr (std::is_same_v<typename V::value_type, double> && sizeof(V) == 16) return V(_mm_andnot_pd(m, a));
#endif
  return xsimd::select(m, V(typename V::value_type(0)), a);
}

// Pairwise sum and maximum of a[0..N): chains of log2(N) steps rather than N - 1.
template <std::size_t N, class V>
FARBOUND_FORCE_INLINE V pairwise_sum(const V* a) {
  if constexpr (N == 1) return a[0];
  else return pairwise_sum<N / 2>(a) + pairwise_sum<N - N / 2>(a + N / 2);
}
template <std::size_t N, class V>
FARBOUND_FORCE_INLINE V pairwise_max(const V* a) {
  if constexpr (N == 1) return a[0];
  else return xsimd::max(pairwise_max<N / 2>(a), pairwise_max<N - N / 2>(a + N / 2));
}

template <std::size_t Cn, class T>
void smoothness_anchor_lanes_padded(const T* z, const T* zn, const T* r, std::size_t K, std::size_t C,
                                    const std::int32_t* labels, T ce_weight, T gr_weight, T* dz, T* dzn,
                                    AnchorTerms<T>* terms, const T* next_zn, T* next_dzn) {
  using V = xsimd::batch<T>;
  using Mask = typename V::batch_bool_type;
  constexpr std::size_t W = V::size;
  const auto lane_values = [](auto value) {  // a vector whose lane l holds value(l)
    alignas(64) T lanes[W];
    for (std::size_t l = 0; l < W; ++l) lanes[l] = T(value(l));
    return V::load_aligned(lanes);
  };
  const V label = lane_values([&](std::size_t l) { return labels[l]; });
  const V ce_weights = lane_values([&](std::size_t l) { return labels[l] >= 0 ? ce_weight : T(0); });
  // softmax of each lane's row x[0..Cn): e[c] = exp(x[c] - shift), their sum, and top[c],
  // set in each lane at its first largest logit only (nowhere in a NaN row).
  const auto softmax = [](const V* x, V* e, Mask* top, V& sum) {
    const V shift = pairwise_max<Cn>(x);
    Mask seen(false);
    for (std::size_t c = 0; c < Cn; ++c) {
      const Mask seen_before = seen;
      seen = seen | (x[c] == shift);
      top[c] = seen ^ seen_before;
      e[c] = simd::exp_nonpositive(x[c] - shift);
    }
    sum = pairwise_sum<Cn>(e);
    return shift;
  };
  // row[top] = -sum_{c != top} row[c], in each lane (see "Accuracy" in smoothness_kernel.hpp).
  const auto complete_zero_sum = [](V* row, const Mask* top) {
    V others[Cn];
    for (std::size_t c = 0; c < Cn; ++c) others[c] = where_not(top[c], row[c]);
    const V rebuilt = -pairwise_sum<Cn>(others);
    for (std::size_t c = 0; c < Cn; ++c) row[c] = others[c] + where(top[c], rebuilt);
  };

  V x[Cn], p[Cn], v[Cn], p_sum, label_logit(T(0));
  Mask p_top[Cn];
  lane_rows::load<Cn>(z, C, C, x);
  for (std::size_t c = 0; c < Cn; ++c) label_logit += where(label == V(T(c)), x[c]);
  const V p_shift = softmax(x, p, p_top, p_sum);
  const V p_inv_sum = V(T(1)) / p_sum;
  for (std::size_t c = 0; c < Cn; ++c) {
    p[c] *= p_inv_sum;
    v[c] = V(T(0));
  }

  // Each neighbour: delta_k = p - q_k, q_k = e_k / sum_k; v += w_k delta_k and GR's sum
  // w_k sum_c delta_kc^2; then its gradient dL/dz_kc = -a w_k q_kc (delta_kc - s_k),
  // s_k = sum_c q_kc delta_kc, with 1/sum_k taken out of the sums over c.
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
    V e[Cn], delta[Cn], terms_c[Cn], q_sum;
    Mask q_top[Cn];
    lane_rows::load<Cn>(zn + k * C, K * C, C, x);
    softmax(x, e, q_top, q_sum);
    const V q_inv_sum = V(T(1)) / q_sum, w = V(T(1)) / lane_rows::gather(r + k, K);
    for (std::size_t c = 0; c < Cn; ++c) delta[c] = xsimd::fnma(e[c], q_inv_sum, p[c]);
    complete_zero_sum(delta, p_top);
    for (std::size_t c = 0; c < Cn; ++c) {
      v[c] = xsimd::fma(w, delta[c], v[c]);
      terms_c[c] = delta[c] * delta[c];
    }
    weighted_squares = xsimd::fma(w, pairwise_sum<Cn>(terms_c), weighted_squares);
    for (std::size_t c = 0; c < Cn; ++c) terms_c[c] = e[c] * delta[c];
    const V s = pairwise_sum<Cn>(terms_c) * q_inv_sum, scale = V(-gr_weight) * w * q_inv_sum;
    for (std::size_t c = 0; c < Cn; ++c) delta[c] = scale * e[c] * (delta[c] - s);
    complete_zero_sum(delta, q_top);
    lane_rows::store<Cn>(delta, C, dzn + k * C, K * C);
  }

  // dL/dz_c = a p_c (v_c - t) + ce_weight (p_c - [c == y]), t = sum_c p_c v_c.
  V products[Cn];
  for (std::size_t c = 0; c < Cn; ++c) products[c] = p[c] * v[c];
  const V t = pairwise_sum<Cn>(products);
  for (std::size_t c = 0; c < Cn; ++c)
    v[c] = V(gr_weight) * p[c] * (v[c] - t) + ce_weights * p[c] - where(label == V(T(c)), ce_weights);
  complete_zero_sum(v, p_top);
  lane_rows::store<Cn>(v, C, dz, C);

  alignas(64) T ce[W], gr[W];
  where(label >= V(T(0)), p_shift + xsimd::log(p_sum) - label_logit).store_aligned(ce);
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
