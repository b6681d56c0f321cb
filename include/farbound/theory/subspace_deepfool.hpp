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
// constraint (the oracle's coordinates need not be pixels).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "farbound/attack/detail/batches.hpp"
#include "farbound/attack/eval_mode.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/format_number.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

struct SubspaceDeepFoolOptions {
  int max_iter = 50;
  double overshoot = 0.02;
  double min_step = 1e-4;  // added to every step's length in c (see DeepFool)
  std::int64_t batch_size = 128;
};

template <class T>
class SubspaceDeepFool {
 public:
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

  const SubspaceDeepFoolOptions& options() const { return options_; }

  // x_adv = the attack's point for every item of x [N, ...] away from labels [N].
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, Tensor<T>& x_adv) {
    const std::string who = "SubspaceDeepFool";
    detail::require_labels(x, labels, who);
    const std::int64_t classes = detail::num_classes(model, x, who);
    if (classes < 2) throw argument_error(who + ": the model has " + std::to_string(classes) + " class; need >= 2");
    detail::require_classes(labels, classes, who);
    if (x.shape().item_numel() != m_.rows())
      throw shape_error(who + ": items of " + std::to_string(x.shape().item_numel()) + " numbers for directions of " +
                        std::to_string(m_.rows()));
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

  // Per item of the last run: 1 where the prediction at x_adv differs from the label.
  std::span<const std::uint8_t> fooled() const { return fooled_; }

 private:
  void attack_batch(Sequential<T>& model, TensorView<const T> x0, std::span<const int> y, TensorView<T> xa,
                    std::int64_t first) {
    const std::int64_t b = x0.size(0), d = m_.rows(), r = m_.cols();
    std::memcpy(xa.data(), x0.data(), std::size_t(b * d) * sizeof(T));
    c_total_.assign(std::size_t(b * r), 0.0);
    g_.resize(std::size_t(b * r));
    best_g_.resize(std::size_t(b * r));
    best_distance_.resize(std::size_t(b));
    active_.assign(std::size_t(b), 0);

    for (int it = 0;; ++it) {
      const TensorView<const T> logits = model.forward(TensorView<const T>(xa));
      const std::int64_t c = logits.size(1);
      bool any = false;
      for (std::int64_t k = 0; k < b; ++k) {
        const bool on_label = detail::argmax(logits.data() + k * c, c) == y[std::size_t(k)];
        fooled_[std::size_t(first + k)] = !on_label;
        active_[std::size_t(k)] = on_label && r > 0;
        any = any || active_[std::size_t(k)];
      }
      if (!any || it == options_.max_iter) break;

      std::fill(best_distance_.begin(), best_distance_.end(), std::numeric_limits<double>::infinity());
      grad_logits_.resize(logits.shape());
      for (int cand = 0; cand < int(c); ++cand) {
        // Margins l_k - l_y of every active item, whose gradients do not interact.
        margins_.assign(std::size_t(b), 0.0);
        grad_logits_.zero();
        for (std::int64_t k = 0; k < b; ++k) {
          const int yk = y[std::size_t(k)];
          if (!active_[std::size_t(k)] || cand == yk) continue;
          margins_[std::size_t(k)] = double(logits[k * c + cand]) - double(logits[k * c + yk]);
          grad_logits_[k * c + cand] = T(1);
          grad_logits_[k * c + yk] = T(-1);
        }
        const TensorView<const T> w = model.backward(grad_logits_.view(), InputGrad::compute, ParamGrads::skip);
        parallel_for(b, [&](std::int64_t k) {
          if (!active_[std::size_t(k)] || cand == y[std::size_t(k)]) return;
          double* g = g_.data() + k * r;
          const double gn = project(w.data() + k * d, g);
          if (!(gn > 0) || !std::isfinite(gn)) return;
          const double dist = std::abs(margins_[std::size_t(k)]) / gn;
          if (dist < best_distance_[std::size_t(k)]) {
            best_distance_[std::size_t(k)] = dist;
            std::copy_n(g, r, best_g_.data() + k * r);
          }
        });
      }
      parallel_for(b, [&](std::int64_t k) {
        if (active_[std::size_t(k)] && std::isfinite(best_distance_[std::size_t(k)]))
          step_item(x0.data() + k * d, best_g_.data() + k * r, c_total_.data() + k * r, xa.data() + k * d,
                    best_distance_[std::size_t(k)] + options_.min_step);
      });
    }
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
  Tensor<T> grad_logits_;
  std::vector<double> c_total_, g_, best_g_, best_distance_, margins_;
  std::vector<std::uint8_t> active_, fooled_;
};

}  // namespace farbound
