#pragma once
// The smoothness loss with anchors on the SIMD lanes and their rows in memory: the CPU path
// from 17 to 64 classes (smoothness_lanes.hpp explains the lanes and picks the kernel).
//
// Past 16 classes the rows no longer fit in registers, and with lanes over the classes
// (smoothness_kernel.hpp) every pass over a row of C = 20 pays its horizontal reduction,
// its tail and its setup once per row. Here a block of W anchors keeps its classes in four
// arrays on the stack, one W-lane vector per class (8 KB of floats on AVX2, 16 KB on
// AVX-512: in L1), and every step is a loop over the classes with lane-wise sums. Each
// row's largest logit is an index per lane, so the zero-sum rebuilds compare that index with
// the class in hand rather than keep masks. On AVX2, one thread, in cache: 2.2x as fast as
// the row kernel at C = 20, 1.4x at 50, 1.13x at 100, even at 112, slower at 128 (when its
// loops still ran to a whole block of W). From memory on two threads the two were even at
// 64 to 80 classes there and the row kernel 13 % faster at 100 (its rows stream better); on
// Zen 4, with the loops stopping at C, the wide kernel is 1.13x faster at 65 but 1.2x and
// 1.3x slower at 80 and 100, though 1.2x faster in the cache there (docs/performance.md):
// hence the limit of 64 (where between 65 and 80 the two cross was not measured).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "farbound/core/exp.hpp"
#include "farbound/core/fused.hpp"
#include "farbound/core/host_device.hpp"
#include "farbound/regularize/detail/lane_rows.hpp"
#include "farbound/regularize/detail/smoothness_kernel.hpp"

