#include "farbound/theory/pseudometric.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace farbound;

TEMPLATE_TEST_CASE("d' is the feature distance, blind to what g ignores", "[theory][pseudometric]", float, double) {
  using T = TestType;
  Tensor<T> a({3, 3}), b({3, 3});
  const double av[] = {0, 0, 0, 1, 2, 3, -1, 0, 5};
  const double bv[] = {3, 4, 9, 1, 2, -7, 2, 4, 5};
  for (int i = 0; i < 9; ++i) {
    a[i] = T(av[i]);
    b[i] = T(bv[i]);
  }
  CoordinateFeatures<T> first_two({0, 1});
  Pseudometric<T> d(first_two);
  std::vector<double> out;
  d.distances(a.view(), b.view(), out);
  REQUIRE(out.size() == 3);
  CHECK(out[0] == Approx(5));  // the third coordinate is invisible
  CHECK(out[1] == 0);          // x != x' yet d' = 0: only a pseudometric
  CHECK(out[2] == Approx(5));

  IdentityFeatures<T> all;
  Pseudometric<T> full(all);
  full.distances(a.view(), b.view(), out);
  CHECK(out[0] == Approx(std::sqrt(9 + 16 + 81.0)));
  CHECK(out[1] == Approx(10));
  // Symmetric, and 0 on the diagonal.
  std::vector<double> back, same;
  full.distances(b.view(), a.view(), back);
  full.distances(a.view(), a.view(), same);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back[i] == out[i]);
    CHECK(same[i] == 0);
  }
  CHECK(&d.features() == &first_two);
}

TEST_CASE("d' rejects batches of different shapes", "[theory][pseudometric][errors]") {
  IdentityFeatures<double> g;
  Pseudometric<double> d(g);
  std::vector<double> out;
  CHECK_THROWS_AS(d.distances(Tensor<double>({2, 3}).view(), Tensor<double>({3, 3}).view(), out), shape_error);
  CHECK_THROWS_AS(feature_distances<double>(Tensor<double>({2, 3}).view(), Tensor<double>({2, 2}).view(), out),
                  shape_error);
}
