#include "farbound/metrics/rho.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "farbound/metrics/empirical_robustness.hpp"
#include "support/attack_models.hpp"
#include "support/layer_checks.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::small_conv_net;
using testing::test_images;

namespace {
// Two classes over 3 inputs, u = w1 - w0 = (1, -1, 0.5), b1 - b0 = -0.05.
const std::vector<double> weights = {0, 0, 0, 1, -1, 0.5};
const std::vector<double> biases = {0, -0.05};

Tensor<double> three_points() { return testing::tensor_of<double>({3, 3}, {0.5, 0.4, 0.3, 0.3, 0.5, 0.6, 0.6, 0.2, 0.1}); }

// rho_i = 1.02 |u.x_i + b| / ||u||_2 / ||x_i||_2: DeepFool's exact step (min_step 0) on an affine model.
double expected_ratio(const Tensor<double>& x, std::int64_t i) {
  const double u[] = {1, -1, 0.5};
  double margin = -0.05, un = 0, xn = 0;
  for (int j = 0; j < 3; ++j) {
    margin += u[j] * x[i * 3 + j];
    un += u[j] * u[j];
    xn += x[i * 3 + j] * x[i * 3 + j];
  }
  return 1.02 * std::abs(margin) / std::sqrt(un) / std::sqrt(xn);
}
}  // namespace

TEST_CASE("rho of DeepFool on an affine classifier", "[rho]") {
  auto model = affine_classifier<double>(3, weights, biases);
  const auto x = three_points();
  DeepFool<double> deepfool({.min_step = 0});
  const RhoResult r = deepfool_rho(model, deepfool, x.view());
  REQUIRE(r.ratio.size() == 3);
  double sum = 0;
  for (std::int64_t i = 0; i < 3; ++i) {
    CHECK(r.ratio[std::size_t(i)] == Approx(expected_ratio(x, i)).epsilon(1e-12));
    CHECK(r.success[std::size_t(i)] == 1);
    sum += expected_ratio(x, i);
  }
  CHECK(r.success_ratio == 1.0);
  CHECK(r.rho_successful == Approx(sum / 3).epsilon(1e-12));
  CHECK(r.rho_all == Approx(sum / 3).epsilon(1e-12));
  // ART's empirical robustness with DeepFool is the same mean.
  CHECK(empirical_robustness(model, deepfool, x.view()) == Approx(sum / 3).epsilon(1e-12));
}

TEST_CASE("rho attacks away from the model's predictions unless labels are given", "[rho]") {
  auto model = affine_classifier<double>(3, weights, biases);
  const auto x = three_points();
  DeepFool<double> deepfool({.min_step = 0});
  auto wrong = predict(model, x.view());
  for (int& c : wrong) c = 1 - c;
  // Away from the wrong labels there is nothing to do: every point already differs.
  const RhoResult r = deepfool_rho(model, deepfool, x.view(), wrong);
  CHECK(r.success_ratio == 1.0);
  CHECK(r.rho_all == 0.0);
  CHECK(deepfool_rho(model, deepfool, x.view()).rho_all > 0.0);
}

TEST_CASE("rho separates failed attacks and leaves out zero inputs", "[rho]") {
  // A flat model: every logit 0, DeepFool finds no direction and fails everywhere.
  auto flat = affine_classifier<double>(3, std::vector<double>(6, 0.0), {0, 0});
  auto x = three_points();
  for (int j = 0; j < 3; ++j) x[j] = 0;  // item 0 is the zero image
  DeepFool<double> deepfool;
  const RhoResult r = deepfool_rho(flat, deepfool, x.view());
  CHECK(r.success_ratio == 0.0);
  CHECK(std::isnan(r.ratio[0]));
  CHECK(r.ratio[1] == 0.0);
  CHECK(std::isnan(r.rho_successful));
  CHECK(r.rho_all == 0.0);
  CHECK(empirical_robustness(flat, deepfool, x.view()) == 0.0);  // ART returns 0 without a success
}

TEST_CASE("empirical_robustness from given adversarial points", "[rho]") {
  auto model = affine_classifier<double>(3, weights, biases);
  const auto x = three_points();
  CHECK(empirical_robustness<double>(model, x.view(), x.view(), Norm::l2) == 0.0);
  // Move item 1 only, across the boundary: only it counts.
  auto adv = x.clone();
  adv[3] = 0.1;
  adv[4] = 0.9;
  adv[5] = 0.2;
  const auto before = predict(model, x.view()), after = predict(model, adv.view());
  REQUIRE(before[1] != after[1]);
  CHECK(empirical_robustness<double>(model, x.view(), adv.view(), Norm::l2) == Approx(0.6 / std::sqrt(0.7)));
  CHECK(empirical_robustness<double>(model, x.view(), adv.view(), Norm::linf) == Approx(0.4 / 0.6));
}

TEST_CASE("perturbation_ratios checks shapes", "[rho][errors]") {
  const Tensor<double> a({2, 3}, 0.5), b({3, 3}, 0.5);
  CHECK_THROWS_AS(perturbation_ratios<double>(a.view(), b.view(), Norm::l2), shape_error);
}
