#pragma once
// FAB-T, the targeted Fast Adaptive Boundary attack (Croce & Hein, ICML 2020), L-inf and L2:
// it looks for the smallest perturbation that changes the prediction, walking along the
// linearised boundary towards a target class while pulling back towards the clean point.
// Conventions as in pgd.hpp.
//
// For an item x0 with label y and target t, with f(x) = z_t(x) - z_y(x) and x^0 = x0, each
// of `steps` iterations linearises the boundary f = 0 at x^k, {x : g.x = g.x^k - f(x^k)}
// with g = grad f(x^k), and projects onto it within the bounds both the iterate and the
// clean point (detail/hyperplane_projection.hpp): steps d1 from x^k and d2 from x0. Then
//   alpha   = min(||d1|| / (||d1|| + ||d2||), alpha_max)
//   x^{k+1} = clip_bounds( (1 - alpha)(x^k + eta d1) + alpha (x0 + eta d2) )
// (eta > 1 overshoots to land across the boundary; alpha pulls towards x0, more when the
// iterate is far from the boundary compared with x0). When x^{k+1} is misclassified it is
// kept if it is the closest so far, and the iterate moves back to x0 + beta (x^{k+1} - x0)
// to look for a closer one. Defaults are the published ones: alpha_max 0.1, eta 1.05,
// beta 0.9, 100 steps, the 9 classes of the largest clean logits after the label as targets,
// one after the other.
//
// As an attack with a radius (the suite's FAB-T): an item is fooled when the closest
// misclassified point found lies within eps, and then x_adv is that point; otherwise x_adv is
// the clean point, so x_adv never leaves the ball. Targets after the first run only on the
// items not fooled yet. Items the model misclassifies clean are fooled at distance 0.
// Deterministic: no random numbers.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/detail/ball.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/attack/detail/bounded_run.hpp"
#include "farbound/attack/detail/clean_ranking.hpp"
#include "farbound/attack/detail/hyperplane_projection.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of Fab: norm, steps, target classes, step parameters (alpha_max, eta, beta), bounds.
struct FabOptions {
  // The norm of the radius.
  Norm norm = Norm::linf;
  // Iterations.
  int steps = 100;
  // Target classes tried, the most likely first.
  int target_classes = 9;
  // Largest weight of the step towards the original point.
  double alpha_max = 0.1;
  // Factor of the extrapolation past the linearised boundary.
  double eta = 1.05;
  // Factor by which a successful perturbation is pulled back towards the original point.
  double beta = 0.9;
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// FAB-T (Croce & Hein 2020), targeted: minimal perturbations by projections onto linearised boundaries.
template <class T>
class Fab {
 public:
  // A FAB-T attack with `options`; argument_error for impossible settings.
  explicit Fab(FabOptions options = {}) : options_(options), name_("FAB-T(" + to_string(options.norm) + ")") {
    if (options_.steps < 1) throw argument_error(name_ + ": steps must be >= 1, got " + std::to_string(options_.steps));
    if (options_.target_classes < 1)
      throw argument_error(name_ + ": target_classes must be >= 1, got " + std::to_string(options_.target_classes));
    const auto check = [&](double v, bool ok, const char* what) {
      if (!ok || !std::isfinite(v))
        throw argument_error(name_ + ": " + what + ", got " + detail::format_number(v));
    };
    check(options_.alpha_max, options_.alpha_max >= 0 && options_.alpha_max <= 1, "alpha_max must be in [0, 1]");
    check(options_.eta, options_.eta >= 1, "eta must be >= 1");
    check(options_.beta, options_.beta > 0 && options_.beta <= 1, "beta must be in (0, 1]");
    options_.bounds.validate(name_.c_str());
    detail::require_batch_size(options_.batch_size, name_);
  }

  // The settings it runs with.
  const FabOptions& options() const { return options_; }
  // Its name in reports, e.g. "FAB-T(Linf)".
  const std::string& name() const { return name_; }

  // x_adv = the attack on every item of x [N, ...] with labels [N], radius eps (see above).
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps, Tensor<T>& x_adv) {
    detail::begin_bounded_run(model, x, labels, eps, x_adv, 2, options_.bounds, name_);
    const EvalMode<T> eval(model);
    const std::int64_t n = x.size(0);
    const std::int64_t c = detail::clean_ranking(model, x, labels, options_.batch_size, fooled_, &ranking_);
    distances_.assign(std::size_t(n), std::numeric_limits<double>::infinity());
    for (std::int64_t i = 0; i < n; ++i)
      if (fooled_[std::size_t(i)]) distances_[std::size_t(i)] = 0;
    const int targets = int(std::min<std::int64_t>(options_.target_classes, c - 1));
    for (int t = 0; t < targets; ++t) {
      detail::unfooled_items(fooled_, active_);
      const auto active = std::span<const std::int64_t>(active_);
      detail::for_each_batch(std::int64_t(active.size()), options_.batch_size, [&](std::int64_t first, std::int64_t count) {
        attack_batch(model, x, labels, eps, c, active.subspan(std::size_t(first), std::size_t(count)), t, x_adv);
      });
    }
  }

