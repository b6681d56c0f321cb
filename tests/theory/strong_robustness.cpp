#include "farbound/theory/strong_robustness.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <vector>

#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;

namespace {

// The oracle of these tests: f2(x) = [x0 >= 0], seeing x0 only (x1 is invisible to it).
struct FirstCoordinateOracle {
  CoordinateFeatures<double> g2{std::vector<std::int64_t>{0}};
  Oracle<double> f2{g2, halfspace_decision<double>({1.0})};
};

// f1(x) = [x1 > t]: the classifier decides by the feature the oracle cannot see.
Sequential<double> invisible_rule(double t) { return affine_classifier<double>(2, {0, 0, 0, 1}, {0, -t}); }

// Items with |x0| >= 1 (no visible move below delta2 = 1 changes f2) and x1 spread around t.
Tensor<double> items_around(double t, std::int64_t n) {
  Tensor<double> x({n, 2});
  for (std::int64_t i = 0; i < n; ++i) {
    x[2 * i] = (i % 2 ? 1.0 : -1.0) * (1.0 + 0.1 * double(i));
    x[2 * i + 1] = t - 1.7 + 3.4 * (double(i) + 0.5) / double(n);
  }
  return x;
}

// eta of f1 = [x1 > t] under the sampler: x1 moves by b ~ U(-s, s), so item i flips with
// probability max(0, s - |x1_i - t|) / (2 s); every draw is a pair (f2 never changes).
double invisible_rule_eta(const Tensor<double>& x, double t, double s) {
  double sum = 0;
  for (std::int64_t i = 0; i < x.size(0); ++i) sum += std::max(0.0, s - std::abs(x[2 * i + 1] - t)) / (2 * s);
  return sum / double(x.size(0));
}

}  // namespace

TEST_CASE("eta-hat of an invisible-feature rule matches its closed form at every delta2", "[theory][strong_robustness]") {
  FirstCoordinateOracle oracle;
  const double t = 0.4, s = 1.0;
  auto model = invisible_rule(t);
  const Tensor<double> x = items_around(t, 20);
  const double eta = invisible_rule_eta(x, t, s);
  REQUIRE(eta > 0.1);
  EtaEstimator<double> estimator(model, oracle.f2, {.draws_per_item = 3000, .pairs = {.invisible_radius = s, .seed = 3}});
  std::int64_t first_flips = -1;
  for (double delta2 : {0.5, 0.05, 0.005}) {
    const EtaEstimate e = estimator.sample(x.view(), delta2);
    CAPTURE(delta2, e.eta, eta);
    CHECK(e.delta2 == delta2);
    CHECK(e.draws == 60000);
    CHECK(e.pairs == e.draws);
    CHECK(std::abs(e.eta - eta) < 4 * std::sqrt(eta * (1 - eta) / double(e.pairs)));
    CHECK(e.interval.contains(eta));
    CHECK(e.interval.lower > 0.1);  // the theorem: eta stays away from 0 as delta2 shrinks
    // Common random numbers: the invisible moves, hence the flips, do not depend on delta2.
    if (first_flips >= 0) CHECK(e.flips == first_flips);
    first_flips = e.flips;
  }
}

TEST_CASE("eta-hat conditions on the oracle's label", "[theory][strong_robustness]") {
  // f1 = [x0 > 0.3], f2 = [x0 >= 0], one item at x0 = 0.5, delta2 = 1: x0' ~ U(-0.5, 1.5);
  // the pairs are the draws with x0' >= 0 (3/4 of them), and f1 flips on x0' < 0.3:
  // eta = 0.3 / 1.5 = 0.2.
  FirstCoordinateOracle oracle;
  auto model = affine_classifier<double>(2, {0, 0, 1, 0}, {0, -0.3});
  Tensor<double> x({1, 2});
  x[0] = 0.5;
  x[1] = 0;
  EtaEstimator<double> estimator(model, oracle.f2, {.draws_per_item = 40000, .pairs = {.seed = 8}});
  const EtaEstimate e = estimator.sample(x.view(), 1.0);
  CHECK(std::abs(double(e.pairs) / double(e.draws) - 0.75) < 4 * std::sqrt(0.75 * 0.25 / 40000));
  CHECK(std::abs(e.eta - 0.2) < 4 * std::sqrt(0.2 * 0.8 / double(e.pairs)));
  CHECK(e.interval.contains(0.2));

  // Below the item's distance to f1's boundary (0.2) nothing can flip.
  const EtaEstimate small = estimator.sample(x.view(), 0.19);
  CHECK(small.flips == 0);
  CHECK(small.eta == 0);
  CHECK(small.interval.lower == 0);
  CHECK(small.interval.upper < 1e-4);
}

