#pragma once
// The layer interface: forward and a hand-written backward.
//
// A layer maps an input batch to an output batch. backward receives what forward saw
// (input) and produced (output), plus d(loss)/d(output), writes d(loss)/d(input) when
// asked, and *adds* d(loss)/d(parameter) into each parameter's gradient. A layer may keep
// what its forward computed from the input and its parameters for the backward that follows
// (Conv2d's Winograd lowering keeps the transformed input and weights; given another input
// tensor, it transforms that one), so neither the input's numbers nor the parameters' may
// change in between. Output tensors are resized by the layer;
// since Tensor::resize keeps large-enough allocations, a steady-state training step
// allocates nothing.
#include <cstdint>
#include <string>
#include <vector>

#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound {

// A trainable tensor and its gradient (same shape).
template <class T>
struct Parameter {
  std::string name;  // "weight", "bias", ...
  // The values.
  Tensor<T> value;
  // The gradient backward adds into.
  Tensor<T> grad;

  // A parameter called `n` of `shape`, value and gradient 0.
  Parameter(std::string n, Shape shape) : name(std::move(n)), value(shape, T(0)), grad(shape, T(0)) {}
};

// Whether backward adds parameter gradients (training) or skips them (attacks, which
// only need d(loss)/d(input)).
enum class ParamGrads { accumulate, skip };

// The interface of every layer: forward, backward, parameters, training mode.
template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  // What the layer is, e.g. "Conv2d(1 -> 6, kernel 5, stride 1, padding 0)".
  virtual std::string describe() const = 0;

  // Output shape for an input shape; throws shape_error naming both when they do not fit.
  virtual Shape output_shape(const Shape& input) const = 0;

  // out = layer(in); `out` is resized to output_shape(in.shape()).
  virtual void forward(TensorView<const T> in, Tensor<T>& out) = 0;

  // grad_in = d(loss)/d(in) unless grad_in is null (the input gradient is not needed);
  // with ParamGrads::accumulate, d(loss)/d(params) is added into each Parameter::grad.
  virtual void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out,
                        Tensor<T>* grad_in, ParamGrads param_grads) = 0;

  // Appends pointers to the trainable parameters, in a fixed order (composite layers,
  // such as a residual block, append their children's). Nothing for parameter-free layers.
  virtual void collect_parameters(std::vector<Parameter<T>*>& /*out*/) {}
  // The trainable parameters, in collect_parameters' order.
  std::vector<Parameter<T>*> parameters() {
    std::vector<Parameter<T>*> ps;
    collect_parameters(ps);
    return ps;
  }

  // Draws the parameters as PyTorch's default initialisation does, from the library's
  // generator keyed by (seed, Purpose::init, layer_index, parameter index).
  virtual void reset_parameters(std::uint64_t /*seed*/, std::uint32_t /*layer_index*/) {}

  // Training or evaluation behaviour (dropout). Explicit: nothing switches it implicitly.
  virtual void set_training(bool on) { training_ = on; }
  // Whether the layer is in training mode.
  bool training() const { return training_; }

  // Whether its training forward keys random numbers by an element's place in the batch, as
  // Dropout's masks are: a batch cut into parts that run apart (model replicas, data-parallel
  // shards) would draw the first part's numbers again for every part. Composite layers
  // answer for their children.
  virtual bool keys_random_numbers_by_place() const { return false; }

 protected:
  // Training (true) or evaluation mode.
  bool training_ = true;
};

}  // namespace farbound
