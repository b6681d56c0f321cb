#pragma once
// The small problem the optimiser tests share with tests/optim/pytorch_reference.py: two
// parameters ([2, 3] and [3]) and the loss sum(a*p*p/2 + b*p), so grad = a*p + b.
#include <array>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "farbound/nn/layer.hpp"

namespace farbound::testing {

// Comparison tolerance against float64 references: rounding only.
template <class T>
constexpr double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-14;

template <class T>
struct QuadraticProblem {
  static constexpr std::array<double, 9> p0 = {0.5, -1.25, 2.0, 0.0, -0.3, 1.5, 0.75, -2.0, 0.0};
  static constexpr std::array<double, 9> a = {1.0, 0.5, 2.0, 3.0, 0.25, 1.5, 2.0, 1.0, 0.5};
  static constexpr std::array<double, 9> b = {0.1, -0.2, 0.3, -0.4, 0.05, 0.0, 0.0, 0.3, -0.6};

  Parameter<T> weight{"weight", {2, 3}};
  Parameter<T> bias{"bias", {3}};

  QuadraticProblem() {
    for (std::size_t i = 0; i < 9; ++i) value(i) = static_cast<T>(p0[i]);
  }
  std::vector<Parameter<T>*> parameters() { return {&weight, &bias}; }

  // Element i of the two parameters taken in order (6 of weight, then 3 of bias).
  T& value(std::size_t i) { return i < 6 ? weight.value[static_cast<std::int64_t>(i)] : bias.value[static_cast<std::int64_t>(i - 6)]; }
  T& grad(std::size_t i) { return i < 6 ? weight.grad[static_cast<std::int64_t>(i)] : bias.grad[static_cast<std::int64_t>(i - 6)]; }

  // grad = a*p + b at the current parameters.
  void compute_grad() {
    for (std::size_t i = 0; i < 9; ++i) grad(i) = static_cast<T>(a[i]) * value(i) + static_cast<T>(b[i]);
  }
};

}  // namespace farbound::testing
