#pragma once
// Auto-PGD (Croce & Hein, ICML 2020), L-inf and L2: PGD with momentum whose step size
// controls itself, on the cross-entropy or the DLR loss (apgd_loss.hpp). Conventions as in
// pgd.hpp: inputs in the model's units inside Bounds, eps in those units, the model in eval
// mode.
//
// For an item x0 with label y, from a random start x^0 on the sphere of radius eps
// (L-inf: x0 + eps t / ||t||_inf, t ~ U[-1, 1]^D; L2: x0 + eps t / ||t||_2, t ~ N(0, I);
// clipped to the bounds), with the step eta^0 = 2 eps:
//   z       = P(x^k + eta^k sign(g^k))          (L2: eta^k g^k / ||g^k||_2)
//   x^{k+1} = P(x^k + a (z - x^k) + (1 - a)(x^k - x^{k-1})),  a = 0.75 (a = 1 for k = 0)
// where g^k is the loss gradient at x^k and P the projection of detail/ball.hpp. At the
// checkpoints of apgd_step_size.hpp the step may be halved and x^k, g^k reset to the best
// point so far.
//
// An item's result: the last point on its path that the model misclassifies (the run stops
// moving it there: nothing seen on the way is lost), or else the point of highest loss.
// Items the model misclassifies at the clean point are fooled from the start and returned
// unchanged. Restarts attack again, from a new random start, only the items not yet fooled;
// the targeted DLR loss runs `restarts` times for each of the targets: the classes of the
// 2nd, 3rd, ... largest clean logits, one after the other.
//
// Randomness: RandomStream(seed, Purpose::attack, restart, item, lane), lane 2 for the
// untargeted losses and 32 + target rank for the targeted one (PGD uses lanes 0 and 1,
// Square 16 to 18), so the result does not depend on the batch size, the thread count or
// which other items are attacked.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/apgd_loss.hpp"
#include "farbound/attack/apgd_step_size.hpp"
#include "farbound/attack/bounds.hpp"
#include "farbound/attack/detail/ball.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/attack/detail/bounded_run.hpp"
#include "farbound/attack/detail/clean_ranking.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of Apgd: norm, loss, steps, restarts, target classes (APGD-T), seed, bounds, batch size.
struct ApgdOptions {
  // The norm of the radius.
  Norm norm = Norm::linf;
  // The loss it climbs (ApgdLoss).
  ApgdLoss loss = ApgdLoss::cross_entropy;
  // Iterations.
  int steps = 100;
  // Runs from different random starts.
  int restarts = 1;
  // Targeted DLR only: how many target classes (at most C - 1 are used).
  int target_classes = 9;
  // Seed of its random numbers.
  std::uint64_t seed = 0;
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// Auto-PGD (Croce & Hein 2020): PGD with a step size that adapts to the loss's progress and momentum.
template <class T>
class Apgd {
 public:
  // An APGD attack with `options`; argument_error for impossible settings.
  explicit Apgd(ApgdOptions options = {})
      : options_(options), name_(std::string("APGD-") + to_string(options.loss) + "(" + to_string(options.norm) + ")") {
    if (options_.steps < 1) throw argument_error(name_ + ": steps must be >= 1, got " + std::to_string(options_.steps));
    if (options_.restarts < 1)
      throw argument_error(name_ + ": restarts must be >= 1, got " + std::to_string(options_.restarts));
    if (options_.target_classes < 1)
      throw argument_error(name_ + ": target_classes must be >= 1, got " + std::to_string(options_.target_classes));
    options_.bounds.validate(name_.c_str());
    detail::require_batch_size(options_.batch_size, name_);
  }

  // The settings it runs with.
  const ApgdOptions& options() const { return options_; }
  // Its name in reports: "APGD-", the loss, the norm.
  const std::string& name() const { return name_; }

  // x_adv = the attack on every item of x [N, ...] with labels [N], radius eps. x must lie in
  // the bounds; x_adv (resized to x's shape) must not be x's storage.
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps, Tensor<T>& x_adv) {
    detail::begin_bounded_run(model, x, labels, eps, x_adv, min_classes(options_.loss), options_.bounds, name_);
    const EvalMode<T> eval(model);
    const std::int64_t n = x.size(0);
    const int targets = clean_pass(model, x, labels);
    losses_.assign(std::size_t(n), -std::numeric_limits<double>::infinity());
    trace_.assign(std::size_t(options_.steps) + 1, 0.0);
    traced_ = 0;
    if (eps == 0) return;
    for (int t = 0; t < targets; ++t)
      for (int r = 0; r < options_.restarts; ++r) {
        detail::unfooled_items(fooled_, active_);
        const auto active = std::span<const std::int64_t>(active_);
        detail::for_each_batch(std::int64_t(active.size()), options_.batch_size, [&](std::int64_t first, std::int64_t count) {
          attack_batch(model, x, labels, eps, active.subspan(std::size_t(first), std::size_t(count)), t, r, x_adv);
        });
      }
    if (traced_ > 0)
      for (double& v : trace_) v /= double(traced_);
  }

