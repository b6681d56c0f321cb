#pragma once
// Flatten: [N, d1, d2, ...] -> [N, d1*d2*...], as PyTorch's nn.Flatten(). The elements keep
// their row-major order, so forward and backward are copies: item by item in parallel, with
// the static split the layers around use, so each thread copies the items it wrote (one
// thread copying everything read half the batch from the other core's cache).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
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
    copy_items(in.data(), out.data(), in.size(0), in.shape().item_numel());
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads) override {
    const Shape expected = output_shape(in.shape());
    require_same_shape(out.shape(), expected, "Flatten::backward (output vs layer output)");
    require_same_shape(grad_out.shape(), expected, "Flatten::backward (grad_out vs layer output)");
    if (!grad_in) return;
    grad_in->resize(in.shape());
    copy_items(grad_out.data(), grad_in->data(), expected[0], expected[1]);
  }

 private:
  // Below 64 KB in all one thread copies: starting the other would cost more.
  static void copy_items(const T* from, T* to, std::int64_t items, std::int64_t item_numel) {
    const std::int64_t item_bytes = item_numel * std::int64_t(sizeof(T));
    const std::int64_t min_parallel = std::max<std::int64_t>(2, (std::int64_t(1) << 16) / item_bytes);
    parallel_for(
        items,
        [&](std::int64_t n) {
          std::memcpy(to + n * item_numel, from + n * item_numel, std::size_t(item_numel) * sizeof(T));
        },
        min_parallel);
  }
};

}  // namespace farbound
