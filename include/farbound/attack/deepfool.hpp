#pragma once
// DeepFool (Moosavi-Dezfooli, Fawzi, Frossard 2016), a minimal-norm attack, in L2 or L-inf,
// batched, with Foolbox's conventions (inputs inside Bounds, the labels given, eval mode).
//
// For an item x0 whose label y the model still predicts at x, DeepFool linearises the
// margins l_k(x) = f_k(x) - f_y(x) of the candidate classes k around x, with w_k = grad l_k:
// the linearised boundary of class k lies at distance |l_k| / ||w_k||_* (the dual norm:
// ||.||_2 for L2, ||.||_1 for L-inf). It takes the closest one, k*, and the step that
// reaches it:
//   L2:     r = |l_k*| / ||w_k*||_2^2 * w_k*
//   L-inf:  r = |l_k*| / ||w_k*||_1   * sign(w_k*)
// accumulates r_total += r and moves to x = clip_bounds(x0 + (1 + overshoot) r_total),
// until the prediction leaves y or max_iter steps are taken. As in the original code and in
// Foolbox, every step's distance is lengthened by min_step (1e-4): where the margin bends
// towards the boundary, exact projections approach it only geometrically, and DeepFool
// would spend its iterations creeping up on it. With min_step = 0, the first step on an
// affine classifier lands exactly on the boundary times (1 + overshoot).
// The candidate classes are fixed at x0: the `candidates - 1` classes other than y with the
// largest logits (Foolbox's `candidates` counts y too).
//
// Each step runs one forward pass and one backward pass per candidate over the same
// activations (Sequential keeps them; backward leaves them untouched), over the items of the
// batch that are still to move only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/attack/step_until_fooled.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of DeepFool: norm, iterations, overshoot, candidate classes, bounds, batch size.
struct DeepFoolOptions {
  // The norm of the radius.
  Norm norm = Norm::l2;
  // Iterations at most.
  int max_iter = 50;
  // How far past the linearised boundary each step goes, as a fraction.
  double overshoot = 0.02;
  // Added to the distance of every step, in input units (see above).
  double min_step = 1e-4;
  // Classes considered, the label included; at most the model's number of classes is used.
  int candidates = 10;
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 128;
};

// DeepFool (Moosavi-Dezfooli et al. 2016): steps to the linearised nearest boundary until the prediction flips.
template <class T>
class DeepFool {
 public:
  // A DeepFool attack with `options`; argument_error for impossible settings.
  explicit DeepFool(DeepFoolOptions options = {}) : options_(options) {
    const std::string who = name();
    if (options_.max_iter < 1)
      throw argument_error(who + ": max_iter must be >= 1, got " + std::to_string(options_.max_iter));
    if (!(options_.overshoot >= 0) || !std::isfinite(options_.overshoot))
      throw argument_error(who + ": overshoot must be finite and >= 0, got " +
                           detail::format_number(options_.overshoot));
    if (!(options_.min_step >= 0) || !std::isfinite(options_.min_step))
      throw argument_error(who + ": min_step must be finite and >= 0, got " + detail::format_number(options_.min_step));
    if (options_.candidates < 2)
      throw argument_error(who + ": candidates must be >= 2 (the label and one other class), got " +
                           std::to_string(options_.candidates));
    options_.bounds.validate(who.c_str());
    detail::require_batch_size(options_.batch_size, who);
  }

  // The settings it runs with.
  const DeepFoolOptions& options() const { return options_; }
  // Its name in reports, e.g. "DeepFool(L2)".
  std::string name() const { return "DeepFool(" + to_string(options_.norm) + ")"; }

