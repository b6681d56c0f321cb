#include "farbound/nn/init.hpp"

#include <catch2/catch.hpp>

#include <cmath>

#include "support/layer_checks.hpp"

using namespace farbound;

TEST_CASE("The default bound is kaiming_uniform's with a = sqrt(5)", "[init]") {
  for (std::int64_t fan_in : {1, 25, 150, 400}) {
    const double a = std::sqrt(5.0);
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    const double kaiming_bound = std::sqrt(3.0) * gain / std::sqrt(double(fan_in));
    CHECK(default_init_bound(fan_in) == Approx(kaiming_bound).epsilon(1e-14));
  }
  CHECK(default_init_bound(25) == Approx(0.2));
  CHECK(default_init_bound(0) == 0.0);
  testing::require_error<argument_error>([] { default_init_bound(-3); }, "-3");
}

TEST_CASE("Default initialisation is uniform in the bound, keyed by seed, layer and parameter", "[init]") {
  Parameter<double> w("weight", {64, 100}), b("bias", {64});
  init_default(w, &b, 100, 7, 3);
  const double bound = 0.1;
  double sum = 0, sum_sq = 0;
  for (double v : w.value.span()) {
    REQUIRE(std::abs(v) < bound);
    sum += v;
    sum_sq += v * v;
  }
  for (double v : b.value.span()) REQUIRE(std::abs(v) < bound);
  const double n = double(w.value.numel());
  // U(-b, b): mean 0, variance b^2 / 3; 6400 draws.
  CHECK(std::abs(sum / n) < 0.005);
  CHECK(sum_sq / n == Approx(bound * bound / 3).epsilon(0.05));

  // The same key gives the same numbers; another seed, layer or parameter index others.
  Parameter<double> w2("weight", {64, 100}), b2("bias", {64});
  init_default(w2, &b2, 100, 7, 3);
  CHECK(w2.value[17] == w.value[17]);
  CHECK(b2.value[5] == b.value[5]);
  CHECK(b.value[0] != w.value[0]);
  init_default(w2, nullptr, 100, 7, 4);
  CHECK(w2.value[17] != w.value[17]);
  CHECK(b2.value[5] == b.value[5]);  // no bias given: untouched
  init_default(w2, nullptr, 100, 8, 3);
  CHECK(w2.value[17] != w.value[17]);
}

TEST_CASE("Float and double initialisations agree up to rounding", "[init]") {
  Parameter<float> wf("weight", {6, 1, 5, 5});
  Parameter<double> wd("weight", {6, 1, 5, 5});
  init_default(wf, nullptr, 25, 27432, 0);
  init_default(wd, nullptr, 25, 27432, 0);
  for (std::int64_t i = 0; i < wf.value.numel(); ++i) CHECK(wf.value[i] == float(wd.value[i]));
}
