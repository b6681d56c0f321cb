#pragma once
// Distance to the decision boundary along given directions: for an input x and a direction
// d (any length; the unit vector d / ||d||_2 is used), the smallest t in [0, max_distance]
// at which the predicted class at x + t d / ||d|| differs from the class at x, or +infinity
// when the whole ray up to max_distance keeps the class. The data-sparsity hypothesis
// predicts a boundary far away along random directions and near along a few adversarial
// ones (docs/boundary.md); this measures both along the same rays for any model.
//
// Method, the 1-D counterpart of metrics/planar_boundary.hpp: the ray is scanned at
// t_k = k max_distance / scan_steps, k = 1..scan_steps, until the class changes; then
// bisection on [t_{k-1}, t_k] halves the interval bisection_steps times, keeping the end of
// the original class below. The distance is the upper end: a point known to have another
// class, at most max_distance / scan_steps / 2^bisection_steps beyond the crossing. A
// boundary crossed and re-crossed between two scan points (a sliver thinner than the scan
// step) is missed. Rays are not clipped to the input bounds (the model is a function on
// all of R^D); callers who want only valid images choose max_distance accordingly.
// All rays run through the model together, in batches of batch_size points per pass.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/format_number.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of ray_boundary_distance.
struct RayDistanceOptions {
  double max_distance = 10;  // L2, input units
  // Evenly spaced points the ray is scanned at, up to max_distance (>= 1).
  int scan_steps = 32;
  // Halvings of the scan interval that holds the crossing (0 to 60).
  int bisection_steps = 16;
  // Points per forward pass.
  std::int64_t batch_size = 256;
};

// x [N, ...] and directions [N, ...]: ray i starts at item i of x along direction i.
// Returns one distance per ray (+infinity: no other class within max_distance).
template <class T>
std::vector<double> ray_boundary_distance(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x,
                                          TensorView<const std::type_identity_t<T>> directions,
                                          RayDistanceOptions options = {}) {
  const std::string who = "ray_boundary_distance";
  detail::require_batch(x, who);
  if (directions.shape() != x.shape())
    throw shape_error(who + ": directions " + directions.shape().to_string() + " do not match inputs " +
                      x.shape().to_string());
  if (!(options.max_distance > 0) || !std::isfinite(options.max_distance))
    throw argument_error(who + ": max_distance must be positive and finite, got " +
                         detail::format_number(options.max_distance));
  if (options.scan_steps < 1 || options.bisection_steps < 0 || options.bisection_steps > 60)
    throw argument_error(who + ": scan_steps must be >= 1 and bisection_steps in [0, 60]");
  detail::require_batch_size(options.batch_size, who);
  const std::int64_t n = x.size(0), d = x.shape().item_numel();
  std::vector<double> unit(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    unit[std::size_t(i)] = detail::norm_of(directions.data() + i * d, d, Norm::l2);
    if (!(unit[std::size_t(i)] > 0) || !std::isfinite(unit[std::size_t(i)]))
      throw argument_error(who + ": direction " + std::to_string(i) + " is zero or not finite");
  }

  const EvalMode<T> eval(model);
  Tensor<T> probe;
  // Predicted classes at x + t_i d_i / ||d_i|| for the rays in `rays`, at their own t.
  std::vector<int> cls(static_cast<std::size_t>(n));
  const auto classify = [&](const std::vector<std::int64_t>& rays, const std::vector<double>& t) {
    for (std::size_t first = 0; first < rays.size(); first += std::size_t(options.batch_size)) {
      const auto b = std::int64_t(std::min(rays.size() - first, std::size_t(options.batch_size)));
      probe.resize(x.shape().with_batch(b));
      parallel_for(b, [&](std::int64_t k) {
        const std::int64_t i = rays[first + std::size_t(k)];
        const T step = T(t[std::size_t(i)] / unit[std::size_t(i)]);
        const T* x0 = x.data() + i * d;
        const T* dir = directions.data() + i * d;
        T* p = probe.data() + k * d;
        for (std::int64_t j = 0; j < d; ++j) p[j] = x0[j] + step * dir[j];
      });
      const TensorView<const T> logits = model.forward(probe.view());
      const std::int64_t c = logits.size(1);
      for (std::int64_t k = 0; k < b; ++k) cls[std::size_t(rays[first + std::size_t(k)])] = detail::argmax(logits.data() + k * c, c);
    }
  };

  std::vector<std::int64_t> active(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) active[std::size_t(i)] = i;
  std::vector<double> lo(std::size_t(n), 0.0), hi(std::size_t(n), std::numeric_limits<double>::infinity());
  classify(active, lo);
  const std::vector<int> start = cls;
  const double step = options.max_distance / options.scan_steps;
  std::vector<double> t(static_cast<std::size_t>(n));
  for (int k = 1; k <= options.scan_steps && !active.empty(); ++k) {
    for (std::int64_t i : active) t[std::size_t(i)] = k * step;
    classify(active, t);
    std::vector<std::int64_t> still;
    for (std::int64_t i : active)
      if (cls[std::size_t(i)] == start[std::size_t(i)]) {
        lo[std::size_t(i)] = t[std::size_t(i)];
        still.push_back(i);
      } else {
        hi[std::size_t(i)] = t[std::size_t(i)];
      }
    active.swap(still);
  }
  std::vector<std::int64_t> crossed;
  for (std::int64_t i = 0; i < n; ++i)
    if (std::isfinite(hi[std::size_t(i)])) crossed.push_back(i);
  for (int s = 0; s < options.bisection_steps && !crossed.empty(); ++s) {
    for (std::int64_t i : crossed) t[std::size_t(i)] = 0.5 * (lo[std::size_t(i)] + hi[std::size_t(i)]);
    classify(crossed, t);
    for (std::int64_t i : crossed) (cls[std::size_t(i)] == start[std::size_t(i)] ? lo : hi)[std::size_t(i)] = t[std::size_t(i)];
  }
  return hi;
}

}  // namespace farbound
