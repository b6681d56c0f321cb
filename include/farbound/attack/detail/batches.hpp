#pragma once
// What every attack and metric does around the model: check its arguments, find the number
// of classes, gather the items of one batch, and read predictions off the logits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/format_number.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound::detail {

// x must be a non-empty batch [N, ...] of non-empty items.
template <class T>
void require_batch(TensorView<const T> x, const std::string& who) {
  if (x.rank() < 2 || x.size(0) == 0 || x.shape().item_numel() == 0)
    throw shape_error(who + ": inputs must be a non-empty batch [N, ...] with N >= 1, got " + x.shape().to_string());
}

// One label per item.
template <class T>
void require_labels(TensorView<const T> x, std::span<const int> labels, const std::string& who) {
  require_batch(x, who);
  if (std::int64_t(labels.size()) != x.size(0))
    throw shape_error(who + ": " + std::to_string(labels.size()) + " labels for inputs of shape " +
                      x.shape().to_string());
}

inline void require_batch_size(std::int64_t batch_size, const std::string& who) {
  if (batch_size < 1) throw argument_error(who + ": batch_size must be >= 1, got " + std::to_string(batch_size));
}

inline void require_epsilon(double eps, const std::string& who) {
  if (!(eps >= 0) || !std::isfinite(eps))
    throw argument_error(who + ": epsilon must be finite and >= 0, got " + format_number(eps));
}

// The model's number of classes for items shaped like x's: its output must be [N, C].
template <class T>
std::int64_t num_classes(const Sequential<T>& model, TensorView<const T> x, const std::string& who) {
  const Shape out = model.output_shape(x.shape().with_batch(1));
  if (out.rank() != 2 || out[1] < 1)
    throw shape_error(who + ": the model maps " + x.shape().with_batch(1).to_string() + " to " + out.to_string() +
                      ", not to logits [N, C]");
  return out[1];
}

// Every label must name a class: in [0, classes).
inline void require_classes(std::span<const int> labels, std::int64_t classes, const std::string& who) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      throw argument_error(who + ": label " + std::to_string(labels[i]) + " of item " + std::to_string(i) +
                           " outside [0, " + std::to_string(classes) + ")");
}

// out[b] = x[indices[b]] for every b; out is resized to [indices.size(), ...].
template <class T>
void gather_items(TensorView<const T> x, std::span<const std::int64_t> indices, Tensor<T>& out) {
  const std::int64_t item = x.shape().item_numel();
  out.resize(x.shape().with_batch(std::int64_t(indices.size())));
  parallel_for(std::int64_t(indices.size()), [&](std::int64_t b) {
    std::memcpy(out.data() + b * item, x.data() + indices[std::size_t(b)] * item, std::size_t(item) * sizeof(T));
  });
}

// The first index of the largest entry of a row (NaN never wins).
template <class T>
int argmax(const T* row, std::int64_t classes) {
  int best = 0;
  for (std::int64_t c = 1; c < classes; ++c)
    if (row[c] > row[best]) best = int(c);
  return best;
}

}  // namespace farbound::detail
