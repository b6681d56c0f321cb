#pragma once
// Estimating eta of (delta2, eta)-strong-robustness (Wang, Gao, Qi; docs/papers.md section 2).
// f1 is (delta2, eta)-strong-robust against the oracle f2 when
//   P(f1(x) = f1(x') | f2(x) = f2(x'), d2'(x, x') < delta2) > 1 - eta,
// so the smallest such eta is the probability that f1 changes over pairs that the oracle
// calls the same and near. Two estimates:
//
// sample(x, delta2): every item x_i of x gets K draws x' from OraclePairSampler
//   (theory/pair_sampler.hpp); a draw is a pair when f2(x') = f2(x_i) (and, for an oracle
//   without geometry, d2'(x_i, x') < delta2); eta-hat = (pairs with f1(x') != f1(x_i)) /
//   pairs, with a Clopper-Pearson interval. The interval treats the pairs as independent:
//   they are, given the items (each draw has its own random numbers); K draws per item
//   stratify over the items, which only lowers the variance, so the interval is
//   conservative for the items' eta (not for a population the items are a sample of).
//
// invisible_attack(x, options): for a linear oracle, InvisibleAttack searches every item's
//   invisible directions (d2' = 0, f2 unchanged) for an x' that flips f1; eta-hat = flipped
//   items / items is the eta of the worst pair distribution (the attack's x' for each x),
//   valid at every delta2 > 0. It is > 0 exactly when f1 has a usable unnecessary feature.
//
// Both count flips of f1's own decision f1(x_i), right or wrong, as the definition does.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/theory/clopper_pearson.hpp"
#include "farbound/theory/invisible_attack.hpp"
#include "farbound/theory/oracle.hpp"
#include "farbound/theory/pair_sampler.hpp"

namespace farbound {

// Settings of EtaEstimator: draws per point, the pair sampler's settings, confidence level, batch size.
struct EtaOptions {
  std::int64_t draws_per_item = 16;  // K
  // How the pairs are drawn.
  PairSamplerOptions pairs{};
  double confidence = 0.95;          // level of the Clopper-Pearson interval
  std::int64_t batch_size = 4096;    // pairs per forward pass
};

// eta-hat at one delta2, its confidence interval, and the draws, pairs and flips behind it.
struct EtaEstimate {
  // The oracle radius; for the invisible attack, the largest d2'(x, x') of its pairs (0 up
  // to rounding): the estimate holds for every delta2 above it.
  double delta2 = 0;
  std::int64_t draws = 0;  // x' tried
  std::int64_t pairs = 0;  // of which f2(x') = f2(x) (and d2' < delta2)
  std::int64_t flips = 0;  // of which f1(x') != f1(x)
  double eta = 0;          // flips / pairs (0 without pairs)
  // Clopper-Pearson interval of eta at the options' confidence.
  ConfidenceInterval interval;
};

// Estimates eta of (delta2, eta)-strong-robustness by sampling pairs from the oracle.
template <class T>
class EtaEstimator {
 public:
  // The classifier (logits [N, C]) and the oracle must outlive the estimator.
  EtaEstimator(Sequential<T>& classifier, Oracle<T>& oracle, EtaOptions options = {})
      : classifier_(classifier), oracle_(oracle), options_(options) {
    const std::string who = "EtaEstimator";
    if (options_.draws_per_item < 1)
      throw argument_error(who + ": draws_per_item must be >= 1, got " + std::to_string(options_.draws_per_item));
    if (options_.draws_per_item > std::int64_t(UINT32_MAX))
      throw argument_error(who + ": draws_per_item must be < 2^32");
    detail::require_batch_size(options_.batch_size, who);
    clopper_pearson(0, 1, options_.confidence);  // validates the level
  }

  // The settings it samples with.
  const EtaOptions& options() const { return options_; }

