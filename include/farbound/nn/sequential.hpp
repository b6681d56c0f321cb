#pragma once
// Sequential: a chain of layers that owns its activations.
//
// forward(in, first, last) runs layers [first, last) and keeps every intermediate output,
// so backward can run the same range in reverse. Starting or stopping at any layer is what
// feature-space noise injection and feature maps (g1 of Wang et al.) need.
// The input passed to forward must stay alive until the matching backward.
// backward_range runs any range backward that ran forward, e.g. [L, end) then [0, L).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// Whether Sequential::backward computes d(loss)/d(input of the first layer run).
enum class InputGrad { skip, compute };

// A chain of layers that owns every layer's output and runs any range of them forward and backward.
template <class T>
class Sequential {
 public:
  // "To the last layer" in layer ranges.
  static constexpr std::size_t end = std::numeric_limits<std::size_t>::max();

  Sequential() = default;
  // Movable, not copyable (layers own their parameters).
  Sequential(Sequential&&) noexcept = default;
  // Move assignment.
  Sequential& operator=(Sequential&&) noexcept = default;

  // Appends a layer constructed in place; returns it.
  template <class L, class... Args>
  L& add(Args&&... args) {
    auto layer = std::make_unique<L>(std::forward<Args>(args)...);
    L& ref = *layer;
    append(std::move(layer));
    return ref;
  }
  // Appends a layer (not null), in the chain's current training mode.
  void append(std::unique_ptr<Layer<T>> layer) {
    if (!layer) throw argument_error("Sequential::append: null layer");
    layer->set_training(training_);
    layers_.push_back(std::move(layer));
    outputs_.emplace_back();
  }

  // Number of layers.
  std::size_t size() const { return layers_.size(); }
  // Layer i; std::out_of_range when there is none.
  Layer<T>& layer(std::size_t i) { return *layers_.at(i); }
  // Layer i, read-only.
  const Layer<T>& layer(std::size_t i) const { return *layers_.at(i); }

  // Output shape of layers [first, last) for an input shape.
  Shape output_shape(Shape s, std::size_t first = 0, std::size_t last = end) const {
    last = check_range(first, last, "output_shape");
    for (std::size_t i = first; i < last; ++i) s = layers_[i]->output_shape(s);
    return s;
  }

  // Runs layers [first, last) and returns a view of the last output, valid until the next
  // forward. An empty range returns the input itself.
  TensorView<const T> forward(TensorView<const T> in, std::size_t first = 0, std::size_t last = end) {
    last = check_range(first, last, "forward");
    run_first_ = first;
    run_last_ = last;
    range_inputs_.resize(layers_.size() + 1);
    range_inputs_[first] = in;
    TensorView<const T> x = in;
    for (std::size_t i = first; i < last; ++i) {
      layers_[i]->forward(x, outputs_[i]);
      x = outputs_[i].view();
    }
    return x;
  }

  // Back-propagates d(loss)/d(output of the last forward) through the same layers in
  // reverse. Returns d(loss)/d(input) when asked (valid until the next backward), else an
  // empty view; then the layers before the first with parameters are not run backward.
  TensorView<const T> backward(TensorView<const T> grad_out, InputGrad input_grad = InputGrad::skip,
                               ParamGrads param_grads = ParamGrads::accumulate) {
    return backward_range(grad_out, run_first_, run_last_, input_grad, param_grads);
  }

