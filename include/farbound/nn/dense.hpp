#pragma once
// Dense (fully connected, PyTorch's nn.Linear): y = x W^T + b.
//
// x is [N, in] (or any [N, ...] whose items hold `in` numbers, read flattened), W is
// [out, in] as in PyTorch, b is [out], y is [N, out]. With g = dL/dy:
//   y     = x W^T + 1 b^T   [N, in] [in, out]    (W^T copied once per call: B must be row-major;
//                                                at a batch of up to 8, W's rows are transposed
//                                                in registers instead, detail/gemm_nt_few_rows.hpp)
//   dL/dW = g^T x           [out, N] [N, in]
//   dL/db = sum_n g[n, :]
//   dL/dx = g W             [N, out] [out, in]
// Each product is detail::gemm, split over threads by blocks of its result; every element is
// one multiply-add chain in a fixed order, so the bits do not depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/shape.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/nn/detail/gemm.hpp"
#include "farbound/nn/detail/gemm_nt_few_rows.hpp"
#include "farbound/nn/detail/transpose.hpp"
#include "farbound/nn/init.hpp"
#include "farbound/nn/layer.hpp"

namespace farbound {

// Fully connected layer: out = x W^T + b.
template <class T>
class Dense final : public Layer<T> {
 public:
  Parameter<T> weight;  // [out, in]
  Parameter<T> bias;    // [out]

  // A layer of `in_features` inputs and `out_features` outputs.
  Dense(std::int64_t in_features, std::int64_t out_features)
      : weight("weight", checked_shape(in_features, out_features)), bias("bias", {out_features}),
        in_(in_features), out_(out_features) {}

  // Inputs per item.
  std::int64_t in_features() const { return in_; }
  // Outputs per item.
  std::int64_t out_features() const { return out_; }

  std::string describe() const override { return "Dense(" + std::to_string(in_) + " -> " + std::to_string(out_) + ")"; }

  Shape output_shape(const Shape& input) const override {
    if (input.rank() < 2 || input[0] == 0 || input.item_numel() != in_)
      throw shape_error(describe() + ": input " + input.to_string() + " does not match [N, " + std::to_string(in_) +
                        "] (N >= 1, items of " + std::to_string(in_) + " numbers)");
    return {input[0], out_};
  }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(output_shape(in.shape()));
    const std::int64_t N = in.size(0);
    for (std::int64_t n = 0; n < N; ++n) std::copy_n(bias.value.data(), out_, out.data() + n * out_);
    if constexpr (detail::gemm_nt_few_rows_available<T>) {
      if (N <= detail::gemm_nt_few_rows_max)
        return detail::gemm_nt_few_rows<T>(N, out_, in_, in.data(), in_, weight.value.data(), in_, out.data(), out_,
                                           detail::GemmOutput::accumulate);
    }
    weight_t_.resize({in_, out_});
    detail::transpose(weight.value.data(), out_, in_, weight_t_.data(), out_, out_);
    detail::parallel_gemm<T>(N, out_, in_, {in.data(), in_, 1}, detail::StridedRows<T>{weight_t_.data(), out_},
                             out.data(), out_, detail::GemmOutput::accumulate);
  }

  void backward(TensorView<const T> in, TensorView<const T> out, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads param_grads) override {
    const Shape expected = output_shape(in.shape());
    require_same_shape(out.shape(), expected, "Dense::backward (output vs layer output)");
    require_same_shape(grad_out.shape(), expected, "Dense::backward (grad_out vs layer output)");
    const std::int64_t N = in.size(0);
    const T* g = grad_out.data();
    if (param_grads == ParamGrads::accumulate) {
      detail::parallel_gemm<T>(out_, in_, N, {g, 1, out_}, detail::StridedRows<T>{in.data(), in_},
                               weight.grad.data(), in_, detail::GemmOutput::accumulate);
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t o = 0; o < out_; ++o) bias.grad[o] += g[n * out_ + o];
    }
    if (grad_in) {
      grad_in->resize(in.shape());
      detail::parallel_gemm<T>(N, in_, out_, {g, out_, 1}, detail::StridedRows<T>{weight.value.data(), in_},
                               grad_in->data(), in_, detail::GemmOutput::overwrite);
    }
  }

  void collect_parameters(std::vector<Parameter<T>*>& ps) override {
    ps.push_back(&weight);
    ps.push_back(&bias);
  }

  void reset_parameters(std::uint64_t seed, std::uint32_t layer_index) override {
    init_default(weight, &bias, in_, seed, layer_index);
  }

 private:
  static Shape checked_shape(std::int64_t in, std::int64_t out) {
    if (in < 1 || out < 1)
      throw argument_error("Dense: features must be >= 1, got in " + std::to_string(in) + ", out " + std::to_string(out));
    return {out, in};
  }
  std::int64_t in_, out_;
  Tensor<T> weight_t_;  // [in, out]: W^T for the forward product
};

}  // namespace farbound
