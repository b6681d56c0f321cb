#include "farbound/theory/topology.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "farbound/core/random.hpp"

using namespace farbound;

namespace {

Tensor<double> points(std::int64_t n, std::int64_t d) {
  Tensor<double> x({n, d});
  RandomStream(3, Purpose::user, 0).normal(x.span());
  return x;
}

}  // namespace

TEST_CASE("the ratio summary of given distances", "[theory][topology]") {
  const std::vector<double> d1{1, 0, 3, 0}, d2{2, 0.5, 0, 0};
  const DistanceRatios r = summarize_distance_pairs(d1, d2, 0.7);
  CHECK(r.radius == 0.7);
  CHECK(r.pairs == 4);
  CHECK(r.max_d1 == 3);
  CHECK(r.max_d2 == 2);
  CHECK(r.max_d1_over_d2 == std::numeric_limits<double>::infinity());  // d2' = 0 < d1' = 3
  CHECK(r.max_d2_over_d1 == std::numeric_limits<double>::infinity());  // d1' = 0 < d2' = 0.5
  const DistanceRatios finite = summarize_distance_pairs(std::vector<double>{1, 4}, std::vector<double>{2, 2});
  CHECK(finite.max_d1_over_d2 == 2);
  CHECK(finite.max_d2_over_d1 == 2);
  CHECK_THROWS_AS(summarize_distance_pairs(std::vector<double>{1}, std::vector<double>{}), shape_error);
}

TEST_CASE("distance ratios on given pairs", "[theory][topology]") {
  IdentityFeatures<double> g1;
  CoordinateFeatures<double> g2({0});
  Pseudometric<double> d1(g1), d2(g2);
  Tensor<double> x({2, 2}, 0.0), xp({2, 2});
  xp[0] = 3, xp[1] = 4, xp[2] = 0, xp[3] = 1;
  const DistanceRatios r = distance_ratios<double>(d1, d2, x.view(), xp.view());
  CHECK(r.max_d1 == 5);
  CHECK(r.max_d2 == 3);
  CHECK(r.max_d1_over_d2 == std::numeric_limits<double>::infinity());  // the second pair: invisible move
  CHECK(r.max_d2_over_d1 == Approx(0.6));
}

TEST_CASE("the same features give ratio 1 at every radius", "[theory][topology]") {
  CoordinateFeatures<double> g1({0, 1}), g2({0, 1});
  const Tensor<double> x = points(10, 4);
  const std::vector<double> radii{1, 0.1, 0.01};
  const auto rows = compare_topologies<double>(g1, g2, x.view(), radii, 20, {.invisible_radius = 2, .seed = 1});
  REQUIRE(rows.size() == 3);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].radius == radii[i]);
    CHECK(rows[i].pairs == 200);
    CHECK(rows[i].max_d1_over_d2 == Approx(1).epsilon(1e-12));
    CHECK(rows[i].max_d2_over_d1 == Approx(1).epsilon(1e-12));
    CHECK(rows[i].max_d2 < radii[i]);
  }
}

TEST_CASE("a feature the oracle cannot see keeps d1' large as d2' shrinks", "[theory][topology]") {
  // Oracle: x0 only. Classifier features: (x0, x1), so x1 is an unnecessary feature.
  IdentityFeatures<double> sees_all;
  CoordinateFeatures<double> oracle({0});
  const Tensor<double> x = points(10, 2);
  const std::vector<double> radii{1, 0.1, 0.01, 0.001};
  const auto rows = compare_topologies<double>(sees_all, oracle, x.view(), radii, 50, {.invisible_radius = 1, .seed = 2});
  for (const DistanceRatios& r : rows) {
    CAPTURE(r.radius);
    CHECK(r.max_d1 > 0.9);                       // the invisible move of up to 1 stays
    CHECK(r.max_d1_over_d2 > 0.9 / r.radius);    // so the ratio grows like 1 / delta2
    CHECK(r.max_d2_over_d1 <= 1 + 1e-12);        // d2' never exceeds d1' here
  }
  // The other way round (a classifier that sees a subset of what the oracle sees):
  // d1' <= d2', so d1' shrinks with the radius.
  const auto fine = compare_topologies<double>(oracle, sees_all, x.view(), radii, 50, {.seed = 2});
  for (const DistanceRatios& r : fine) {
    CHECK(r.max_d1 < r.radius);
    CHECK(r.max_d1_over_d2 <= 1 + 1e-12);
  }
}

TEST_CASE("an oracle without geometry is compared on the draws inside the radius", "[theory][topology]") {
  FunctionFeatures<double> g2("x0", [](TensorView<const double> x, Tensor<double>& out) {
    out.resize({x.size(0), 1});
    for (std::int64_t i = 0; i < x.size(0); ++i) out[i] = x[2 * i];
  });
  IdentityFeatures<double> g1;
  const Tensor<double> x = points(5, 2);
  const std::vector<double> radii{0.5, 0.05};
  const auto rows = compare_topologies<double>(g1, g2, x.view(), radii, 400, {.proposal_radius = 1, .seed = 4});
  CHECK(rows[0].pairs > rows[1].pairs);
  CHECK(rows[1].pairs > 0);
  for (const DistanceRatios& r : rows) CHECK(r.max_d2 < r.radius);
  CHECK(rows[1].max_d1 > 0.5);  // the proposal's x1 move is not limited by the radius
}

TEST_CASE("compare_topologies rejects bad arguments", "[theory][topology][errors]") {
  IdentityFeatures<double> g;
  const Tensor<double> x = points(3, 2);
  const std::vector<double> bad{0.1, 0}, good{0.1};
  CHECK_THROWS_AS(compare_topologies<double>(g, g, x.view(), bad, 4), argument_error);
  CHECK_THROWS_AS(compare_topologies<double>(g, g, x.view(), good, 0), argument_error);
  CHECK_THROWS_AS(compare_topologies<double>(g, g, Tensor<double>({0, 2}).view(), good, 4), shape_error);
}
