#pragma once
// InvisibleAttack: projected gradient ascent that moves an input only along the directions
// a linear oracle cannot see (the invisible columns of its FeatureGeometry, an orthonormal
// basis N of null(P)). Every iterate x0 + N b has g2(x) = g2(x0), so d2'(x0, x) = 0 and
// f2 is unchanged: whatever flips f1 is an adversarial example at every delta2 > 0. This is
// the worst case behind Wang et al.'s unnecessary-feature theorem, found by search instead
// of waited for by sampling.
//
// For an item x0 that the model puts in class y, with the margin
//   m(x) = max_{k != y} f_k(x) - f_y(x)    (> 0 once the prediction leaves y)
// and its gradient w = grad_x m (the candidate k fixed at each step, as DeepFool's), steps
//   g = N^T w,   b <- b + a g / ||g||_2,   b <- b * min(1, radius / ||b||_2),   x = x0 + N b
// from b = 0, a = rel_stepsize * radius (default 2.5 / steps, as PGD's). An item stops at the
// first iterate that leaves y. The margin is used instead of the cross-entropy because its
// gradient does not vanish on confidently classified items. Where g = 0 (a classifier that
// ignores the invisible directions) the item never moves: the attack finds nothing, as it
// should. No box constraint: clipping would leave null(P).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/attack/detail/batches.hpp"
#include "farbound/attack/eval_mode.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/format_number.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/theory/feature_map.hpp"

namespace farbound {

struct InvisibleAttackOptions {
  double radius = 1.0;  // L2 budget of N b, input units
  int steps = 50;
  std::optional<double> rel_stepsize{};  // step as a fraction of radius; unset: 2.5 / steps
  std::int64_t batch_size = 256;
};

template <class T>
class InvisibleAttack {
 public:
  InvisibleAttack(FeatureGeometry geometry, InvisibleAttackOptions options)
      : geometry_(std::move(geometry)), options_(options) {
    const std::string who = "InvisibleAttack";
    if (!(options_.radius >= 0) || !std::isfinite(options_.radius))
      throw argument_error(who + ": radius must be finite and >= 0, got " + detail::format_number(options_.radius));
    if (options_.steps < 1) throw argument_error(who + ": steps must be >= 1, got " + std::to_string(options_.steps));
    if (options_.rel_stepsize && (!(*options_.rel_stepsize > 0) || !std::isfinite(*options_.rel_stepsize)))
      throw argument_error(who + ": rel_stepsize must be positive and finite, got " +
                           detail::format_number(*options_.rel_stepsize));
    detail::require_batch_size(options_.batch_size, who);
  }

  const InvisibleAttackOptions& options() const { return options_; }
  const FeatureGeometry& geometry() const { return geometry_; }
  double rel_stepsize() const { return options_.rel_stepsize.value_or(2.5 / options_.steps); }

  // x_adv = the attack on every item of x [N, ...] away from labels [N] (usually the
  // model's own predictions).
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, Tensor<T>& x_adv) {
    const std::string who = "InvisibleAttack";
    detail::require_labels(x, labels, who);
    const std::int64_t classes = detail::num_classes(model, x, who);
    if (classes < 2) throw argument_error(who + ": the model has " + std::to_string(classes) + " class; need >= 2");
    detail::require_classes(labels, classes, who);
    if (x.shape().item_numel() != geometry_.input_numel())
      throw shape_error(who + ": items of " + std::to_string(x.shape().item_numel()) +
                        " numbers for an oracle geometry of " + std::to_string(geometry_.input_numel()));
    if (x_adv.data() != nullptr && x_adv.data() == x.data())
      throw argument_error(who + ": x_adv must not share storage with the inputs");

    const EvalMode<T> eval(model);
    const std::int64_t n = x.size(0);
    x_adv.resize(x.shape());
    fooled_.assign(std::size_t(n), 0);
    for (std::int64_t first = 0; first < n; first += options_.batch_size) {
      const std::int64_t count = std::min(n - first, options_.batch_size);
      attack_batch(model, x.slice(first, count), labels.subspan(std::size_t(first), std::size_t(count)),
                   x_adv.slice(first, count), first);
    }
  }

