#pragma once
// The Carlini-Wagner L2 attack (Carlini & Wagner 2017), untargeted, batched, with Foolbox's
// conventions (inputs inside Bounds, the labels given, the model in eval mode): a stronger
// minimal-norm attack than DeepFool, at the price of many more passes.
//
// A change of variables keeps every iterate inside the bounds without clipping:
//   x(w) = lower + (tanh(w) + 1) / 2 * (upper - lower),   w0 = atanh of x0's position (x0 = x(w0))
// and Adam minimises, over delta = w - w0, for each item with its own constant c:
//   ||x(w) - x0||_2^2 + c * max(z_y - max_{k != y} z_k + confidence, 0)
// where z are the logits at x(w). The gradient of the second term is c (e_y - e_k*) through
// the model (k* the largest other logit) while the margin is positive, 0 after; both terms'
// gradients are taken through dx/dw = (1 - tanh(w)^2) / 2 * (upper - lower).
// An outer binary search adapts c per item: after a search step that found an adversarial
// point, c is bisected downwards (a smaller c finds closer points), otherwise it is bisected
// upwards, or multiplied by 10 while no adversarial point has been found. Each item keeps
// the closest adversarial point seen at any step; items never fooled are returned unchanged.
// Defaults are Foolbox's except steps (1000 instead of 10000) and an early stop: a search
// step ends once the batch's total loss has not fallen below 0.9999 of its value
// steps / 10 steps earlier.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of CarliniWagnerL2: binary-search steps over c, Adam steps and rate, confidence, bounds.
struct CarliniWagnerOptions {
  // Binary-search steps over the constant c.
  int binary_search_steps = 9;
  int steps = 1000;        // Adam steps per binary-search step
  double stepsize = 0.01;  // Adam's learning rate, in w units
  double confidence = 0;   // required margin of the wrong class over the label
  // The first c tried.
  double initial_const = 1e-3;
  // Stop a binary-search step early when its loss stops falling (checked every tenth of the steps).
  bool abort_early = true;
  // The box the inputs and results stay in.
  Bounds bounds{};
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// Carlini and Wagner's L2 attack (2017): the smallest L2 change that flips the prediction, by optimisation.
template <class T>
class CarliniWagnerL2 {
 public:
  // A Carlini-Wagner L2 attack with `options`; argument_error for impossible settings.
  explicit CarliniWagnerL2(CarliniWagnerOptions options = {}) : options_(options) {
    const std::string who = name();
    if (options_.binary_search_steps < 1)
      throw argument_error(who + ": binary_search_steps must be >= 1, got " +
                           std::to_string(options_.binary_search_steps));
    if (options_.steps < 1) throw argument_error(who + ": steps must be >= 1, got " + std::to_string(options_.steps));
    auto require_positive = [&](double v, const char* what) {
      if (!(v > 0) || !std::isfinite(v))
        throw argument_error(who + ": " + what + " must be positive and finite, got " + detail::format_number(v));
    };
    require_positive(options_.stepsize, "stepsize");
    require_positive(options_.initial_const, "initial_const");
    if (!(options_.confidence >= 0) || !std::isfinite(options_.confidence))
      throw argument_error(who + ": confidence must be finite and >= 0, got " +
                           detail::format_number(options_.confidence));
    options_.bounds.validate(who.c_str());
    detail::require_batch_size(options_.batch_size, who);
  }

  // The settings it runs with.
  const CarliniWagnerOptions& options() const { return options_; }
  // Its name in reports.
  std::string name() const { return "CarliniWagnerL2"; }

  // x_adv = the closest adversarial point found for every item of x [N, ...] with labels [N]
  // (the item itself where none was found).
  void run(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, Tensor<T>& x_adv) {
    const std::string who = name();
    detail::require_attack_arguments(model, x, labels, x_adv, 2, who);
    options_.bounds.require_inside(x, who.c_str());

    fooled_.assign(std::size_t(x.size(0)), 0);
    distances_.assign(std::size_t(x.size(0)), std::numeric_limits<double>::infinity());
    detail::attack_in_batches(model, x, labels, x_adv, options_.batch_size,
                              [&](auto... batch) { attack_batch(model, batch...); });
  }

  // Per item of the last run: 1 where an adversarial point was found.
  std::span<const std::uint8_t> fooled() const { return fooled_; }
  // Per item of the last run: ||x_adv - x||_2, +inf where none was found.
  std::span<const double> distances() const { return distances_; }

