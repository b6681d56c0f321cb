#include "farbound/nn/dropout.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>

#include "farbound/core/parallel.hpp"
#include "support/gradcheck.hpp"

using namespace farbound;
using farbound::testing::fill_uniform;
using farbound::testing::gradcheck;

namespace {

// Dropout with the step pinned, so that the repeated forwards of a finite-difference check
// all see the mask that backward uses.
class PinnedDropout final : public Layer<double> {
 public:
  explicit PinnedDropout(double p) : dropout_(p, 77, 3) {}
  std::string describe() const override { return dropout_.describe(); }
  Shape output_shape(const Shape& s) const override { return dropout_.output_shape(s); }
  void forward(TensorView<const double> in, Tensor<double>& out) override {
    dropout_.set_step(0);
    dropout_.forward(in, out);
  }
  void backward(TensorView<const double> in, TensorView<const double> out, TensorView<const double> g,
                Tensor<double>* gin, ParamGrads pg) override {
    dropout_.backward(in, out, g, gin, pg);
  }

 private:
  Dropout<double> dropout_;
};

template <class T>
Tensor<T> dropped(Dropout<T>& d, const Tensor<T>& x) {
  Tensor<T> y;
  d.forward(x.view(), y);
  return y;
}

}  // namespace

TEMPLATE_TEST_CASE("Dropout keeps a fraction 1 - p scaled by 1/(1 - p) and backward uses the same mask", "[dropout]",
                   float, double) {
  using T = TestType;
  const double p = 0.3;
  Dropout<T> d(p, 1234, 2);
  Tensor<T> x(Shape{8, 3, 25, 25}), y, g(Shape{8, 3, 25, 25}), gx;
  RandomStream(1, Purpose::user).uniform(x.span());
  for (auto& v : x.span()) v += T(0.5);  // no zeros, so a zero output means dropped
  RandomStream(2, Purpose::user).normal(g.span());
  d.forward(x.view(), y);
  d.backward(x.view(), y.view(), g.view(), &gx, ParamGrads::accumulate);
  const T scale = T(1.0 / (1.0 - p));
  std::int64_t kept = 0;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    if (y[i] != T(0)) {
      ++kept;
      REQUIRE(y[i] == x[i] * scale);
      REQUIRE(gx[i] == g[i] * scale);
    } else {
      REQUIRE(gx[i] == T(0));
    }
  }
  // 15000 Bernoulli(0.7) draws: the fraction is within 0.7 +- 0.02 (5 standard deviations).
  CHECK(double(kept) / double(x.numel()) == Approx(0.7).margin(0.02));
  CHECK(d.step() == 1u);
  CHECK(d.describe() == "Dropout(p 0.3)");
}

TEST_CASE("Dropout in evaluation mode is the identity and does not advance the step", "[dropout]") {
  Dropout<float> d(0.5);
  d.set_training(false);
  Tensor<float> x(Shape{4, 7}), y, g(Shape{4, 7}), gx;
  RandomStream(3, Purpose::user).normal(x.span());
  RandomStream(4, Purpose::user).normal(g.span());
  d.forward(x.view(), y);
  d.backward(x.view(), y.view(), g.view(), &gx, ParamGrads::accumulate);
  CHECK(std::memcmp(x.data(), y.data(), sizeof(float) * 28) == 0);
  CHECK(std::memcmp(g.data(), gx.data(), sizeof(float) * 28) == 0);
  CHECK(d.step() == 0u);
  // p = 0 in training is the identity too.
  Dropout<float> none(0.0);
  Tensor<float> y0 = dropped(none, x);
  CHECK(std::memcmp(x.data(), y0.data(), sizeof(float) * 28) == 0);
}

