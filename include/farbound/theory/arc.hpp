#pragma once
// ARC and ARCA (Wang, Gao, Qi): how far, in the oracle's eyes, an input must move before
// the classifier changes its mind, averaged over the data.
//   r(x) = inf { d2'(x, x') : f1(x') != f1(x) }
//   ARC  = mean of r(x_i)
//   ARCA = mean of r(x_i), with r(x_i) replaced by 0 where f1(x_i) != f2(x_i) (a point the
//          classifier already gets wrong needs no move at all: ARC adjusted for accuracy).
//
// The infimum is approached from above by a minimal-norm attack from x (away from f1(x))
// to a point x_e where f1 has flipped, then bisection on the segment from the attack's
// start x_s to x_e, keeping f1 = f1(x) at the lower end and f1 != f1(x) at the upper, to
// within 2^-bisection_steps of the segment; r(x) = d2' from x to the upper end.
//   Linear oracle (it has a FeatureGeometry): the attack minimises d2' itself. Moves along
//     the oracle's invisible directions cost nothing, so up to invisible_radius of them are
//     spent first (InvisibleAttack: x_s = x + N b); then SubspaceDeepFool moves along the
//     visible directions, where d2' = ||c||, to x_e. If the first stage already flips f1,
//     r = 0. With invisible_radius = 0 only visible moves are allowed. For an affine f1 this
//     is exact: r = max(0, |m| - s ||N^T w||) / ||V^T w|| (tests/theory/arc.cpp).
//   Any other oracle: DeepFool in input space (x_s = x); r is d2' at its flip point, an upper
//     bound that can be far from the infimum when the input-space-nearest flip is not the
//     oracle-nearest one.
// Items where the attack finds no flip are "unresolved": left out of ARC, and out of ARCA
// unless they are misclassified (then they count 0 there anyway).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "farbound/attack/deepfool.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/theory/invisible_attack.hpp"
#include "farbound/theory/oracle.hpp"
#include "farbound/theory/subspace_deepfool.hpp"

namespace farbound {

// Settings of ArcEstimator: how far the oracle-invisible part may move, the searches' settings, bisection steps.
struct ArcOptions {
  // Linear oracles: the free budget along invisible directions (input units) and the attacks.
  double invisible_radius = 0;
  // Steps of the invisible attack.
  int invisible_steps = 50;
  // Settings of the search over the visible subspace.
  SubspaceDeepFoolOptions visible{};
  // Other oracles: DeepFool in input space; its bounds must contain the data.
  DeepFoolOptions input_attack{};
  // Bisection steps to the flip.
  int bisection_steps = 40;
  std::int64_t batch_size = 1024;  // items per forward pass of the bisection
};

// ARC and ARCA over a set of points, and how many points had a flip found.
struct ArcResult {
  double arc = 0;                  // mean r over the resolved items
  double arca = 0;                 // mean over resolved or misclassified items, misclassified as 0
  // Points estimated.
  std::int64_t items = 0;
  std::int64_t resolved = 0;       // items with a flip found (the ARC mean's count)
  std::int64_t misclassified = 0;  // items with f1 != f2 (0 in ARCA, resolved or not)
  std::vector<double> radius;      // r(x_i); NaN where unresolved
};

// ARC and ARCA: the oracle distance of the nearest input that flips the classifier, averaged.
template <class T>
class ArcEstimator {
 public:
  explicit ArcEstimator(ArcOptions options = {}) : options_(options) {
    const std::string who = "ArcEstimator";
    if (!(options_.invisible_radius >= 0) || !std::isfinite(options_.invisible_radius))
      throw argument_error(who + ": invisible_radius must be finite and >= 0, got " +
                           detail::format_number(options_.invisible_radius));
    if (options_.bisection_steps < 0 || options_.bisection_steps > 200)
      throw argument_error(who + ": bisection_steps must lie in [0, 200], got " +
                           std::to_string(options_.bisection_steps));
    detail::require_batch_size(options_.batch_size, who);
    // Validate the attacks' options now rather than at the first run.
    InvisibleAttack<T>(FeatureGeometry{}, {.radius = options_.invisible_radius, .steps = options_.invisible_steps});
    SubspaceDeepFool<T>(Eigen::MatrixXd::Zero(1, 0), options_.visible);
    DeepFool<T>{options_.input_attack};
  }

  // The settings it runs with.
  const ArcOptions& options() const { return options_; }

