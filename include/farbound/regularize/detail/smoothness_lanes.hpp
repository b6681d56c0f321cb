#pragma once
// The smoothness loss with anchors on the SIMD lanes: the CPU path for up to 64 classes.
//
// smoothness_kernel.hpp walks one anchor's rows with lanes over the classes. At C = 10 a
// row is one 8-wide block and two single elements, and each of the row's reductions (max,
// sum of exponentials, the zero-sum rebuilds, s_k, t) ends in a horizontal step, so the
// kernel spends its time on a row's chain of latencies rather than on its ten numbers.
// Here W anchors (W = the width of xsimd::batch<T>) run side by side, one per lane:
// element c of the W anchors' rows is gathered into one vector (lane_rows.hpp), and every
// "sum over c" is W sums at once, lane by lane, with no horizontal step.
//
// The notation, the math and the zero-sum rebuilds are those of smoothness_kernel.hpp; the
// sums over c run in other orders here, so the kernels agree to a few roundings, and the
// scalar reference checks them all. Each neighbour is finished in the visit that reads it:
// dL/dz_k needs q_k, delta_k and s_k, none of which depend on the other neighbours, so its
// gradient is written straight away, while v_c and GR's sum accumulate over the visits and
// the anchor's gradient comes last. Nothing is parked in the gradient rows.
//
// Two kernels: up to 16 classes this one, whose loops over classes run to a compile-time
// Cn >= C (4, 8, 10 or 16), the missing classes holding logits of -inf, so that they unroll
// and the rows stay in registers (1.2-1.4x faster at C = 10 than loops to a run-time C);
// from 17 to 64 smoothness_lanes_wide.hpp, whose rows lie in arrays on the stack.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "farbound/core/exp.hpp"
#include "farbound/core/fused.hpp"
#include "farbound/core/host_device.hpp"
#include "farbound/regularize/detail/lane_rows.hpp"
#include "farbound/regularize/detail/register_sums.hpp"
#include "farbound/regularize/detail/smoothness_kernel.hpp"
#include "farbound/regularize/detail/smoothness_lanes_wide.hpp"

