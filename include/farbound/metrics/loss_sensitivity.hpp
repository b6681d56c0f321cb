#pragma once
// ART-compatible loss sensitivity (art.metrics.loss_sensitivity; Arpit et al. 2017): the mean
// over the points of the L2 norm of the gradient of the cross-entropy with respect to the
// input, ||grad_x CE(f(x_i), y_i)||_2, with the model in eval mode.
//
// Each point's gradient is that of its own loss. ART differentiates whatever loss the
// classifier was built with over all of x at once; with CrossEntropyLoss(reduction="sum")
// that is the same per-point gradient and ART's value equals ours; with the default
// reduction "mean" every gradient is divided by len(x), and so is ART's value.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "farbound/nn/batches.hpp"
#include "farbound/nn/eval_mode.hpp"
#include "farbound/attack/norm.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/loss.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// ||grad_x CE(f(x_i), y_i)||_2 for every item of x [N, ...] with labels [N].
template <class T>
std::vector<double> loss_gradient_norms(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x,
                                        std::span<const int> labels, std::int64_t batch_size = 256) {
  const char* who = "loss_gradient_norms";
  detail::require_labels(x, labels, who);
  detail::require_batch_size(batch_size, who);
  detail::require_classes(labels, detail::num_classes(model, x, who), who);
  const EvalMode<T> eval(model);
  std::vector<double> norms(labels.size());
  Tensor<T> grad_logits;
  const std::int64_t d = x.shape().item_numel();
  for (std::int64_t first = 0; first < x.size(0); first += batch_size) {
    const std::int64_t count = std::min(batch_size, x.size(0) - first);
    // cross_entropy averages over the batch, so each row's gradient is 1/count of its own.
    cross_entropy<T>(model.forward(x.slice(first, count)), labels.subspan(std::size_t(first), std::size_t(count)),
                     grad_logits);
    const TensorView<const T> g = model.backward(grad_logits.view(), InputGrad::compute, ParamGrads::skip);
    for (std::int64_t k = 0; k < count; ++k)
      norms[std::size_t(first + k)] = double(count) * detail::norm_of(g.data() + k * d, d, Norm::l2);
  }
  return norms;
}

// The mean of loss_gradient_norms.
template <class T>
double loss_sensitivity(Sequential<T>& model, TensorView<const std::type_identity_t<T>> x, std::span<const int> labels,
                        std::int64_t batch_size = 256) {
  const std::vector<double> norms = loss_gradient_norms<T>(model, x, labels, batch_size);
  double sum = 0;
  for (double v : norms) sum += v;
  return sum / double(norms.size());
}

}  // namespace farbound