  // Per item of the last run: 1 where the model's prediction at x_adv differs from the label.
  std::span<const std::uint8_t> fooled() const { return fooled_; }

 private:
  void attack_batch(Sequential<T>& model, TensorView<const T> x0, std::span<const int> y, TensorView<T> xa,
                    std::int64_t first) {
    const std::int64_t b = x0.size(0), d = x0.shape().item_numel(), k = geometry_.invisible_count();
    std::memcpy(xa.data(), x0.data(), std::size_t(b * d) * sizeof(T));
    coef_.assign(std::size_t(b * k), 0.0);
    projected_.resize(std::size_t(b * k));
    active_.assign(std::size_t(b), 1);
    const double step = rel_stepsize() * options_.radius;

    for (int s = 0; s <= options_.steps; ++s) {
      const TensorView<const T> logits = model.forward(TensorView<const T>(xa));
      const std::int64_t c = logits.size(1);
      bool any = false;
      for (std::int64_t i = 0; i < b; ++i) {
        const bool left = detail::argmax(logits.data() + i * c, c) != y[std::size_t(i)];
        fooled_[std::size_t(first + i)] = left;
        active_[std::size_t(i)] = !left && k > 0;
        any = any || active_[std::size_t(i)];
      }
      if (!any || s == options_.steps) break;

      // d(margin)/d(logits): +1 at the strongest other class, -1 at the label.
      grad_logits_.resize(logits.shape());
      grad_logits_.zero();
      for (std::int64_t i = 0; i < b; ++i) {
        if (!active_[std::size_t(i)]) continue;
        const T* row = logits.data() + i * c;
        const int yi = y[std::size_t(i)];
        int other = yi == 0 ? 1 : 0;
        for (std::int64_t j = 0; j < c; ++j)
          if (j != yi && row[j] > row[other]) other = int(j);
        grad_logits_[i * c + other] = T(1);
        grad_logits_[i * c + yi] = T(-1);
      }
      const TensorView<const T> w = model.backward(grad_logits_.view(), InputGrad::compute, ParamGrads::skip);
      parallel_for(b, [&](std::int64_t i) {
        if (active_[std::size_t(i)])
          step_item(w.data() + i * d, x0.data() + i * d, coef_.data() + i * k, projected_.data() + i * k,
                    xa.data() + i * d, step);
      });
    }
  }

  // One ascent step of item coefficients b along N^T w, back into the radius, and x = x0 + N b.
  void step_item(const T* w, const T* x0, double* coef, double* g, T* xa, double step) const {
    const std::int64_t d = geometry_.input_numel(), k = geometry_.invisible_count();
    double gn = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      const double* col = geometry_.invisible.col(j).data();
      double acc = 0;
      for (std::int64_t t = 0; t < d; ++t) acc += col[t] * double(w[t]);
      g[j] = acc;
      gn += acc * acc;
    }
    if (!(gn > 0)) return;
    gn = std::sqrt(gn);
    double bn = 0;
    for (std::int64_t j = 0; j < k; ++j) {
      coef[j] += step * g[j] / gn;
      bn += coef[j] * coef[j];
    }
    bn = std::sqrt(bn);
    if (bn > options_.radius)
      for (std::int64_t j = 0; j < k; ++j) coef[j] *= options_.radius / bn;
    for (std::int64_t t = 0; t < d; ++t) {
      double v = double(x0[t]);
      for (std::int64_t j = 0; j < k; ++j) v += geometry_.invisible(t, j) * coef[j];
      xa[t] = T(v);
    }
  }

  FeatureGeometry geometry_;
  InvisibleAttackOptions options_;
  Tensor<T> grad_logits_;
  std::vector<double> coef_, projected_;
  std::vector<std::uint8_t> active_, fooled_;
};

}  // namespace farbound
