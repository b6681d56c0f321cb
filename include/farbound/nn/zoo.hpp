#pragma once
// The model zoo: the architectures the paper trains, each as a Sequential whose first layer
// is Normalize (inputs are raw data, e.g. [0,1] pixels; docs/design.md).
//
// A ModelSpec names an architecture completely, so a saved model file can rebuild it.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/nn/activation.hpp"
#include "farbound/nn/conv2d.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/flatten.hpp"
#include "farbound/nn/instance_norm.hpp"
#include "farbound/nn/normalize.hpp"
#include "farbound/nn/pool.hpp"
#include "farbound/nn/residual.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// What build_model builds: architecture, activation, input and output sizes, hidden widths, input statistics.
struct ModelSpec {
  std::string arch = "lenet";          // "mlp", "lenet" or "resnet9"
  std::string activation = "sigmoid";  // see make_activation
  // Input channels.
  std::int64_t in_channels = 1;
  std::int64_t image_size = 32;        // height = width; for "mlp", in_channels * image_size^2 inputs
  // Output classes.
  std::int64_t num_classes = 10;
  std::vector<std::int64_t> hidden{};  // "mlp": widths of the hidden layers
  std::vector<double> mean{0.0};       // per input channel, applied by the leading Normalize
  // Per input channel, applied by the leading Normalize.
  std::vector<double> stddev{1.0};
};

// The activation layer called `name`: relu, leaky_relu, sigmoid, tanh, celu, softplus, mish.
template <class T>
std::unique_ptr<Layer<T>> make_activation(const std::string& name) {
  if (name == "relu") return std::make_unique<ReLU<T>>();
  if (name == "leaky_relu") return std::make_unique<LeakyReLU<T>>();
  if (name == "sigmoid") return std::make_unique<Sigmoid<T>>();
  if (name == "tanh") return std::make_unique<Tanh<T>>();
  if (name == "celu") return std::make_unique<CELU<T>>();
  if (name == "softplus") return std::make_unique<Softplus<T>>();
  if (name == "mish") return std::make_unique<Mish<T>>();
  throw argument_error("unknown activation '" + name + "' (relu, leaky_relu, sigmoid, tanh, celu, softplus, mish)");
}

// Normalize, then Dense/activation pairs through `hidden`, then a Dense to the classes.
// Works for any input shape: Flatten first.
template <class T>
Sequential<T> mlp(const ModelSpec& spec) {
  Sequential<T> m;
  m.template add<Normalize<T>>(spec.mean, spec.stddev);
  m.template add<Flatten<T>>();
  std::int64_t width = spec.in_channels * spec.image_size * spec.image_size;
  for (std::int64_t h : spec.hidden) {
    m.template add<Dense<T>>(width, h);
    m.append(make_activation<T>(spec.activation));
    width = h;
  }
  m.template add<Dense<T>>(width, spec.num_classes);
  return m;
}

// LeNet as the paper's reference (BasicModel) for 32x32 inputs: conv 6 k5, pool 2,
// conv 16 k5, pool 2, fc 400-120-84-classes, the activation after every conv and hidden fc.
template <class T>
Sequential<T> lenet(const ModelSpec& spec) {
  if (spec.image_size != 32) throw argument_error("lenet expects 32x32 inputs, got image_size " + std::to_string(spec.image_size));
  Sequential<T> m;
  m.template add<Normalize<T>>(spec.mean, spec.stddev);
  m.template add<Conv2d<T>>(spec.in_channels, 6, 5);
  m.append(make_activation<T>(spec.activation));
  m.template add<MaxPool2d<T>>(2);
  m.template add<Conv2d<T>>(6, 16, 5);
  m.append(make_activation<T>(spec.activation));
  m.template add<MaxPool2d<T>>(2);
  m.template add<Flatten<T>>();
  m.template add<Dense<T>>(400, 120);
  m.append(make_activation<T>(spec.activation));
  m.template add<Dense<T>>(120, 84);
  m.append(make_activation<T>(spec.activation));
  m.template add<Dense<T>>(84, spec.num_classes);
  return m;
}

namespace detail {

// conv 3x3 (padding 1) -> InstanceNorm (no affine) -> activation [-> max pool 2]
template <class T>
void add_conv_block(Sequential<T>& m, std::int64_t in, std::int64_t out, const std::string& act, bool pool) {
  m.template add<Conv2d<T>>(in, out, 3, 1, 1);
  m.template add<InstanceNorm2d<T>>(out, false);
  m.append(make_activation<T>(act));
  if (pool) m.template add<MaxPool2d<T>>(2);
}

// x + (two conv blocks of `channels`)(x)
template <class T>
void add_residual_block(Sequential<T>& m, std::int64_t channels, const std::string& act) {
  Sequential<T> body;
  add_conv_block(body, channels, channels, act, false);
  add_conv_block(body, channels, channels, act, false);
  m.template add<Residual<T>>(std::move(body));
}

}  // namespace detail

