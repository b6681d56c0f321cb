#include "farbound/nn/residual.hpp"

#include <catch2/catch.hpp>

#include <cstring>

#include "farbound/core/parallel.hpp"
#include "farbound/nn/activation.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/dropout.hpp"
#include "farbound/nn/instance_norm.hpp"
#include "support/gradcheck.hpp"

using namespace farbound;
using farbound::testing::fill_uniform;
using farbound::testing::gradcheck;

namespace {

// [N, D] -> [N, D - 1]: a body that changes the shape.
class DropLastFeature final : public Layer<double> {
 public:
  std::string describe() const override { return "DropLastFeature"; }
  Shape output_shape(const Shape& s) const override { return Shape{s[0], s[1] - 1}; }
  void forward(TensorView<const double> in, Tensor<double>& out) override {
    out.resize(output_shape(in.shape()));
    for (std::int64_t n = 0; n < in.size(0); ++n)
      for (std::int64_t k = 0; k + 1 < in.size(1); ++k) out[n * (in.size(1) - 1) + k] = in[n * in.size(1) + k];
  }
  void backward(TensorView<const double>, TensorView<const double>, TensorView<const double>, Tensor<double>*,
                ParamGrads) override {}
};

// x + Mish(IN(Tanh(IN(x)))) with affine InstanceNorms holding random weights.
template <class T>
void build_block(Residual<T>& block, std::int64_t channels, std::uint32_t salt) {
  block.body().template add<InstanceNorm2d<T>>(channels, true);
  block.body().template add<Tanh<T>>();
  block.body().template add<InstanceNorm2d<T>>(channels, true);
  block.body().template add<Mish<T>>();
  for (auto* p : block.parameters()) {
    Tensor<double> v(p->value.shape());
    farbound::testing::fill_uniform(v.view(), salt++, 0.5, 1.5);
    for (std::int64_t i = 0; i < v.numel(); ++i) p->value[i] = T(v[i]);
  }
}

}  // namespace

TEST_CASE("Residual computes x + body(x) and describes its body", "[residual]") {
  Residual<double> block;
  block.body().add<Tanh<double>>();
  block.body().add<LeakyReLU<double>>(0.1);
  CHECK(block.describe() == "Residual(Tanh -> LeakyReLU(slope 0.1))");
  Tensor<double> x(Shape{2, 5}), y;
  fill_uniform(x.view(), 1, -2.0, 2.0);
  block.forward(x.view(), y);
  for (std::int64_t i = 0; i < 10; ++i) {
    const double t = std::tanh(x[i]);
    CHECK(y[i] == Approx(x[i] + (t > 0 ? t : 0.1 * t)).epsilon(1e-15));
  }
  // An empty body: y = 2x, dL/dx = 2 dL/dy.
  Residual<double> empty;
  Tensor<double> g(Shape{2, 5}, 1.5), gx;
  empty.forward(x.view(), y);
  empty.backward(x.view(), y.view(), g.view(), &gx, ParamGrads::accumulate);
  for (std::int64_t i = 0; i < 10; ++i) {
    CHECK(y[i] == 2 * x[i]);
    CHECK(gx[i] == 3.0);
  }
}

TEST_CASE("Residual gradients match finite differences", "[residual][gradcheck]") {
  std::uint32_t salt = 500;
  for (Shape s : {Shape{1, 1, 1, 2}, Shape{1, 2, 3, 3}, Shape{2, 3, 4, 5}}) {
    Residual<double> block;
    build_block(block, s[1], salt);
    salt += 10;
    Tensor<double> x(s);
    fill_uniform(x.view(), salt++, -1.0, 2.0);
    INFO(block.describe() << " on " << s.to_string());
    CHECK(block.parameters().size() == 4u);
    CHECK(gradcheck(block, x) < 1e-6);
  }
  // A residual block inside a residual block, followed by an activation.
  Residual<double> outer;
  auto& inner = outer.body().add<Residual<double>>();
  build_block(inner, 3, 600);
  outer.body().add<Sigmoid<double>>();
  outer.body().add<InstanceNorm2d<double>>(3, true);
  Tensor<double> x(Shape{2, 3, 3, 2});
  fill_uniform(x.view(), 601, -1.0, 1.0);
  CHECK(outer.parameters().size() == 6u);
  CHECK(gradcheck(outer, x) < 1e-6);
}

TEST_CASE("Residual with a Dense body: gradients and distinct initialisation", "[residual][gradcheck]") {
  // x + Dense(Tanh(Dense(x))), initialised through the block as a model would.
  auto make = [] {
    Residual<double> block;
    block.body().add<Dense<double>>(5, 7);
    block.body().add<Tanh<double>>();
    block.body().add<Dense<double>>(7, 5);
    block.reset_parameters(2024, 0);
    return block;
  };
  std::uint32_t salt = 650;
  for (Shape s : {Shape{1, 5}, Shape{4, 5}}) {
    Residual<double> block = make();
    Tensor<double> x(s);
    fill_uniform(x.view(), salt++, -1.0, 1.0);
    INFO(block.describe() << " on " << s.to_string());
    CHECK(block.parameters().size() == 4u);
    CHECK(gradcheck(block, x) < 1e-6);
  }
  // The body's first Dense is not initialised like a Dense at the same index of the model.
  Residual<double> block = make();
  Dense<double> top(5, 7);
  top.reset_parameters(2024, 0);
  const Tensor<double>& w_body = block.parameters()[0]->value;
  const Tensor<double>& w_top = top.parameters()[0]->value;
  REQUIRE(w_body.shape() == w_top.shape());
  CHECK(std::memcmp(w_body.data(), w_top.data(), sizeof(double) * std::size_t(w_top.numel())) != 0);
}

