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
// Storage: the anchor's gradient row holds p, then v, and the neighbour's holds delta_k,
// until they are overwritten by dL/dz and dL/dz_k; p is evaluated again where it is needed
// after v took its place, from the anchor's exp(z - max) where the caller's store below has
// room for them after the neighbours' (C exponentials otherwise). q_k is needed three
// times (delta_k, s_k and dL/dz_k): the caller's q_store keeps exp(z_k - max) for as many
// neighbours as it has room for, so those cost one exponential per logit; the others (all
// of them on the GPU, which passes no store) evaluate q_k again from the row's (max, 1/sum),
// three exponentials per logit more. Either way q = exp(z - max) * (1/sum).
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
#include <bit>
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
  T shift, sum, inv_sum;
  std::size_t top;

  // Only the labelled anchor's cross-entropy needs it: a log per neighbour row would cost as
  // much as a pass over the row at C = 100.
  FARBOUND_HOST_DEVICE T log_sum_exp() const { return shift + std::log(sum); }

  template <class L>
  FARBOUND_HOST_DEVICE typename L::vec at(L lanes, std::size_t c) const {
    using V = typename L::vec;
    return L::softmax_exp(lanes.load(z + c) - V(shift)) * V(inv_sum);
  }
};

// The softmax rows of n rows of C logits each (z, z + C, ...), stage by stage over all of
// them: every row's maximum and, in the same pass, its first largest logit (Blocks::max_at),
// then every row's sum of exp(z - max) (written to exps(j) where that is not null). Each
// stage's rows are independent chains of work ending in a reduction, which the core
// overlaps; one row at a time, each reduction's latency was waited out before the next pass
// could start (at C = 100 a row is 7 blocks). A row's own arithmetic is the same either way.
template <class Blocks, class T, class Exps>
FARBOUND_FORCE_INLINE FARBOUND_HOST_DEVICE void softmax_rows(const T* z, std::size_t n, std::size_t C, Exps&& exps,
                                                            SoftmaxRow<T>* rows) {
  for (std::size_t j = 0; j < n; ++j) {
    const T* const row = z + j * C;
    rows[j].z = row;
    const MaxAt<T> largest = Blocks::template max_at<T>(C, [&]<class L>(L lanes, std::size_t c) { return lanes.load(row + c); });
    rows[j].shift = largest.value;
    rows[j].top = std::min(largest.at, C - 1);
  }
  for (std::size_t j = 0; j < n; ++j) {
    const T* const row = rows[j].z;
    const T shift = rows[j].shift;
    T* const out = exps(j);
    rows[j].sum = Blocks::template reduce<Sum, T>(C, [&]<class L>(L lanes, std::size_t c) {
      using V = typename L::vec;
      const V e = L::softmax_exp(lanes.load(row + c) - V(shift));
      if (out) lanes.store(e, out + c);
      return e;
    });
    rows[j].inv_sum = T(1) / rows[j].sum;
  }
}

// One row; with `exps`, also writes exp(z_c - shift) there (C values).
template <class Blocks, class T>
FARBOUND_FORCE_INLINE FARBOUND_HOST_DEVICE SoftmaxRow<T> softmax_row(const T* z, std::size_t C, T* exps = nullptr) {
  SoftmaxRow<T> row;
  softmax_rows<Blocks>(z, 1, C, [exps](std::size_t) { return exps; }, &row);
  return row;
}

// For a row that sums to zero: row[top] = -sum_{c != top} row[c].
template <class Blocks, class T>
FARBOUND_HOST_DEVICE void complete_zero_sum_row(std::size_t top, T* row, std::size_t C) {
  row[top] = -Blocks::template sum_without<T>(C, top, [&]<class L>(L lanes, std::size_t c) { return lanes.load(row + c); });
}

// row[c] = value(lanes, c) for every c, then complete_zero_sum_row, in one pass over the row.
template <class Blocks, class T, class F>
FARBOUND_FORCE_INLINE FARBOUND_HOST_DEVICE void write_zero_sum_row(std::size_t top, T* row, std::size_t C, F&& value) {
  const T others = Blocks::template sum_without<T>(C, top, [&]<class L>(L lanes, std::size_t c) {
    const auto v = value(lanes, c);
    lanes.store(v, row + c);
    return v;
  });
  row[top] = -others;
}

// Per-anchor loss terms before the batch weighting: CE_i (0 for an unlabelled anchor), GR_i.
template <class T>
struct AnchorTerms {
  T cross_entropy, smoothness;
};

