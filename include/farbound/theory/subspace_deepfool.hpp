#pragma once
// SubspaceDeepFool: DeepFool (Moosavi-Dezfooli et al. 2016; attack/deepfool.hpp) restricted to
// moves x = x0 + M c along the columns of a fixed matrix M [D, r], minimising ||c||_2 instead
// of ||x - x0||_2. With M = the visible directions of a linear oracle (FeatureGeometry::visible,
// for which d2'(x0, x0 + M c) = ||c||_2) it is a minimal-norm attack in the oracle's metric:
// what ARC needs (theory/arc.hpp).
//
// In c the classifier's margins l_k = f_k - f_y have gradients g_k = M^T grad_x l_k, so
// DeepFool's L2 step carries over: the nearest linearised boundary is k* = argmin_k
// |l_k| / ||g_k||, and
//   c_total += (|l_k*| / ||g_k*|| + min_step) * g_k* / ||g_k*||,   x = x0 + (1 + overshoot) M c_total
// until the prediction leaves y or max_iter steps are taken. Overshoot and min_step as in
// DeepFool; every class other than y is a candidate (one backward pass each per step); no box
// constraint (the oracle's coordinates need not be pixels). Each step runs over the items still
// to move only (attack/step_until_fooled.hpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "farbound/nn/batches.hpp"
#include "farbound/attack/step_until_fooled.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of SubspaceDeepFool: iterations, overshoot, minimum step, batch size.
struct SubspaceDeepFoolOptions {
  // Iterations at most.
  int max_iter = 50;
  // How far past the linearised boundary each step goes, as a fraction.
  double overshoot = 0.02;
  double min_step = 1e-4;  // added to every step's length in c (see DeepFool)
  // Items per forward pass.
  std::int64_t batch_size = 128;
};

// DeepFool restricted to the subspace an oracle sees, minimising the oracle distance d2'.
template <class T>
class SubspaceDeepFool {
 public:
  // DeepFool whose steps stay in the span of `directions` (columns).
  SubspaceDeepFool(Eigen::MatrixXd directions, SubspaceDeepFoolOptions options)
      : m_(std::move(directions)), options_(options) {
    const std::string who = "SubspaceDeepFool";
    if (m_.rows() < 1) throw argument_error(who + ": directions for inputs of 0 numbers");
    if (options_.max_iter < 1)
      throw argument_error(who + ": max_iter must be >= 1, got " + std::to_string(options_.max_iter));
    if (!(options_.overshoot >= 0) || !std::isfinite(options_.overshoot))
      throw argument_error(who + ": overshoot must be finite and >= 0, got " + detail::format_number(options_.overshoot));
    if (!(options_.min_step >= 0) || !std::isfinite(options_.min_step))
      throw argument_error(who + ": min_step must be finite and >= 0, got " + detail::format_number(options_.min_step));
    detail::require_batch_size(options_.batch_size, who);
  }

  // The settings it runs with.
  const SubspaceDeepFoolOptions& options() const { return options_; }

  // x_adv = the attack's point for every item of x [N, ...] away from labels [N].
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, Tensor<T>& x_adv) {
    const std::string who = "SubspaceDeepFool";
    detail::require_attack_arguments(model, x, labels, x_adv, 2, who);
    detail::require_item_numel(x, m_.rows(), "directions", who);

    fooled_.assign(std::size_t(x.size(0)), 0);
    detail::attack_in_batches(model, x, labels, x_adv, options_.batch_size,
                              [&](auto... batch) { attack_batch(model, batch...); });
  }

  // Per item of the last run: 1 where the prediction at x_adv differs from the label.
  std::span<const std::uint8_t> fooled() const { return fooled_; }

 private:
  void attack_batch(Sequential<T>& model, TensorView<const T> x0, std::span<const int> y, TensorView<T> xa,
                    std::int64_t first) {
    const std::int64_t d = m_.rows(), r = m_.cols();
    std::memcpy(xa.data(), x0.data(), std::size_t(x0.numel()) * sizeof(T));
    c_total_.assign(std::size_t(x0.size(0) * r), 0.0);
    // Without directions no item can move.
    const int max_iter = r > 0 ? options_.max_iter : 0;
    const auto fooled = std::span<std::uint8_t>(fooled_).subspan(std::size_t(first), y.size());
    loop_.run(model, xa, y, max_iter, fooled, [&](int, TensorView<const T> logits, detail::PackedRows rows) {
      const std::int64_t a = rows.size(), c = logits.size(1);
      g_.resize(std::size_t(a * r));
      best_g_.resize(std::size_t(a * r));
      best_distance_.assign(std::size_t(a), std::numeric_limits<double>::infinity());
      for (int cand = 0; cand < int(c); ++cand) {
        const TensorView<const T> w =
            detail::margin_gradients(model, logits, rows, y, grad_logits_, [cand](std::int64_t) { return cand; });
        parallel_for(a, [&](std::int64_t p) {
          const int yk = y[std::size_t(rows.items[std::size_t(p)])];
          if (!rows.on_label[std::size_t(p)] || cand == yk) return;
          double* g = g_.data() + p * r;
          const double gn = project(w.data() + p * d, g);
          if (!(gn > 0) || !std::isfinite(gn)) return;
          const double dist = std::abs(double(logits[p * c + cand]) - double(logits[p * c + yk])) / gn;
          if (dist < best_distance_[std::size_t(p)]) {
            best_distance_[std::size_t(p)] = dist;
            std::copy_n(g, r, best_g_.data() + p * r);
          }
        });
      }
      parallel_for(a, [&](std::int64_t p) {
        const std::int64_t k = rows.items[std::size_t(p)];
        if (rows.on_label[std::size_t(p)] && std::isfinite(best_distance_[std::size_t(p)]))
          step_item(x0.data() + k * d, best_g_.data() + p * r, c_total_.data() + k * r, xa.data() + k * d,
                    best_distance_[std::size_t(p)] + options_.min_step);
      });
    });
  }

  // g = M^T w (r numbers); returns ||g||_2.
  double project(const T* w, double* g) const {
    const std::int64_t d = m_.rows(), r = m_.cols();
    double n2 = 0;
    for (std::int64_t j = 0; j < r; ++j) {
      const double* col = m_.col(j).data();
      double acc = 0;
      for (std::int64_t t = 0; t < d; ++t) acc += col[t] * double(w[t]);
      g[j] = acc;
      n2 += acc * acc;
    }
    return std::sqrt(n2);
  }

  // c_total += dist * g / ||g||, x = x0 + (1 + overshoot) M c_total.
  void step_item(const T* x0, const double* g, double* c_total, T* xa, double dist) const {
    const std::int64_t d = m_.rows(), r = m_.cols();
    double gn = 0;
    for (std::int64_t j = 0; j < r; ++j) gn += g[j] * g[j];
    gn = std::sqrt(gn);
    for (std::int64_t j = 0; j < r; ++j) c_total[j] += dist * g[j] / gn;
    const double grow = 1 + options_.overshoot;
    for (std::int64_t t = 0; t < d; ++t) {
      double v = double(x0[t]);
      for (std::int64_t j = 0; j < r; ++j) v += grow * m_(t, j) * c_total[j];
      xa[t] = T(v);
    }
  }

  Eigen::MatrixXd m_;
  SubspaceDeepFoolOptions options_;
  detail::StepUntilFooled<T> loop_;
  Tensor<T> grad_logits_;
  std::vector<double> c_total_, g_, best_g_, best_distance_;
  std::vector<std::uint8_t> fooled_;
};

}  // namespace farbound
