#include "farbound/attack/carlini_wagner.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "farbound/attack/deepfool.hpp"
#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::predictions;
using testing::small_conv_net;
using testing::test_images;

TEST_CASE("Carlini-Wagner L2 on an affine classifier reaches the hyperplane", "[carlini_wagner]") {
  // Two classes, u = w1 - w0 = (0.5, -1, 2, 0.25), b = -0.4: the minimal L2 perturbation is
  // |u.x + b| / ||u||_2, along u.
  const double u[] = {0.5, -1, 2, 0.25};
  auto model = affine_classifier<double>(4, {0, 0, 0, 0, 0.5, -1, 2, 0.25}, {0.1, -0.3});
  Tensor<double> x({3, 4});
  const double v[] = {0.5, 0.5, 0.5, 0.5, 0.4, 0.45, 0.35, 0.5, 0.55, 0.5, 0.3, 0.45};
  for (int i = 0; i < 12; ++i) x[i] = v[i];
  const auto y = predictions(model, x);
  CarliniWagnerL2<double> cw;
  Tensor<double> adv;
  cw.run(model, x.view(), y, adv);
  const auto after = predictions(model, adv);
  for (std::int64_t i = 0; i < 3; ++i) {
    double margin = -0.4, un = 0, dist = 0;
    for (int j = 0; j < 4; ++j) {
      margin += u[j] * x[i * 4 + j];
      un += u[j] * u[j];
      dist += (adv[i * 4 + j] - x[i * 4 + j]) * (adv[i * 4 + j] - x[i * 4 + j]);
    }
    const double minimal = std::abs(margin) / std::sqrt(un);
    INFO("item " << i << " minimal " << minimal << " found " << std::sqrt(dist));
    CHECK(cw.fooled()[std::size_t(i)] == 1);
    CHECK(after[std::size_t(i)] != y[std::size_t(i)]);
    CHECK(cw.distances()[std::size_t(i)] == Approx(std::sqrt(dist)).epsilon(1e-12));
    CHECK(std::sqrt(dist) >= minimal * (1 - 1e-4));
    CHECK(std::sqrt(dist) <= minimal * 1.02);
  }
}

TEST_CASE("Carlini-Wagner L2 on a conv net: adversarial, inside the bounds, about as close as DeepFool",
          "[carlini_wagner]") {
  auto model = small_conv_net<float>(3);
  const auto x = test_images<float>(8, 30);
  const auto y = predictions(model, x);
  CarliniWagnerL2<float> cw({.binary_search_steps = 5, .steps = 200, .stepsize = 0.05, .batch_size = 3});
  Tensor<float> adv, again;
  model.set_training(true);
  cw.run(model, x.view(), y, adv);
  CHECK(model.training());
  DeepFool<float> deepfool;
  Tensor<float> df;
  deepfool.run(model, x.view(), y, df);
  const auto after = predictions(model, adv);
  int fooled = 0;
  double cw_total = 0, df_total = 0;
  for (std::int64_t i = 0; i < 8; ++i) {
    for (std::int64_t j = 0; j < 100; ++j) REQUIRE((adv[i * 100 + j] >= 0.0f && adv[i * 100 + j] <= 1.0f));
    if (!cw.fooled()[std::size_t(i)]) {
      CHECK(std::memcmp(adv.data() + i * 100, x.data() + i * 100, 100 * sizeof(float)) == 0);
      continue;
    }
    ++fooled;
    CHECK(after[std::size_t(i)] != y[std::size_t(i)]);
    if (deepfool.fooled()[std::size_t(i)]) {
      cw_total += cw.distances()[std::size_t(i)];
      df_total += detail::distance(df.data() + i * 100, x.data() + i * 100, 100, Norm::l2);
    }
  }
  CHECK(fooled >= 7);
  // With this small budget (Foolbox runs 9 x 10000 steps) C&W is only about as close as DeepFool;
  // with 9 x 1000 steps it is closer on most of these items.
  CHECK(cw_total <= 1.1 * df_total);
  // No randomness: the same points again.
  cw.run(model, x.view(), y, again);
  CHECK(std::memcmp(adv.data(), again.data(), std::size_t(adv.numel()) * sizeof(float)) == 0);
}

TEST_CASE("Carlini-Wagner L2 rejects bad options and arguments", "[carlini_wagner][errors]") {
  CHECK_THROWS_AS(CarliniWagnerL2<float>({.binary_search_steps = 0}), argument_error);
  CHECK_THROWS_AS(CarliniWagnerL2<float>({.steps = 0}), argument_error);
  CHECK_THROWS_AS(CarliniWagnerL2<float>({.stepsize = 0}), argument_error);
  CHECK_THROWS_AS(CarliniWagnerL2<float>({.confidence = -1}), argument_error);
  CHECK_THROWS_AS(CarliniWagnerL2<float>({.initial_const = std::nan("")}), argument_error);
  auto model = small_conv_net<float>(1);
  const auto x = test_images<float>(3, 7);
  CarliniWagnerL2<float> cw;
  Tensor<float> adv;
  CHECK_THROWS_AS(cw.run(model, x.view(), std::vector<int>{0, 1}, adv), shape_error);
  CHECK_THROWS_AS(cw.run(model, x.view(), std::vector<int>{0, 1, 9}, adv), argument_error);
  CHECK_THROWS_AS(cw.run(model, Tensor<float>({0, 1, 10, 10}).view(), std::vector<int>{}, adv), shape_error);
}
