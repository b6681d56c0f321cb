#include "farbound/theory/invisible_attack.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::normal_points;
using testing::predictions;

TEMPLATE_TEST_CASE("the invisible attack flips exactly the items within reach along the oracle's blind spots",
                   "[theory][invisible_attack]", float, double) {
  using T = TestType;
  // Two classes, margin m(x) = w . x + 0.3 with w = (1, -0.5, 0.8); the oracle sees x0 + x1,
  // so it is blind to (1, -1, 0)/sqrt 2 and (0, 0, 1): m can change by s ||N^T w|| there.
  auto model = affine_classifier<T>(3, {0, 0, 0, 1, -0.5, 0.8}, {0, 0.3});
  LinearFeatures<T> g2(1, 3, {1, 1, 0});
  const double s = 1.5;
  const double reach = s * std::sqrt(std::pow((1 - (-0.5)) / std::sqrt(2.0), 2) + 0.8 * 0.8);
  const Tensor<T> x = normal_points<T>(200, 3, 77, 1);
  const std::vector<int> y = predictions(model, x);

  InvisibleAttack<T> attack(*g2.geometry(3), {.radius = s, .steps = 60});
  Tensor<T> x_adv;
  attack.run(model, x.view(), y, x_adv);
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-11;
  int checked = 0, flipped = 0;
  for (std::int64_t i = 0; i < 200; ++i) {
    const double m = double(x[i * 3]) - 0.5 * double(x[i * 3 + 1]) + 0.8 * double(x[i * 3 + 2]) + 0.3;
    // The oracle's feature is unchanged and the move stays within the radius.
    CHECK(double(x_adv[i * 3]) + double(x_adv[i * 3 + 1]) ==
          Approx(double(x[i * 3]) + double(x[i * 3 + 1])).margin(tol * 10));
    double move = 0;
    for (int j = 0; j < 3; ++j) move += std::pow(double(x_adv[i * 3 + j]) - double(x[i * 3 + j]), 2);
    CHECK(std::sqrt(move) <= s * (1 + tol));
    if (std::abs(std::abs(m) - reach) < 1e-3) continue;  // too close to call
    ++checked;
    flipped += attack.fooled()[std::size_t(i)];
    CAPTURE(i, m, reach);
    CHECK(bool(attack.fooled()[std::size_t(i)]) == (std::abs(m) < reach));
  }
  CHECK(checked > 190);
  CHECK(flipped > 20);
  CHECK(flipped < checked - 20);
}

TEST_CASE("a classifier that ignores the invisible directions is never moved", "[theory][invisible_attack]") {
  // m depends on x0 only; the oracle sees x0.
  auto model = affine_classifier<double>(2, {0, 0, 1, 0}, {0, 0});
  CoordinateFeatures<double> g2({0});
  const Tensor<double> x = normal_points<double>(50, 2, 77, 2);
  const std::vector<int> y = predictions(model, x);
  InvisibleAttack<double> attack(*g2.geometry(2), {.radius = 100});
  Tensor<double> x_adv;
  attack.run(model, x.view(), y, x_adv);
  for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(x_adv[i] == x[i]);
  for (auto f : attack.fooled()) CHECK(f == 0);

  // An oracle that sees everything leaves nothing to move along.
  auto sensitive = affine_classifier<double>(2, {0, 0, 1, 1}, {0, 0});
  IdentityFeatures<double> all;
  InvisibleAttack<double> none(*all.geometry(2), {.radius = 100});
  none.run(sensitive, x.view(), predictions(sensitive, x), x_adv);
  for (auto f : none.fooled()) CHECK(f == 0);
}

TEST_CASE("items already off their label count as fooled without moving", "[theory][invisible_attack]") {
  auto model = affine_classifier<double>(2, {0, 0, 0, 1}, {0, 0});
  CoordinateFeatures<double> g2({0});
  Tensor<double> x({2, 2});
  x[0] = 0, x[1] = 5, x[2] = 0, x[3] = -5;  // predictions 1, 0
  InvisibleAttack<double> attack(*g2.geometry(2), {.radius = 0.1});
  Tensor<double> x_adv;
  attack.run(model, x.view(), std::vector<int>{0, 0}, x_adv);
  CHECK(attack.fooled()[0] == 1);
  CHECK(attack.fooled()[1] == 0);
  CHECK(x_adv[0] == x[0]);
  CHECK(x_adv[1] == x[1]);
  // The other one is pushed towards class 1 as far as the radius allows, along x1 only.
  CHECK(x_adv[2] == x[2]);
  CHECK(x_adv[3] == Approx(-4.9));
}

TEST_CASE("the invisible attack rejects bad options and inputs", "[theory][invisible_attack][errors]") {
  CoordinateFeatures<double> g2({0});
  const FeatureGeometry g = *g2.geometry(2);
  CHECK_THROWS_AS(InvisibleAttack<double>(g, {.radius = -1}), argument_error);
  CHECK_THROWS_AS(InvisibleAttack<double>(g, {.steps = 0}), argument_error);
  CHECK_THROWS_AS(InvisibleAttack<double>(g, {.rel_stepsize = 0.0}), argument_error);
  CHECK_THROWS_AS(InvisibleAttack<double>(g, {.batch_size = 0}), argument_error);
  auto model = affine_classifier<double>(3, {0, 0, 0, 1, 1, 1}, {0, 0});
  InvisibleAttack<double> attack(g, {});
  Tensor<double> x({2, 3}, 0.0), x_adv;
  CHECK_THROWS_AS(attack.run(model, x.view(), std::vector<int>{0, 0}, x_adv), shape_error);
  auto two = affine_classifier<double>(2, {0, 0, 1, 1}, {0, 0});
  Tensor<double> x2({2, 2}, 0.0);
  CHECK_THROWS_AS(attack.run(two, x2.view(), std::vector<int>{0}, x_adv), shape_error);
  CHECK_THROWS_AS(attack.run(two, x2.view(), std::vector<int>{0, 2}, x_adv), argument_error);
}