// What a CPU caller lends the kernel (the GPU lends nothing): q_store, room for q_capacity
// values where the first q_capacity / C neighbours' exp(z_k - max) rows are kept; and where the
// next anchor's rows lie, which the kernel asks into the cache while it computes this one
// (a lane-block at a time, BatchLanes::prefetch) so that the next anchor's first passes do
// not wait on memory. Without them it prefetches its own rows: harmless.
template <class T>
struct AnchorAids {
  T* q_store = nullptr;
  std::size_t q_capacity = 0;
  const T *next_z = nullptr, *next_zn = nullptr, *next_dz = nullptr, *next_dzn = nullptr;
};

// One anchor: z [C], its neighbours' logits zn [K, C] and squared distances r [K], label y
// (-1: unlabelled). Writes dL/dz into dz [C] and dzn [K, C]; gr_weight is a above.
template <class Blocks, class T>
FARBOUND_HOST_DEVICE AnchorTerms<T> smoothness_anchor(const T* z, const T* zn, const T* r, std::size_t K, std::size_t C, std::int32_t label,
                                 T ce_weight, T gr_weight, T* dz, T* dzn, const AnchorAids<T>& aids = {}) {
  const auto each = [C](auto&& f) { Blocks::template for_each<T>(C, f); };
  const auto sum = [C](auto&& f) { return Blocks::template reduce<Sum, T>(C, f); };
  const auto delta_row = [&](std::size_t k) { return dzn + k * C; };

  // The first neighbours' (max, 1/sum), w_k and s_k are kept for the passes below; the first
  // stored_rows keep exp(z_k - max) in q_store, from which q_k is one product away.
  constexpr std::size_t kept_rows = 16;
  SoftmaxRow<T> kept[kept_rows] = {};
  T kept_w[kept_rows] = {}, kept_s[kept_rows] = {};
  const auto w = [&](std::size_t k) { return k < kept_rows ? kept_w[k] : T(1) / r[k]; };
  const std::size_t stored_rows = aids.q_store ? std::min(K, aids.q_capacity / C) : 0;
  const auto stored_exps = [&](std::size_t k) { return k < stored_rows ? aids.q_store + k * C : nullptr; };
  const auto q_at = [&]<class L>(L lanes, const SoftmaxRow<T>& q, const T* exps, std::size_t c) {
    return exps ? lanes.load(exps + c) * typename L::vec(q.inv_sum) : q.at(lanes, c);
  };
  // The anchor's exp(z - max) follow the stored neighbours' where they fit; p is then one
  // product away in the vector blocks. (In the single elements of a row's tail the compiler
  // would fuse that product into the sums around it otherwise than into exp(...) * (1/sum):
  // other bits.)
  T* const anchor_exps = stored_rows > 0 && (stored_rows + 1) * C <= aids.q_capacity ? aids.q_store + stored_rows * C : nullptr;
  const SoftmaxRow<T> p = softmax_row<Blocks>(z, C, anchor_exps);
  const auto p_at = [&]<class L>(L lanes, std::size_t c) {
    return L::width > 1 ? q_at(lanes, p, anchor_exps, c) : p.at(lanes, c);
  };
  // The neighbours go through each stage below in groups of up to kept_rows rows, a pass
  // over every row of the group before the next pass (softmax_rows says why), as many rows
  // as hold 1024 logits (4 KB in float), so that a group stays in the L1 cache between its
  // passes: at C = 1000, groups of 4 rows ran 5-10 % slower than one row at a time. Groups
  // of a power of two end where the kept rows end.
  const std::size_t group = std::bit_floor(std::clamp<std::size_t>(1024 / C, 1, kept_rows));
  SoftmaxRow<T> beyond_kept[kept_rows];
  const auto group_softmax = [&](std::size_t k0, std::size_t n, bool keep) {
    if (k0 < kept_rows && !keep) return static_cast<const SoftmaxRow<T>*>(kept + k0);
    SoftmaxRow<T>* const rows = k0 < kept_rows ? kept + k0 : beyond_kept;
    softmax_rows<Blocks>(zn + k0 * C, n, C, [&](std::size_t j) { return stored_exps(k0 + j); }, rows);
    return static_cast<const SoftmaxRow<T>*>(rows);
  };

  // p, parked in the anchor's gradient row, then delta_k = p - q_k, parked in the
  // neighbour's gradient row while the next anchor's logits are asked for; in the same pass
  // s_k = sum_c q_kc delta_kc, its entry at p's top corrected after the rebuild (a pass of
  // its own was 12 % of the kernel at C = 1000).
  const T* const next_zn = aids.next_zn ? aids.next_zn : zn;
  const T* const next_dzn = aids.next_dzn ? aids.next_dzn : dzn;
  each([&]<class L>(L lanes, std::size_t c) { lanes.store(p_at(lanes, c), dz + c); });
  for (std::size_t k0 = 0; k0 < K; k0 += group) {
    const std::size_t n = std::min(group, K - k0);
    const SoftmaxRow<T>* const q = group_softmax(k0, n, true);
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t k = k0 + j;
      if (k < kept_rows) kept_w[k] = T(1) / r[k];
      const T* const exps = stored_exps(k);
      T* const delta = delta_row(k);
      const auto sums = Blocks::template sum_without<T>(C, p.top, [&]<class L>(L lanes, std::size_t c) {
        L::prefetch(next_zn + k * C + c);
        const auto qc = q_at(lanes, q[j], exps, c);
        const auto d = lanes.load(dz + c) - qc;
        lanes.store(d, delta + c);
        return SumPair<typename L::vec>{d, qc * d};
      });
      const T unrebuilt = delta[p.top];
      delta[p.top] = -sums.without;
      if (k < kept_rows) kept_s[k] = sums.all + q_at(ScalarLanes<T>{}, q[j], exps, p.top) * (delta[p.top] - unrebuilt);
    }
  }

  // v_c = sum_k w_k delta_kc, parked in the anchor's gradient row over p, and with it GR's
  // double sum; then t = sum_c p_c v_c.
  const T weighted_squares = sum([&]<class L>(L lanes, std::size_t c) {
    using V = typename L::vec;
    V v(T(0)), squares(T(0));
    for (std::size_t k = 0; k < K; ++k) {
      const V d = lanes.load(delta_row(k) + c);
      const V wd = V(w(k)) * d;
      v += wd;
      squares += wd * d;
    }
    lanes.store(v, dz + c);
    return squares;
  });
  const T t = sum([&]<class L>(L lanes, std::size_t c) { return p_at(lanes, c) * lanes.load(dz + c); });

  // dL/dz for the anchor.
  const T* const next_z = aids.next_z ? aids.next_z : z;
  const T* const next_dz = aids.next_dz ? aids.next_dz : dz;
  each([&]<class L>(L lanes, std::size_t c) {
    using V = typename L::vec;
    L::prefetch(next_z + c);
    L::prefetch(next_dz + c);
    const V pc = p_at(lanes, c);
    lanes.store(V(gr_weight) * pc * (lanes.load(dz + c) - V(t)) + V(ce_weight) * pc, dz + c);
  });
  if (label >= 0) dz[label] -= ce_weight;
  complete_zero_sum_row<Blocks>(p.top, dz, C);

  // dL/dz_k for each neighbour, in place over delta_k (each lane block reads before writing),
  // while the next anchor's gradient rows are asked for; the rows past the kept ones
  // evaluate their softmax and s_k again.
  for (std::size_t k0 = 0; k0 < K; k0 += group) {
    const std::size_t n = std::min(group, K - k0);
    const SoftmaxRow<T>* const q = group_softmax(k0, n, false);
    T s[kept_rows];
    for (std::size_t j = 0; j < n; ++j) {
      const T* const exps = stored_exps(k0 + j);
      const T* const delta = delta_row(k0 + j);
      s[j] = k0 + j < kept_rows ? kept_s[k0 + j]
                                : sum([&]<class L>(L lanes, std::size_t c) { return q_at(lanes, q[j], exps, c) * lanes.load(delta + c); });
    }
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t k = k0 + j;
      const T* const exps = stored_exps(k);
      const T scale = -gr_weight / r[k];
      write_zero_sum_row<Blocks>(q[j].top, delta_row(k), C, [&]<class L>(L lanes, std::size_t c) {
        using V = typename L::vec;
        L::prefetch(next_dzn + k * C + c);
        return V(scale) * q_at(lanes, q[j], exps, c) * (lanes.load(delta_row(k) + c) - V(s[j]));
      });
    }
  }

  const T ce = label >= 0 ? p.log_sum_exp() - z[label] : T(0);
  const T gr = K > 0 ? weighted_squares / T(K * C) : T(0);
  return {ce, gr};
}

}  // namespace farbound::detail
