#pragma once
// Projected gradient descent on the cross-entropy (Madry et al. 2018), in L-inf or L2, with
// Foolbox's conventions: inputs in the model's units inside Bounds, epsilon in those units,
// the true labels, the model in eval mode.
//
// For an item x0 with label y and loss L(x) = CE(f(x), y), starting from x^0:
//   L-inf:  x^{s+1} = clip_bounds( clip_[x0-eps, x0+eps]( x^s + a * sign(grad L(x^s)) ) )
//   L2:     x' = x^s + a * g / ||g||_2,  g = grad L(x^s)  (no move where g = 0)
//           x^{s+1} = clip_bounds( x0 + (x' - x0) * min(1, eps / ||x' - x0||_2) )
// with the step a = rel_stepsize * eps (default 2.5 / steps, so that a walk of `steps` steps
// can cross the ball and come back, as Madry et al. chose); detail/ball.hpp projects.
// The random start draws x^0 uniformly from the ball: uniform in [-eps, eps]^D for L-inf;
// for L2 a direction z / ||z|| with z ~ N(0, I) and a radius eps * u^(1/D), u ~ U[0, 1), whose
// density grows as r^(D-1), as the volume does. The numbers come from
// RandomStream(seed, Purpose::attack, restart, item index), so they do not depend on the
// batch size, the thread count or which other items are attacked.
//
// Restarts: restart r > 0 attacks again, from a new random start, only the items that every
// earlier restart failed to fool. An item keeps the first iterate that fools the model, or else
// the one of highest loss.
//
// The data go through the model in batches of batch_size items (the layers parallelise
// inside); the step and the projection run over the items of a batch in parallel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/detail/ball.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of Pgd: norm, steps, relative step size, random start, restarts, seed, bounds, batch size.
struct PgdOptions {
  // The norm of the radius.
  Norm norm = Norm::linf;
  // Iterations.
  int steps = 40;
  // Step size as a fraction of epsilon; unset: 2.5 / steps.
  std::optional<double> rel_stepsize{};
  // Start at a random point of the ball (else at x).
  bool random_start = true;
  // Attacks from independent random starts (only with random_start; without it every
  // restart would repeat the first).
  int restarts = 1;
  // Seed of its random numbers.
  std::uint64_t seed = 0;
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// Projected gradient descent (Madry et al. 2018) on the cross-entropy, L-inf or L2, with restarts.
template <class T>
class Pgd {
 public:
  // A PGD attack with `options`.
  explicit Pgd(PgdOptions options = {}) : Pgd(options, "PGD(" + to_string(options.norm) + ")") {}
  // `name` is what error messages call the attack (FGSM runs as a one-step PGD).
  Pgd(PgdOptions options, std::string name) : options_(options), name_(std::move(name)) {
    const std::string& who = name_;
    if (options_.steps < 1) throw argument_error(who + ": steps must be >= 1, got " + std::to_string(options_.steps));
    if (options_.restarts < 1)
      throw argument_error(who + ": restarts must be >= 1, got " + std::to_string(options_.restarts));
    if (options_.rel_stepsize && (!(*options_.rel_stepsize > 0) || !std::isfinite(*options_.rel_stepsize)))
      throw argument_error(who + ": rel_stepsize must be positive and finite, got " +
                           detail::format_number(*options_.rel_stepsize));
    options_.bounds.validate(who.c_str());
    detail::require_batch_size(options_.batch_size, who);
  }

  // The settings it runs with.
  const PgdOptions& options() const { return options_; }
  // The key of the random starts from now on: adversarial training draws new starts every step.
  void set_seed(std::uint64_t seed) { options_.seed = seed; }
  // Its name in reports, e.g. "PGD(Linf)".
  const std::string& name() const { return name_; }
  // The step as a fraction of epsilon: the option, or 2.5 / steps.
  double rel_stepsize() const { return options_.rel_stepsize.value_or(2.5 / options_.steps); }

