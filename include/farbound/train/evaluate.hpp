#pragma once
// Clean evaluation of a classifier over a BatchSource: mean cross-entropy and accuracy.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "farbound/nn/loss.hpp"
#include "farbound/nn/sequential.hpp"
#include "farbound/train/batch_source.hpp"

namespace farbound {

// Loss and accuracy of a model on a batch source.
struct Evaluation {
  double loss = 0;      // mean cross-entropy
  double accuracy = 0;  // fraction of items whose arg-max logit is the label
  // Items evaluated.
  std::int64_t count = 0;
};

// Index of the largest entry of each row of logits [N, C].
template <class T>
void argmax_rows(TensorView<const T> logits, std::vector<int>& out) {
  const std::int64_t n = logits.size(0), c = logits.size(1);
  out.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const T* row = logits.data() + i * c;
    out[static_cast<std::size_t>(i)] = int(std::max_element(row, row + c) - row);
  }
}

// Runs the model in evaluation mode over every item of `source` (batches of `batch`) and
// restores the model's previous mode.
template <class T>
Evaluation evaluate(Sequential<T>& model, const BatchSource<T>& source, std::int64_t batch = 500) {
  const bool was_training = model.training();
  model.set_training(false);
  Evaluation e;
  Tensor<T> x, grad;
  std::vector<int> y, predicted;
  std::vector<std::int64_t> idx;
  double loss_sum = 0;
  std::int64_t correct = 0;
  for (std::int64_t first = 0; first < source.size; first += batch) {
    const std::int64_t n = std::min(batch, source.size - first);
    idx.resize(static_cast<std::size_t>(n));
    std::iota(idx.begin(), idx.end(), first);
    source.load(idx, 0, x, y);
    const auto logits = model.forward(x.view());
    loss_sum += double(cross_entropy<T>(logits, y, grad)) * double(n);
    argmax_rows(logits, predicted);
    for (std::int64_t i = 0; i < n; ++i) correct += predicted[std::size_t(i)] == y[std::size_t(i)];
  }
  model.set_training(was_training);
  e.count = source.size;
  if (e.count > 0) {
    e.loss = loss_sum / double(e.count);
    e.accuracy = double(correct) / double(e.count);
  }
  return e;
}

}  // namespace farbound
