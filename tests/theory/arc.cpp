#include "farbound/theory/arc.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "farbound/core/random.hpp"
#include "farbound/nn/activation.hpp"
#include "farbound/nn/dense.hpp"
#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;

namespace {

constexpr double w[3] = {1.0, -2.0, 0.5};
constexpr double bias = 0.3;

template <class T>
Tensor<T> points(std::int64_t n, std::uint32_t salt) {
  Tensor<T> x({n, 3});
  RandomStream(5, Purpose::user, salt).normal(x.span(), 2.0);
  return x;
}

}  // namespace

TEMPLATE_TEST_CASE("ARC and ARCA of an affine classifier match the closed form", "[theory][arc]", float, double) {
  using T = TestType;
  // f1 = [m(x) > 0], m = w . x + b; the oracle sees (x0, x1) and decides by x0 - x1 >= 0.
  // Moving x2 (invisible) by up to s changes m by up to s |w2| at no oracle distance; the
  // rest must come from (x0, x1): r = max(0, |m| - s |w2|) / ||(w0, w1)||.
  auto model = affine_classifier<T>(3, {0, 0, 0, w[0], w[1], w[2]}, {0, bias});
  CoordinateFeatures<T> g2({0, 1});
  Oracle<T> f2(g2, halfspace_decision<T>({1.0, -1.0}));
  const std::int64_t n = 120;
  const Tensor<T> x = points<T>(n, 1);
  const double visible = std::sqrt(w[0] * w[0] + w[1] * w[1]);
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-9;
  for (double s : {0.0, 2.0}) {
    ArcOptions o;
    o.invisible_radius = s;
    const ArcResult r = ArcEstimator<T>(o).run(model, f2, x.view());
    double arc = 0, arca = 0;
    std::int64_t wrong = 0, free_flips = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double xi[3] = {double(x[3 * i]), double(x[3 * i + 1]), double(x[3 * i + 2])};
      const double m = w[0] * xi[0] + w[1] * xi[1] + w[2] * xi[2] + bias;
      const double ri = std::max(0.0, std::abs(m) - s * std::abs(w[2])) / visible;
      const bool misclassified = (m > 0) != (xi[0] - xi[1] >= 0);
      CAPTURE(s, i, m);
      if (std::abs(std::abs(m) - s * std::abs(w[2])) < 1e-3) continue;  // the invisible move only just reaches
      CHECK(r.radius[std::size_t(i)] == Approx(ri).epsilon(tol).margin(tol));
      arc += ri;
      arca += misclassified ? 0 : ri;
      wrong += misclassified;
      free_flips += ri == 0;
    }
    CHECK(r.items == n);
    CHECK(r.resolved == n);
    CHECK(r.misclassified == wrong);
    CHECK(wrong > 5);
    CHECK(r.arc == Approx(arc / double(n)).epsilon(tol));
    CHECK(r.arca == Approx(arca / double(n)).epsilon(tol));
    CHECK(r.arca < r.arc);
    if (s > 0) CHECK(free_flips > 10);  // flipped by the invisible move alone: r = 0
  }
}

TEST_CASE("ARC is 0 when the classifier turns on what the oracle cannot see", "[theory][arc]") {
  // f1 = [x2 > 0.1] while the oracle sees x0 and x1 only: with an invisible budget every
  // item flips at d2' = 0; without one, no visible move can flip it.
  auto model = affine_classifier<double>(3, {0, 0, 0, 0, 0, 1}, {0, -0.1});
  CoordinateFeatures<double> g2({0, 1});
  Oracle<double> f2(g2, halfspace_decision<double>({1.0, 0.0}));
  const Tensor<double> x = points<double>(40, 2);
  ArcOptions o;
  o.invisible_radius = 100;
  const ArcResult r = ArcEstimator<double>(o).run(model, f2, x.view());
  CHECK(r.resolved == 40);
  CHECK(r.arc == 0);
  CHECK(r.arca == 0);
  const ArcResult none = ArcEstimator<double>().run(model, f2, x.view());
  CHECK(none.resolved == 0);
}

