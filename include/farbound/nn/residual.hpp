#pragma once
// Residual: a composite layer y = x + body(x) whose body is a Sequential it owns (He et
// al. 2016; the blocks of ResNet9 and XResNet18). The body must map a shape to itself.
// Backward sums both paths: dL/dx = dL/dy + (d body/dx)^T dL/dy, and the body accumulates
// its own parameter gradients.
//
// Parameters, training mode and initialisation reach the body: collect_parameters appends
// the body's parameters in its layer order; reset_parameters(seed, index) initialises the
// body from a seed derived from (seed, index), so its layers draw other numbers than the
// outer model's layers (keyed by seed itself) and than any other block's body.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/random.hpp"
#include "farbound/core/simd.hpp"
#include "farbound/nn/detail/simd_transform.hpp"
#include "farbound/nn/layer.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

// A residual block: out = body(x) + x.
template <class T>
class Residual final : public Layer<T> {
 public:
  // An empty body, to be filled with body().add<...>(...).
  Residual() = default;
  // A block computing body(x) + x.
  explicit Residual(Sequential<T> body) : body_(std::move(body)) { body_.set_training(this->training()); }

  // The layers of the block's body.
  Sequential<T>& body() { return body_; }
  // The layers of the block's body, read-only.
  const Sequential<T>& body() const { return body_; }

  std::string describe() const override {
    std::string s = "Residual(";
    for (std::size_t i = 0; i < body_.size(); ++i) s += (i ? " -> " : "") + body_.layer(i).describe();
    return s + ")";
  }

  Shape output_shape(const Shape& input) const override {
    const Shape s = body_.output_shape(input);
    if (!(s == input))
      throw shape_error("Residual: the body maps " + input.to_string() + " to " + s.to_string() +
                        "; x + body(x) needs the same shape");
    return input;
  }

  void forward(TensorView<const T> in, Tensor<T>& out) override {
    const TensorView<const T> branch = body_.forward(in);
    if (!(branch.shape() == in.shape()))
      throw shape_error("Residual: the body maps " + in.shape().to_string() + " to " + branch.shape().to_string() +
                        "; x + body(x) needs the same shape");
    out.resize(in.shape());
    add(in.data(), branch.data(), out.data(), in.numel());
  }

  // Needs the body's activations from the matching forward, like Sequential::backward.
  void backward(TensorView<const T> in, TensorView<const T> /*out*/, TensorView<const T> grad_out, Tensor<T>* grad_in,
                ParamGrads param_grads) override {
    require_same_shape(in.shape(), grad_out.shape(), "Residual::backward (input vs grad_out)");
    if (!grad_in && param_grads == ParamGrads::skip) return;
    const TensorView<const T> branch_grad =
        body_.backward(grad_out, grad_in ? InputGrad::compute : InputGrad::skip, param_grads);
    if (!grad_in) return;
    grad_in->resize(in.shape());
    add(grad_out.data(), branch_grad.data(), grad_in->data(), in.numel());
  }

  void collect_parameters(std::vector<Parameter<T>*>& out) override {
    for (Parameter<T>* p : body_.parameters()) out.push_back(p);
  }

  void reset_parameters(std::uint64_t seed, std::uint32_t layer_index) override {
    body_.reset_parameters(body_seed(seed, layer_index));
  }

  bool keys_random_numbers_by_place() const override { return body_.keys_random_numbers_by_place(); }

  void set_training(bool on) override {
    Layer<T>::set_training(on);
    body_.set_training(on);
  }

  // The body's seed: 64 bits of the init stream (seed, layer_index, b = c = 0xFFFFFFFF), a
  // parameter/coordinate pair no layer uses for its own parameters.
  static std::uint64_t body_seed(std::uint64_t seed, std::uint32_t layer_index) {
    const PhiloxCounter w = RandomStream(seed, Purpose::init, layer_index, 0xFFFFFFFFu, 0xFFFFFFFFu).block(0);
    return std::uint64_t(w[0]) | (std::uint64_t(w[1]) << 32);
  }

 private:
  // c = a + b, vectorised.
  static void add(const T* a, const T* b, T* c, std::int64_t n) {
    detail::simd_transform(
        n, [](simd::batch<T> x, simd::batch<T> y) { return x + y; }, c, a, b);
  }

  Sequential<T> body_;
};

}  // namespace farbound
