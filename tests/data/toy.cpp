#include "farbound/data/toy.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "data/bytes.hpp"
#include "data/dataset_values.hpp"

using namespace farbound;
using namespace farbound::test;

namespace {

// Mean of coordinate `d` over the items of class c.
template <class T>
double class_mean(const Dataset<T>& set, int c, std::int64_t d) {
  const std::int64_t dim = set.shape()[1];
  double sum = 0;
  int n = 0;
  for (std::int64_t i = 0; i < set.size(); ++i)
    if (set.label(i) == c) {
      sum += set.inputs()[i * dim + d];
      ++n;
    }
  return sum / n;
}

}  // namespace

TEST_CASE("Toy sets: shapes, labels, determinism, prefixes", "[toy]") {
  const auto check_family = [](auto make, std::int64_t dim, int classes, bool alternating = true) {
    const Dataset<double> a = make(101, 5), b = make(101, 5), c = make(101, 6), prefix = make(40, 5);
    CHECK(a.shape() == Shape{101, dim});
    CHECK(a.num_classes() == classes);
    for (std::int64_t i = 0; i < a.size(); ++i) REQUIRE((!alternating || a.label(i) == int(i % classes)));
    CHECK(values(a) == values(b));
    CHECK(values(a) != values(c));
    const auto va = values(a), vp = values(prefix);
    CHECK(std::equal(vp.begin(), vp.end(), va.begin()));
  };
  check_family([](std::int64_t n, std::uint64_t s) { return two_clusters<double>(n, s); }, 2, 2);
  check_family([](std::int64_t n, std::uint64_t s) { return two_moons<double>(n, s); }, 2, 2);
  check_family([](std::int64_t n, std::uint64_t s) { return concentric_circles<double>(n, s); }, 2, 2);
  check_family([](std::int64_t n, std::uint64_t s) { return gaussian_blobs<double>(n, 4, 7, s); }, 7, 4);
  check_family([](std::int64_t n, std::uint64_t s) { return relevant_features<double>(n, 10, 3, s, 0.5); }, 10, 2, false);
  // Float and double draw the same numbers.
  const std::vector<float> f = values(two_moons<float>(50, 3));
  const std::vector<double> d = values(two_moons<double>(50, 3));
  for (std::size_t k = 0; k < f.size(); ++k) REQUIRE(f[k] == float(d[k]));
}

TEST_CASE("Toy sets have the described geometry", "[toy]") {
  const Dataset<double> clusters = two_clusters<double>(4000, 1, 4.0, 0.5);
  CHECK(class_mean(clusters, 0, 0) == Approx(-2.0).margin(0.05));
  CHECK(class_mean(clusters, 1, 0) == Approx(2.0).margin(0.05));
  CHECK(class_mean(clusters, 1, 1) == Approx(0.0).margin(0.05));

  const Dataset<double> circles = concentric_circles<double>(200, 2, 0.3, 0.0);
  for (std::int64_t i = 0; i < 200; ++i)
    REQUIRE(std::hypot(circles.inputs()[2 * i], circles.inputs()[2 * i + 1]) == Approx(i % 2 == 0 ? 1.0 : 0.3));

  const Dataset<double> moons = two_moons<double>(200, 2, 0.0);
  for (std::int64_t i = 0; i < 200; ++i) {
    const double x = moons.inputs()[2 * i], y = moons.inputs()[2 * i + 1];
    if (i % 2 == 0) {
      REQUIRE(std::hypot(x, y) == Approx(1.0));
      REQUIRE(y >= 0);
    } else {
      REQUIRE(std::hypot(x - 1, y - 0.5) == Approx(1.0));
      REQUIRE(y <= 0.5);
    }
  }

  // Blobs: each class near its centre in [-10, 10]^dim, classes apart.
  const Dataset<double> blobs = gaussian_blobs<double>(3000, 3, 4, 9, 0.5);
  for (int c = 0; c < 3; ++c)
    for (int d = 0; d < 4; ++d) {
      const double m = class_mean(blobs, c, d);
      CHECK(std::abs(m) < 10.1);
      CHECK(m == Approx(blobs.inputs()[c * 4 + d]).margin(2.5));  // item c is of class c
    }
}

TEST_CASE("relevant_features: the label depends on the first n coordinates only", "[toy]") {
  const std::int64_t dim = 20, n = 4;
  const std::vector<double> w = relevant_direction(n, 17);
  double norm2 = 0;
  for (double v : w) norm2 += v * v;
  CHECK(norm2 == Approx(1.0));
  const Dataset<double> set = relevant_features<double>(500, dim, n, 17, 0.25);
  int ones = 0;
  for (std::int64_t i = 0; i < set.size(); ++i) {
    double projection = 0;
    for (std::int64_t d = 0; d < n; ++d) projection += w[std::size_t(d)] * set.inputs()[i * dim + d];
    REQUIRE(set.label(i) == (projection >= 0 ? 1 : 0));
    REQUIRE(std::abs(projection) >= 0.25 - 1e-12);
    ones += set.label(i);
  }
  CHECK(ones > 200);
  CHECK(ones < 300);
  // The noise coordinates are standard normal, unrelated to the label.
  CHECK(class_mean(set, 1, 10) == Approx(class_mean(set, 0, 10)).margin(0.3));
  CHECK(error_text<argument_error>([] { relevant_features<float>(10, 3, 4, 1); }) ==
        "relevant_features: relevant = 4 outside [1, dim = 3]");
  CHECK(error_text<argument_error>([] { gaussian_blobs<float>(10, 0, 3, 1); }) ==
        "gaussian_blobs: classes must be positive");
}
