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
// Storage: delta_k lives in neighbour k's gradient row until that row is overwritten by
// dL/dz_k. p and q_k are never stored: they are recomputed lane by lane from the row's
// (max, 1/sum) wherever needed, which costs a few exponentials per row and needs no
// workspace; recomputation is bitwise identical to the first evaluation. Softmax is
// shifted by the row maximum, so logits of +-1e3 are safe.
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

// softmax(z) of one row, evaluated on demand: p_c = exp(z_c - shift) * inv_sum.
template <class T>
struct SoftmaxRow {
  const T* z;
  T shift, inv_sum, log_sum_exp;

  template <class L>
  FARBOUND_HOST_DEVICE typename L::vec at(L, std::size_t c) const {
    using V = typename L::vec;
    return L::exp(L::load(z + c) - V(shift)) * V(inv_sum);
  }
};

template <class Blocks, class T>
FARBOUND_HOST_DEVICE SoftmaxRow<T> softmax_row(const T* z, std::size_t C) {
  T shift = -std::numeric_limits<T>::infinity();
  Blocks::template for_each<T>(C, [&]<class L>(L, std::size_t c) { shift = std::max(shift, L::max_lane(L::load(z + c))); });
  T sum = 0;
  Blocks::template for_each<T>(C, [&]<class L>(L, std::size_t c) {
    sum += L::sum(L::exp(L::load(z + c) - typename L::vec(shift)));
  });
  return {z, shift, T(1) / sum, shift + std::log(sum)};
}

// For a row that sums to zero: row[c*] = -sum_{c != c*} row[c], c* the first largest logit.
template <class T>
FARBOUND_HOST_DEVICE void complete_zero_sum_row(const T* logits, T* row, std::size_t C) {
  std::size_t top = 0;
  for (std::size_t c = 1; c < C; ++c)
    if (logits[c] > logits[top]) top = c;
  T others = 0;
  for (std::size_t c = 0; c < C; ++c)
    if (c != top) others += row[c];
  row[top] = -others;
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
  const SoftmaxRow<T> p = softmax_row<Blocks>(z, C);
  const auto delta_row = [&](std::size_t k) { return dzn + k * C; };

  // delta_k = p - q_k, parked in the neighbour's gradient row.
  for (std::size_t k = 0; k < K; ++k) {
    const SoftmaxRow<T> q = softmax_row<Blocks>(zn + k * C, C);
    T* delta = delta_row(k);
    each([&]<class L>(L, std::size_t c) { L::store(p.at(L{}, c) - q.at(L{}, c), delta + c); });
    complete_zero_sum_row(z, delta, C);
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
  T weighted_squares = 0, t = 0;
  each([&]<class L>(L, std::size_t c) {
    typename L::vec sq;
    const auto v = neighbour_sums(L{}, c, &sq);
    weighted_squares += L::sum(sq);
    t += L::sum(p.at(L{}, c) * v);
  });

  // dL/dz for the anchor (needs every delta_k, so it comes before the neighbours' rows).
  each([&]<class L>(L, std::size_t c) {
    using V = typename L::vec;
    const V pc = p.at(L{}, c);
    L::store(V(gr_weight) * pc * (neighbour_sums(L{}, c, nullptr) - V(t)) + V(ce_weight) * pc, dz + c);
  });
  if (label >= 0) dz[label] -= ce_weight;
  complete_zero_sum_row(z, dz, C);

  // dL/dz_k for each neighbour, in place over delta_k (each lane block reads before writing).
  for (std::size_t k = 0; k < K; ++k) {
    const SoftmaxRow<T> q = softmax_row<Blocks>(zn + k * C, C);
    T* delta = delta_row(k);
    T s = 0;
    each([&]<class L>(L, std::size_t c) { s += L::sum(q.at(L{}, c) * L::load(delta + c)); });
    const T scale = -gr_weight / r[k];
    each([&]<class L>(L, std::size_t c) {
      using V = typename L::vec;
      L::store(V(scale) * q.at(L{}, c) * (L::load(delta + c) - V(s)), delta + c);
    });
    complete_zero_sum_row(zn + k * C, delta, C);
  }

  const T ce = label >= 0 ? p.log_sum_exp - z[label] : T(0);
  const T gr = K > 0 ? weighted_squares / T(K * C) : T(0);
  return {ce, gr};
}

}  // namespace farbound::detail