namespace farbound::detail {

// The classes the wide kernel's arrays hold (smoothness_loss runs more on smoothness_kernel.hpp).
inline constexpr std::size_t wide_lane_max_classes = 64;

// Anchors a .. a + W - 1 with 16 < C <= wide_lane_max_classes classes; arguments as for
// smoothness_anchor_lanes_padded (smoothness_lanes.hpp).
template <class T>
void smoothness_anchor_lanes_wide(const T* z, const T* zn, const T* r, std::size_t K, std::size_t C,
                                  const std::int32_t* labels, T ce_weight, T gr_weight, T* dz, T* dzn,
                                  AnchorTerms<T>* terms, const BlockTraffic<T>& traffic) {
  using V = xsimd::batch<T>;
  constexpr std::size_t W = V::size;
  // Every loop over the classes stops at C: lane_rows::load fills whole blocks of W columns,
  // those past C with -inf, but a column is a vector, and one past C holds no lane's class
  // (at C = 50, 64 vectors a row had cost 1.2x the time of 50, at C = 17 32 of them 1.5x).
  // p: the anchors' softmax; v: sum_k w_k delta_k; x: a neighbour's logits, then its
  // exp(z - max); d: its delta, then its gradient.
  alignas(64) V p[wide_lane_max_classes], v[wide_lane_max_classes], x[wide_lane_max_classes], d[wide_lane_max_classes];
  const auto [label, ce_weights] = lane_labels(labels, ce_weight);
  const V one(T(1));

  const auto load_rows = [&](const T* first, std::size_t stride, V* columns) {
    for (std::size_t b = 0; b < C; b += W) lane_rows::load<W>(first + b, stride, std::min(W, C - b), columns + b);
  };
  // Writes the rows of columns[0..C), with lane l's entry at class top[l] replaced by
  // rebuilt[l] (the zero-sum rebuild).
  const auto store_rows = [&](const V* columns, V top, V rebuilt, T* first, std::size_t stride) {
    V index(T(0));
    for (std::size_t b = 0; b < C; b += W) {
      V block[W];
      FARBOUND_UNROLL for (std::size_t j = 0; j < W; ++j) {  // columns past C were not written: zeros, not stored
        block[j] = b + j < C ? xsimd::select(index == top, rebuilt, columns[b + j]) : V(T(0));
        index += one;
      }
      lane_rows::store<W>(block, std::min(W, C - b), first + b, stride);
    }
  };
  // row[c] = exp(row[c] - shift) in place; top: the first largest logit's class in each lane
  // (C - 1 where there is none: a NaN row), as a T.
  struct RowSoftmax {
    V shift, sum, top;
  };
  const auto softmax_in_place = [&](V* row) {
    V shift = row[0];
    for (std::size_t c = 1; c < C; ++c) shift = xsimd::max(shift, row[c]);
    V sum(T(0)), top(T(C - 1)), index = V(T(C));
    for (std::size_t c = C; c-- > 0;) {  // downwards, so that the first largest is the last kept
      index -= one;
      top = xsimd::select(row[c] == shift, index, top);
      row[c] = simd::softmax_exp(row[c] - shift);
      sum += row[c];
    }
    return RowSoftmax{shift, sum, top};
  };

  load_rows(z, C, p);
  V label_logit(T(0)), index(T(0));
  for (std::size_t c = 0; c < C; ++c) {
    label_logit += where(index == label, p[c]);
    index += one;
  }
  const RowSoftmax ps = softmax_in_place(p);
  const V p_inv_sum = one / ps.sum;
  for (std::size_t c = 0; c < C; ++c) {
    p[c] *= p_inv_sum;
    v[c] = V(T(0));
  }

  // Each neighbour, as in smoothness_lanes.hpp: delta_k = p - q_k (q_k = x / sum_k), its
  // entry at the anchor's top rebuilt; v += w_k delta_k and GR's sum w_k sum_c delta_kc^2;
  // dL/dz_kc = -a w_k q_kc (delta_kc - s_k), s_k = sum_c q_kc delta_kc, its entry at the
  // neighbour's top rebuilt as it is stored. The block's memory traffic (lane_rows.hpp) goes
  // a K-th at a time, one cache line with each class of the first pass: the next block's
  // rows asked for (in a burst before the pass, the block took 6 % longer from memory), the
  // logits into L2, the gradient rows with the intent to write; and the previous block's
  // staged rows streamed out (in a burst after each block, 7-9 % longer at C = 50 on two
  // threads; docs/performance.md).
  V weighted_squares(T(0));
  const BlockLines<T> traffic_lines(traffic, K, C);
  const bool streams = traffic_lines.streams();
  LaneDistances<T> distances(r, K);
  for (std::size_t k = 0; k < K; ++k) {
    load_rows(zn + k * C, K * C, x);
    const RowSoftmax qs = softmax_in_place(x);
    const V q_inv_sum = one / qs.sum, w = one / distances.next(k);
    V others(T(0));
    index = V(T(0));
    const std::size_t ahead = traffic_lines.lines(k);  // <= C: W C / (64 bytes) lines
    for (std::size_t c = 0; c < C; ++c) {
      if (c < ahead) {
        traffic_lines.template ask<2>(k, c);
        if (streams) traffic_lines.stream(k, c);
      }
      const V delta = simd::fused_negated_multiply_add(x[c], q_inv_sum, p[c]);
      d[c] = delta;
      others += where_not(index == ps.top, delta);
      index += one;
    }
    const V rebuilt = -others;
    V squares(T(0)), s(T(0));
    index = V(T(0));
    for (std::size_t c = 0; c < C; ++c) {
      const V delta = xsimd::select(index == ps.top, rebuilt, d[c]);
      d[c] = delta;
      v[c] = xsimd::fma(w, delta, v[c]);
      squares = xsimd::fma(delta, delta, squares);
      s = xsimd::fma(x[c], delta, s);
      index += one;
    }
    weighted_squares = xsimd::fma(w, squares, weighted_squares);
    s *= q_inv_sum;
    const V scale = V(-gr_weight) * w * q_inv_sum;
    others = V(T(0));
    index = V(T(0));
    for (std::size_t c = 0; c < C; ++c) {
      const V g = scale * x[c] * (d[c] - s);
      d[c] = g;
      others += where_not(index == qs.top, g);
      index += one;
    }
    store_rows(d, qs.top, -others, dzn + k * C, K * C);
  }

  // dL/dz_c = a p_c (v_c - t) + ce_weight (p_c - [c == y]), t = sum_c p_c v_c.
  V t(T(0));
  for (std::size_t c = 0; c < C; ++c) t = xsimd::fma(p[c], v[c], t);
  V others(T(0));
  index = V(T(0));
  for (std::size_t c = 0; c < C; ++c) {
    const V g = V(gr_weight) * p[c] * (v[c] - t) + ce_weights * p[c] - where(index == label, ce_weights);
    d[c] = g;
    others += where_not(index == ps.top, g);
    index += one;
  }
  store_rows(d, ps.top, -others, dz, C);

  store_lane_terms(label, ps.shift + xsimd::log(ps.sum), label_logit, weighted_squares, K, C, terms);
}

}  // namespace farbound::detail