  // eta-hat by sampling pairs at oracle radius delta2 around the items of x [N, ...].
  EtaEstimate sample(TensorView<const T> x, double delta2) {
    const std::string who = "EtaEstimator::sample";
    OraclePairSampler<T>::require_delta2(delta2, who);
    prepare(x);
    const std::int64_t n = x.size(0), d = x.shape().item_numel(), k = options_.draws_per_item;
    if (n > std::int64_t(UINT32_MAX)) throw argument_error(who + ": more than 2^32 items");
    if (!sampler_ || sampler_->input_numel() != d)
      sampler_.emplace(oracle_.features(), d, options_.pairs);
    const std::int64_t total = n * k;
    EtaEstimate e;
    e.delta2 = delta2;
    e.draws = total;
    for (std::int64_t first = 0; first < total; first += options_.batch_size) {
      const std::int64_t count = std::min(options_.batch_size, total - first);
      // Pair p = first + j is draw p % K of item p / K.
      xp_.resize(x.shape().with_batch(count));
      parallel_for(count, [&](std::int64_t j) {
        const std::int64_t p = first + j, i = p / k;
        sampler_->draw(x.data() + i * d, std::uint32_t(i), std::uint32_t(p % k), delta2, xp_.data() + j * d);
      });
      oracle_.classify(xp_.view(), f2_pairs_, g2_pairs_);
      f1_pairs_.resize(std::size_t(count));
      predict(classifier_, TensorView<const T>(xp_.view()), std::span<int>(f1_pairs_), options_.batch_size);
      const std::int64_t f = g2_pairs_.shape().item_numel();
      for (std::int64_t j = 0; j < count; ++j) {
        const std::int64_t i = (first + j) / k;
        if (f2_pairs_[std::size_t(j)] != f2_[std::size_t(i)]) continue;
        if (!sampler_->exact() &&
            !(detail::distance(g2_pairs_.data() + j * f, g2_.data() + i * f, f, Norm::l2) < delta2))
          continue;
        ++e.pairs;
        e.flips += f1_pairs_[std::size_t(j)] != f1_[std::size_t(i)];
      }
    }
    finish(e);
    return e;
  }

  // eta-hat from InvisibleAttack on every item of x (a linear oracle only).
  EtaEstimate invisible_attack(TensorView<const T> x, const InvisibleAttackOptions& attack_options) {
    const std::string who = "EtaEstimator::invisible_attack";
    prepare(x);
    auto geometry = oracle_.features().geometry(x.shape().item_numel());
    if (!geometry)
      throw argument_error(who + ": the oracle's features (" + oracle_.features().describe() +
                           ") are not linear, so their invisible directions are unknown");
    InvisibleAttack<T> attack(std::move(*geometry), attack_options);
    attack.run(classifier_, x, f1_, xp_);
    oracle_.classify(xp_.view(), f2_pairs_, g2_pairs_);
    const std::int64_t n = x.size(0), f = g2_pairs_.shape().item_numel();
    EtaEstimate e;
    e.draws = n;
    for (std::int64_t i = 0; i < n; ++i) {
      if (f2_pairs_[std::size_t(i)] != f2_[std::size_t(i)]) continue;  // only by rounding
      ++e.pairs;
      e.flips += attack.fooled()[std::size_t(i)];
      e.delta2 = std::max(e.delta2, detail::distance(g2_pairs_.data() + i * f, g2_.data() + i * f, f, Norm::l2));
    }
    finish(e);
    return e;
  }

 private:
  // f1 and f2 of the items, and their oracle features.
  void prepare(TensorView<const T> x) {
    f1_.resize(std::size_t(x.size(0)));
    predict(classifier_, x, std::span<int>(f1_), options_.batch_size);
    oracle_.classify(x, f2_, g2_);
  }

  void finish(EtaEstimate& e) const {
    e.eta = e.pairs ? double(e.flips) / double(e.pairs) : 0.0;
    e.interval = clopper_pearson(e.flips, e.pairs, options_.confidence);
  }

  Sequential<T>& classifier_;
  Oracle<T>& oracle_;
  EtaOptions options_;
  std::optional<OraclePairSampler<T>> sampler_;
  Tensor<T> xp_, g2_, g2_pairs_;
  std::vector<int> f1_, f2_, f1_pairs_, f2_pairs_;
};

}  // namespace farbound
