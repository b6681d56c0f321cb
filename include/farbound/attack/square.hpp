#pragma once
// The Square attack (Andriushchenko, Croce, Flammarion, Hein, ECCV 2020), L-inf and L2: a
// random search that queries only the model's logits, never its gradients, so a model whose
// gradients mislead (masked, saturated, shattered) cannot hide from it. It lowers the margin
// loss m(x) = z_y - max_{k != y} z_k and stops at the first point with m <= 0.
//
// Items are images [C, H, W] (any other item shape is searched as [1, 1, numel]). Each query
// changes one random square window of side s (all channels) of the best point so far and
// keeps the change when the margin drops:
//   L-inf:  the window becomes x0 + eps * sign_c (one random sign per channel), clipped to
//           the bounds: a vertex of the ball there. Start: vertical stripes x0 +- eps.
//   L2:     the window's perturbation is replaced by a centred bump (+ and - halves of
//           nested rectangles with weights 1/r^2, randomly transposed) times a random sign
//           per channel plus the old window's direction, rescaled so that the mass of a
//           second random window, emptied, moves into it; the whole perturbation is then
//           scaled to norm eps and clipped to the bounds. Start: a 5x5 grid of such bumps.
// The side follows the share p of the image a window covers: s = round(sqrt(p H W)) (at
// least 1, for L2 at least 3 and odd), with p = p_init = 0.8 halved after 10, 50, 200, 500,
// 1000, 2000, 4000, 6000 and 8000 queries of a 10 000-query run (square_fraction rescales the
// schedule to other budgets, as the authors' code does).
//
// Items misclassified at the clean point are returned unchanged; restarts search again,
// from a new start, for the items not yet fooled. Randomness: RandomStream(seed,
// Purpose::attack, restart, item, 16..18) indexed by query, so the result does not depend on
// the batch size, the thread count or which other items are attacked.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/detail/ball.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/attack/detail/bounded_run.hpp"
#include "farbound/attack/detail/square_window.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of Square: norm, queries, the initial square fraction p_init, restarts, seed, bounds.
struct SquareOptions {
  // The norm of the radius.
  Norm norm = Norm::linf;
  // Model queries per item at most.
  int queries = 5000;
  // The first square's share of the image, shrunk on a fixed schedule.
  double p_init = 0.8;
  // Runs from different random starts.
  int restarts = 1;
  // Seed of its random numbers.
  std::uint64_t seed = 0;
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// The share of the image that query `query` (0-based) of a `queries`-query run changes.
inline double square_fraction(double p_init, int query, int queries) {
  const int at = int(double(query) / double(queries) * 10000);
  double p = p_init;
  for (int after : {10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000})
    if (at > after) p /= 2;
  return p;
}

// The Square attack (Andriushchenko et al. 2020): random square-shaped changes, no gradients.
template <class T>
class Square {
 public:
  // A Square attack with `options`; argument_error for impossible settings.
  explicit Square(SquareOptions options = {}) : options_(options), name_("Square(" + to_string(options.norm) + ")") {
    if (options_.queries < 1)
      throw argument_error(name_ + ": queries must be >= 1, got " + std::to_string(options_.queries));
    if (options_.restarts < 1)
      throw argument_error(name_ + ": restarts must be >= 1, got " + std::to_string(options_.restarts));
    if (!(options_.p_init > 0 && options_.p_init <= 1))
      throw argument_error(name_ + ": p_init must be in (0, 1], got " + detail::format_number(options_.p_init));
    options_.bounds.validate(name_.c_str());
    detail::require_batch_size(options_.batch_size, name_);
  }

  // The settings it runs with.
  const SquareOptions& options() const { return options_; }
  // Its name in reports, e.g. "Square(Linf)".
  const std::string& name() const { return name_; }

  // x_adv = the attack on every item of x [N, ...] with labels [N], radius eps. x must lie in
  // the bounds; x_adv (resized to x's shape) must not be x's storage.
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps, Tensor<T>& x_adv) {
    detail::begin_bounded_run(model, x, labels, eps, x_adv, 2, options_.bounds, name_);
    const EvalMode<T> eval(model);
    const std::int64_t d = x.shape().item_numel();
    image_ = x.rank() == 4 ? detail::ImageShape{x.size(1), x.size(2), x.size(3)} : detail::ImageShape{1, 1, d};
    clean_pass(model, x, labels);
    if (eps == 0) return;
    for (int r = 0; r < options_.restarts; ++r) {
      detail::unfooled_items(fooled_, active_);
      const auto active = std::span<const std::int64_t>(active_);
      detail::for_each_batch(std::int64_t(active.size()), options_.batch_size, [&](std::int64_t first, std::int64_t count) {
        search_batch(model, x, labels, eps, active.subspan(std::size_t(first), std::size_t(count)), r, x_adv);
      });
    }
  }

  // Per item of the last run: 1 where the model's prediction at x_adv differs from the label.
  std::span<const std::uint8_t> fooled() const { return fooled_; }
  // Per item of the last run: the margin z_y - max_{k != y} z_k at x_adv.
  std::span<const double> margins() const { return margins_; }

