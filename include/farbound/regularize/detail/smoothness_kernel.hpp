#pragma once
// The smoothness loss of one anchor and its K neighbours, forward and backward fused.
//
// Notation (regularize/smoothness_loss.hpp): anchor logits z in R^C, neighbour logits
// z_k, p = softmax(z), q_k = softmax(z_k), w_k = 1 / r_k, delta_k = p - q_k.
//   CE    = logsumexp(z) - z_y                       (labelled anchors only)
//   GR    = 1/(K*C) * sum_k w_k * sum_c delta_kc^2
// The batch loss weighs them as L = ce_weight * CE + (lambda/B) * GR, ce_weight = 1/B for a
// labelled anchor and 0 otherwise. With a = 2*lambda/(B*K*C):
//   dL/dp_c    =  a * v_c,            v_c = sum_k w_k * delta_kc
//   dL/dq_kc   = -a * w_k * delta_kc
// and through the softmax Jacobian, dL/dz_c = p_c * (g_c - sum_c' p_c' g_c'):
//   dL/dz_c    =  a * p_c * (v_c - t) + ce_weight * (p_c - [c == y]),     t   = sum_c p_c v_c
//   dL/dz_kc   = -a * w_k * q_kc * (delta_kc - s_k),                      s_k = sum_c q_kc delta_kc
// (the cross-entropy part needs no Jacobian: d(logsumexp(z) - z_y)/dz = p - e_y).
//
// Storage: p lives in the anchor's gradient row and delta_k in neighbour k's until those
// rows are overwritten by dL/dz and dL/dz_k. q_k is never stored: it is recomputed lane by
// lane from the row's (max, 1/sum) wherever needed, which costs a few exponentials per row
// and needs no workspace; recomputation is bitwise identical to the first evaluation.
// Softmax is shifted by the row maximum, so logits of +-1e3 are safe. Sums over a row
// accumulate lane-wise and reduce once (Blocks::reduce), in an order that depends on C only.
//
// One source for the CPU and the GPU: everything here is FARBOUND_HOST_DEVICE. With
// ScalarBlocks it is the CPU reference and, unchanged, the body of the CUDA kernel
// (cuda/smoothness_loss.cuh, one thread per anchor); with SimdBlocks it is the fast CPU
// path, which the tests check against the reference.
//
// Accuracy where the softmax saturates (p_c* = 1 - alpha, alpha small): p_c* carries an
// absolute error of one rounding, so anything computed as a difference with it (p_c* - q_c*
// when q peaks at the same class; g_c* - t; p_y - 1) would lose all the digits of a small
// result. Each such vector sums to zero (sum_c delta_kc = 0; every softmax gradient row
// sums to zero), so its entry at the row's largest logit is rebuilt as minus the sum of the
// other entries, which are all accurate. This keeps scalar and SIMD results, float and
// double, within a few roundings of the exact gradient relative to its largest entry.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "farbound/core/host_device.hpp"
#include "farbound/detail/lanes.hpp"

namespace farbound::detail {

// softmax(z) of one row, evaluated on demand: p_c = exp(z_c - shift) * inv_sum; top is the
// first largest logit (where the row's zero-sum entry is rebuilt, see above).
template <class T>
struct SoftmaxRow {
  const T* z;
  T shift, inv_sum, log_sum_exp;
  std::size_t top;