  // Per item of the last run: 1 where the model's prediction at x_adv differs from the label.
  std::span<const std::uint8_t> fooled() const { return fooled_; }
  // Per item of the last run that was attacked: the loss at x_adv (-inf for the others).
  std::span<const double> losses() const { return losses_; }
  // The mean, over the items attacked by the first restart (and first target), of the best
  // loss after each iteration (entry 0: at the random start); an item the model stops
  // classifying correctly keeps the value it had then. A path still climbing at its end
  // means the attack had too few iterations.
  std::span<const double> loss_trace() const { return trace_; }

 private:
  // fooled_ = misclassified at the clean point; for the targeted loss, the clean ranking of
  // the classes. Returns how many targets the run goes through (1 for untargeted losses).
  int clean_pass(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels) {
    const bool targeted = options_.loss == ApgdLoss::targeted_dlr;
    ranking_.clear();
    const std::int64_t c =
        detail::clean_ranking(model, x, labels, options_.batch_size, fooled_, targeted ? &ranking_ : nullptr);
    return targeted ? int(std::min<std::int64_t>(options_.target_classes, c - 1)) : 1;
  }

  void attack_batch(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
                    std::span<const std::int64_t> items, int target, int restart, Tensor<T>& x_adv) {
    const std::int64_t b = std::int64_t(items.size()), d = x.shape().item_numel();
    const std::int64_t c = detail::num_classes(model, x, name_);
    detail::gather_items(x, items, x0_);
    y_.resize(items.size());
    t_.assign(items.size(), 0);
    for (std::size_t k = 0; k < items.size(); ++k) {
      y_[k] = labels[std::size_t(items[k])];
      // The class of the (target + 2)-th largest clean logit: the attacked items are those
      // the model classifies correctly, so the label ranks first.
      if (!ranking_.empty()) t_[k] = ranking_[std::size_t(items[k] * c + target + 1)];
    }
    xa_.resize(x0_.shape());
    parallel_for(b, [&](std::int64_t k) {
      random_start(x0_.data() + k * d, xa_.data() + k * d, d, eps, restart, items[std::size_t(k)], target);
    });
    x_prev_ = xa_.clone();
    x_best_ = xa_.clone();
    z_.resize(x0_.shape());
    grad_.resize(x0_.shape());
    grad_best_.resize(x0_.shape());
    batch_fooled_.assign(items.size(), 0);
    control_.clear();
    rows_.resize(items.size());
    for (std::int64_t k = 0; k < b; ++k) rows_[std::size_t(k)] = k;
    evaluate(model, items, x_adv, [&](std::int64_t, double loss) { control_.emplace_back(2 * eps, loss); });
    std::memcpy(grad_best_.data(), grad_.data(), std::size_t(b * d) * sizeof(T));
    const bool traced = target == 0 && restart == 0;
    if (traced) add_to_trace(0);

    const std::vector<int> checkpoints = apgd_checkpoints(options_.steps);
    std::size_t next = 0;
    for (int s = 0; s < options_.steps; ++s) {
      const bool check = next < checkpoints.size() && checkpoints[next] == s;
      const int interval = check ? checkpoints[next] - (next == 0 ? -1 : checkpoints[next - 1]) : 0;
      next += check;
      rows_.clear();
      for (std::int64_t k = 0; k < b; ++k)
        if (!batch_fooled_[std::size_t(k)]) rows_.push_back(k);
      if (!rows_.empty()) {
        const T a = T(s == 0 ? 1.0 : 0.75);
        parallel_for(std::int64_t(rows_.size()), [&](std::int64_t r) { step_row(rows_[std::size_t(r)], d, eps, a); });
        evaluate(model, items, x_adv, [&](std::int64_t k, double loss) {
          if (control_[std::size_t(k)].record(loss)) {
            std::memcpy(x_best_.data() + k * d, xa_.data() + k * d, std::size_t(d) * sizeof(T));
            std::memcpy(grad_best_.data() + k * d, grad_.data() + k * d, std::size_t(d) * sizeof(T));
          }
          if (check && !batch_fooled_[std::size_t(k)] && control_[std::size_t(k)].check(interval)) {
            std::memcpy(xa_.data() + k * d, x_best_.data() + k * d, std::size_t(d) * sizeof(T));
            std::memcpy(grad_.data() + k * d, grad_best_.data() + k * d, std::size_t(d) * sizeof(T));
          }
        });
      }
      if (traced) add_to_trace(s + 1);
    }
    for (std::int64_t k = 0; k < b; ++k) {
      const auto i = std::size_t(items[std::size_t(k)]);
      const double loss = control_[std::size_t(k)].best_loss();
      if (batch_fooled_[std::size_t(k)] || !(loss > losses_[i])) continue;
      losses_[i] = loss;
      std::memcpy(x_adv.data() + std::int64_t(i) * d, x_best_.data() + k * d, std::size_t(d) * sizeof(T));
    }
  }