TEST_CASE("with the identity oracle ARC is the mean L2 distance to the boundary", "[theory][arc]") {
  auto model = affine_classifier<double>(3, {0, 0, 0, w[0], w[1], w[2]}, {0, bias});
  IdentityFeatures<double> g2;
  Oracle<double> f2(g2, halfspace_decision<double>({w[0], w[1], w[2]}, bias));
  const Tensor<double> x = points<double>(30, 3);
  const ArcResult r = ArcEstimator<double>().run(model, f2, x.view());
  const double norm = std::sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
  double arc = 0;
  for (std::int64_t i = 0; i < 30; ++i)
    arc += std::abs(w[0] * x[3 * i] + w[1] * x[3 * i + 1] + w[2] * x[3 * i + 2] + bias) / norm;
  CHECK(r.arc == Approx(arc / 30).epsilon(1e-9));
  CHECK(r.arca == Approx(r.arc).epsilon(1e-12));  // f1 = f2: nothing misclassified
  CHECK(r.misclassified == 0);
}

TEST_CASE("an oracle without geometry is measured along input-space DeepFool", "[theory][arc]") {
  // g2(x) = (x0, x1) as a function: DeepFool (L2) moves x along w to x - m w / ||w||^2, so
  // the oracle sees r = |m| ||(w0, w1)|| / ||w||^2.
  auto model = affine_classifier<double>(3, {0, 0, 0, w[0], w[1], w[2]}, {0, bias});
  FunctionFeatures<double> g2("x0, x1", [](TensorView<const double> x, Tensor<double>& out) {
    out.resize({x.size(0), 2});
    for (std::int64_t i = 0; i < x.size(0); ++i) out[2 * i] = x[3 * i], out[2 * i + 1] = x[3 * i + 1];
  });
  Oracle<double> f2(g2, halfspace_decision<double>({1.0, -1.0}));
  const Tensor<double> x = points<double>(30, 4);
  ArcOptions o;
  o.input_attack.bounds = {-100, 100};
  const ArcResult r = ArcEstimator<double>(o).run(model, f2, x.view());
  const double w2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], visible = std::sqrt(w[0] * w[0] + w[1] * w[1]);
  REQUIRE(r.resolved == 30);
  for (std::int64_t i = 0; i < 30; ++i) {
    const double m = w[0] * x[3 * i] + w[1] * x[3 * i + 1] + w[2] * x[3 * i + 2] + bias;
    CHECK(r.radius[std::size_t(i)] == Approx(std::abs(m) * visible / w2).epsilon(1e-9));
  }
}

TEST_CASE("items the attack cannot flip are unresolved; misclassified ones count 0 in ARCA", "[theory][arc]") {
  // f1 = [relu(x) > 1]: flat for x < 0, where DeepFool has no gradient to follow.
  Sequential<double> model;
  auto& in = model.add<Dense<double>>(1, 1);
  in.weight.value[0] = 1;
  in.bias.value[0] = 0;
  model.add<ReLU<double>>();
  auto& out = model.add<Dense<double>>(1, 2);
  out.weight.value[0] = 0, out.weight.value[1] = 1;
  out.bias.value[0] = 0, out.bias.value[1] = -1;
  // The oracle says class 1 everywhere here: x = 0.5 and x = -2 are misclassified.
  IdentityFeatures<double> g2;
  Oracle<double> f2(g2, halfspace_decision<double>({1.0}, 10.0));
  Tensor<double> x({3, 1});
  x[0] = 0.5, x[1] = 3, x[2] = -2;
  const ArcResult r = ArcEstimator<double>().run(model, f2, x.view());
  CHECK(r.resolved == 2);
  CHECK(r.misclassified == 2);
  CHECK(r.radius[0] == Approx(0.5).epsilon(1e-9));
  CHECK(r.radius[1] == Approx(2).epsilon(1e-9));
  CHECK(std::isnan(r.radius[2]));
  CHECK(r.arc == Approx(1.25).epsilon(1e-9));        // (0.5 + 2) / 2, the unresolved item left out
  CHECK(r.arca == Approx(2.0 / 3).epsilon(1e-9));    // (0 + 2 + 0) / 3
}

TEST_CASE("the ARC estimator rejects bad options", "[theory][arc][errors]") {
  CHECK_THROWS_AS(ArcEstimator<double>({.bisection_steps = -1}), argument_error);
  CHECK_THROWS_AS(ArcEstimator<double>({.invisible_radius = -1}), argument_error);
  CHECK_THROWS_AS(ArcEstimator<double>({.invisible_steps = 0}), argument_error);
  CHECK_THROWS_AS(ArcEstimator<double>({.visible = {.max_iter = 0}}), argument_error);
  CHECK_THROWS_AS(ArcEstimator<double>({.batch_size = 0}), argument_error);
  ArcOptions o;
  o.input_attack.bounds = {1, 0};
  CHECK_THROWS_AS(ArcEstimator<double>(o), argument_error);
}
