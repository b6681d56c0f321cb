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

ArcOptions wide_bounds() {
  ArcOptions o;
  o.attack.bounds = {-100, 100};
  return o;
}

}  // namespace

TEMPLATE_TEST_CASE("ARC and ARCA of an affine classifier match the closed form", "[theory][arc]", float, double) {
  using T = TestType;
  // f1 = [w . x + b > 0]; the oracle sees (x0, x1) and decides by x0 - x1 >= 0. DeepFool
  // (L2) moves x along w to the boundary: x* = x - m w / ||w||^2 with m = w . x + b, so the
  // oracle sees a move of r = |m| ||(w0, w1)|| / ||w||^2.
  auto model = affine_classifier<T>(3, {0, 0, 0, w[0], w[1], w[2]}, {0, bias});
  CoordinateFeatures<T> g2({0, 1});
  Oracle<T> f2(g2, halfspace_decision<T>({1.0, -1.0}));
  const std::int64_t n = 120;
  const Tensor<T> x = points<T>(n, 1);

  ArcEstimator<T> estimator(wide_bounds());
  const ArcResult r = estimator.run(model, f2, x.view());
  const double w2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], visible = std::sqrt(w[0] * w[0] + w[1] * w[1]);
  double arc = 0, arca = 0;
  std::int64_t wrong = 0;
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-9;
  for (std::int64_t i = 0; i < n; ++i) {
    const double xi[3] = {double(x[3 * i]), double(x[3 * i + 1]), double(x[3 * i + 2])};
    const double m = w[0] * xi[0] + w[1] * xi[1] + w[2] * xi[2] + bias;
    const double ri = std::abs(m) * visible / w2;
    const bool misclassified = (m > 0) != (xi[0] - xi[1] >= 0);
    CAPTURE(i, m);
    CHECK(r.radius[std::size_t(i)] == Approx(ri).epsilon(tol).margin(tol));
    arc += ri;
    arca += misclassified ? 0 : ri;
    wrong += misclassified;
  }
  CHECK(r.items == n);
  CHECK(r.resolved == n);
  CHECK(r.misclassified == wrong);
  CHECK(wrong > 5);
  CHECK(r.arc == Approx(arc / double(n)).epsilon(tol));
  CHECK(r.arca == Approx(arca / double(n)).epsilon(tol));
  CHECK(r.arca < r.arc);
}

TEST_CASE("ARC is 0 when the classifier turns on what the oracle cannot see", "[theory][arc]") {
  // f1 = [x2 > 0.1] while the oracle sees x0 and x1 only.
  auto model = affine_classifier<double>(3, {0, 0, 0, 0, 0, 1}, {0, -0.1});
  CoordinateFeatures<double> g2({0, 1});
  Oracle<double> f2(g2, halfspace_decision<double>({1.0, 0.0}));
  const Tensor<double> x = points<double>(40, 2);
  const ArcResult r = ArcEstimator<double>(wide_bounds()).run(model, f2, x.view());
  CHECK(r.resolved == 40);
  CHECK(r.arc == 0);
  CHECK(r.arca == 0);
}

TEST_CASE("with the identity oracle ARC is the mean L2 distance to the boundary", "[theory][arc]") {
  auto model = affine_classifier<double>(3, {0, 0, 0, w[0], w[1], w[2]}, {0, bias});
  IdentityFeatures<double> g2;
  Oracle<double> f2(g2, halfspace_decision<double>({w[0], w[1], w[2]}, bias));
  const Tensor<double> x = points<double>(30, 3);
  const ArcResult r = ArcEstimator<double>(wide_bounds()).run(model, f2, x.view());
  const double norm = std::sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
  double arc = 0;
  for (std::int64_t i = 0; i < 30; ++i)
    arc += std::abs(w[0] * x[3 * i] + w[1] * x[3 * i + 1] + w[2] * x[3 * i + 2] + bias) / norm;
  CHECK(r.arc == Approx(arc / 30).epsilon(1e-9));
  CHECK(r.arca == Approx(r.arc).epsilon(1e-12));  // f1 = f2: nothing misclassified
  CHECK(r.misclassified == 0);
}

TEST_CASE("items DeepFool cannot flip are unresolved; misclassified ones count 0 in ARCA", "[theory][arc]") {
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
  const ArcResult r = ArcEstimator<double>(wide_bounds()).run(model, f2, x.view());
  CHECK(r.resolved == 2);
  CHECK(r.misclassified == 2);
  CHECK(r.radius[0] == Approx(0.5).epsilon(1e-9));
  CHECK(r.radius[1] == Approx(2).epsilon(1e-9));
  CHECK(std::isnan(r.radius[2]));
  CHECK(r.arc == Approx(1.25).epsilon(1e-9));        // (0.5 + 2) / 2, the unresolved item left out
  CHECK(r.arca == Approx(2.0 / 3).epsilon(1e-9));    // (0 + 2 + 0) / 3
  CHECK_THROWS_AS(ArcEstimator<double>({.bisection_steps = -1}), argument_error);
}