  // Per item of the last run: 1 where a misclassified point within eps was found.
  std::span<const std::uint8_t> fooled() const { return fooled_; }
  // Per item of the last run: the distance of the closest misclassified point found over the
  // targets that ran on it (infinity if none; 0 if misclassified clean).
  std::span<const double> distances() const { return distances_; }

 private:
  void attack_batch(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
                    std::int64_t c, std::span<const std::int64_t> items, int target, Tensor<T>& x_adv) {
    const std::int64_t b = std::int64_t(items.size()), d = x.shape().item_numel();
    detail::gather_items(x, items, x0_);
    xk_ = x0_.clone();
    best_ = x0_.clone();
    d1_.resize(x0_.shape());
    d2_.resize(x0_.shape());
    y_.resize(items.size());
    t_.resize(items.size());
    best_dist_.assign(items.size(), std::numeric_limits<double>::infinity());
    for (std::size_t k = 0; k < items.size(); ++k) {
      y_[k] = labels[std::size_t(items[k])];
      t_[k] = ranking_[std::size_t(items[k] * c + target + 1)];
    }
    for (int s = 0; s < options_.steps; ++s) {
      // g = grad (z_t - z_y) at x^k for every row, in one backward pass.
      const TensorView<const T> logits = model.forward(xk_.view());
      grad_logits_.resize(logits.shape());
      grad_logits_.zero();
      gap_.resize(items.size());
      for (std::int64_t k = 0; k < b; ++k) {
        const auto row = std::size_t(k);
        gap_[row] = double(logits[k * c + t_[row]]) - double(logits[k * c + y_[row]]);
        grad_logits_[k * c + t_[row]] = T(1);
        grad_logits_[k * c + y_[row]] = T(-1);
      }
      const TensorView<const T> g = model.backward(grad_logits_.view(), InputGrad::compute, ParamGrads::skip);
      parallel_for(b, [&](std::int64_t k) { step_row(k, d, g.data() + k * d); });
      const TensorView<const T> after = model.forward(xk_.view());
      for (std::int64_t k = 0; k < b; ++k) {
        if (detail::argmax(after.data() + k * c, c) == y_[std::size_t(k)]) continue;
        T* xk = xk_.data() + k * d;
        const T* x0 = x0_.data() + k * d;
        const double dist = detail::distance(xk, x0, d, options_.norm);
        if (dist < best_dist_[std::size_t(k)]) {
          best_dist_[std::size_t(k)] = dist;
          std::memcpy(best_.data() + k * d, xk, std::size_t(d) * sizeof(T));
        }
        for (std::int64_t j = 0; j < d; ++j) xk[j] = x0[j] + T(options_.beta) * (xk[j] - x0[j]);
      }
    }
    for (std::int64_t k = 0; k < b; ++k) {
      const auto i = std::size_t(items[std::size_t(k)]);
      distances_[i] = std::min(distances_[i], best_dist_[std::size_t(k)]);
      if (!(best_dist_[std::size_t(k)] <= eps)) continue;
      fooled_[i] = 1;
      std::memcpy(x_adv.data() + std::int64_t(i) * d, best_.data() + k * d, std::size_t(d) * sizeof(T));
    }
  }

  // The FAB step of batch row k with g = grad f at its iterate (see the top of the file).
  void step_row(std::int64_t k, std::int64_t d, const T* g) {
    T* xk = xk_.data() + k * d;
    const T* x0 = x0_.data() + k * d;
    T* d1 = d1_.data() + k * d;
    T* d2 = d2_.data() + k * d;
    double plane = -gap_[std::size_t(k)];
    for (std::int64_t j = 0; j < d; ++j) plane += double(g[j]) * double(xk[j]);
    thread_local std::vector<std::pair<double, std::int64_t>> kinks;
    const double lo = options_.bounds.lower, hi = options_.bounds.upper;
    detail::project_onto_hyperplane(xk, g, plane, d, options_.norm, lo, hi, d1, kinks);
    detail::project_onto_hyperplane(x0, g, plane, d, options_.norm, lo, hi, d2, kinks);
    const double a1 = std::max(detail::norm_of(d1, d, options_.norm), 1e-8);
    const double a2 = std::max(detail::norm_of(d2, d, options_.norm), 1e-8);
    const T alpha = T(std::min(a1 / (a1 + a2), options_.alpha_max)), eta = T(options_.eta);
    for (std::int64_t j = 0; j < d; ++j) xk[j] = (T(1) - alpha) * (xk[j] + eta * d1[j]) + alpha * (x0[j] + eta * d2[j]);
    detail::clip_to_bounds(xk, d, options_.bounds);
  }

  FabOptions options_;
  std::string name_;
  Tensor<T> x0_, xk_, best_, d1_, d2_, grad_logits_;
  std::vector<int> y_, t_, ranking_;
  std::vector<std::int64_t> active_;
  std::vector<std::uint8_t> fooled_;
  std::vector<double> distances_, best_dist_, gap_;
};

}  // namespace farbound