  // x_adv = DeepFool's point for every item of x [N, ...], moving away from labels [N]
  // (the true labels, or the model's predictions to measure distances to its boundary).
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, Tensor<T>& x_adv) {
    const std::string who = name();
    detail::require_attack_arguments(model, x, labels, x_adv, 2, who);
    options_.bounds.require_inside(x, who.c_str());

    fooled_.assign(std::size_t(x.size(0)), 0);
    steps_.assign(std::size_t(x.size(0)), 0);
    detail::attack_in_batches(model, x, labels, x_adv, options_.batch_size,
                              [&](auto... batch) { attack_batch(model, batch...); });
  }

  // Per item of the last run: 1 where the prediction at x_adv differs from the label.
  std::span<const std::uint8_t> fooled() const { return fooled_; }
  // Per item of the last run: the number of steps taken (0 for an item already misclassified).
  std::span<const int> steps() const { return steps_; }

 private:
  void attack_batch(Sequential<T>& model, TensorView<const T> x0, std::span<const int> y, TensorView<T> xa,
                    std::int64_t first) {
    const std::int64_t d = x0.shape().item_numel();
    std::memcpy(xa.data(), x0.data(), std::size_t(x0.numel()) * sizeof(T));
    r_total_.resize(x0.shape());
    r_total_.zero();
    const auto fooled = std::span<std::uint8_t>(fooled_).subspan(std::size_t(first), y.size());
    const auto step = [&](int it, TensorView<const T> logits, detail::PackedRows rows) {
      if (it == 0) choose_candidates(logits, y);  // the first step sees every item, in order
      const std::int64_t a = rows.size(), c = logits.size(1);
      const std::int64_t k_count = std::int64_t(candidates_.size()) / x0.size(0);
      best_distance_.assign(std::size_t(a), std::numeric_limits<double>::infinity());
      best_grad_.resize(x0.shape().with_batch(a));
      for (std::int64_t j = 0; j < k_count; ++j) {
        const auto candidate = [&](std::int64_t r) {
          return candidates_[std::size_t(rows.items[std::size_t(r)] * k_count + j)];
        };
        const TensorView<const T> w = detail::margin_gradients(model, logits, rows, y, grad_logits_, candidate);
        parallel_for(a, [&](std::int64_t r) {
          if (!rows.on_label[std::size_t(r)]) return;
          const T* row = logits.data() + r * c;
          const double margin = double(row[candidate(r)]) - double(row[y[std::size_t(rows.items[std::size_t(r)])]]);
          const double dual = detail::dual_norm_of(w.data() + r * d, d, options_.norm);
          if (!(dual > 0) || !std::isfinite(dual)) return;
          const double dist = std::abs(margin) / dual;
          if (dist < best_distance_[std::size_t(r)]) {
            best_distance_[std::size_t(r)] = dist;
            std::memcpy(best_grad_.data() + r * d, w.data() + r * d, std::size_t(d) * sizeof(T));
          }
        });
      }

      parallel_for(a, [&](std::int64_t r) {
        const double dist = best_distance_[std::size_t(r)];
        if (!rows.on_label[std::size_t(r)] || !std::isfinite(dist)) return;
        const std::int64_t k = rows.items[std::size_t(r)];
        step_item(x0.data() + k * d, best_grad_.data() + r * d, r_total_.data() + k * d, xa.data() + k * d, d,
                  dist + options_.min_step);
        ++steps_[std::size_t(first + k)];
      });
    };
    loop_.run(model, xa, y, options_.max_iter, fooled, step);
  }

  // candidates_[k * (K-1) + j]: the j-th largest logit of item k among the classes != y[k].
  void choose_candidates(TensorView<const T> logits, std::span<const int> y) {
    const std::int64_t b = logits.size(0), c = logits.size(1);
    const std::int64_t k_count = std::min<std::int64_t>(options_.candidates, c) - 1;
    candidates_.resize(std::size_t(b * k_count));
    order_.resize(std::size_t(c));
    for (std::int64_t k = 0; k < b; ++k) {
      const T* row = logits.data() + k * c;
      std::iota(order_.begin(), order_.end(), 0);
      std::stable_sort(order_.begin(), order_.end(), [row](int p, int q) { return row[p] > row[q]; });
      std::int64_t j = 0;
      for (int cls : order_)
        if (cls != y[std::size_t(k)] && j < k_count) candidates_[std::size_t(k * k_count + j++)] = cls;
    }
  }

  // r_total += the step of length `dist` towards the nearest linearised boundary along w;
  // xa = clip_bounds(x0 + (1 + overshoot) r_total).
  void step_item(const T* x0, const T* w, T* r_total, T* xa, std::int64_t d, double dist) const {
    const T lo = T(options_.bounds.lower), hi = T(options_.bounds.upper);
    const T grow = T(1 + options_.overshoot);
    if (options_.norm == Norm::l2) {
      const T scale = T(dist / detail::norm_of(w, d, Norm::l2));
      for (std::int64_t j = 0; j < d; ++j) r_total[j] += scale * w[j];
    } else {
      const T size = T(dist);
      for (std::int64_t j = 0; j < d; ++j) r_total[j] += size * T((w[j] > T(0)) - (w[j] < T(0)));
    }
    for (std::int64_t j = 0; j < d; ++j) xa[j] = std::clamp(x0[j] + grow * r_total[j], lo, hi);
  }

  DeepFoolOptions options_;
  detail::StepUntilFooled<T> loop_;
  Tensor<T> r_total_, best_grad_, grad_logits_;
  std::vector<double> best_distance_;
  std::vector<int> candidates_, order_;
  std::vector<std::uint8_t> fooled_;
  std::vector<int> steps_;
};

}  // namespace farbound