  template <class L>
  FARBOUND_HOST_DEVICE typename L::vec at(L, std::size_t c) const {
    using V = typename L::vec;
    return L::exp(L::load(z + c) - V(shift)) * V(inv_sum);
  }
};

template <class Blocks, class T>
FARBOUND_HOST_DEVICE SoftmaxRow<T> softmax_row(const T* z, std::size_t C) {
  const T shift = Blocks::template reduce<Max, T>(C, [&]<class L>(L, std::size_t c) { return L::load(z + c); });
  const T sum = Blocks::template reduce<Sum, T>(C, [&]<class L>(L, std::size_t c) {
    return L::exp(L::load(z + c) - typename L::vec(shift));
  });
  std::size_t top = 0;
  while (top + 1 < C && !(z[top] == shift)) ++top;
  return {z, shift, T(1) / sum, shift + std::log(sum), top};
}

// For a row that sums to zero: row[top] = -sum_{c != top} row[c].
template <class Blocks, class T>
FARBOUND_HOST_DEVICE void complete_zero_sum_row(std::size_t top, T* row, std::size_t C) {
  row[top] = T(0);
  row[top] = -Blocks::template reduce<Sum, T>(C, [&]<class L>(L, std::size_t c) { return L::load(row + c); });
}

// Per-anchor loss terms before the batch weighting: CE_i (0 for an unlabelled anchor), GR_i.
template <class T>
struct AnchorTerms {
  T cross_entropy, smoothness;
};

// One anchor: z [C], its neighbours' logits zn [K, C] and squared distances r [K], label y
// (-1: unlabelled). Writes dL/dz into dz [C] and dzn [K, C]; gr_weight is a above.
template <class Blocks, class T>
FARBOUND_HOST_DEVICE AnchorTerms<T> smoothness_anchor(const T* z, const T* zn, const T* r, std::size_t K, std::size_t C, std::int32_t label,
                                 T ce_weight, T gr_weight, T* dz, T* dzn) {
  const auto each = [C](auto&& f) { Blocks::template for_each<T>(C, f); };
  const auto sum = [C](auto&& f) { return Blocks::template reduce<Sum, T>(C, f); };
  const SoftmaxRow<T> p = softmax_row<Blocks>(z, C);
  const auto delta_row = [&](std::size_t k) { return dzn + k * C; };

  // p, parked in the anchor's gradient row until that row is written (the same bits as
  // evaluating it again), then delta_k = p - q_k, parked in the neighbour's gradient row.
  // The first neighbours' (max, 1/sum) are kept for their second pass below.
  constexpr std::size_t kept_rows = 16;
  SoftmaxRow<T> kept[kept_rows] = {};
  const auto neighbour_softmax = [&](std::size_t k) {
    return k < kept_rows ? kept[k] : softmax_row<Blocks>(zn + k * C, C);
  };
  each([&]<class L>(L, std::size_t c) { L::store(p.at(L{}, c), dz + c); });
  for (std::size_t k = 0; k < K; ++k) {
    const SoftmaxRow<T> q = softmax_row<Blocks>(zn + k * C, C);
    if (k < kept_rows) kept[k] = q;
    T* delta = delta_row(k);
    each([&]<class L>(L, std::size_t c) { L::store(L::load(dz + c) - q.at(L{}, c), delta + c); });
    complete_zero_sum_row<Blocks>(p.top, delta, C);
  }

  // v_c = sum_k w_k delta_kc for the lanes at c; with `squares`, also sum_k w_k delta_kc^2.
  const auto neighbour_sums = [&]<class L>(L, std::size_t c, typename L::vec* squares) {
    using V = typename L::vec;
    V v(T(0)), sq(T(0));
    for (std::size_t k = 0; k < K; ++k) {
      const V d = L::load(delta_row(k) + c);
      const V wd = V(T(1) / r[k]) * d;
      v += wd;
      if (squares) sq += wd * d;
    }
    if (squares) *squares = sq;
    return v;
  };

  // GR's double sum and t = sum_c p_c v_c.
  const T weighted_squares = sum([&]<class L>(L, std::size_t c) {
    typename L::vec sq;
    neighbour_sums(L{}, c, &sq);
    return sq;
  });
  const T t = sum([&]<class L>(L, std::size_t c) { return L::load(dz + c) * neighbour_sums(L{}, c, nullptr); });

  // dL/dz for the anchor (needs every delta_k, so it comes before the neighbours' rows).
  each([&]<class L>(L, std::size_t c) {
    using V = typename L::vec;
    const V pc = L::load(dz + c);
    L::store(V(gr_weight) * pc * (neighbour_sums(L{}, c, nullptr) - V(t)) + V(ce_weight) * pc, dz + c);
  });
  if (label >= 0) dz[label] -= ce_weight;
  complete_zero_sum_row<Blocks>(p.top, dz, C);

  // dL/dz_k for each neighbour, in place over delta_k (each lane block reads before writing).
  for (std::size_t k = 0; k < K; ++k) {
    const SoftmaxRow<T> q = neighbour_softmax(k);
    T* delta = delta_row(k);
    const T s = sum([&]<class L>(L, std::size_t c) { return q.at(L{}, c) * L::load(delta + c); });
    const T scale = -gr_weight / r[k];
    each([&]<class L>(L, std::size_t c) {
      using V = typename L::vec;
      L::store(V(scale) * q.at(L{}, c) * (L::load(delta + c) - V(s)), delta + c);
    });
    complete_zero_sum_row<Blocks>(q.top, delta, C);
  }

  const T ce = label >= 0 ? p.log_sum_exp - z[label] : T(0);
  const T gr = K > 0 ? weighted_squares / T(K * C) : T(0);
  return {ce, gr};
}

}  // namespace farbound::detail
