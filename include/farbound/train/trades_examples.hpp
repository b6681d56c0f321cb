#pragma once
// TradesExamples: the inner maximisation of TRADES (Zhang et al. 2019), as the authors'
// trades.py crafts it. With p = softmax f(x) of the clean rows (fixed), from
// x' = x + 0.001 N(0, I), k times:
//   x' <- clip_bounds( clip_[x - eps, x + eps]( x' + a sign(grad_x' KL(p || softmax f(x'))) ) )
// with a = rel_stepsize * eps (default 2.5 / k, as PGD). L-inf only, as the paper. The start
// noise is keyed by (seed, epoch, anchor id), as the samplers' noise is. Eval mode.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "farbound/attack/bounds.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/train/adversarial_examples.hpp"

namespace farbound {

// TRADES's adversarial examples: k sign steps that maximise the KL term (see above).
template <class T>
class TradesExamples final : public AdversarialExamples<T> {
 public:
  // eps: the L-inf radius; steps >= 1; bounds: the input box; seed keys the start noise;
  // rel_stepsize: the step size over eps (default 2.5 / steps).
  TradesExamples(double eps, int steps, Bounds bounds, std::uint64_t seed, std::optional<double> rel_stepsize = {})
      : eps_(eps), steps_(steps), bounds_(bounds), seed_(seed), step_(rel_stepsize.value_or(2.5 / steps) * eps) {
    if (steps < 1) throw argument_error("TradesExamples: steps must be >= 1, got " + std::to_string(steps));
    if (!(eps >= 0) || !std::isfinite(eps)) throw argument_error("TradesExamples: eps must be finite and >= 0");
    bounds_.validate("TradesExamples");
  }

  void craft(Sequential<T>& model, TensorView<const T> x, std::span<const int>, const CraftContext& at,
             Tensor<T>& x_adv) override {
    const EvalMode<T> eval(model);
    const std::int64_t n = x.size(0), d = x.shape().item_numel();
    if (std::int64_t(at.anchor_ids.size()) != n)
      throw shape_error("TradesExamples: " + std::to_string(at.anchor_ids.size()) + " anchor ids for " +
                        std::to_string(n) + " rows");
    log_softmax<T>(model.forward(x), clean_log_p_);
    x_adv.resize(x.shape());
    parallel_for(n, [&](std::int64_t i) {
      const auto row = x_adv.span().subspan(std::size_t(i * d), std::size_t(d));
      RandomStream(seed_, Purpose::adversarial_training, at.epoch, at.anchor_ids[std::size_t(i)]).normal(row, 0.001);
      for (std::int64_t j = 0; j < d; ++j) row[std::size_t(j)] += x[i * d + j];
    });
    const std::int64_t c = clean_log_p_.size(1);
    const T lo = T(bounds_.lower), hi = T(bounds_.upper), eps = T(eps_), step = T(step_);
    for (int s = 0; s < steps_; ++s) {
      // d KL(p || q) / d logits' = q - p, with q = softmax f(x').
      log_softmax<T>(model.forward(x_adv.view()), grad_logits_);
      for (std::int64_t e = 0; e < n * c; ++e) grad_logits_[e] = std::exp(grad_logits_[e]) - std::exp(clean_log_p_[e]);
      const auto g = model.backward(grad_logits_.view(), InputGrad::compute, ParamGrads::skip);
      parallel_for(n, [&](std::int64_t i) {
        for (std::int64_t j = i * d; j < (i + 1) * d; ++j) {
          const T moved = x_adv[j] + step * T((g[j] > T(0)) - (g[j] < T(0)));
          x_adv[j] = std::clamp(std::clamp(moved, x[j] - eps, x[j] + eps), lo, hi);
        }
      });
    }
  }

 private:
  double eps_;
  int steps_;
  Bounds bounds_;
  std::uint64_t seed_;
  double step_;
  Tensor<T> clean_log_p_, grad_logits_;
};

}  // namespace farbound
