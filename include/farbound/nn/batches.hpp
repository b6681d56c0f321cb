#pragma once
// What every attack and metric does around the model: check its arguments, find the number
// of classes, cut the data into batches, gather the items of one batch, and read predictions
// off the logits.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>

#include "farbound/nn/eval_mode.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/core/format_number.hpp"
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

// eps must be finite, >= 0 and, with the step step_factor * eps, a number of the model's
// type T (1e39 is beyond float: it would become inf inside the attack and give numbers that
// mean nothing). T defaults to float, the strictest type an attack runs in.
template <class T = float>
void require_epsilon(double eps, const std::string& who, double step_factor = 1) {
  const double largest = double(std::numeric_limits<T>::max()) / std::max(1.0, step_factor);
  if (!(eps >= 0) || !(eps <= largest))
    throw argument_error(who + ": epsilon must be finite, >= 0 and at most " + format_number(largest) + ", got " +
                         format_number(eps));
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

// What an attack's run() checks of its arguments before it touches the model's mode: one
// label per item of x [N, ...], a model of at least min_classes classes, every label one of
// them, and an x_adv that is not x's storage (x_adv is written while x is still read).
template <class T>
void require_attack_arguments(const Sequential<T>& model, TensorView<const T> x, std::span<const int> labels,
                                      const Tensor<T>& x_adv, std::int64_t min_classes, const std::string& who) {
  require_labels(x, labels, who);
  const std::int64_t classes = num_classes(model, x, who);
  if (classes < min_classes)
    throw argument_error(who + ": the model has " + std::to_string(classes) + (classes == 1 ? " class" : " classes") +
                         "; need >= " + std::to_string(min_classes));
  require_classes(labels, classes, who);
  if (x_adv.data() != nullptr && x_adv.data() == x.data())
    throw argument_error(who + ": x_adv must not share storage with the inputs");
}

// x's items must hold the `numel` numbers that `what` is made for.
template <class T>
void require_item_numel(TensorView<const T> x, std::int64_t numel, const std::string& what, const std::string& who) {
  if (x.shape().item_numel() != numel)
    throw shape_error(who + ": items of " + std::to_string(x.shape().item_numel()) + " numbers for " + what + " of " +
                      std::to_string(numel));
}

// f(first, count) for the consecutive batches [first, first + count) of at most batch_size
// of n items.
template <class F>
void for_each_batch(std::int64_t n, std::int64_t batch_size, F&& f) {
  for (std::int64_t first = 0; first < n; first += batch_size) f(first, std::min(n - first, batch_size));
}

// With the model in eval mode and x_adv shaped like x: f(x0, y, xa, first) for those batches
// of x [N, ...], with the batch's items, their labels, the rows of x_adv that they own, and
// the index of the first one.
template <class T, class F>
void attack_in_batches(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels, Tensor<T>& x_adv,
                       std::int64_t batch_size, F&& f) {
  const EvalMode<T> eval(model);
  x_adv.resize(x.shape());
  for_each_batch(x.size(0), batch_size, [&](std::int64_t first, std::int64_t count) {
    f(x.slice(first, count), labels.subspan(std::size_t(first), std::size_t(count)), x_adv.slice(first, count), first);
  });
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

// The class other than `label` of the largest entry of a row, the first of equals (a margin's
// strongest rival; the row has >= 2 entries).
template <class T>
int strongest_other_class(const T* row, std::int64_t classes, int label) {
  int other = label == 0 ? 1 : 0;
  for (std::int64_t c = 0; c < classes; ++c)
    if (c != label && row[c] > row[other]) other = int(c);
  return other;
}

}  // namespace farbound::detail