 private:
  void attack_batch(Sequential<T>& model, TensorView<const T> x0, std::span<const int> y, TensorView<T> best,
                    std::int64_t first) {
    const std::int64_t b = x0.size(0), d = x0.shape().item_numel();
    // best starts as the items themselves: what is returned where no adversarial point is found.
    std::memcpy(best.data(), x0.data(), std::size_t(x0.numel()) * sizeof(T));
    const double lo = options_.bounds.lower, range = options_.bounds.upper - options_.bounds.lower;
    // w0 = atanh(2 (x0 - lower) / range - 1), pulled in by 1 - 1e-6 so that the bounds map
    // to finite w (Carlini & Wagner's and Foolbox's choice).
    w0_.resize(x0.shape());
    for (std::int64_t i = 0; i < b * d; ++i)
      w0_[i] = T(std::atanh((2 * (double(x0[i]) - lo) / range - 1) * (1 - 1e-6)));
    delta_.resize(x0.shape());
    m_.resize(x0.shape());
    v_.resize(x0.shape());
    xa_.resize(x0.shape());
    c_.assign(std::size_t(b), options_.initial_const);
    c_lower_.assign(std::size_t(b), 0.0);
    c_upper_.assign(std::size_t(b), std::numeric_limits<double>::infinity());
    found_now_.resize(std::size_t(b));
    loss_.resize(std::size_t(b));

    for (int search = 0; search < options_.binary_search_steps; ++search) {
      delta_.zero();
      m_.zero();
      v_.zero();
      std::fill(found_now_.begin(), found_now_.end(), 0);
      double previous = std::numeric_limits<double>::infinity();
      for (int step = 1; step <= options_.steps; ++step) {
        parallel_for(
            b * d, [&](std::int64_t i) { xa_[i] = to_input(double(w0_[i]) + double(delta_[i])); }, 4096);
        const TensorView<const T> logits = model.forward(xa_.view());
        const std::int64_t c = logits.size(1);
        grad_logits_.resize(logits.shape());
        grad_logits_.zero();
        for (std::int64_t k = 0; k < b; ++k) {
          const T* z = logits.data() + k * c;
          const int yk = y[std::size_t(k)];
          const int other = detail::strongest_other_class(z, c, yk);
          const double margin = double(z[yk]) - double(z[other]) + options_.confidence;
          const double dist2 = squared_distance(xa_.data() + k * d, x0.data() + k * d, d);
          loss_[std::size_t(k)] = dist2 + c_[std::size_t(k)] * std::max(margin, 0.0);
          if (margin > 0) {
            grad_logits_[k * c + yk] = T(c_[std::size_t(k)]);
            grad_logits_[k * c + other] = T(-c_[std::size_t(k)]);
          } else if (dist2 < distances_[std::size_t(first + k)] * distances_[std::size_t(first + k)]) {
            // Adversarial with the required confidence and the closest so far.
            distances_[std::size_t(first + k)] = std::sqrt(dist2);
            fooled_[std::size_t(first + k)] = 1;
            std::memcpy(best.data() + k * d, xa_.data() + k * d, std::size_t(d) * sizeof(T));
          }
          if (margin <= 0) found_now_[std::size_t(k)] = 1;
        }
        const TensorView<const T> g = model.backward(grad_logits_.view(), InputGrad::compute, ParamGrads::skip);
        adam_step(x0, g, step);

        if (options_.abort_early && step % std::max(1, options_.steps / 10) == 0) {
          double total = 0;
          for (double l : loss_) total += l;
          if (!(total < 0.9999 * previous)) break;
          previous = total;
        }
      }
      for (std::int64_t k = 0; k < b; ++k) {
        auto& c = c_[std::size_t(k)];
        if (found_now_[std::size_t(k)]) {
          c_upper_[std::size_t(k)] = std::min(c_upper_[std::size_t(k)], c);
          c = (c_lower_[std::size_t(k)] + c_upper_[std::size_t(k)]) / 2;
        } else {
          c_lower_[std::size_t(k)] = std::max(c_lower_[std::size_t(k)], c);
          c = std::isinf(c_upper_[std::size_t(k)]) ? c * 10 : (c_lower_[std::size_t(k)] + c_upper_[std::size_t(k)]) / 2;
        }
      }
    }
  }

  // Adam (beta1 0.9, beta2 0.999, eps 1e-8) on delta with the gradient of
  // ||x(w) - x0||^2 + c * margin term, through dx/dw.
  void adam_step(TensorView<const T> x0, TensorView<const T> g_model, int step) {
    const double lr = options_.stepsize, range = options_.bounds.upper - options_.bounds.lower;
    const double bias1 = 1 - std::pow(0.9, step), bias2 = 1 - std::pow(0.999, step);
    parallel_for(
        delta_.numel(),
        [&](std::int64_t i) {
          const double t = std::tanh(double(w0_[i]) + double(delta_[i]));
          const double dx_dw = (1 - t * t) / 2 * range;
          const double g = (2 * (double(xa_[i]) - double(x0[i])) + double(g_model[i])) * dx_dw;
          const double m = 0.9 * double(m_[i]) + 0.1 * g, v = 0.999 * double(v_[i]) + 0.001 * g * g;
          m_[i] = T(m);
          v_[i] = T(v);
          delta_[i] = T(double(delta_[i]) - lr * (m / bias1) / (std::sqrt(v / bias2) + 1e-8));
        },
        4096);
  }

  T to_input(double w) const {
    return T(options_.bounds.lower + (std::tanh(w) + 1) / 2 * (options_.bounds.upper - options_.bounds.lower));
  }

  static double squared_distance(const T* a, const T* b, std::int64_t d) {
    double s = 0;
    for (std::int64_t j = 0; j < d; ++j) s += (double(a[j]) - double(b[j])) * (double(a[j]) - double(b[j]));
    return s;
  }

  CarliniWagnerOptions options_;
  Tensor<T> w0_, delta_, m_, v_, xa_, grad_logits_;
  std::vector<double> c_, c_lower_, c_upper_, loss_;
  std::vector<std::uint8_t> found_now_, fooled_;
  std::vector<double> distances_;
};

}  // namespace farbound
