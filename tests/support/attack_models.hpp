#pragma once
// Models and data shared by the attack, metric and theory tests: an affine classifier whose
// weights are set by hand (every attack has a closed form on it), a small sigmoid
// convolutional net, images in [0, 1] that touch both bounds, Gaussian points, and the
// model's own predictions (the labels every item starts out classified correctly with).
#include <cstdint>
#include <vector>

#include "farbound/nn/batches.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/activation.hpp"
#include "farbound/nn/conv2d.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/flatten.hpp"
#include "farbound/nn/pool.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound::testing {

// logits = x W^T + b with W [classes, in] and b [classes] given row-major.
template <class T>
Sequential<T> affine_classifier(std::int64_t in, const std::vector<double>& w, const std::vector<double>& b) {
  Sequential<T> model;
  auto& dense = model.template add<Dense<T>>(in, std::int64_t(b.size()));
  for (std::size_t i = 0; i < w.size(); ++i) dense.weight.value[std::int64_t(i)] = T(w[i]);
  for (std::size_t i = 0; i < b.size(); ++i) dense.bias.value[std::int64_t(i)] = T(b[i]);
  return model;
}

// Input [N, 1, 10, 10] -> Conv2d(1 -> 4, k3) -> Tanh -> MaxPool2d(2) -> Flatten -> Dense(64 -> 5).
// The weights are scaled up from PyTorch's default initialisation so that the predictions
// vary from item to item and small perturbations can change them.
template <class T>
Sequential<T> small_conv_net(std::uint64_t seed) {
  Sequential<T> model;
  auto& conv = model.template add<Conv2d<T>>(1, 4, 3);
  model.template add<Tanh<T>>();
  model.template add<MaxPool2d<T>>(2);
  model.template add<Flatten<T>>();
  auto& dense = model.template add<Dense<T>>(64, 5);
  model.reset_parameters(seed);
  for (auto& v : conv.weight.value.span()) v *= T(4);
  for (auto& v : dense.weight.value.span()) v *= T(4);
  return model;
}

// n images [n, 1, 10, 10] of U[0, 1) pixels with every 7th pixel set to 0 and every 11th to 1,
// so the bounds bind somewhere.
template <class T>
Tensor<T> test_images(std::int64_t n, std::uint32_t salt) {
  Tensor<T> x({n, 1, 10, 10});
  RandomStream(2024, Purpose::user, salt).uniform(x.span());
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    if (i % 7 == 0) x[i] = T(0);
    if (i % 11 == 0) x[i] = T(1);
  }
  return x;
}

// n labels in [0, classes).
inline std::vector<int> test_labels(std::int64_t n, int classes, std::uint32_t salt) {
  std::vector<int> y(static_cast<std::size_t>(n));
  const RandomStream s(2024, Purpose::user, salt, 1);
  for (std::int64_t i = 0; i < n; ++i) y[std::size_t(i)] = int(s.below(std::uint64_t(i), std::uint32_t(classes)));
  return y;
}

// n items of d numbers, N(0, 2^2) each.
template <class T>
Tensor<T> normal_points(std::int64_t n, std::int64_t d, std::uint64_t seed, std::uint32_t salt) {
  Tensor<T> x({n, d});
  RandomStream(seed, Purpose::user, salt).normal(x.span(), 2.0);
  return x;
}

// The model's predicted class for every item of x.
template <class T>
std::vector<int> predictions(Sequential<T>& model, const Tensor<T>& x) {
  const auto logits = model.forward(x.view());
  std::vector<int> y(std::size_t(x.size(0)));
  for (std::int64_t i = 0; i < x.size(0); ++i)
    y[std::size_t(i)] = detail::argmax(logits.data() + i * logits.size(1), logits.size(1));
  return y;
}

}  // namespace farbound::testing
