#pragma once
// Predictions, clean accuracy, and the points that every compared model gets right.
//
// The model runs in eval mode (the caller's mode is restored afterwards) over batches of
// batch_size items; the prediction is the first index of the largest logit.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// out[i] = the model's class for item i of x [N, ...]; out must hold N entries.
template <class T>
void predict(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x, std::span<int> out,
             std::int64_t batch_size = 256) {
  detail::require_batch(x, "predict");
  detail::require_batch_size(batch_size, "predict");
  if (std::int64_t(out.size()) != x.size(0))
    throw shape_error("predict: room for " + std::to_string(out.size()) + " predictions for inputs of shape " +
                      x.shape().to_string());
  detail::num_classes(model, x, "predict");
  const EvalMode<T> eval(model);
  for (std::int64_t first = 0; first < x.size(0); first += batch_size) {
    const std::int64_t count = std::min(batch_size, x.size(0) - first);
    const TensorView<const T> logits = model.forward(x.slice(first, count));
    const std::int64_t c = logits.size(1);
    for (std::int64_t k = 0; k < count; ++k) out[std::size_t(first + k)] = detail::argmax(logits.data() + k * c, c);
  }
}

// The predicted class (argmax of the logits) of every item of x, batch_size items at a time.
template <class T>
std::vector<int> predict(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x,
                         std::int64_t batch_size = 256) {
  detail::require_batch(x, "predict");
  std::vector<int> out(std::size_t(x.size(0)));
  predict(model, x, std::span<int>(out), batch_size);
  return out;
}

// Fraction of predictions equal to their labels.
inline double accuracy(std::span<const int> predictions, std::span<const int> labels) {
  if (predictions.size() != labels.size())
    throw shape_error("accuracy: " + std::to_string(predictions.size()) + " predictions for " +
                      std::to_string(labels.size()) + " labels");
  if (labels.empty()) throw shape_error("accuracy: no labels");
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i];
  return double(correct) / double(labels.size());
}

// Clean accuracy of the model on x [N, ...] with labels [N].
template <class T>
double accuracy(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x, std::span<const int> labels,
                std::int64_t batch_size = 256) {
  detail::require_labels(x, labels, "accuracy");
  return accuracy(predict(model, x, batch_size), labels);
}

// The indices, in increasing order, of the items that every model classifies correctly:
// the points the paper attacks, so that every model is compared on the same ones.
template <class T>
std::vector<std::int64_t> commonly_correct(std::span<Sequential<T>* const> models,
                                           TensorView<const std::type_identity_t<T>> x, std::span<const int> labels,
                                           std::int64_t batch_size = 256) {
  detail::require_labels(x, labels, "commonly_correct");
  if (models.empty()) throw argument_error("commonly_correct: no models");
  std::vector<std::uint8_t> all_correct(labels.size(), 1);
  std::vector<int> predictions(labels.size());
  for (Sequential<T>* model : models) {
    if (model == nullptr) throw argument_error("commonly_correct: null model");
    predict(*model, x, std::span<int>(predictions), batch_size);
    for (std::size_t i = 0; i < labels.size(); ++i) all_correct[i] &= predictions[i] == labels[i];
  }
  std::vector<std::int64_t> indices;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (all_correct[i]) indices.push_back(std::int64_t(i));
  return indices;
}

}  // namespace farbound
