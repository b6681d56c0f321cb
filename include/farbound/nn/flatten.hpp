#pragma once
// Flatten: [N, d1, d2, ...] -> [N, d1*d2*...], as PyTorch's nn.Flatten(). The elements keep
// their row-major order, so forward and backward are copies.
#include <cstdint>
#include <cstring>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// Flattens every item to one axis: [B, C, H, W] -> [B, C*H*W].
template <class T>
class Flatten final : public Layer<T> {
 public:
  std::string describe() const override { return "Flatten"; }

  Shape output_shape(const Shape& input) const override {
    if (input.rank() < 2 || input[0] < 1 || input.item_numel() < 1)
      throw shape_error("Flatten: input " + input.to_string() + " does not match [N, ...] with N >= 1 and non-empty items");
    return {input[0], input.item_numel()};
  }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(output_shape(in.shape()));
    std::memcpy(out.data(), in.data(), std::size_t(in.numel()) * sizeof(T));
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads) override {
    const Shape expected = output_shape(in.shape());
    require_same_shape(out.shape(), expected, "Flatten::backward (output vs layer output)");
    require_same_shape(grad_out.shape(), expected, "Flatten::backward (grad_out vs layer output)");
    if (!grad_in) return;
    grad_in->resize(in.shape());
    std::memcpy(grad_in->data(), grad_out.data(), std::size_t(grad_out.numel()) * sizeof(T));
  }
};

}  // namespace farbound
