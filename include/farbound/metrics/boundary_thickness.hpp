#pragma once
// Boundary thickness (Yang et al., NeurIPS 2020; docs/boundary.md): how wide the band of
// uncertain predictions is between a point and an adversarial point of a chosen class.
//
// For an input x with class i (its label) and a target class j, x_r is the end point of a
// targeted L2 PGD towards j (minimising the cross-entropy of j) from x: `steps` steps of
// length step_size along -g / ||g||_2, each projected onto the L2 ball of radius eps around x
// and clipped to the bounds. With g_ij(z) = p_i(z) - p_j(z) (softmax probabilities),
//   thickness(x) = ||x_r - x||_2 * fraction of t in [0, 1] with alpha < g_ij(x + t (x_r - x)) < beta,
// the fraction measured on `samples` evenly spaced t (t_k = k / (samples - 1), both ends
// included). The paper's defaults: alpha 0, beta 0.75, 128 samples, eps 1.0, 20 steps of 0.2
// in the units of normalised inputs; a model whose first layer divides by a standard deviation
// sigma sees a distance r in pixel units as r / sigma, so in pixel units eps = sigma and
// step_size = 0.2 sigma (metrics take the pixel units the model is fed).
//
// Target: the class of the largest logit other than i at x (the paper draws a random other
// class; the runner-up is deterministic and is the pair whose boundary lies nearest).
// On an affine two-class model the PGD walks straight along the weight difference, and the
// thickness is the length of the part of that segment where the logit margin lies between
// 2 atanh(alpha) and 2 atanh(beta) (tests/metrics/boundary_geometry.cpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of boundary_thickness; the defaults are the paper's (in normalised-input units).
struct BoundaryThicknessOptions {
  // Lower end of the band: a point counts where alpha < p_i - p_j (the paper's 0).
  double alpha = 0;
  // Upper end of the band: a point counts where p_i - p_j < beta (the paper's 0.75).
  double beta = 0.75;
  // Radius of the L2 ball around x that the PGD stays in, input units (see above for the conversion).
  double eps = 1.0;
  // Length of one PGD step, L2, input units (see above for the conversion).
  double step_size = 0.2;
  // PGD steps towards the target class (the paper's 20).
  int steps = 20;
  // Evenly spaced samples along the segment x -> x_r, both ends included (the paper's 128).
  int samples = 128;
  // Input bounds every PGD iterate is clipped to.
  Bounds bounds{};
  // Inputs per forward/backward pass.
  std::int64_t batch_size = 128;
};

// Result of boundary_thickness: per point, the thickness and the target class j.
struct BoundaryThickness {
  std::vector<double> thickness;  // per point
  std::vector<int> target;        // per point: the class j
};

namespace detail {

// Softmax of one row of logits into p.
template <class T>
void softmax_row(const T* z, std::int64_t c, double* p) {
  const double m = double(*std::max_element(z, z + c));
  double sum = 0;
  for (std::int64_t q = 0; q < c; ++q) sum += p[q] = std::exp(double(z[q]) - m);
  for (std::int64_t q = 0; q < c; ++q) p[q] /= sum;
}

}  // namespace detail