 private:
  // margins_ and fooled_ at the clean points: the bar a search must beat.
  void clean_pass(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels) {
    const std::int64_t n = x.size(0);
    margins_.resize(std::size_t(n));
    fooled_.resize(std::size_t(n));
    detail::for_each_batch(n, options_.batch_size, [&](std::int64_t first, std::int64_t count) {
      const TensorView<const T> logits = model.forward(x.slice(first, count));
      const std::int64_t c = logits.size(1);
      for (std::int64_t k = 0; k < count; ++k) {
        const T* z = logits.data() + k * c;
        const auto i = std::size_t(first + k);
        margins_[i] = double(z[labels[i]]) - double(z[detail::strongest_other_class(z, c, labels[i])]);
        fooled_[i] = detail::argmax(z, c) != labels[i];
      }
    });
  }

  // The search for the items of one batch: the start (query 0), then up to `queries` queries
  // over the rows not yet fooled, packed into one forward pass each.
  void search_batch(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, double eps,
                    std::span<const std::int64_t> items, int restart, Tensor<T>& x_adv) {
    const std::int64_t b = std::int64_t(items.size()), d = x.shape().item_numel();
    detail::gather_items(x, items, x0_);
    best_.resize(x0_.shape());
    rows_.resize(items.size());
    for (std::int64_t k = 0; k < b; ++k) rows_[std::size_t(k)] = k;
    best_margin_.assign(items.size(), std::numeric_limits<double>::infinity());
    candidates_.resize(x0_.shape());
    if (options_.norm == Norm::l2) bumps_.prepare(detail::l2_grid_side(image_));
    parallel_for(b, [&](std::int64_t k) {
      const detail::SquareRandom random(options_.seed, restart, items[std::size_t(k)]);
      T* xk = candidates_.data() + k * d;
      if (options_.norm == Norm::linf)
        detail::linf_stripes(x0_.data() + k * d, xk, image_, T(eps), random);
      else
        detail::l2_grid(x0_.data() + k * d, xk, image_, eps, random, bumps_);
      detail::clip_to_bounds(xk, d, options_.bounds);
    });
    query(model, labels, items, d, x_adv);
    for (int q = 0; q < options_.queries; ++q) {
      std::size_t kept = 0;
      for (std::int64_t k : rows_)
        if (best_margin_[std::size_t(k)] > 0) rows_[kept++] = k;
      rows_.resize(kept);
      if (rows_.empty()) break;
      const double p = square_fraction(options_.p_init, q, options_.queries);
      if (options_.norm == Norm::l2) bumps_.prepare(detail::square_side(true, p, image_));
      candidates_.resize(x0_.shape().with_batch(std::int64_t(rows_.size())));
      parallel_for(std::int64_t(rows_.size()), [&](std::int64_t r) {
        const std::int64_t k = rows_[std::size_t(r)];
        const detail::SquareRandom random(options_.seed, restart, items[std::size_t(k)]);
        T* candidate = candidates_.data() + r * d;
        const T* x0 = x0_.data() + k * d;
        std::memcpy(candidate, best_.data() + k * d, std::size_t(d) * sizeof(T));
        if (options_.norm == Norm::linf)
          detail::linf_window(x0, candidate, image_, T(eps), p, q, random);
        else
          detail::l2_window(x0, candidate, image_, eps, p, q, random, bumps_);
        detail::clip_to_bounds(candidate, d, options_.bounds);
      });
      query(model, labels, items, d, x_adv);
    }
  }

  // The margins of the candidates (row r: batch row rows_[r]); a row keeps its candidate
  // when the margin drops, and is fooled (written to x_adv) when it is <= 0.
  void query(Sequential<T>& model, std::span<const int> labels, std::span<const std::int64_t> items, std::int64_t d,
             Tensor<T>& x_adv) {
    const TensorView<const T> logits = model.forward(candidates_.view());
    const std::int64_t c = logits.size(1);
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      const std::size_t k = std::size_t(rows_[r]), i = std::size_t(items[k]);
      const T* z = logits.data() + std::int64_t(r) * c;
      const int y = labels[i];
      const double margin = double(z[y]) - double(z[detail::strongest_other_class(z, c, y)]);
      if (!(margin < best_margin_[k])) continue;
      best_margin_[k] = margin;
      const T* candidate = candidates_.data() + std::int64_t(r) * d;
      std::memcpy(best_.data() + std::int64_t(k) * d, candidate, std::size_t(d) * sizeof(T));
      if (margin > 0 && !(margin < margins_[i])) continue;
      // The clean point's margin is the bar for a not-fooled item; any fooled point wins.
      margins_[i] = margin;
      fooled_[i] = margin <= 0 && detail::argmax(z, c) != y;
      std::memcpy(x_adv.data() + std::int64_t(i) * d, candidate, std::size_t(d) * sizeof(T));
    }
  }

  SquareOptions options_;
  std::string name_;
  detail::ImageShape image_{};
  detail::SquareBumps<T> bumps_;
  Tensor<T> x0_, best_, candidates_;
  std::vector<std::int64_t> active_, rows_;
  std::vector<double> best_margin_, margins_;
  std::vector<std::uint8_t> fooled_;
};

}  // namespace farbound