  // One forward and backward pass over the batch rows in rows_, packed: grad_ gets their loss
  // gradients; a row the model misclassifies is fooled and its point written to x_adv. Then
  // seen(row, loss) for every row, in order.
  template <class Seen>
  void evaluate(Sequential<T>& model, std::span<const std::int64_t> items, Tensor<T>& x_adv, Seen&& seen) {
    const std::int64_t d = xa_.shape().item_numel(), m = std::int64_t(rows_.size());
    detail::gather_items<T>(xa_.view(), rows_, packed_);
    const TensorView<const T> logits = model.forward(packed_.view());
    const std::int64_t c = logits.size(1);
    grad_logits_.resize(logits.shape());
    row_loss_.resize(rows_.size());
    for (std::int64_t r = 0; r < m; ++r) {
      const auto k = std::size_t(rows_[std::size_t(r)]);
      row_loss_[std::size_t(r)] =
          detail::apgd_loss(options_.loss, logits.data() + r * c, c, y_[k], t_[k], grad_logits_.data() + r * c);
      if (detail::argmax(logits.data() + r * c, c) == y_[k]) continue;
      batch_fooled_[k] = 1;
      const auto i = std::size_t(items[k]);
      fooled_[i] = 1;
      losses_[i] = row_loss_[std::size_t(r)];
      std::memcpy(x_adv.data() + std::int64_t(i) * d, xa_.data() + std::int64_t(k) * d, std::size_t(d) * sizeof(T));
    }
    const TensorView<const T> g = model.backward(grad_logits_.view(), InputGrad::compute, ParamGrads::skip);
    for (std::int64_t r = 0; r < m; ++r) {
      const std::int64_t k = rows_[std::size_t(r)];
      std::memcpy(grad_.data() + k * d, g.data() + r * d, std::size_t(d) * sizeof(T));
      seen(k, row_loss_[std::size_t(r)]);
    }
  }

  void add_to_trace(int step) {
    for (const ApgdStepSize& s : control_) trace_[std::size_t(step)] += s.best_loss();
    if (step == 0) traced_ += std::int64_t(control_.size());
  }

  // The momentum step of batch row k (see the top of the file).
  void step_row(std::int64_t k, std::int64_t d, double eps, T a) {
    const T* x0 = x0_.data() + k * d;
    const T* g = grad_.data() + k * d;
    T* x = xa_.data() + k * d;
    T* prev = x_prev_.data() + k * d;
    T* z = z_.data() + k * d;
    const double eta = control_[std::size_t(k)].step();
    if (options_.norm == Norm::linf) {
      for (std::int64_t j = 0; j < d; ++j) z[j] = x[j] + T(eta) * T((g[j] > T(0)) - (g[j] < T(0)));
    } else {
      const T scale = T(eta / (detail::norm_of(g, d, Norm::l2) + 1e-12));
      for (std::int64_t j = 0; j < d; ++j) z[j] = x[j] + scale * g[j];
    }
    detail::project_to_ball(x0, z, d, options_.norm, eps, options_.bounds);
    for (std::int64_t j = 0; j < d; ++j) {
      const T next = x[j] + a * (z[j] - x[j]) + (T(1) - a) * (x[j] - prev[j]);
      prev[j] = x[j];
      x[j] = next;
    }
    detail::project_to_ball(x0, x, d, options_.norm, eps, options_.bounds);
  }

  void random_start(const T* x0, T* xa, std::int64_t d, double eps, int restart, std::int64_t item, int target) const {
    const std::uint32_t lane = options_.loss == ApgdLoss::targeted_dlr ? 32 + std::uint32_t(target) : 2;
    const RandomStream stream(options_.seed, Purpose::attack, std::uint32_t(restart), std::uint32_t(item), lane);
    const auto row = std::span<T>(xa, std::size_t(d));
    if (options_.norm == Norm::linf) {
      stream.uniform(row);
      for (T& v : row) v = T(2) * v - T(1);
    } else {
      stream.normal(row);
    }
    const T scale = T(eps / (detail::norm_of(xa, d, options_.norm) + 1e-12));
    for (std::int64_t j = 0; j < d; ++j) xa[j] = x0[j] + scale * xa[j];
    detail::clip_to_bounds(xa, d, options_.bounds);
  }

  ApgdOptions options_;
  std::string name_;
  Tensor<T> x0_, xa_, x_prev_, x_best_, z_, grad_, grad_best_, packed_, grad_logits_;
  std::vector<int> y_, t_, ranking_;
  std::vector<std::int64_t> active_, rows_;
  std::vector<ApgdStepSize> control_;
  std::vector<std::uint8_t> fooled_, batch_fooled_;
  std::vector<double> losses_, row_loss_, trace_;
  std::int64_t traced_ = 0;
};

}  // namespace farbound
