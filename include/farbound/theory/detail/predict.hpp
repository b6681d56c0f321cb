#pragma once
// The classifier's decisions f1(x): arg max of the logits, in evaluation mode, in batches.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "farbound/attack/detail/batches.hpp"
#include "farbound/attack/eval_mode.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound::detail {

// labels[i] = arg max_c f(x_i)_c for every item of x [N, ...], `batch` items per forward.
template <class T>
void predict_classes(Sequential<T>& model, TensorView<const T> x, std::int64_t batch, std::vector<int>& labels,
                     const std::string& who) {
  require_batch(x, who);
  require_batch_size(batch, who);
  num_classes(model, x, who);  // the model must output logits [N, C]
  const EvalMode<T> eval(model);
  const std::int64_t n = x.size(0);
  labels.resize(static_cast<std::size_t>(n));
  for (std::int64_t first = 0; first < n; first += batch) {
    const std::int64_t count = std::min(batch, n - first);
    const TensorView<const T> logits = model.forward(x.slice(first, count));
    const std::int64_t c = logits.size(1);
    for (std::int64_t i = 0; i < count; ++i)
      labels[std::size_t(first + i)] = argmax(logits.data() + i * c, c);
  }
}

}  // namespace farbound::detail
