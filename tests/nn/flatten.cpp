#include "farbound/nn/flatten.hpp"

#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"
#include "support/layer_checks.hpp"

using namespace farbound;
using testing::random_tensor;

TEST_CASE("Flatten keeps the row-major order", "[flatten]") {
  Flatten<double> flatten;
  const auto x = random_tensor<double>({2, 3, 2, 2}, 1);
  Tensor<double> y, dx;
  flatten.forward(x.view(), y);
  REQUIRE(y.shape() == Shape{2, 12});
  for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(y[i] == x[i]);
  flatten.backward(x.view(), y.view(), y.view(), &dx, ParamGrads::accumulate);
  REQUIRE(dx.shape() == x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(dx[i] == x[i]);
  auto x1 = random_tensor<double>({1, 5}, 2);
  CHECK(testing::gradcheck(flatten, x1) < 1e-9);
}

TEST_CASE("Flatten rejects inputs without a batch axis or items", "[flatten]") {
  using testing::require_error;
  Flatten<float> flatten;
  Tensor<float> y;
  require_error<shape_error>([&] { flatten.forward(Tensor<float>({7}).view(), y); }, "[7]");
  require_error<shape_error>([&] { flatten.forward(Tensor<float>({0, 3}).view(), y); }, "[0, 3]");
  require_error<shape_error>([&] { flatten.forward(Tensor<float>({2, 0, 3}).view(), y); }, "[2, 0, 3]");
  const Tensor<float> x({2, 3, 4}, 1.0f);
  flatten.forward(x.view(), y);
  Tensor<float> dx;
  require_error<shape_error>(
      [&] { flatten.backward(x.view(), y.view(), Tensor<float>({2, 3, 4}).view(), &dx, ParamGrads::accumulate); },
      "[2, 12]");
}
