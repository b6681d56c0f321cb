#include "farbound/nn/normalize.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "farbound/core/parallel.hpp"
#include "support/gradcheck.hpp"

using namespace farbound;
using farbound::testing::fill_uniform;
using farbound::testing::gradcheck;

TEMPLATE_TEST_CASE("Normalize computes (x - mean_c) / std_c per channel", "[normalize]", float, double) {
  using T = TestType;
  Normalize<T> norm({0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616});
  const double mean[3] = {0.4914, 0.4822, 0.4465}, stddev[3] = {0.2470, 0.2435, 0.2616};
  Tensor<T> x(Shape{2, 3, 4, 5}), y;
  RandomStream(1, Purpose::user).uniform(x.span());
  norm.forward(x.view(), y);
  REQUIRE(y.shape() == x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const auto c = std::size_t((i / 20) % 3);
    // Bit for bit what torchvision's sub_(mean).div_(std) computes in T.
    CHECK(y[i] == (x[i] - T(mean[c])) / T(stddev[c]));
  }
  // [N, C] inputs: a channel is a feature.
  Tensor<T> flat(Shape{4, 3}), yf;
  RandomStream(2, Purpose::user).uniform(flat.span());
  norm.forward(flat.view(), yf);
  for (std::int64_t i = 0; i < flat.numel(); ++i) CHECK(yf[i] == (flat[i] - T(mean[i % 3])) / T(stddev[i % 3]));
  CHECK(norm.describe() == "Normalize(mean [0.4914, 0.4822, 0.4465], std [0.247, 0.2435, 0.2616])");
  CHECK(norm.parameters().empty());
}

TEST_CASE("Normalize with one mean and std applies them to every channel, as torchvision", "[normalize]") {
  Normalize<double> norm({0.5}, {0.25});
  for (Shape s : {Shape{2, 3, 4, 4}, Shape{5, 2}, Shape{7}}) {
    Tensor<double> x(s), y;
    fill_uniform(x.view(), 9, 0.0, 1.0);
    norm.forward(x.view(), y);
    REQUIRE(y.shape() == s);
    for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(y[i] == (x[i] - 0.5) / 0.25);
  }
  Tensor<double> scalar(Shape{}, 1.0), y;
  CHECK_THROWS_WITH(norm.forward(scalar.view(), y), "Normalize: input [] has no batch axis");
}

TEST_CASE("Normalize gradient matches finite differences", "[normalize][gradcheck]") {
  Normalize<double> one({0.1307}, {0.3081});
  Normalize<double> three({0.5, -0.2, 1.0}, {0.25, 2.0, 0.7});
  std::uint32_t salt = 200;
  for (Shape s : {Shape{1, 1, 1, 1}, Shape{1, 1, 5, 3}, Shape{3, 1, 4, 4}, Shape{2, 3, 2, 2}, Shape{4, 2}}) {
    Tensor<double> x(s);
    fill_uniform(x.view(), salt++, 0.0, 1.0);
    INFO(s.to_string());
    CHECK(gradcheck(one, x) < 1e-6);
  }
  for (Shape s : {Shape{1, 3}, Shape{5, 3}, Shape{1, 3, 2, 2}, Shape{2, 3, 3, 5}}) {
    Tensor<double> x(s);
    fill_uniform(x.view(), salt++, 0.0, 1.0);
    INFO(s.to_string());
    CHECK(gradcheck(three, x) < 1e-6);
  }
}

TEST_CASE("Normalize gives identical results on 1 and 2 threads", "[normalize][threads]") {
  Normalize<float> norm({0.1, 0.2, 0.3}, {0.5, 0.6, 0.7});
  Tensor<float> x(Shape{64, 3, 17, 17}), g(Shape{64, 3, 17, 17});
  RandomStream(3, Purpose::user).uniform(x.span());
  RandomStream(4, Purpose::user).normal(g.span());
  Tensor<float> y[2], gx[2];
  const int saved_threads = max_threads();
  for (int threads : {1, 2}) {
    set_threads(threads);
    norm.forward(x.view(), y[threads - 1]);
    norm.backward(x.view(), y[threads - 1].view(), g.view(), &gx[threads - 1], ParamGrads::accumulate);
  }
  set_threads(saved_threads);
  const auto bytes = sizeof(float) * std::size_t(x.numel());
  CHECK(std::memcmp(y[0].data(), y[1].data(), bytes) == 0);
  CHECK(std::memcmp(gx[0].data(), gx[1].data(), bytes) == 0);
}

TEST_CASE("Normalize rejects bad statistics and inputs", "[normalize][errors]") {
  CHECK_THROWS_WITH(Normalize<float>({0.5, 0.5}, {0.2}),
                    "Normalize: 2 means and 1 standard deviations; need one of each per channel");
  CHECK_THROWS_AS(Normalize<float>({}, {}), argument_error);
  CHECK_THROWS_WITH(Normalize<float>({0.5, 0.5}, {0.2, 0.0}),
                    "Normalize: std of channel 1 must be positive and finite, got 0");
  CHECK_THROWS_AS(Normalize<float>({0.5}, {-1.0}), argument_error);
  CHECK_THROWS_AS(Normalize<float>({0.5}, {INFINITY}), argument_error);
  CHECK_THROWS_WITH(Normalize<float>({NAN}, {1.0}), Catch::Contains("mean of channel 0 is nan"));

  Normalize<float> norm({0.1, 0.2, 0.3}, {0.5, 0.6, 0.7});
  Tensor<float> wrong(Shape{2, 1, 28, 28}, 0.0f), flat(Shape{6}, 0.0f), y;
  CHECK_THROWS_WITH(norm.forward(wrong.view(), y),
                    "Normalize: input [2, 1, 28, 28] must be [N, 3, ...] (3 channels)");
  CHECK_THROWS_AS(norm.forward(flat.view(), y), shape_error);
  Tensor<float> x(Shape{2, 3}, 0.5f), g(Shape{3, 2}, 1.0f), gx;
  norm.forward(x.view(), y);
  CHECK_THROWS_AS(norm.backward(x.view(), y.view(), g.view(), &gx, ParamGrads::accumulate), shape_error);
}
