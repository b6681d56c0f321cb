#include "farbound/regularize/jacobian.hpp"

#include <catch2/catch.hpp>

#include "support/gradcheck.hpp"

using namespace farbound;

TEST_CASE("jacobian_penalty matches its formula and finite differences", "[jacobian]") {
  for (std::int64_t k : {1, 3}) {
    const std::int64_t b = 3, c = 4;
    Tensor<double> za({b, c}), zn({b * k, c});
    testing::fill_uniform(za.view(), 1, -2, 2);
    testing::fill_uniform(zn.view(), 2, -2, 2);
    const double sigma = 0.3, lambda = 2.0;
    auto value = [&]() {
      Tensor<double> ga({b, c}, 0.0), gn({b * k, c}, 0.0);
      return jacobian_penalty<double>(za.view(), zn.view(), sigma, lambda, ga.view(), gn.view());
    };
    double expected = 0;
    for (std::int64_t i = 0; i < b; ++i)
      for (std::int64_t j = 0; j < k; ++j)
        for (std::int64_t m = 0; m < c; ++m) {
          const double d = zn[(i * k + j) * c + m] - za[i * c + m];
          expected += d * d / (2.0 * double(k) * sigma * sigma * double(b));
        }
    CHECK(value() == Approx(expected).epsilon(1e-12));

    Tensor<double> ga({b, c}, 0.0), gn({b * k, c}, 0.0);
    jacobian_penalty<double>(za.view(), zn.view(), sigma, lambda, ga.view(), gn.view());
    const double h = 1e-6;
    auto check = [&](Tensor<double>& z, const Tensor<double>& g) {
      for (std::int64_t i = 0; i < z.numel(); ++i) {
        const double saved = z[i];
        z[i] = saved + h;
        const double up = lambda * value();
        z[i] = saved - h;
        const double down = lambda * value();
        z[i] = saved;
        CHECK(testing::relative_error(g[i], (up - down) / (2 * h)) < 1e-6);
      }
    };
    check(za, ga);
    check(zn, gn);
  }
}

TEST_CASE("jacobian_penalty rejects bad shapes and sigma", "[jacobian][errors]") {
  Tensor<double> za({2, 3}, 0.0), zn({3, 3}, 0.0), ga({2, 3}, 0.0), gn({3, 3}, 0.0);
  CHECK_THROWS_AS(jacobian_penalty<double>(za.view(), zn.view(), 0.1, 1, ga.view(), gn.view()), shape_error);
  Tensor<double> zn2({4, 3}, 0.0), gn2({4, 3}, 0.0);
  CHECK_THROWS_AS(jacobian_penalty<double>(za.view(), zn2.view(), 0.0, 1, ga.view(), gn2.view()), argument_error);
}
