#pragma once
// A classification problem whose robust accuracy is known exactly: an affine classifier
// z = W x + b on 1x4x5 images (so image attacks such as Square apply), with the labels it
// predicts. For the pair (y, k) the margin m_k(x) = z_y - z_k is affine with gradient
// u = w_y - w_k, so its smallest value over a convex set is a linear program:
//   L-inf ball within the bounds [0, 1]:  m_k(x) + sum_j min(u_j lo_j, u_j hi_j),
//     lo_j = max(-eps, -x_j), hi_j = min(eps, 1 - x_j) (coordinate by coordinate);
//   L2 ball:  m_k(x) - eps ||u||_2, exact here because the L2 points lie in [0.3, 0.7]^D and
//     the L2 radius stays below 0.3, so the ball never reaches the bounds.
// A point is robust iff every margin stays positive. The minimal perturbation towards k
// ignoring bounds is m_k / ||u||_1 (L-inf) and m_k / ||u||_2 (L2).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "farbound/attack/norm.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/flatten.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound::testing {

struct AffineProblem {
  static constexpr std::int64_t d = 20, classes = 5;
  std::vector<double> w, b;  // W [classes, d] row-major, b [classes]
  Tensor<float> x;           // [N, 1, 4, 5]; the first half for L-inf in [0, 1], the rest in [0.3, 0.7]
  std::vector<int> y;        // the predicted classes
  double linf_eps = 0, l2_eps = 0;

  // The items meant for `norm`, and their labels.
  TensorView<const float> points(Norm norm) const { return x.slice(first(norm), x.size(0) / 2); }
  std::span<const int> labels(Norm norm) const {
    return std::span<const int>(y).subspan(std::size_t(first(norm)), std::size_t(x.size(0) / 2));
  }
  std::int64_t first(Norm norm) const { return norm == Norm::linf ? 0 : x.size(0) / 2; }

  Sequential<float> model() const {
    Sequential<float> m;
    m.add<Flatten<float>>();
    auto& dense = m.add<Dense<float>>(d, classes);
    for (std::size_t i = 0; i < w.size(); ++i) dense.weight.value[std::int64_t(i)] = float(w[i]);
    for (std::size_t i = 0; i < b.size(); ++i) dense.bias.value[std::int64_t(i)] = float(b[i]);
    return m;
  }
  double margin(std::int64_t i, int k) const {
    const int yi = y[std::size_t(i)];
    double m = b[std::size_t(yi)] - b[std::size_t(k)];
    for (std::int64_t j = 0; j < d; ++j) m += (w[std::size_t(yi * d + j)] - w[std::size_t(k * d + j)]) * x[i * d + j];
    return m;
  }
  // The distance, without bounds, from item i to the nearest boundary in `norm`.
  double boundary_distance(std::int64_t i, Norm norm) const {
    double best = INFINITY;
    const int yi = y[std::size_t(i)];
    for (int k = 0; k < classes; ++k) {
      if (k == yi) continue;
      double dual = 0;
      for (std::int64_t j = 0; j < d; ++j) {
        const double u = w[std::size_t(yi * d + j)] - w[std::size_t(k * d + j)];
        dual = norm == Norm::linf ? dual + std::abs(u) : dual + u * u;
      }
      best = std::min(best, margin(i, k) / (norm == Norm::linf ? dual : std::sqrt(dual)));
    }
    return best;
  }
};

// n points (n divisible by 4): half for each norm. The radii put about half of them within reach.
inline AffineProblem affine_problem(std::int64_t n) {
  AffineProblem p;
  const std::int64_t d = AffineProblem::d;
  p.w.resize(std::size_t(AffineProblem::classes * d));
  p.b.assign(std::size_t(AffineProblem::classes), 0.0);
  RandomStream(77, Purpose::user, 1).normal(std::span<double>(p.w));
  p.x.resize(Shape{n, 1, 4, 5});
  RandomStream(77, Purpose::user, 2).uniform(p.x.span());
  for (std::int64_t i = n / 2 * d; i < n * d; ++i) p.x[i] = 0.3f + 0.4f * p.x[i];
  p.y.resize(std::size_t(n));
  std::vector<double> linf, l2;
  for (std::int64_t i = 0; i < n; ++i) {
    double best = -INFINITY;
    for (int k = 0; k < AffineProblem::classes; ++k) {
      double z = p.b[std::size_t(k)];
      for (std::int64_t j = 0; j < d; ++j) z += p.w[std::size_t(k * d + j)] * p.x[i * d + j];
      if (z > best) best = z, p.y[std::size_t(i)] = k;
    }
    (i < n / 2 ? linf : l2).push_back(p.boundary_distance(i, i < n / 2 ? Norm::linf : Norm::l2));
  }
  // Halfway between two neighbouring distances: no point sits on the radius.
  const auto middle = [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    return 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  p.linf_eps = middle(linf);
  p.l2_eps = std::min(middle(l2), 0.29);
  return p;
}

// Whether item i keeps its label over the whole ball of radius eps (see the top of the file).
inline bool exactly_robust(const AffineProblem& p, std::int64_t i, Norm norm, double eps) {
  const std::int64_t d = AffineProblem::d;
  const int yi = p.y[std::size_t(i)];
  for (int k = 0; k < AffineProblem::classes; ++k) {
    if (k == yi) continue;
    double worst = p.margin(i, k), l2 = 0;
    for (std::int64_t j = 0; j < d; ++j) {
      const double u = p.w[std::size_t(yi * d + j)] - p.w[std::size_t(k * d + j)];
      const double lo = std::max(-eps, -double(p.x[i * d + j])), hi = std::min(eps, 1 - double(p.x[i * d + j]));
      worst += std::min(u * lo, u * hi);
      l2 += u * u;
    }
    if (norm == Norm::l2) worst = p.margin(i, k) - eps * std::sqrt(l2);
    if (!(worst > 0)) return false;
  }
  return true;
}

// The exact robust accuracy over the items meant for `norm`.
inline double exact_robust_accuracy(const AffineProblem& p, Norm norm, double eps) {
  const std::int64_t first = p.first(norm), last = first + p.x.size(0) / 2;
  std::int64_t robust = 0;
  for (std::int64_t i = first; i < last; ++i) robust += exactly_robust(p, i, norm, eps);
  return double(robust) / double(last - first);
}

}  // namespace farbound::testing