TEST_CASE("Dropout masks are reproducible and keyed by (seed, step, layer)", "[dropout]") {
  Tensor<float> x(Shape{2, 500}, 1.0f);
  Dropout<float> a(0.5, 9, 1), b(0.5, 9, 1);
  const Tensor<float> a0 = dropped(a, x), a1 = dropped(a, x);
  const Tensor<float> b0 = dropped(b, x), b1 = dropped(b, x);
  auto same = [](const Tensor<float>& u, const Tensor<float>& v) {
    return u.shape() == v.shape() && std::memcmp(u.data(), v.data(), sizeof(float) * std::size_t(u.numel())) == 0;
  };
  CHECK(same(a0, b0));
  CHECK(same(a1, b1));
  CHECK_FALSE(same(a0, a1));  // the step advanced
  Dropout<float> other_layer(0.5, 9, 2), other_seed(0.5, 10, 1);
  CHECK_FALSE(same(a0, dropped(other_layer, x)));
  CHECK_FALSE(same(a0, dropped(other_seed, x)));
  // reset_parameters sets seed and layer and restarts the steps; set_step resumes.
  Dropout<float> c(0.5);
  c.reset_parameters(9, 1);
  CHECK(same(a0, dropped(c, x)));
  c.set_step(1);
  CHECK(same(a1, dropped(c, x)));
  // float and double draw the same mask.
  Dropout<double> d(0.5, 9, 1);
  Tensor<double> xd(Shape{2, 500}, 1.0), yd;
  d.forward(xd.view(), yd);
  for (std::int64_t i = 0; i < 1000; ++i) REQUIRE(double(a0[i]) == yd[i]);
  // The mask of an element does not depend on the tensor's length.
  Dropout<float> e(0.5, 9, 1);
  Tensor<float> longer(Shape{3, 500}, 1.0f);
  const Tensor<float> e0 = dropped(e, longer);
  CHECK(std::memcmp(e0.data(), a0.data(), sizeof(float) * 1000) == 0);
}

TEST_CASE("Dropout gradient matches finite differences with the mask held fixed", "[dropout][gradcheck]") {
  std::uint32_t salt = 400;
  for (Shape s : {Shape{1, 1}, Shape{1, 9}, Shape{3, 5, 2, 3}}) {
    PinnedDropout d(0.4);
    Tensor<double> x(s);
    fill_uniform(x.view(), salt++);
    INFO(s.to_string());
    CHECK(gradcheck(d, x) < 1e-6);
  }
}

TEST_CASE("Dropout gives identical masks on 1 and 2 threads", "[dropout][threads]") {
  Tensor<float> x(Shape{5, 3, 61, 67}, 1.0f), g(Shape{5, 3, 61, 67}, 2.0f);
  Tensor<float> y[2], gx[2];
  const int saved_threads = max_threads();
  for (int threads : {1, 2}) {
    set_threads(threads);
    Dropout<float> d(0.25, 5, 0);
    d.forward(x.view(), y[threads - 1]);
    d.backward(x.view(), y[threads - 1].view(), g.view(), &gx[threads - 1], ParamGrads::accumulate);
  }
  set_threads(saved_threads);
  const auto bytes = sizeof(float) * std::size_t(x.numel());
  CHECK(std::memcmp(y[0].data(), y[1].data(), bytes) == 0);
  CHECK(std::memcmp(gx[0].data(), gx[1].data(), bytes) == 0);
}

TEST_CASE("Dropout rejects bad probabilities and mismatched gradients", "[dropout][errors]") {
  CHECK_THROWS_WITH(Dropout<float>(1.0), "Dropout: p must be in [0, 1), got 1");
  CHECK_THROWS_AS(Dropout<float>(-0.1), argument_error);
  CHECK_THROWS_AS(Dropout<float>(std::nan("")), argument_error);
  Dropout<float> d(0.5);
  Tensor<float> x(Shape{2, 3}, 1.0f), y, g(Shape{2, 4}, 1.0f), gx;
  d.forward(x.view(), y);
  CHECK_THROWS_AS(d.backward(x.view(), y.view(), g.view(), &gx, ParamGrads::accumulate), shape_error);
}