  // ARC and ARCA of the classifier against the oracle over the items of x [N, ...].
  ArcResult run(Sequential<T>& classifier, Oracle<T>& oracle, TensorView<const T> x) {
    f1_.resize(std::size_t(x.size(0)));
    predict(classifier, x, std::span<int>(f1_), options_.batch_size);
    oracle.classify(x, f2_, g2_);
    const std::int64_t n = x.size(0);
    start_.resize(x.shape());
    std::memcpy(start_.data(), x.data(), std::size_t(x.numel()) * sizeof(T));
    fooled_.resize(std::size_t(n));
    if (auto geometry = oracle.features().geometry(x.shape().item_numel())) {
      if (options_.invisible_radius > 0 && geometry->invisible_count() > 0) {
        InvisibleAttack<T> invisible(*geometry, {.radius = options_.invisible_radius, .steps = options_.invisible_steps});
        invisible.run(classifier, x, f1_, start_);
      }
      SubspaceDeepFool<T> visible(std::move(geometry->visible), options_.visible);
      visible.run(classifier, TensorView<const T>(start_.view()), f1_, end_);
      std::copy(visible.fooled().begin(), visible.fooled().end(), fooled_.begin());
    } else {
      DeepFool<T> attack(options_.input_attack);
      attack.run(classifier, x, f1_, end_);
      std::copy(attack.fooled().begin(), attack.fooled().end(), fooled_.begin());
    }

    // Bisection on t for every fooled item: f1(x_s + lo (x_e - x_s)) = f1(x) unless the
    // start itself has flipped (then t = 0), f1(x_s + hi (x_e - x_s)) != f1(x).
    f1_mid_.resize(std::size_t(n));
    predict(classifier, TensorView<const T>(start_.view()), std::span<int>(f1_mid_), options_.batch_size);
    lo_.assign(std::size_t(n), 0.0);
    hi_.assign(std::size_t(n), 1.0);
    for (std::int64_t i = 0; i < n; ++i)
      if (f1_mid_[std::size_t(i)] != f1_[std::size_t(i)]) hi_[std::size_t(i)] = 0;
    for (int s = 0; s < options_.bisection_steps; ++s) {
      fill_points([&](std::int64_t i) { return 0.5 * (lo_[std::size_t(i)] + hi_[std::size_t(i)]); });
      predict(classifier, TensorView<const T>(point_.view()), std::span<int>(f1_mid_), options_.batch_size);
      for (std::int64_t i = 0; i < n; ++i) {
        if (!fooled_[std::size_t(i)] || hi_[std::size_t(i)] == 0) continue;
        const double mid = 0.5 * (lo_[std::size_t(i)] + hi_[std::size_t(i)]);
        (f1_mid_[std::size_t(i)] == f1_[std::size_t(i)] ? lo_ : hi_)[std::size_t(i)] = mid;
      }
    }
    fill_points([&](std::int64_t i) { return hi_[std::size_t(i)]; });
    oracle.features().map(TensorView<const T>(point_.view()), g2_flip_);
    const std::int64_t f = g2_.shape().item_numel();

    ArcResult r;
    r.items = n;
    r.radius.assign(std::size_t(n), std::numeric_limits<double>::quiet_NaN());
    double sum = 0, sum_adjusted = 0;
    std::int64_t adjusted_count = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const bool wrong = f1_[std::size_t(i)] != f2_[std::size_t(i)], found = fooled_[std::size_t(i)];
      r.misclassified += wrong;
      if (found) {
        const double ri = detail::distance(g2_flip_.data() + i * f, g2_.data() + i * f, f, Norm::l2);
        r.radius[std::size_t(i)] = ri;
        ++r.resolved;
        sum += ri;
        if (!wrong) sum_adjusted += ri;
      }
      adjusted_count += wrong || found;
    }
    r.arc = r.resolved ? sum / double(r.resolved) : 0.0;
    r.arca = adjusted_count ? sum_adjusted / double(adjusted_count) : 0.0;
    return r;
  }

 private:
  // point_ = x_s + t(i) (x_e - x_s) for fooled items, x_s for the others.
  template <class F>
  void fill_points(F&& t) {
    const std::int64_t n = start_.size(0), d = start_.shape().item_numel();
    point_.resize(start_.shape());
    parallel_for(n, [&](std::int64_t i) {
      const T* a = start_.data() + i * d;
      const T* b = end_.data() + i * d;
      T* out = point_.data() + i * d;
      const double ti = fooled_[std::size_t(i)] ? t(i) : 0.0;
      for (std::int64_t j = 0; j < d; ++j) out[j] = T(double(a[j]) + ti * (double(b[j]) - double(a[j])));
    });
  }

  ArcOptions options_;
  Tensor<T> g2_, g2_flip_, start_, end_, point_;
  std::vector<int> f1_, f2_, f1_mid_;
  std::vector<std::uint8_t> fooled_;
  std::vector<double> lo_, hi_;
};

}  // namespace farbound
