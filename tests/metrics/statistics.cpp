#include "farbound/metrics/statistics.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

using namespace farbound;

TEST_CASE("Mean and standard error over seeds", "[statistics]") {
  const std::vector<double> v = {1, 2, 3, 4};
  const MeanError m = mean_standard_error(v);
  CHECK(m.mean == 2.5);
  // sample variance 5/3, s.e. = sqrt(5/3) / 2
  CHECK(m.standard_error == Approx(std::sqrt(5.0 / 3.0) / 2.0).epsilon(1e-15));
  CHECK(m.count == 4);
  const std::vector<double> one = {0.7};
  CHECK(mean_standard_error(one).mean == 0.7);
  CHECK(mean_standard_error(one).standard_error == 0.0);
  CHECK(std::isnan(mean_standard_error(std::vector<double>{}).mean));
}

TEST_CASE("Mean and population standard deviation, quantiles", "[statistics]") {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  const MeanStd m = mean_std(v);
  CHECK(m.mean == 5.0);
  CHECK(m.std == 2.0);
  // numpy.quantile([1, 2, 3, 4], q) with linear interpolation
  CHECK(quantile({1, 2, 3, 4}, 0.1) == Approx(1.3));
  CHECK(quantile({4, 1, 3, 2}, 0.5) == Approx(2.5));
  CHECK(quantile({1, 2, 3, 4}, 1.0) == 4.0);
  CHECK(quantile({5}, 0.3) == 5.0);
  CHECK(std::isnan(quantile({}, 0.5)));
  CHECK_THROWS_AS(quantile({1, 2}, 1.5), argument_error);
}

TEST_CASE("Histograms count the upper edge in the last bin and set outliers apart", "[statistics]") {
  const std::vector<double> v = {0.0, 0.25, 0.5, 0.99, 1.0, 1.2, -0.1, std::nan("")};
  const Histogram h = histogram(v, 4, 0.0, 1.0);
  REQUIRE(h.counts.size() == 4);
  CHECK(h.counts[0] == 1);
  CHECK(h.counts[1] == 1);
  CHECK(h.counts[2] == 1);
  CHECK(h.counts[3] == 2);
  CHECK(h.outside == 3);
  CHECK(h.bin_width() == 0.25);
  CHECK_THROWS_AS(histogram(v, 0, 0.0, 1.0), argument_error);
  CHECK_THROWS_AS(histogram(v, 3, 1.0, 1.0), argument_error);
}