namespace farbound::detail {

// Classes up to which smoothness_loss runs anchors on lanes, and up to which it does so in
// registers (docs/performance.md).
inline constexpr std::size_t lane_anchor_max_classes = wide_lane_max_classes;
inline constexpr std::size_t register_lane_max_classes = 16;

// Anchors a .. a + W - 1 with C <= register_lane_max_classes classes and K neighbours each;
// z, zn, r, labels, dz and dzn point at anchor a's rows (layout as in smoothness_anchor).
// Writes dL/dz and dL/dz_k, and each anchor's terms into terms[W]; ce_weight applies to
// labelled anchors, gr_weight is smoothness_anchor's. Of the block's memory traffic
// (lane_rows.hpp), a K-th of the next block's rows is asked for with each neighbour, the
// logits into L1 and the gradient rows with the intent to write (without that every masked
// store of a row waited for its lines to be read for ownership: from memory the block took
// twice as long as in cache, and prefetching the logits alone did not change that); the
// previous block's staged rows are streamed out a line with each exponential of the
// neighbours (the C = 10 kernel 5 % faster on two threads from memory than with them all at
// the end of the block, which the core waited out; with a neighbour's share beside its
// row's load, 2 % slower; docs/performance.md). With `exact`, C = Cn is known when compiled,
// and the row loads and stores pick their pieces without tests (3 % at C = 10).
template <std::size_t Cn, bool exact, class T>
void smoothness_anchor_lanes_padded(const T* z, const T* zn, const T* r, std::size_t K, std::size_t classes,
                                    const std::int32_t* labels, T ce_weight, T gr_weight, T* dz, T* dzn,
                                    AnchorTerms<T>* terms, const BlockTraffic<T>& traffic) {
  using V = xsimd::batch<T>;
  using Mask = typename V::batch_bool_type;
  const std::size_t C = exact ? Cn : classes;
  const auto [label, ce_weights] = lane_labels(labels, ce_weight);
  // softmax of each lane's row x[0..Cn): e[c] = exp(x[c] - shift), their sum, and top[c],
  // set in each lane at its first largest logit only (nowhere in a NaN row).
  const auto softmax = [](const V* x, V* e, Mask* top, V& sum) {
    const V shift = pairwise_max<Cn>(x);
    Mask seen(false);
    FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) {
      const Mask seen_before = seen;
      seen = seen | (x[c] == shift);
      top[c] = seen ^ seen_before;
      e[c] = simd::softmax_exp(x[c] - shift);
    }
    sum = pairwise_sum<Cn>(e);
    return shift;
  };
  // row[top] -= sum_c row[c], in each lane: the zero-sum rebuild of "Accuracy" in
  // smoothness_kernel.hpp, row[top] = -sum_{c != top} row[c], but for the rounding of the
  // small total (the error of row[top]), in 29 operations instead of 40 at C = 10 (4 % faster).
  const auto complete_zero_sum = [](V* row, const Mask* top) {
    const V total = pairwise_sum<Cn>(row);
    FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) row[c] -= where(top[c], total);
  };

  V x[Cn], p[Cn], v[Cn], p_sum, label_logit(T(0));
  Mask p_top[Cn];
  lane_rows::load<Cn>(z, C, C, x);
  FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) label_logit += where(label == V(T(c)), x[c]);
  const V p_shift = softmax(x, p, p_top, p_sum);
  const V p_inv_sum = V(T(1)) / p_sum;
  FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) {
    p[c] *= p_inv_sum;
    v[c] = V(T(0));
  }

  // Each neighbour: delta_k = p - q_k, q_k = e_k / sum_k; v += w_k delta_k and GR's sum
  // w_k sum_c delta_kc^2; then its gradient dL/dz_kc = -a w_k q_kc (delta_kc - s_k),
  // s_k = sum_c q_kc delta_kc, with 1/sum_k taken out of the sums over c. Two neighbours at a
  // time (then one), each step for both before the next, so that the core finds the other's
  // work beside one's chains of latencies (v and GR's sum still add them in order), and the
  // loops over them written out (the pragmas): with four at a time, as before, or with those
  // loops kept, GCC held the rows in stack arrays, and a 512-bit store costs Zen 4 two cycles.
  // One thread, 8 192 rows: C = 10 67.6 -> 64.2-64.9 us, C = 4 36.4 -> 34.9, C = 8 53.9 -> 52.0,
  // C = 16 even; two threads at 262 144 rows, C = 10: 1 632 -> 1 489 us (docs/performance.md).
  // The loads' loop stays a loop: written out too, GCC 12 at -O1 and -O2 (not -O3, not under
  // the sanitizers) gave one neighbour's rows wrong values, which the tests caught; the cause
  // was not found.
  // The zero-sum rebuilds subtract the total at the top: p's where its first largest logit's
  // mask holds (an and and a subtract, as complete_zero_sum, off the multipliers that the
  // exponentials keep busy: 1 % faster at C = 10 on AVX-512 and AVX2 than a multiply-add by a
  // weight of 1 or 0); q_k's times floor(e_kc), which is 1 exactly where e_kc = 1, at the
  // largest logit (at each of them in a tie, where q_k is not saturated and the total, a few
  // roundings of the largest entry, costs nothing of the accuracy the rebuild is for; a mask
  // there would cost a compare, and was not faster). With the sums of squares and products on
  // fused multiply-adds, 847 -> 796 instructions and 313 -> 218 loads per 8 neighbour rows at
  // C = 10; 769 with the next block's shares asked for unrolled where C is exact (from memory
  // 3 % less time on one thread).
  V weighted_squares(T(0));
  const BlockLines<T> traffic_lines(traffic, K, C);
  LaneDistances<T> distances(r, K);
  // A neighbour's share of the block in cache lines, where it is known when compiled (0
  // where not); at most C lines (W elements are at most 64 bytes), one for each of its
  // exponentials.
  constexpr std::size_t share_lines = exact && V::size * Cn * sizeof(T) % 64 == 0 ? V::size * Cn * sizeof(T) / 64 : 0;
  const auto neighbours = [&]<std::size_t J, bool streamed>(std::size_t k0) {
    V e[J][Cn], delta[J][Cn], q_sum[J], q_inv_sum[J], w[J];
    for (std::size_t j = 0; j < J; ++j) {
      if constexpr (share_lines > 0)
        traffic_lines.template ask_whole_share<3, share_lines>(k0 + j);
      else
        traffic_lines.template ask_share<3>(k0 + j);
      lane_rows::load<Cn, exact>(zn + (k0 + j) * C, K * C, C, e[j]);
      const V shift = pairwise_max<Cn>(e[j]);
      FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) e[j][c] -= shift;
    }
    FARBOUND_UNROLL for (std::size_t j = 0; j < J; ++j) {
      const std::size_t out = !streamed ? 0 : share_lines > 0 ? share_lines : traffic_lines.lines(k0 + j);
      FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) {
        e[j][c] = simd::softmax_exp(e[j][c]);
        if constexpr (streamed)
          if (c < out) traffic_lines.stream(k0 + j, c);
      }
    }
    FARBOUND_UNROLL for (std::size_t j = 0; j < J; ++j) q_sum[j] = pairwise_sum<Cn>(e[j]);
    FARBOUND_UNROLL for (std::size_t j = 0; j < J; ++j) {
      q_inv_sum[j] = V(T(1)) / q_sum[j];
      w[j] = V(T(1)) / distances.next(k0 + j);
      FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c)
        delta[j][c] = simd::fused_negated_multiply_add(e[j][c], q_inv_sum[j], p[c]);
      const V total = pairwise_sum<Cn>(delta[j]);
      FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) delta[j][c] -= where(p_top[c], total);
    }
    FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c)  // v[c] read and written once for the J neighbours
      FARBOUND_UNROLL for (std::size_t j = 0; j < J; ++j) v[c] = xsimd::fma(w[j], delta[j][c], v[c]);
    FARBOUND_UNROLL for (std::size_t j = 0; j < J; ++j)
      weighted_squares = xsimd::fma(w[j], dot<Cn>(delta[j], delta[j]), weighted_squares);
    FARBOUND_UNROLL for (std::size_t j = 0; j < J; ++j) {
      const V scale = V(-gr_weight) * w[j] * q_inv_sum[j];
      const V offset = -scale * (dot<Cn>(e[j], delta[j]) * q_inv_sum[j]);  // -scale s_k
      FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) delta[j][c] = e[j][c] * xsimd::fma(scale, delta[j][c], offset);
      const V total = pairwise_sum<Cn>(delta[j]);
      FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c)
        delta[j][c] = simd::fused_negated_multiply_add(xsimd::floor(e[j][c]), total, delta[j][c]);
    }
    FARBOUND_UNROLL for (std::size_t j = 0; j < J; ++j)
      lane_rows::store<Cn, exact>(delta[j], C, dzn + (k0 + j) * C, K * C);
  };
  // Two instances of the loops, with and without the streaming stores among the
  // exponentials, whose tests would cut GCC's blocks of instructions (1 % slower in cache).
  const auto visit = [&]<std::size_t J>(std::size_t k0) {
    if (traffic_lines.streams()) neighbours.template operator()<J, true>(k0);
    else neighbours.template operator()<J, false>(k0);
  };
  std::size_t k = 0;
  for (; k + 2 <= K; k += 2) visit.template operator()<2>(k);
  if (k < K) visit.template operator()<1>(k);

  // dL/dz_c = a p_c (v_c - t) + ce_weight (p_c - [c == y]), t = sum_c p_c v_c.
  V products[Cn];
  FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c) products[c] = p[c] * v[c];
  const V t = pairwise_sum<Cn>(products);
  FARBOUND_UNROLL for (std::size_t c = 0; c < Cn; ++c)
    v[c] = V(gr_weight) * p[c] * (v[c] - t) + ce_weights * p[c] - where(label == V(T(c)), ce_weights);
  complete_zero_sum(v, p_top);
  lane_rows::store<Cn>(v, C, dz, C);

  store_lane_terms(label, p_shift + xsimd::log(p_sum), label_logit, weighted_squares, K, C, terms);
}