  // x_adv = the attack on every item of x [N, ...] with labels [N], radius eps. x must lie in
  // the bounds; x_adv (resized to x's shape) must not be x's storage.
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps, Tensor<T>& x_adv) {
    const std::string& who = name_;
    detail::require_attack_arguments(model, x, labels, x_adv, 1, who);
    detail::require_epsilon<T>(eps, who, rel_stepsize());
    options_.bounds.require_inside(x, who.c_str());

    const EvalMode<T> eval(model);
    const std::int64_t n = x.size(0);
    x_adv.resize(x.shape());
    fooled_.assign(std::size_t(n), 0);
    losses_.assign(std::size_t(n), -std::numeric_limits<double>::infinity());
    const int restarts = options_.random_start ? options_.restarts : 1;
    for (int r = 0; r < restarts; ++r) {
      active_.clear();
      for (std::int64_t i = 0; i < n; ++i)
        if (!fooled_[std::size_t(i)]) active_.push_back(i);
      const auto active = std::span<const std::int64_t>(active_);
      const auto attack = [&](std::int64_t first, std::int64_t count) {
        const auto items = active.subspan(std::size_t(first), std::size_t(count));
        attack_batch(model, x, labels, eps, items, std::uint32_t(r), x_adv);
      };
      detail::for_each_batch(std::int64_t(active.size()), options_.batch_size, attack);
    }
  }

  // run() without the forward pass that scores the result: x_adv = the last iterate of one
  // attack on every item. Adversarial training needs the points only (its own forward
  // follows); fooled() and losses() are not updated. Needs restarts == 1 (choosing between
  // restarts needs the scores); with one restart x_adv is run()'s, bit for bit.
  void run_unscored(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
                    Tensor<T>& x_adv) {
    const std::string& who = name_;
    if (options_.random_start && options_.restarts > 1)
      throw argument_error(who + ": run_unscored runs one start, the options ask for " +
                           std::to_string(options_.restarts) + " restarts");
    detail::require_attack_arguments(model, x, labels, x_adv, 1, who);
    detail::require_epsilon<T>(eps, who, rel_stepsize());
    options_.bounds.require_inside(x, who.c_str());

    const EvalMode<T> eval(model);
    x_adv.resize(x.shape());
    all_items_.resize(std::size_t(x.size(0)));  // every item, in order
    for (std::size_t i = 0; i < all_items_.size(); ++i) all_items_[i] = std::int64_t(i);
    const auto all = std::span<const std::int64_t>(all_items_);
    detail::for_each_batch(x.size(0), options_.batch_size, [&](std::int64_t first, std::int64_t count) {
      const auto items = all.subspan(std::size_t(first), std::size_t(count));
      iterate(model, x, labels, eps, items, 0);
      const std::int64_t d = x.shape().item_numel();
      std::memcpy(x_adv.data() + first * d, xa_.data(), std::size_t(count * d) * sizeof(T));
    });
  }

  // Per item of the last run: 1 where the model's prediction on x_adv differs from the label.
  std::span<const std::uint8_t> fooled() const { return fooled_; }
  // Per item of the last run: the cross-entropy at x_adv.
  std::span<const double> losses() const { return losses_; }

 private:
  // xa_ = the last iterate of the attack on `items` of x from the start of `restart`.
  void iterate(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
               std::span<const std::int64_t> items, std::uint32_t restart) {
    const std::int64_t b = std::int64_t(items.size()), d = x.shape().item_numel();
    detail::gather_items(x, items, x0_);
    batch_labels_.resize(items.size());
    for (std::size_t k = 0; k < items.size(); ++k) batch_labels_[k] = labels[std::size_t(items[k])];
    xa_.resize(x0_.shape());

    if (options_.random_start) {
      parallel_for(b, [&](std::int64_t k) {
        random_start(x0_.data() + k * d, xa_.data() + k * d, d, eps, restart, items[std::size_t(k)]);
      });
    } else {
      std::memcpy(xa_.data(), x0_.data(), std::size_t(b * d) * sizeof(T));
    }

    const T step = T(rel_stepsize() * eps);
    for (int s = 0; s < options_.steps; ++s) {
      const TensorView<const T> logits = model.forward(xa_.view());
      cross_entropy<T>(logits, batch_labels_, grad_logits_);
      const TensorView<const T> g = model.backward(grad_logits_.view(), InputGrad::compute, ParamGrads::skip);
      parallel_for(b, [&](std::int64_t k) {
        step_item(x0_.data() + k * d, g.data() + k * d, xa_.data() + k * d, d, eps, step);
      });
    }
  }