TEST_CASE("Residual backward honours grad_in = null and ParamGrads::skip", "[residual]") {
  Residual<double> block;
  build_block(block, 2, 700);
  Tensor<double> x(Shape{2, 2, 3, 3}), g(Shape{2, 2, 3, 3}), y, gx;
  fill_uniform(x.view(), 701);
  fill_uniform(g.view(), 702);
  block.forward(x.view(), y);
  auto ps = block.parameters();
  for (auto* p : ps) p->grad.zero();
  block.backward(x.view(), y.view(), g.view(), &gx, ParamGrads::accumulate);
  const Tensor<double> first = ps[0]->grad.clone();
  block.backward(x.view(), y.view(), g.view(), nullptr, ParamGrads::accumulate);
  for (std::int64_t i = 0; i < first.numel(); ++i) CHECK(ps[0]->grad[i] == Approx(2 * first[i]));
  Tensor<double> gx2;
  block.backward(x.view(), y.view(), g.view(), &gx2, ParamGrads::skip);
  for (std::int64_t i = 0; i < first.numel(); ++i) CHECK(ps[0]->grad[i] == Approx(2 * first[i]));
  for (std::int64_t i = 0; i < gx.numel(); ++i) CHECK(gx2[i] == gx[i]);
}

TEST_CASE("Residual passes training mode and initialisation to its body", "[residual]") {
  Sequential<float> model;
  model.add<Dropout<float>>(0.5);
  auto& block = model.add<Residual<float>>();
  auto& inner_dropout = block.body().add<Dropout<float>>(0.5);
  auto& norm = block.body().add<InstanceNorm2d<float>>(1, true);
  norm.parameters()[0]->value.fill(3.0f);
  model.reset_parameters(42);
  // Initialisation reached the body.
  CHECK(norm.parameters()[0]->value[0] == 1.0f);
  CHECK(model.parameters().size() == 2u);
  // The body's dropout is keyed by a seed derived from (42, 1), not by (42, 0) like the
  // model's first layer: the two masks differ.
  Tensor<float> x(Shape{1, 1, 20, 20}, 1.0f), y0, y1;
  model.layer(0).forward(x.view(), y0);
  inner_dropout.forward(x.view(), y1);
  CHECK(std::memcmp(y0.data(), y1.data(), sizeof(float) * 400) != 0);
  CHECK(Residual<float>::body_seed(42, 1) != Residual<float>::body_seed(42, 2));
  CHECK(Residual<float>::body_seed(42, 1) != Residual<float>::body_seed(43, 1));
  // Evaluation mode reaches the body: the dropout inside becomes the identity.
  model.set_training(false);
  CHECK_FALSE(block.training());
  CHECK_FALSE(inner_dropout.training());
  inner_dropout.forward(x.view(), y1);
  for (float v : y1.span()) REQUIRE(v == 1.0f);
}

TEST_CASE("Residual gives identical results on 1 and 2 threads", "[residual][threads]") {
  const Shape s{8, 4, 13, 11};
  Tensor<float> x(s), g(s);
  RandomStream(1, Purpose::user).normal(x.span());
  RandomStream(2, Purpose::user).normal(g.span());
  Tensor<float> y[2], gx[2], dw[2];
  const int saved_threads = max_threads();
  for (int threads : {1, 2}) {
    set_threads(threads);
    Residual<float> block;
    build_block(block, 4, 800);
    block.forward(x.view(), y[threads - 1]);
    block.backward(x.view(), y[threads - 1].view(), g.view(), &gx[threads - 1], ParamGrads::accumulate);
    dw[threads - 1] = block.parameters()[0]->grad.clone();
  }
  set_threads(saved_threads);
  const auto bytes = sizeof(float) * std::size_t(s.numel());
  CHECK(std::memcmp(y[0].data(), y[1].data(), bytes) == 0);
  CHECK(std::memcmp(gx[0].data(), gx[1].data(), bytes) == 0);
  CHECK(std::memcmp(dw[0].data(), dw[1].data(), 4 * sizeof(float)) == 0);
}

TEST_CASE("Residual rejects a body that changes the shape", "[residual][errors]") {
  Residual<double> block;
  block.body().add<DropLastFeature>();
  Tensor<double> x(Shape{2, 5}, 1.0), y;
  CHECK_THROWS_WITH(block.forward(x.view(), y),
                    "Residual: the body maps [2, 5] to [2, 4]; x + body(x) needs the same shape");
  CHECK_THROWS_AS(block.output_shape(Shape{2, 5}), shape_error);
  Residual<double> ok;
  ok.forward(x.view(), y);
  Tensor<double> g(Shape{5, 2}, 1.0), gx;
  CHECK_THROWS_AS(ok.backward(x.view(), y.view(), g.view(), &gx, ParamGrads::accumulate), shape_error);
}