TEST_CASE("the Clopper-Pearson interval of eta-hat covers eta", "[theory][strong_robustness]") {
  FirstCoordinateOracle oracle;
  const double t = -0.2, s = 0.8;
  auto model = invisible_rule(t);
  const Tensor<double> x = items_around(t, 20);
  const double eta = invisible_rule_eta(x, t, s);
  int misses = 0;
  const int runs = 60;
  for (int seed = 0; seed < runs; ++seed) {
    EtaEstimator<double> estimator(model, oracle.f2,
                                   {.draws_per_item = 10, .pairs = {.invisible_radius = s, .seed = std::uint64_t(seed)}});
    misses += !estimator.sample(x.view(), 0.1).interval.contains(eta);
  }
  // At level 0.95 misses ~ Bin(60, <= 0.05): more than 8 has probability below 0.5%.
  CHECK(misses <= 8);
}

TEST_CASE("the invisible attack gives the worst-case eta in closed form", "[theory][strong_robustness]") {
  FirstCoordinateOracle oracle;
  const double t = 0.4, s = 1.0;
  auto model = invisible_rule(t);
  const Tensor<double> x = items_around(t, 20);
  std::int64_t reachable = 0;
  for (std::int64_t i = 0; i < 20; ++i) reachable += std::abs(x[2 * i + 1] - t) < s;
  EtaEstimator<double> estimator(model, oracle.f2);
  const EtaEstimate e = estimator.invisible_attack(x.view(), {.radius = s});
  CHECK(e.draws == 20);
  CHECK(e.pairs == 20);
  CHECK(e.flips == reachable);
  CHECK(e.delta2 == 0);  // the oracle saw nothing move
  CHECK(e.interval.contains(double(reachable) / 20));

  // A classifier that agrees with the oracle has nothing the attack can use.
  auto agreeing = affine_classifier<double>(2, {0, 0, 1, 0}, {0, 0});
  EtaEstimator<double> robust(agreeing, oracle.f2);
  CHECK(robust.invisible_attack(x.view(), {.radius = 10}).flips == 0);
  CHECK(robust.sample(x.view(), 0.5).flips == 0);
}

TEST_CASE("an oracle without geometry is sampled by rejection", "[theory][strong_robustness]") {
  // g2(x) = x0 written as a function: the sampler proposes x' in the unit disc around x and
  // keeps |x0' - x0| < delta2 = 1/2, a strip holding (sqrt(3)/2 + pi/3) / pi of the disc.
  FunctionFeatures<double> g2("x0", [](TensorView<const double> x, Tensor<double>& out) {
    out.resize({x.size(0), 1});
    for (std::int64_t i = 0; i < x.size(0); ++i) out[i] = x[2 * i];
  });
  Oracle<double> f2(g2, halfspace_decision<double>({1.0}));
  auto model = invisible_rule(0.0);
  Tensor<double> x({2, 2});
  x[0] = 5, x[1] = 3, x[2] = -5, x[3] = -3;  // f1 can never flip within the unit disc
  EtaEstimator<double> estimator(model, f2, {.draws_per_item = 20000, .pairs = {.proposal_radius = 1.0, .seed = 5}});
  const EtaEstimate e = estimator.sample(x.view(), 0.5);
  const double strip = (std::sqrt(3.0) / 2 + std::numbers::pi / 3) / std::numbers::pi;
  CHECK(std::abs(double(e.pairs) / double(e.draws) - strip) < 4 * std::sqrt(strip * (1 - strip) / 40000));
  CHECK(e.flips == 0);
  CHECK_THROWS_AS(estimator.invisible_attack(x.view(), {}), argument_error);
}

TEST_CASE("eta-hat does not depend on the thread count or the batch size", "[theory][strong_robustness]") {
  FirstCoordinateOracle oracle;
  auto model = invisible_rule(0.1);
  const Tensor<double> x = items_around(0.1, 33);
  const int threads = max_threads();
  EtaEstimate e[3];
  for (int run = 0; run < 3; ++run) {
    set_threads(run == 0 ? 1 : 2);
    EtaEstimator<double> estimator(model, oracle.f2,
                                   {.draws_per_item = 37, .pairs = {.seed = 2}, .batch_size = run == 2 ? 50 : 4096});
    e[run] = estimator.sample(x.view(), 0.3);
  }
  set_threads(threads);
  for (int run = 1; run < 3; ++run) {
    CHECK(e[run].pairs == e[0].pairs);
    CHECK(e[run].flips == e[0].flips);
  }
}

TEST_CASE("the eta estimator rejects bad options and radii", "[theory][strong_robustness][errors]") {
  FirstCoordinateOracle oracle;
  auto model = invisible_rule(0);
  CHECK_THROWS_AS(EtaEstimator<double>(model, oracle.f2, {.draws_per_item = 0}), argument_error);
  CHECK_THROWS_AS(EtaEstimator<double>(model, oracle.f2, {.confidence = 1.5}), argument_error);
  CHECK_THROWS_AS(EtaEstimator<double>(model, oracle.f2, {.batch_size = 0}), argument_error);
  EtaEstimator<double> estimator(model, oracle.f2);
  const Tensor<double> x = items_around(0, 4);
  CHECK_THROWS_AS(estimator.sample(x.view(), 0), argument_error);
  CHECK_THROWS_AS(estimator.sample(x.view(), -1), argument_error);
  CHECK_THROWS_AS(estimator.sample(Tensor<double>({4, 3}, 0.0).view(), 0.1), shape_error);
}