  // Attacks `items` of x from the start of `restart` and keeps, per item, the iterate that
  // fools the model or else the one of highest loss.
  void attack_batch(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
                    std::span<const std::int64_t> items, std::uint32_t restart, Tensor<T>& x_adv) {
    iterate(model, x, labels, eps, items, restart);
    const std::int64_t b = std::int64_t(items.size()), d = x.shape().item_numel();
    const TensorView<const T> logits = model.forward(xa_.view());
    log_softmax<T>(logits, log_probs_);
    const std::int64_t c = logits.size(1);
    for (std::int64_t k = 0; k < b; ++k) {
      const auto i = std::size_t(items[std::size_t(k)]);
      const int y = batch_labels_[std::size_t(k)];
      const double loss = -double(log_probs_[k * c + y]);
      const bool fool = detail::argmax(logits.data() + k * c, c) != y;
      if (fool || loss > losses_[i] || restart == 0) {
        std::memcpy(x_adv.data() + std::int64_t(i) * d, xa_.data() + k * d, std::size_t(d) * sizeof(T));
        losses_[i] = loss;
        fooled_[i] = fool;
      }
    }
  }

  // xa = a uniform draw from the eps-ball around x0, clipped to the bounds.
  void random_start(const T* x0, T* xa, std::int64_t d, double eps, std::uint32_t restart, std::int64_t item) const {
    const RandomStream stream(options_.seed, Purpose::attack, restart, std::uint32_t(item));
    const auto row = std::span<T>(xa, std::size_t(d));
    if (options_.norm == Norm::linf) {
      stream.uniform(row);
      for (std::int64_t j = 0; j < d; ++j) xa[j] = x0[j] + T(eps) * (T(2) * xa[j] - T(1));
    } else {
      stream.normal(row);
      double u = 0;
      RandomStream(options_.seed, Purpose::attack, restart, std::uint32_t(item), 1).uniform(std::span<double>(&u, 1));
      const double zn = detail::norm_of(xa, d, Norm::l2);
      const T scale = zn > 0 ? T(eps * std::pow(u, 1.0 / double(d)) / zn) : T(0);
      for (std::int64_t j = 0; j < d; ++j) xa[j] = x0[j] + scale * xa[j];
    }
    detail::clip_to_bounds(xa, d, options_.bounds);
  }

  // One ascent step from xa along g, projected onto the ball around x0 and into the bounds.
  void step_item(const T* x0, const T* g, T* xa, std::int64_t d, double eps, T step) const {
    if (options_.norm == Norm::linf) {
      for (std::int64_t j = 0; j < d; ++j) xa[j] += step * T((g[j] > T(0)) - (g[j] < T(0)));
    } else if (const double gn = detail::norm_of(g, d, Norm::l2); gn > 0) {
      const T scale = T(double(step) / gn);
      for (std::int64_t j = 0; j < d; ++j) xa[j] += scale * g[j];
    }
    detail::project_to_ball(x0, xa, d, options_.norm, eps, options_.bounds);
  }

  PgdOptions options_;
  std::string name_;
  Tensor<T> x0_, xa_, grad_logits_, log_probs_;
  std::vector<int> batch_labels_;
  std::vector<std::int64_t> active_, all_items_;
  std::vector<std::uint8_t> fooled_;
  std::vector<double> losses_;
};

}  // namespace farbound