  // Back-propagates through layers [first, last), which must have run forward since the
  // last change of their inputs, as one forward(in, first, last) or as consecutive ranges
  // (e.g. [0, L) then [L, end) when noise is added to the features between the two).
  TensorView<const T> backward_range(TensorView<const T> grad_out, std::size_t first, std::size_t last,
                                     InputGrad input_grad = InputGrad::skip,
                                     ParamGrads param_grads = ParamGrads::accumulate) {
    last = check_range(first, last, "backward_range");
    if (first == last) return input_grad == InputGrad::compute ? grad_out : TensorView<const T>{};
    if (range_inputs_.size() <= first)
      throw argument_error("Sequential::backward_range: layer " + std::to_string(first) + " has not run forward");
    require_same_shape(grad_out.shape(), outputs_[last - 1].shape(), "Sequential::backward (grad_out vs output)");
    // Without d(loss)/d(input), the layers before the first with parameters need no backward
    // pass, and that layer no input gradient (LeNet's first convolution, after Normalize).
    const std::size_t stop = input_grad == InputGrad::compute ? first : first_with_parameters(first, last);
    if (stop == last) return {};
    TensorView<const T> g = grad_out;
    int buffer = first_buffer_for(g);
    for (std::size_t i = last; i-- > stop;) {
      const TensorView<const T> in = i == first ? range_inputs_[first] : outputs_[i - 1].view();
      const bool need_grad_in = i > stop || input_grad == InputGrad::compute;
      Tensor<T>* grad_in = need_grad_in ? &grad_buffers_[buffer] : nullptr;
      layers_[i]->backward(in, outputs_[i].view(), g, grad_in, param_grads);
      if (!need_grad_in) return {};
      g = grad_in->view();
      buffer ^= 1;
    }
    return g;
  }

  // Every trainable parameter, in layer order.
  std::vector<Parameter<T>*> parameters() {
    std::vector<Parameter<T>*> ps;
    for (auto& l : layers_) l->collect_parameters(ps);
    return ps;
  }
  // Number of trainable parameter values.
  std::int64_t num_parameters() {
    std::int64_t n = 0;
    for (auto* p : parameters()) n += p->value.numel();
    return n;
  }
  // Zeroes every parameter gradient. The list is rebuilt in a kept buffer (layers may have
  // been added since), so a training step allocates nothing here.
  void zero_grad() {
    zero_grad_list_.clear();
    for (auto& l : layers_) l->collect_parameters(zero_grad_list_);
    for (auto* p : zero_grad_list_) p->grad.zero();
  }
  // PyTorch-default initialisation of every layer, keyed by (seed, layer index).
  void reset_parameters(std::uint64_t seed) {
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->reset_parameters(seed, static_cast<std::uint32_t>(i));
  }

  // Training (true) or evaluation (false) mode for every layer.
  void set_training(bool on) {
    training_ = on;
    for (auto& l : layers_) l->set_training(on);
  }
  // Whether the chain is in training mode.
  bool training() const { return training_; }
  // Whether a layer keys random numbers by an element's place in the batch (Layer says why
  // that matters).
  bool keys_random_numbers_by_place() const {
    return std::any_of(layers_.begin(), layers_.end(), [](const auto& l) { return l->keys_random_numbers_by_place(); });
  }

  // One line per layer.
  std::string describe() const {
    std::string s;
    for (std::size_t i = 0; i < layers_.size(); ++i) s += std::to_string(i) + ": " + layers_[i]->describe() + "\n";
    return s;
  }

 private:
  std::size_t check_range(std::size_t first, std::size_t last, const char* what) const {
    if (last == end) last = layers_.size();
    if (first > last || last > layers_.size())
      throw argument_error(std::string("Sequential::") + what + ": layer range [" + std::to_string(first) + ", " +
                           std::to_string(last) + ") is outside a model of " + std::to_string(layers_.size()) +
                           " layers");
    return last;
  }

  // The first layer in [first, last) with trainable parameters, or last if none has any.
  // The list is collected into a kept buffer: a training step allocates nothing here.
  std::size_t first_with_parameters(std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i) {
      parameter_probe_.clear();
      layers_[i]->collect_parameters(parameter_probe_);
      if (!parameter_probe_.empty()) return i;
    }
    return last;
  }

  // The ping-pong buffer to write first: not the one grad_out lives in (a gradient that
  // backward_range returned may be passed back in for the next range).
  int first_buffer_for(TensorView<const T> grad_out) const {
    return grad_out.data() != nullptr && grad_out.data() == grad_buffers_[0].data() ? 1 : 0;
  }

  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<Tensor<T>> outputs_;  // outputs_[i]: output of layer i in the last forward
  Tensor<T> grad_buffers_[2];       // ping-pong buffers for input gradients
  std::vector<TensorView<const T>> range_inputs_;  // range_inputs_[i]: input of the range that started at layer i
  std::vector<Parameter<T>*> zero_grad_list_, parameter_probe_;
  std::size_t run_first_ = 0, run_last_ = 0;
  bool training_ = true;
};

}  // namespace farbound
