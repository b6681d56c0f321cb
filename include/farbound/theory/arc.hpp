#pragma once
// ARC and ARCA (Wang, Gao, Qi): how far, in the oracle's eyes, an input must move before
// the classifier changes its mind, averaged over the data.
//   r(x) = inf { d2'(x, x') : f1(x') != f1(x) }
//   ARC  = mean of r(x_i)
//   ARCA = mean of r(x_i), with r(x_i) replaced by 0 where f1(x_i) != f2(x_i) (a point the
//          classifier already gets wrong needs no move at all: ARC adjusted for accuracy).
// The infimum is approached from above along a minimal-norm attack: DeepFool (L2 by
// default; attack/deepfool.hpp) from x away from f1(x) gives x_adv; bisection on the segment
// x + t (x_adv - x), t in [0, 1], keeping f1 = f1(x) at the lower end and f1 != f1(x) at
// the upper, pins a point where f1 flips to within 2^-bisection_steps of the segment; r(x)
// is d2' from x to the upper end. So r is an upper bound of the infimum (tight for an
// affine classifier and an oracle that sees the attack's direction, see the tests), and
// along the input-space attack it is the oracle's share of the move: small when the attack
// moves mostly along what the oracle cannot see.
// Items where DeepFool finds no flip are "unresolved": left out of ARC, and out of ARCA
// unless they are misclassified (then they count 0 there anyway).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "farbound/attack/deepfool.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/theory/detail/predict.hpp"
#include "farbound/theory/oracle.hpp"
#include "farbound/theory/pseudometric.hpp"

namespace farbound {

struct ArcOptions {
  DeepFoolOptions attack{};  // the minimal-norm attack; its bounds must contain the data
  int bisection_steps = 40;
  std::int64_t batch_size = 1024;  // items per forward pass of the bisection
};

struct ArcResult {
  double arc = 0;                  // mean r over the resolved items
  double arca = 0;                 // mean over resolved or misclassified items, misclassified as 0
  std::int64_t items = 0;
  std::int64_t resolved = 0;       // items with a flip found (the ARC mean's count)
  std::int64_t misclassified = 0;  // items with f1 != f2 (0 in ARCA, resolved or not)
  std::vector<double> radius;      // r(x_i); NaN where unresolved
};

template <class T>
class ArcEstimator {
 public:
  explicit ArcEstimator(ArcOptions options = {}) : options_(options), deepfool_(options.attack) {
    if (options_.bisection_steps < 0 || options_.bisection_steps > 200)
      throw argument_error("ArcEstimator: bisection_steps must lie in [0, 200], got " +
                           std::to_string(options_.bisection_steps));
    detail::require_batch_size(options_.batch_size, "ArcEstimator");
  }

  const ArcOptions& options() const { return options_; }

  // ARC and ARCA of the classifier against the oracle over the items of x [N, ...].
  ArcResult run(Sequential<T>& classifier, Oracle<T>& oracle, TensorView<const T> x) {
    const std::string who = "ArcEstimator";
    detail::predict_classes(classifier, x, options_.batch_size, f1_, who);
    oracle.classify(x, f2_, g2_);
    deepfool_.run(classifier, x, f1_, x_adv_);

    // Bisection on t for every item DeepFool fooled: f1(x + lo d) = f1(x), f1(x + hi d) != f1(x).
    const std::int64_t n = x.size(0);
    lo_.assign(std::size_t(n), 0.0);
    hi_.assign(std::size_t(n), 1.0);
    x_mid_.resize(x.shape());
    for (int s = 0; s < options_.bisection_steps; ++s) {
      fill_points(x, [&](std::int64_t i) { return 0.5 * (lo_[std::size_t(i)] + hi_[std::size_t(i)]); });
      detail::predict_classes(classifier, TensorView<const T>(x_mid_.view()), options_.batch_size, f1_mid_, who);
      for (std::int64_t i = 0; i < n; ++i) {
        if (!deepfool_.fooled()[std::size_t(i)]) continue;
        const double mid = 0.5 * (lo_[std::size_t(i)] + hi_[std::size_t(i)]);
        (f1_mid_[std::size_t(i)] == f1_[std::size_t(i)] ? lo_ : hi_)[std::size_t(i)] = mid;
      }
    }
    fill_points(x, [&](std::int64_t i) { return hi_[std::size_t(i)]; });
    oracle.features().map(TensorView<const T>(x_mid_.view()), g2_flip_);
    const std::int64_t f = g2_.shape().item_numel();

    ArcResult r;
    r.items = n;
    r.radius.assign(std::size_t(n), std::numeric_limits<double>::quiet_NaN());
    double sum = 0, sum_adjusted = 0;
    std::int64_t adjusted_count = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const bool wrong = f1_[std::size_t(i)] != f2_[std::size_t(i)];
      r.misclassified += wrong;
      if (deepfool_.fooled()[std::size_t(i)]) {
        const double ri = detail::distance(g2_flip_.data() + i * f, g2_.data() + i * f, f, Norm::l2);
        r.radius[std::size_t(i)] = ri;
        ++r.resolved;
        sum += ri;
        if (!wrong) sum_adjusted += ri;
      }
      adjusted_count += wrong || deepfool_.fooled()[std::size_t(i)];
    }
    r.arc = r.resolved ? sum / double(r.resolved) : 0.0;
    r.arca = adjusted_count ? sum_adjusted / double(adjusted_count) : 0.0;
    return r;
  }

 private:
  // x_mid_ = x + t(i) (x_adv - x) for fooled items, x for the others.
  template <class F>
  void fill_points(TensorView<const T> x, F&& t) {
    const std::int64_t n = x.size(0), d = x.shape().item_numel();
    parallel_for(n, [&](std::int64_t i) {
      const T* a = x.data() + i * d;
      const T* b = x_adv_.data() + i * d;
      T* out = x_mid_.data() + i * d;
      const double ti = deepfool_.fooled()[std::size_t(i)] ? t(i) : 0.0;
      for (std::int64_t j = 0; j < d; ++j) out[j] = T(double(a[j]) + ti * (double(b[j]) - double(a[j])));
    });
  }

  ArcOptions options_;
  DeepFool<T> deepfool_;
  Tensor<T> g2_, g2_flip_, x_adv_, x_mid_;
  std::vector<int> f1_, f2_, f1_mid_;
  std::vector<double> lo_, hi_;
};

}  // namespace farbound
