#include "farbound/sampling/neighbours.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace farbound;

namespace {

Tensor<float> random_anchors(std::int64_t b, std::int64_t item) {
  Tensor<float> t({b, item});
  RandomStream(3, Purpose::data).uniform(t.span());
  return t;
}

}  // namespace

TEST_CASE("Neighbours are anchors plus noise of the requested size, with r their squared distance", "[neighbours]") {
  const std::int64_t B = 6, K = 3, D = 2000;
  const double sigma = 0.005;
  const Neighbours near(K, GaussianNoise(sigma), 8);
  const auto anchors = random_anchors(B, D);
  const std::vector<std::uint32_t> ids = {0, 4, 9, 100, 101, 7};
  Tensor<float> out({B * K, D}), r({B * K});
  near.fill(2, ids, anchors.view(), out.view(), r.view());
  double sum = 0, squares = 0;
  for (std::int64_t i = 0; i < B; ++i)
    for (std::int64_t k = 0; k < K; ++k) {
      double dist = 0;
      for (std::int64_t p = 0; p < D; ++p) {
        const double d = double(out[(i * K + k) * D + p]) - double(anchors[i * D + p]);
        dist += d * d;
        sum += d;
        squares += d * d;
      }
      // r is the distance between the stored values, not the requested noise.
      CHECK(r[i * K + k] == float(dist));
      CHECK(dist / double(D) == Approx(sigma * sigma).epsilon(0.1));
    }
  const double n = double(B * K * D);
  CHECK(sum / n == Approx(0.0).margin(sigma * 0.01));
  CHECK(std::sqrt(squares / n) == Approx(sigma).epsilon(0.01));
}

TEST_CASE("r uses the element type's values: float neighbours of large coordinates", "[neighbours]") {
  // At 1000 the float spacing is 6e-5, comparable to sigma: the stored noise differs from
  // the drawn noise, and r must follow the stored values.
  Tensor<float> anchors({1, 64}, 1000.0f), out({2, 64}), r({2});
  const std::vector<std::uint32_t> ids = {3};
  Neighbours(2, GaussianNoise(1e-4), 1).fill(0, ids, anchors.view(), out.view(), r.view());
  for (std::int64_t k = 0; k < 2; ++k) {
    double dist = 0;
    for (std::int64_t p = 0; p < 64; ++p) {
      const double d = double(out[k * 64 + p]) - 1000.0;
      REQUIRE(std::fmod(std::abs(d), 0x1p-14) == 0.0);  // a multiple of the float spacing at 1000
      dist += d * d;
    }
    CHECK(r[k] == float(dist));
  }
}

TEST_CASE("A neighbour depends on its anchor id and index only", "[neighbours]") {
  const Neighbours near(2, BallNoise(0.1), 4);
  Tensor<double> anchors({3, 10}, 0.5), out({6, 10}), r({6});
  const std::vector<std::uint32_t> ids = {42, 7, 42};
  near.fill(1, ids, anchors.view(), out.view(), r.view());
  // Anchors 0 and 2 share id and position: same neighbours; anchor 1 differs.
  for (std::int64_t p = 0; p < 20; ++p) CHECK(out[p] == out[40 + p]);
  CHECK(out[0] != out[20]);
  // Alone in a batch of one, anchor 7 gets the same two neighbours.
  Tensor<double> one({1, 10}, 0.5), out1({2, 10}), r1({2});
  const std::vector<std::uint32_t> seven = {7};
  near.fill(1, seven, one.view(), out1.view(), r1.view());
  for (std::int64_t p = 0; p < 20; ++p) CHECK(out1[p] == out[20 + p]);
  CHECK(r1[0] == r[2]);
  // Each neighbour lies in the ball: r <= radius^2.
  for (std::int64_t j = 0; j < 6; ++j) CHECK(r[j] <= 0.01 * (1 + 1e-12));
  // Another epoch, other neighbours.
  near.fill(2, seven, one.view(), out1.view(), r1.view());
  CHECK(out1[0] != out[20]);
}

TEST_CASE("K = 0 gives no neighbours", "[neighbours]") {
  Tensor<float> anchors({2, 5}, 0.0f), out({0, 5}), r({0});
  const std::vector<std::uint32_t> ids = {0, 1};
  CHECK_NOTHROW(Neighbours(0, GaussianNoise(0.1), 1).fill(0, ids, anchors.view(), out.view(), r.view()));
}

TEST_CASE("Neighbours reject bad arguments and shapes", "[neighbours][errors]") {
  CHECK_THROWS_AS(Neighbours(-1, GaussianNoise(0.1), 1), argument_error);
  CHECK_THROWS_WITH(Neighbours(-2, GaussianNoise(0.1), 1), Catch::Contains("-2"));
  CHECK_THROWS_AS(Neighbours(1, GaussianNoise(-0.1), 1), argument_error);
  const Neighbours near(2, GaussianNoise(0.1), 1);
  Tensor<float> anchors({2, 5}), out({4, 5}), r({4}), bad_out({4, 6}), bad_r({3});
  const std::vector<std::uint32_t> ids = {0, 1}, three = {0, 1, 2};
  CHECK_THROWS_WITH(near.fill(0, ids, anchors.view(), bad_out.view(), r.view()),
                    Catch::Contains("[4, 6]") && Catch::Contains("[4, 5]") && Catch::Contains("[2, 5]"));
  CHECK_THROWS_AS(near.fill(0, ids, anchors.view(), out.view(), bad_r.view()), shape_error);
  CHECK_THROWS_AS(near.fill(0, three, anchors.view(), out.view(), r.view()), shape_error);
}
