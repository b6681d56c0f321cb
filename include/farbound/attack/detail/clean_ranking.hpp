#pragma once
// What the targeted attacks (APGD-T, FAB-T) read off the clean points before they start:
// which items the model already misclassifies (those are not attacked) and, per item, the
// classes in decreasing order of their clean logits (the targets are the runners-up).
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "farbound/nn/batches.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound::detail {

// fooled[i] = 1 where the model's prediction for item i of x differs from labels[i]; with
// `ranking`, ranking[i * C + r] = the class of the (r + 1)-th largest logit of item i (the
// first of equals first). Returns C.
template <class T>
std::int64_t clean_ranking(Sequential<T>& model, TensorView<const T> x, std::span<const int> labels,
                           std::int64_t batch_size, std::vector<std::uint8_t>& fooled, std::vector<int>* ranking) {
  const std::int64_t n = x.size(0);
  fooled.assign(std::size_t(n), 0);
  std::int64_t c = 0;
  for_each_batch(n, batch_size, [&](std::int64_t first, std::int64_t count) {
    const TensorView<const T> logits = model.forward(x.slice(first, count));
    c = logits.size(1);
    if (ranking) ranking->resize(std::size_t(n * c));
    for (std::int64_t k = 0; k < count; ++k) {
      const T* z = logits.data() + k * c;
      const std::size_t i = std::size_t(first + k);
      fooled[i] = argmax(z, c) != labels[i];
      if (!ranking) continue;
      int* order = ranking->data() + i * std::size_t(c);
      for (int j = 0; j < int(c); ++j) order[j] = j;
      std::stable_sort(order, order + c, [&](int a, int b) { return z[a] > z[b]; });
    }
  });
  return c;
}

}  // namespace farbound::detail
