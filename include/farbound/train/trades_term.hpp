#pragma once
// TradesTerm: TRADES's robustness term (Zhang et al. 2019),
//   beta * (1/B) * sum_a KL( softmax z_i(a) || softmax w_a )
// over the adversarial rows a (logits w_a) and the clean rows i(a) they were crafted from
// (logits z_i), with the gradient through both, as the authors' code (KLDivLoss summed and
// divided by the batch, neither side detached). With p = softmax z, q = softmax w and
// s_c = log p_c - log q_c:
//   d KL / d w_c = q_c - p_c,     d KL / d z_c = p_c (s_c - KL).
// TRADES's loss is CrossEntropyTerm (clean rows only) + TradesTerm. Log-softmax and sums in
// double (nn/loss.hpp's log_softmax_row<double>).
#include <cmath>
#include <cstdint>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/train/objective.hpp"

namespace farbound {

// TRADES's KL robustness term, beta-weighted (see above).
template <class T>
class TradesTerm final : public ObjectiveTerm<T> {
 public:
  // beta: the KL term's weight, finite and >= 0.
  explicit TradesTerm(double beta) : beta_(beta) {
    if (!(beta >= 0) || !std::isfinite(beta)) throw argument_error("TradesTerm: beta must be finite and >= 0");
  }

  TermLoss add(const StepRows<T>& rows, TensorView<T> grad) override {
    const std::int64_t c = rows.logits.size(1);
    const double w = beta_ / double(rows.step_anchors);
    log_p_.resize(std::size_t(c));
    log_q_.resize(std::size_t(c));
    double kl_sum = 0;
    for (std::int64_t a = 0; a < rows.adversarial; ++a) {
      const std::int64_t i = rows.crafted_from[std::size_t(a)], r = rows.adversarial_row() + a;
      log_softmax_row(rows.logits.data() + i * c, log_p_.data(), std::size_t(c));
      log_softmax_row(rows.logits.data() + r * c, log_q_.data(), std::size_t(c));
      double kl = 0;
      for (std::int64_t k = 0; k < c; ++k) kl += std::exp(log_p_[k]) * (log_p_[k] - log_q_[k]);
      T* gz = grad.data() + i * c;
      T* gw = grad.data() + r * c;
      for (std::int64_t k = 0; k < c; ++k) {
        const double p = std::exp(log_p_[k]), q = std::exp(log_q_[k]);
        gz[k] += T(w * p * (log_p_[k] - log_q_[k] - kl));
        gw[k] += T(w * (q - p));
      }
      kl_sum += kl;
    }
    TermLoss out;
    out.regulariser = kl_sum / double(rows.step_anchors);
    out.total = beta_ * out.regulariser;
    return out;
  }

 private:
  double beta_;
  std::vector<double> log_p_, log_q_;
};

}  // namespace farbound
