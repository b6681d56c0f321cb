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
// should. No box constraint: clipping would leave null(P). Each step runs over the items
// still to move only (attack/step_until_fooled.hpp).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "farbound/nn/batches.hpp"
#include "farbound/attack/step_until_fooled.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/theory/feature_map.hpp"

namespace farbound {

// Settings of InvisibleAttack: the radius of the move, steps, step size, batch size.
struct InvisibleAttackOptions {
  double radius = 1.0;  // L2 budget of N b, input units
  // Iterations.
  int steps = 50;
  std::optional<double> rel_stepsize{};  // step as a fraction of radius; unset: 2.5 / steps
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// An attack that moves only what the oracle cannot see, so the oracle's label and distance stay the same.
template <class T>
class InvisibleAttack {
 public:
  // An attack that moves only within `geometry`'s invisible subspace.
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

  // The settings it runs with.
  const InvisibleAttackOptions& options() const { return options_; }
  // The visible and invisible subspaces it works with.
  const FeatureGeometry& geometry() const { return geometry_; }
  // The step as a fraction of the radius: the option, or 2.5 / steps.
  double rel_stepsize() const { return options_.rel_stepsize.value_or(2.5 / options_.steps); }

  // x_adv = the attack on every item of x [N, ...] away from labels [N] (usually the
  // model's own predictions).
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, Tensor<T>& x_adv) {
    const std::string who = "InvisibleAttack";
    detail::require_attack_arguments(model, x, labels, x_adv, 2, who);
    detail::require_item_numel(x, geometry_.input_numel(), "an oracle geometry", who);

    fooled_.assign(std::size_t(x.size(0)), 0);
    detail::attack_in_batches(model, x, labels, x_adv, options_.batch_size,
                              [&](auto... batch) { attack_batch(model, batch...); });
  }

  // Per item of the last run: 1 where the model's prediction at x_adv differs from the label.
  std::span<const std::uint8_t> fooled() const { return fooled_; }

 private:
  void attack_batch(Sequential<T>& model, TensorView<const T> x0, std::span<const int> y, TensorView<T> xa,
                    std::int64_t first) {
    const std::int64_t d = x0.shape().item_numel(), k = geometry_.invisible_count();
    std::memcpy(xa.data(), x0.data(), std::size_t(x0.numel()) * sizeof(T));
    coef_.assign(std::size_t(x0.size(0) * k), 0.0);
    projected_.resize(coef_.size());
    const double step = rel_stepsize() * options_.radius;
    // Without invisible directions no item can move.
    const int steps = k > 0 ? options_.steps : 0;
    const auto fooled = std::span<std::uint8_t>(fooled_).subspan(std::size_t(first), y.size());
    loop_.run(model, xa, y, steps, fooled, [&](int, TensorView<const T> logits, detail::PackedRows rows) {
      const std::int64_t c = logits.size(1);
      // grad_x of the margin against the strongest other class.
      const TensorView<const T> w = detail::margin_gradients(model, logits, rows, y, grad_logits_, [&](std::int64_t r) {
        return detail::strongest_other_class(logits.data() + r * c, c, y[std::size_t(rows.items[std::size_t(r)])]);
      });
      parallel_for(rows.size(), [&](std::int64_t r) {
        if (!rows.on_label[std::size_t(r)]) return;
        const std::int64_t i = rows.items[std::size_t(r)];
        step_item(w.data() + r * d, x0.data() + i * d, coef_.data() + i * k, projected_.data() + i * k,
                  xa.data() + i * d, step);
      });
    });
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
  detail::StepUntilFooled<T> loop_;
  Tensor<T> grad_logits_;
  std::vector<double> coef_, projected_;
  std::vector<std::uint8_t> fooled_;
};

}  // namespace farbound