// Anchors a .. a + W - 1 with C <= lane_anchor_max_classes classes, arguments as above: up
// to 16 classes the kernel above, with the classes rounded up to a few fixed counts so that
// its loops over classes unroll and its rows stay in registers; past that the wide kernel.
template <class T>
void smoothness_anchor_lanes(const T* z, const T* zn, const T* r, std::size_t K, std::size_t C,
                             const std::int32_t* labels, T ce_weight, T gr_weight, T* dz, T* dzn,
                             AnchorTerms<T>* terms, const BlockTraffic<T>& traffic = {}) {
  const auto run = [&]<std::size_t Cn, bool exact = false>() {
    smoothness_anchor_lanes_padded<Cn, exact>(z, zn, r, K, C, labels, ce_weight, gr_weight, dz, dzn, terms, traffic);
  };
  if (C <= 4) run.template operator()<4>();
  else if (C <= 8) run.template operator()<8>();
  else if (C == 10) run.template operator()<10, true>();  // MNIST, CIFAR-10
  else if (C <= 10) run.template operator()<10>();
  else if (C <= register_lane_max_classes) run.template operator()<register_lane_max_classes>();
  else smoothness_anchor_lanes_wide(z, zn, r, K, C, labels, ce_weight, gr_weight, dz, dzn, terms, traffic);
}

}  // namespace farbound::detail
