#pragma once
// PyTorch's default initialisation of Linear and Conv2d parameters, drawn from the
// library's counter-based generator.
//
// PyTorch's reset_parameters() for nn.Linear and nn.Conv2d calls
//   kaiming_uniform_(weight, a = sqrt(5))
// which draws U(-b, b) with
//   gain = sqrt(2 / (1 + a^2)) = sqrt(2 / 6) = 1 / sqrt(3)      (leaky_relu gain)
//   std  = gain / sqrt(fan_in)
//   b    = sqrt(3) * std = 1 / sqrt(fan_in)                     (a uniform's std is b / sqrt(3))
// and draws the bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) too. fan_in is the number of
// inputs that feed one output: in_features for a dense layer, in_channels * k * k for a
// convolution. So both parameters use the same bound; only the streams differ.
//
// Numbers come from RandomStream(seed, Purpose::init, layer_index, parameter_index), with
// parameter index 0 for the weight and 1 for the bias. Each element is computed in double
// and rounded to T, so float and double models start from the same values.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "farbound/core/error.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// b = 1 / sqrt(fan_in) of the default initialisation (0 for fan_in = 0, as PyTorch).
inline double default_init_bound(std::int64_t fan_in) {
  if (fan_in < 0) throw argument_error("default_init_bound: negative fan_in " + std::to_string(fan_in));
  return fan_in == 0 ? 0.0 : 1.0 / std::sqrt(double(fan_in));
}

// t[i] = U(-bound, bound) from element i of `stream`.
template <class T>
void fill_uniform_symmetric(Tensor<T>& t, double bound, const RandomStream& stream) {
  const std::int64_t n = t.numel();
  if (std::uint64_t(n + 3) / 4 > RandomStream::max_blocks)
    throw argument_error("fill_uniform_symmetric: " + t.shape().to_string() + " exceeds one random stream");
  for (std::int64_t i = 0; i < n; i += 4) {
    const PhiloxCounter w = stream.block(std::uint64_t(i / 4));
    for (std::int64_t j = 0; j < 4 && i + j < n; ++j)
      t[i + j] = T(bound * (2.0 * RandomStream::to_unit(w[std::size_t(j)]) - 1.0));
  }
}

// The default initialisation of a weight (parameter index 0) and an optional bias
// (parameter index 1) of layer `layer_index`.
template <class T>
void init_default(Parameter<T>& weight, std::type_identity_t<Parameter<T>>* bias, std::int64_t fan_in, std::uint64_t seed,
                  std::uint32_t layer_index) {
  const double bound = default_init_bound(fan_in);
  fill_uniform_symmetric(weight.value, bound, RandomStream(seed, Purpose::init, layer_index, 0));
  if (bias) fill_uniform_symmetric(bias->value, bound, RandomStream(seed, Purpose::init, layer_index, 1));
}

}  // namespace farbound