template <class T>
BoundaryThickness boundary_thickness(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x,
                                     std::span<const int> labels, BoundaryThicknessOptions o = {}) {
  const std::string who = "boundary_thickness";
  detail::require_labels(x, labels, who);
  detail::require_batch_size(o.batch_size, who);
  o.bounds.validate(who.c_str());
  if (!(o.alpha < o.beta) || !(o.alpha >= -1) || !(o.beta <= 1))
    throw argument_error(who + ": need -1 <= alpha < beta <= 1, got " + detail::format_number(o.alpha) + ", " +
                         detail::format_number(o.beta));
  if (!(o.eps > 0) || !std::isfinite(o.eps) || !(o.step_size > 0) || !std::isfinite(o.step_size) || o.steps < 1 ||
      o.samples < 2)
    throw argument_error(who + ": eps and step_size must be positive and finite, steps >= 1, samples >= 2");
  const std::int64_t n = x.size(0), d = x.shape().item_numel();
  const std::int64_t c = detail::num_classes(model, x, who);
  if (c < 2) throw argument_error(who + ": the model needs at least 2 classes");
  detail::require_classes(labels, c, who);

  BoundaryThickness out{std::vector<double>(std::size_t(n)), std::vector<int>(std::size_t(n))};
  const EvalMode<T> eval(model);
  Tensor<T> xr, probe, grad;
  std::vector<double> p(static_cast<std::size_t>(c));
  detail::for_each_batch(n, o.batch_size, [&](std::int64_t first, std::int64_t b) {
    const T* x0 = x.data() + first * d;
    xr.resize(x.shape().with_batch(b));
    std::copy(x0, x0 + b * d, xr.data());
    {
      const TensorView<const T> z = model.forward(xr.view());
      for (std::int64_t k = 0; k < b; ++k)
        out.target[std::size_t(first + k)] = detail::strongest_other_class(z.data() + k * c, c, labels[std::size_t(first + k)]);
    }
    // Targeted PGD: d CE(z, j) / dz = softmax(z) - e_j.
    for (int s = 0; s < o.steps; ++s) {
      const TensorView<const T> z = model.forward(xr.view());
      grad.resize(z.shape());
      for (std::int64_t k = 0; k < b; ++k) {
        detail::softmax_row(z.data() + k * c, c, p.data());
        for (std::int64_t q = 0; q < c; ++q) grad[k * c + q] = T(p[std::size_t(q)]);
        grad[k * c + out.target[std::size_t(first + k)]] -= T(1);
      }
      const TensorView<const T> g = model.backward(grad.view(), InputGrad::compute, ParamGrads::skip);
      parallel_for(b, [&](std::int64_t k) {
        T* xk = xr.data() + k * d;
        const T* gk = g.data() + k * d;
        const T* ok = x0 + k * d;
        const double gn = detail::norm_of(gk, d, Norm::l2);
        if (gn > 0)
          for (std::int64_t j = 0; j < d; ++j) xk[j] -= T(o.step_size / gn) * gk[j];
        const double r = detail::distance(xk, ok, d, Norm::l2);
        const T shrink = T(r > o.eps ? o.eps / r : 1.0);
        for (std::int64_t j = 0; j < d; ++j)
          xk[j] = std::clamp(ok[j] + shrink * (xk[j] - ok[j]), T(o.bounds.lower), T(o.bounds.upper));
      });
    }
    // The segment x -> x_r at `samples` points, all items of the batch in one pass each.
    std::vector<std::int64_t> inside(std::size_t(b), 0);
    probe.resize(x.shape().with_batch(b));
    for (int k = 0; k < o.samples; ++k) {
      const T t = T(double(k) / (o.samples - 1));
      parallel_for(b, [&](std::int64_t m) {
        const T* a = x0 + m * d;
        const T* e = xr.data() + m * d;
        T* q = probe.data() + m * d;
        for (std::int64_t j = 0; j < d; ++j) q[j] = a[j] + t * (e[j] - a[j]);
      });
      const TensorView<const T> z = model.forward(probe.view());
      for (std::int64_t m = 0; m < b; ++m) {
        detail::softmax_row(z.data() + m * c, c, p.data());
        const double gap = p[std::size_t(labels[std::size_t(first + m)])] - p[std::size_t(out.target[std::size_t(first + m)])];
        inside[std::size_t(m)] += o.alpha < gap && gap < o.beta;
      }
    }
    for (std::int64_t m = 0; m < b; ++m)
      out.thickness[std::size_t(first + m)] = detail::distance(xr.data() + m * d, x0 + m * d, d, Norm::l2) *
                                              double(inside[std::size_t(m)]) / o.samples;
  });
  return out;
}

}  // namespace farbound
