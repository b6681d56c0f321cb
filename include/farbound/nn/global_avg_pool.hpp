#pragma once
// Global average pooling: the mean over each channel's whole plane, [N, C, H, W] -> [N, C],
//   y[c] = 1/(H W) sum_{h,w} x[c, h, w];  dL/dx[c, h, w] = g[c] / (H W).
#include <algorithm>
#include <cstdint>
#include <string>

#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// Mean over each channel's whole plane.
template <class T>
class GlobalAvgPool2d final : public Layer<T> {
 public:
  std::string describe() const override { return "GlobalAvgPool2d"; }

  Shape output_shape(const Shape& input) const override {
    if (input.rank() != 4 || input[0] < 1 || input[1] < 1 || input[2] < 1 || input[3] < 1)
      throw shape_error("GlobalAvgPool2d: input " + input.to_string() + " does not match [N, C, H, W] (all >= 1)");
    return {input[0], input[1]};
  }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(output_shape(in.shape()));
    const std::int64_t hw = in.size(2) * in.size(3);
    parallel_for(out.numel(), [&](std::int64_t i) {
      const T* x = in.data() + i * hw;
      T s = 0;
      for (std::int64_t e = 0; e < hw; ++e) s += x[e];
      out[i] = s / T(hw);
    });
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads) override {
    const Shape expected = output_shape(in.shape());
    require_same_shape(out.shape(), expected, "GlobalAvgPool2d::backward (output vs layer output)");
    require_same_shape(grad_out.shape(), expected, "GlobalAvgPool2d::backward (grad_out vs layer output)");
    if (!grad_in) return;
    grad_in->resize(in.shape());
    const std::int64_t hw = in.size(2) * in.size(3);
    parallel_for(grad_out.numel(), [&](std::int64_t i) {
      std::fill_n(grad_in->data() + i * hw, hw, grad_out[i] / T(hw));
    });
  }
};

}  // namespace farbound
