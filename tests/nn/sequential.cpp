#include "farbound/nn/sequential.hpp"

#include <catch2/catch.hpp>

#include "farbound/nn/activation.hpp"
#include "farbound/nn/dense.hpp"
#include "support/layer_checks.hpp"

using namespace farbound;
using testing::random_tensor;

namespace {

// The identity, counting its backward passes and whether each was asked for grad_in.
struct CountingIdentity : Layer<double> {
  int backwards = 0, input_grads = 0;
  std::string describe() const override { return "CountingIdentity"; }
  Shape output_shape(const Shape& input) const override { return input; }
  void forward(TensorView<const double> in, Tensor<double>& out) override {
    out.resize(in.shape());
    for (std::int64_t i = 0; i < in.numel(); ++i) out[i] = in.data()[i];
  }
  void backward(TensorView<const double>, TensorView<const double>, TensorView<const double> grad_out,
                Tensor<double>* grad_in, ParamGrads) override {
    ++backwards;
    if (!grad_in) return;
    ++input_grads;
    grad_in->resize(grad_out.shape());
    for (std::int64_t i = 0; i < grad_out.numel(); ++i) (*grad_in)[i] = grad_out.data()[i];
  }
};

}  // namespace

TEST_CASE("Sequential's backward skips the layers no gradient flows to", "[sequential]") {
  Sequential<double> model;
  auto& front = model.add<CountingIdentity>();  // nothing before the first parameter needs a gradient
  auto& first_dense = model.add<Dense<double>>(3, 4);
  auto& middle = model.add<CountingIdentity>();  // between parameters: needs its input gradient
  model.add<Tanh<double>>();
  model.add<Dense<double>>(4, 2);
  model.reset_parameters(5);
  const Tensor<double> x = random_tensor<double>({2, 3}, 1), g = random_tensor<double>({2, 2}, 2);

  model.forward(x.view());
  model.zero_grad();
  CHECK(model.backward(g.view()).data() == nullptr);
  CHECK(front.backwards == 0);
  CHECK(middle.backwards == 1);
  CHECK(middle.input_grads == 1);
  const Tensor<double> skipped = first_dense.weight.grad.clone();

  // Asking for d(loss)/d(input) runs every layer; the parameter gradients are the same.
  model.zero_grad();
  const TensorView<const double> dx = model.backward(g.view(), InputGrad::compute);
  CHECK(dx.shape() == x.shape());
  CHECK(front.backwards == 1);
  CHECK(front.input_grads == 1);
  for (std::int64_t i = 0; i < skipped.numel(); ++i) CHECK(first_dense.weight.grad[i] == skipped[i]);

  // A range without parameters has nothing to do unless the input gradient is wanted.
  model.forward(x.view(), 0, 1);
  CHECK(model.backward(x.view()).data() == nullptr);
  CHECK(front.backwards == 1);
  CHECK(model.backward(x.view(), InputGrad::compute).data() != nullptr);
  CHECK(front.backwards == 2);
}
