#pragma once
// Distance from each point to the model's decision boundary: how far the input must move,
// in the attack's norm, before the model's prediction changes.
//
// A minimal-norm attack (DeepFool, away from the model's own prediction c at x) gives a point
// x_adv of another class and a direction delta = x_adv - x. DeepFool overshoots (and its
// linearisation may over- or undershoot), so the crossing is then located by bisection on
// the segment: with t_lo = 0 (class c) and t_hi = 1 (not c), each step predicts at
// x + t_mid delta, for all points of a batch at once, and keeps the half whose ends differ.
// The distance is t_hi ||delta|| after `bisection_steps` steps: the length of a perturbation
// that is known to change the prediction, at most 2^-steps ||delta|| beyond the crossing.
// On an affine classifier it is |w.x + b| / ||w||_* (the dual norm: ||w||_2 for L2).
// Points where the attack found no other class get +infinity and found = 0.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/deepfool.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/metrics/statistics.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// Settings of boundary_distance: bisection steps and batch size.
struct BoundaryDistanceOptions {
  // Bisection steps between the point and the attack's result.
  int bisection_steps = 20;
  // Items per forward pass.
  std::int64_t batch_size = 256;
};

// Per point: the distance to the decision boundary along DeepFool's direction, and whether one was found.
struct BoundaryDistances {
  // The norm the distances are measured in.
  Norm norm = Norm::l2;
  std::vector<double> distance;     // per point; +inf where found = 0
  std::vector<std::uint8_t> found;  // per point: the attack reached another class
};

// Summary of the finite distances.
struct DistanceSummary {
  // Points with a distance found.
  std::int64_t found = 0;
  // All points.
  std::int64_t points = 0;
  // Mean of the distances found.
  double mean = 0;
  // Their standard deviation.
  double std = 0;
  // Their smallest.
  double min = 0;
  // Their 10th percentile.
  double q10 = 0;
  // Their median.
  double median = 0;
  // Their 90th percentile.
  double q90 = 0;
  // Their largest.
  double max = 0;
};

// Summary statistics of the distances that were found.
inline DistanceSummary summarize(const BoundaryDistances& d) {
  std::vector<double> finite;
  for (std::size_t i = 0; i < d.distance.size(); ++i)
    if (d.found[i]) finite.push_back(d.distance[i]);
  DistanceSummary s;
  s.points = std::int64_t(d.distance.size());
  s.found = std::int64_t(finite.size());
  const MeanStd ms = mean_std(finite);
  s.mean = ms.mean;
  s.std = ms.std;
  s.min = quantile(finite, 0.0);
  s.q10 = quantile(finite, 0.1);
  s.median = quantile(finite, 0.5);
  s.q90 = quantile(finite, 0.9);
  s.max = quantile(finite, 1.0);
  return s;
}

// Distance of every point to the decision boundary: DeepFool's direction, then bisection along it.
template <class T>
BoundaryDistances boundary_distance(Sequential<T>& model, DeepFool<T>& attack,
                                    TensorView<const std::type_identity_t<T>> x, BoundaryDistanceOptions options = {}) {
  const std::string who = "boundary_distance";
  detail::require_batch(x, who);
  detail::require_batch_size(options.batch_size, who);
  if (options.bisection_steps < 0 || options.bisection_steps > 60)
    throw argument_error(who + ": bisection_steps must lie in [0, 60], got " + std::to_string(options.bisection_steps));
  const std::int64_t n = x.size(0), d = x.shape().item_numel();
  const std::vector<int> classes = predict(model, x, options.batch_size);
  Tensor<T> x_adv;
  attack.run(model, x, classes, x_adv);

  BoundaryDistances out{attack.options().norm, std::vector<double>(std::size_t(n)),
                        std::vector<std::uint8_t>(attack.fooled().begin(), attack.fooled().end())};
  std::vector<std::int64_t> items;
  for (std::int64_t i = 0; i < n; ++i)
    if (out.found[std::size_t(i)])
      items.push_back(i);
    else
      out.distance[std::size_t(i)] = std::numeric_limits<double>::infinity();

  const EvalMode<T> eval(model);
  Tensor<T> probe;
  std::vector<double> lo, hi;
  for (std::size_t first = 0; first < items.size(); first += std::size_t(options.batch_size)) {
    const auto batch = std::span<const std::int64_t>(items).subspan(
        first, std::min(items.size() - first, std::size_t(options.batch_size)));
    const auto b = std::int64_t(batch.size());
    lo.assign(batch.size(), 0.0);
    hi.assign(batch.size(), 1.0);
    probe.resize(x.shape().with_batch(b));
    for (int s = 0; s < options.bisection_steps; ++s) {
      parallel_for(b, [&](std::int64_t k) {
        const std::int64_t i = batch[std::size_t(k)];
        const T t = T(0.5 * (lo[std::size_t(k)] + hi[std::size_t(k)]));
        const T* x0 = x.data() + i * d;
        const T* xa = x_adv.data() + i * d;
        T* p = probe.data() + k * d;
        for (std::int64_t j = 0; j < d; ++j) p[j] = x0[j] + t * (xa[j] - x0[j]);
      });
      const TensorView<const T> logits = model.forward(probe.view());
      const std::int64_t c = logits.size(1);
      for (std::int64_t k = 0; k < b; ++k) {
        const double mid = 0.5 * (lo[std::size_t(k)] + hi[std::size_t(k)]);
        const bool same = detail::argmax(logits.data() + k * c, c) == classes[std::size_t(batch[std::size_t(k)])];
        (same ? lo : hi)[std::size_t(k)] = mid;
      }
    }
    for (std::int64_t k = 0; k < b; ++k) {
      const std::int64_t i = batch[std::size_t(k)];
      out.distance[std::size_t(i)] =
          hi[std::size_t(k)] * detail::distance(x_adv.data() + i * d, x.data() + i * d, d, out.norm);
    }
  }
  return out;
}

}  // namespace farbound