// ResNet9 as the paper's reference for 32x32 inputs: InstanceNorm without affine, the
// spec's activation (the paper uses CELU: ask for activation "celu"); prep 32, block 64
// (+pool, +residual), block 128 (+pool, +residual), block 512 (+residual), max pool 8,
// fc 512-classes.
template <class T>
Sequential<T> resnet9(const ModelSpec& spec) {
  if (spec.image_size != 32) throw argument_error("resnet9 expects 32x32 inputs, got image_size " + std::to_string(spec.image_size));
  Sequential<T> m;
  m.template add<Normalize<T>>(spec.mean, spec.stddev);
  detail::add_conv_block(m, spec.in_channels, 32, spec.activation, false);
  detail::add_conv_block(m, 32, 64, spec.activation, true);
  detail::add_residual_block(m, 64, spec.activation);
  detail::add_conv_block(m, 64, 128, spec.activation, true);
  detail::add_residual_block(m, 128, spec.activation);
  detail::add_conv_block(m, 128, 512, spec.activation, false);
  detail::add_residual_block(m, 512, spec.activation);
  m.template add<MaxPool2d<T>>(8);
  m.template add<Flatten<T>>();
  m.template add<Dense<T>>(512, spec.num_classes);
  return m;
}

// What a spec may ask for: bounds on sense that keep a typo (or a hostile model file) from
// allocating gigabytes before anything can be checked.
struct ModelSpecLimits {
  // Most input channels.
  static constexpr std::int64_t max_in_channels = 1024;
  // Largest image side.
  static constexpr std::int64_t max_image_size = 4096;
  static constexpr std::int64_t max_inputs = std::int64_t(1) << 24;  // in_channels * image_size^2
  // Most classes.
  static constexpr std::int64_t max_classes = 100000;
  static constexpr std::int64_t max_width = 65536;                   // of an MLP hidden layer
  // Most hidden layers of an MLP.
  static constexpr std::size_t max_hidden_layers = 64;
  static constexpr std::int64_t max_parameters = std::int64_t(1) << 27;  // 512 MB in float
};

// Throws argument_error naming the first value of `spec` outside ModelSpecLimits (or an
// impossible one). Architecture and activation names are checked by build_model.
inline void validate_model_spec(const ModelSpec& spec) {
  using L = ModelSpecLimits;
  const auto need = [](bool ok, const std::string& what) {
    if (!ok) throw argument_error("ModelSpec: " + what);
  };
  const auto in = [&](const char* name, std::int64_t v, std::int64_t lo, std::int64_t hi) {
    need(v >= lo && v <= hi, std::string(name) + " must lie in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                 "], got " + std::to_string(v));
  };
  in("in_channels", spec.in_channels, 1, L::max_in_channels);
  in("image_size", spec.image_size, 1, L::max_image_size);
  in("in_channels * image_size^2", spec.in_channels * spec.image_size * spec.image_size, 1, L::max_inputs);
  in("num_classes", spec.num_classes, 2, L::max_classes);
  need(spec.hidden.size() <= L::max_hidden_layers, "at most " + std::to_string(L::max_hidden_layers) +
                                                       " hidden layers, got " + std::to_string(spec.hidden.size()));
  for (std::int64_t h : spec.hidden) in("a hidden width", h, 1, L::max_width);
  const auto per_channel = [&](std::size_t n) { return n == 1 || n == std::size_t(spec.in_channels); };
  need(spec.mean.size() == spec.stddev.size() && per_channel(spec.mean.size()),
       "mean and stddev need one value for all channels or one per input channel (" + std::to_string(spec.in_channels) +
           "), got " + std::to_string(spec.mean.size()) + " and " + std::to_string(spec.stddev.size()));
  if (spec.arch == "mlp") {
    // Dense layers hold (in + 1) * out parameters; each term < 2^41 by the bounds above.
    std::int64_t parameters = 0, width = spec.in_channels * spec.image_size * spec.image_size;
    for (std::int64_t h : spec.hidden) {
      parameters += (width + 1) * h;
      width = h;
      need(parameters <= L::max_parameters, "the MLP has over " + std::to_string(L::max_parameters) + " parameters");
    }
    parameters += (width + 1) * spec.num_classes;
    need(parameters <= L::max_parameters, "the MLP has " + std::to_string(parameters) + " parameters, over the limit " +
                                              std::to_string(L::max_parameters));
  }
}

// The model a spec names, with its parameters drawn from `seed`.
template <class T>
Sequential<T> build_model(const ModelSpec& spec, std::uint64_t seed) {
  validate_model_spec(spec);
  Sequential<T> m;
  if (spec.arch == "mlp") m = mlp<T>(spec);
  else if (spec.arch == "lenet") m = lenet<T>(spec);
  else if (spec.arch == "resnet9") m = resnet9<T>(spec);
  else throw argument_error("unknown architecture '" + spec.arch + "' (mlp, lenet, resnet9)");
  m.reset_parameters(seed);
  return m;
}

// Index of the first layer after the feature extractor: the first Flatten. Feature-space
// noise is injected there and g1 of Wang et al. is read there (LeNet: the 16x5x5 maps after
// the second pool; ResNet9: the 512 features after the final pool; an MLP: its normalised input).
template <class T>
std::size_t feature_layer_index(const Sequential<T>& model) {
  for (std::size_t i = 0; i < model.size(); ++i)
    if (dynamic_cast<const Flatten<T>*>(&model.layer(i))) return i;
  throw argument_error("feature_layer_index: the model has no Flatten layer");
}

}  // namespace farbound
