#pragma once
// The model's softmax on inputs it was not trained for: another data set's images, or noise.
// A model whose decision boundary stays away from the data (the paper's claim for its
// training) should be unsure there: a flat softmax, a low maximum.
//
// For the points x [N, ...] it reports
//   - the softmax vector sorted in decreasing order, averaged over the points, with the
//     standard deviation of each rank (population, numpy's np.std): [0.9, 0.05, ...] for a
//     confident model, [1/C, ..., 1/C] for a flat one;
//   - the same per class, unsorted (what the reference's getSoftmaxHistogram.py plots);
//   - a histogram of the largest softmax value over [0, 1], and its mean.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "farbound/attack/bounds.hpp"
#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/statistics.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// The softmax on a set of inputs: probabilities by rank and by class, and the largest one's histogram.
struct SoftmaxProfile {
  // Inputs fed.
  std::int64_t points = 0;
  std::vector<MeanStd> sorted;    // sorted[r]: the (r+1)-th largest probability
  std::vector<MeanStd> by_class;  // by_class[c]: the probability of class c
  MeanStd max;                    // of the largest probability
  Histogram max_histogram;        // of the largest probability, over [0, 1]
};

template <class T>
SoftmaxProfile softmax_profile(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x, int bins = 20,
                               std::int64_t batch_size = 256) {
  const char* who = "softmax_profile";
  detail::require_batch(x, who);
  detail::require_batch_size(batch_size, who);
  const std::int64_t n = x.size(0), c = detail::num_classes(model, x, who);
  // probs[i * c + r]: point i's probabilities, sorted decreasingly.
  std::vector<double> sorted(std::size_t(n * c)), by_class(std::size_t(n * c));
  {
    const EvalMode<T> eval(model);
    Tensor<T> probs;
    for (std::int64_t first = 0; first < n; first += batch_size) {
      const std::int64_t count = std::min(batch_size, n - first);
      softmax<T>(model.forward(x.slice(first, count)), probs);
      for (std::int64_t k = 0; k < count; ++k)
        for (std::int64_t j = 0; j < c; ++j) by_class[std::size_t((first + k) * c + j)] = double(probs[k * c + j]);
    }
  }
  sorted = by_class;
  for (std::int64_t i = 0; i < n; ++i)
    std::sort(sorted.begin() + i * c, sorted.begin() + (i + 1) * c, std::greater<double>());

  SoftmaxProfile p;
  p.points = n;
  std::vector<double> column(static_cast<std::size_t>(n));
  auto column_stats = [&](const std::vector<double>& table, std::int64_t j) {
    for (std::int64_t i = 0; i < n; ++i) column[std::size_t(i)] = table[std::size_t(i * c + j)];
    return mean_std(column);
  };
  for (std::int64_t j = 0; j < c; ++j) {
    p.sorted.push_back(column_stats(sorted, j));
    p.by_class.push_back(column_stats(by_class, j));
  }
  for (std::int64_t i = 0; i < n; ++i) column[std::size_t(i)] = sorted[std::size_t(i * c)];
  p.max = mean_std(column);
  p.max_histogram = histogram(column, bins, 0.0, 1.0);
  return p;
}

// Images of uniform noise in the bounds, shape [N, ...]; image i from
// RandomStream(seed, Purpose::data, i), so any image is the same whatever N.
template <class T>
Tensor<T> uniform_noise(Shape shape, std::uint64_t seed, Bounds bounds = {}) {
  bounds.validate("uniform_noise");
  if (shape.rank() < 2 || shape[0] < 1 || shape.item_numel() < 1)
    throw shape_error("uniform_noise: shape must be [N, ...] with N >= 1 and non-empty items, got " +
                      shape.to_string());
  Tensor<T> out(shape);
  const std::int64_t d = shape.item_numel();
  parallel_for(shape[0], [&](std::int64_t i) {
    const auto row = std::span<T>(out.data() + i * d, std::size_t(d));
    RandomStream(seed, Purpose::data, std::uint32_t(i)).uniform(row);
    for (T& v : row) v = T(bounds.lower + (bounds.upper - bounds.lower) * double(v));
  });
  return out;
}

}  // namespace farbound
