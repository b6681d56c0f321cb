#include "farbound/theory/pair_sampler.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace farbound;

namespace {

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += e * e;
  return std::sqrt(s);
}

}  // namespace

TEST_CASE("pairs of a coordinate oracle: visible part inside delta2, invisible part inside its radius",
          "[theory][pair_sampler]") {
  CoordinateFeatures<double> g2({0, 2});
  const OraclePairSampler<double> sampler(g2, 5, {.invisible_radius = 3.0, .seed = 4});
  REQUIRE(sampler.exact());
  const double x[5] = {1, -2, 3, 0.5, 7};
  const int draws = 20000;
  const double delta2 = 0.25;
  int inner_visible = 0, inner_invisible = 0;
  double mean[5] = {0, 0, 0, 0, 0};
  for (int k = 0; k < draws; ++k) {
    double xp[5];
    sampler.draw(x, 3, std::uint32_t(k), delta2, xp);
    const std::vector<double> visible{xp[0] - x[0], xp[2] - x[2]};
    const std::vector<double> invisible{xp[1] - x[1], xp[3] - x[3], xp[4] - x[4]};
    REQUIRE(norm(visible) < delta2);
    REQUIRE(norm(invisible) <= 3.0);
    inner_visible += norm(visible) < delta2 / 2;
    inner_invisible += norm(invisible) < 1.5;
    for (int j = 0; j < 5; ++j) mean[j] += (xp[j] - x[j]) / draws;
  }
  // Uniform in a k-ball: P(|v| < R/2) = 2^-k (k = 2 visible, 3 invisible); 4-sigma bands.
  CHECK(std::abs(inner_visible / double(draws) - 0.25) < 4 * std::sqrt(0.25 * 0.75 / draws));
  CHECK(std::abs(inner_invisible / double(draws) - 0.125) < 4 * std::sqrt(0.125 * 0.875 / draws));
  for (int j = 0; j < 5; ++j) CHECK(std::abs(mean[j]) < 0.05);
}

TEST_CASE("pairs of a general projection move P x by less than delta2", "[theory][pair_sampler]") {
  LinearFeatures<double> g2(2, 4, {1, 2, 0, -1, 0, 3, 1, 1});
  const OraclePairSampler<double> sampler(g2, 4, {.invisible_radius = 0.5, .seed = 1});
  const auto& g = *sampler.geometry();
  const double x[4] = {0.3, -1, 2, 4};
  for (std::uint32_t k = 0; k < 2000; ++k) {
    double xp[4];
    sampler.draw(x, 0, k, 0.1, xp);
    Eigen::Vector4d v;
    for (int j = 0; j < 4; ++j) v(j) = xp[j] - x[j];
    REQUIRE((g2.matrix() * v).norm() < 0.1);
    REQUIRE((g.invisible.transpose() * v).norm() <= 0.5 + 1e-12);
  }
}

TEST_CASE("draws are keyed by (seed, item, draw) and scale with delta2", "[theory][pair_sampler]") {
  CoordinateFeatures<double> g2({0});
  const OraclePairSampler<double> sampler(g2, 3, {.invisible_radius = 2.0, .seed = 9});
  const double x[3] = {1, 2, 3};
  double a[3], b[3], c[3], other[3];
  sampler.draw(x, 5, 7, 0.1, a);
  sampler.draw(x, 5, 7, 0.1, b);
  sampler.draw(x, 5, 7, 0.4, c);
  sampler.draw(x, 5, 8, 0.1, other);
  for (int j = 0; j < 3; ++j) CHECK(a[j] == b[j]);
  // Common random numbers: the visible move is 4x as long, the invisible one the same.
  CHECK((c[0] - x[0]) == Approx(4 * (a[0] - x[0])).epsilon(1e-12));
  CHECK(c[1] == a[1]);
  CHECK(c[2] == a[2]);
  CHECK(other[0] != a[0]);
  const OraclePairSampler<double> reseeded(g2, 3, {.invisible_radius = 2.0, .seed = 10});
  reseeded.draw(x, 5, 7, 0.1, b);
  CHECK(b[0] != a[0]);
}

TEST_CASE("an oracle without geometry gets input-ball proposals", "[theory][pair_sampler]") {
  FunctionFeatures<float> g2("sum", [](TensorView<const float> x, Tensor<float>& out) { out.resize({x.size(0), 1}); });
  const OraclePairSampler<float> sampler(g2, 4, {.proposal_radius = 0.7, .seed = 2});
  CHECK_FALSE(sampler.exact());
  const float x[4] = {0, 1, 2, 3};
  int inner = 0;
  for (std::uint32_t k = 0; k < 4000; ++k) {
    float xp[4];
    sampler.draw(x, 1, k, 1e-3, xp);  // delta2 does not shape the proposal
    std::vector<double> v(4);
    for (int j = 0; j < 4; ++j) v[std::size_t(j)] = double(xp[j]) - double(x[j]);
    REQUIRE(norm(v) <= 0.7 + 1e-5);
    inner += norm(v) < 0.35;
  }
  CHECK(std::abs(inner / 4000.0 - 1.0 / 16) < 4 * std::sqrt((1.0 / 16) * (15.0 / 16) / 4000));
}

TEST_CASE("the pair sampler rejects bad radii", "[theory][pair_sampler][errors]") {
  IdentityFeatures<double> g2;
  CHECK_THROWS_AS(OraclePairSampler<double>(g2, 3, {.invisible_radius = -1}), argument_error);
  CHECK_THROWS_AS(OraclePairSampler<double>(g2, 3, {.proposal_radius = std::nan("")}), argument_error);
  CHECK_THROWS_AS(OraclePairSampler<double>(g2, 0, {}), argument_error);
  CHECK_THROWS_AS(OraclePairSampler<double>::require_delta2(0, "test"), argument_error);
  CHECK_THROWS_AS(OraclePairSampler<double>::require_delta2(INFINITY, "test"), argument_error);
  CoordinateFeatures<double> coords({4});
  CHECK_THROWS_AS(OraclePairSampler<double>(coords, 3, {}), shape_error);
}
