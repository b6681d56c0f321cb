#include "farbound/metrics/boundary_distance.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::small_conv_net;
using testing::test_images;

TEST_CASE("Boundary distance on an affine classifier is |w.x + b| / ||w||_*", "[boundary_distance]") {
  // Two classes, w = w1 - w0 = (0.5, -1, 2, 0.25), b = b1 - b0 = -0.4.
  const double w[] = {0.5, -1, 2, 0.25};
  auto model = affine_classifier<double>(4, {0, 0, 0, 0, 0.5, -1, 2, 0.25}, {0.1, -0.3});
  Tensor<double> x({5, 4});
  const double v[] = {0.5,  0.5, 0.5, 0.5,  0.2,  0.6, 0.3,  0.4, 0.7, 0.3,
                      0.25, 0.6, 0.4, 0.45, 0.35, 0.5, 0.55, 0.5, 0.3, 0.45};
  for (int i = 0; i < 20; ++i) x[i] = v[i];
  for (Norm norm : {Norm::l2, Norm::linf}) {
    DeepFool<double> deepfool({.norm = norm});
    const auto d = boundary_distance(model, deepfool, x.view(), {.bisection_steps = 40, .batch_size = 2});
    CHECK(d.norm == norm);
    for (std::int64_t i = 0; i < 5; ++i) {
      double margin = -0.4, l2 = 0, l1 = 0;
      for (int j = 0; j < 4; ++j) {
        margin += w[j] * x[i * 4 + j];
        l2 += w[j] * w[j];
        l1 += std::abs(w[j]);
      }
      const double expected = std::abs(margin) / (norm == Norm::l2 ? std::sqrt(l2) : l1);
      INFO(to_string(norm) << " item " << i);
      CHECK(d.found[std::size_t(i)] == 1);
      // t_hi lies on the far side of the crossing, within 2^-40 of the segment.
      CHECK(d.distance[std::size_t(i)] >= expected * (1 - 1e-12));
      CHECK(d.distance[std::size_t(i)] == Approx(expected).epsilon(1e-9));
    }
    const DistanceSummary s = summarize(d);
    CHECK(s.found == 5);
    CHECK(s.min <= s.median);
    CHECK(s.median <= s.max);
  }
}

TEST_CASE("Boundary distance is infinite where no other class is found", "[boundary_distance]") {
  auto flat = affine_classifier<double>(2, {0, 0, 0, 0}, {0, 0});
  const Tensor<double> x({3, 2}, 0.5);
  DeepFool<double> deepfool;
  const auto d = boundary_distance(flat, deepfool, x.view());
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(d.found[i] == 0);
    CHECK(d.distance[i] == std::numeric_limits<double>::infinity());
  }
  CHECK(summarize(d).found == 0);
}

TEST_CASE("Boundary distance on a conv net: the point at the distance changes the class", "[boundary_distance]") {
  auto model = small_conv_net<float>(4);
  const auto x = test_images<float>(12, 22);
  DeepFool<float> deepfool;
  const auto d = boundary_distance(model, deepfool, x.view(), {.bisection_steps = 25});
  int found = 0;
  for (std::size_t i = 0; i < 12; ++i) {
    found += d.found[i];
    if (d.found[i]) CHECK(d.distance[i] > 0);
  }
  CHECK(found >= 10);
  CHECK_THROWS_AS(boundary_distance(model, deepfool, x.view(), {.bisection_steps = -1}), argument_error);
  CHECK_THROWS_AS(boundary_distance(model, deepfool, x.view(), {.batch_size = 0}), argument_error);
}
