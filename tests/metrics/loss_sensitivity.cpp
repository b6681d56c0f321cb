#include "farbound/metrics/loss_sensitivity.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::small_conv_net;
using testing::test_images;
using testing::test_labels;

TEST_CASE("Loss sensitivity of an affine classifier is the mean of ||(p - e_y) W||", "[loss_sensitivity]") {
  const std::vector<double> w = {1, -2, 0.5, 0, 3, 1, -1, 2, 0.25, 0.5, 0.5, -1};  // [3 classes, 4 inputs]
  const std::vector<double> b = {0.1, -0.3, 0.2};
  auto model = affine_classifier<double>(4, w, b);
  const auto images = test_images<double>(1, 20);
  const TensorView<const double> x = images.view().reshaped({25, 4});
  const auto y = test_labels(25, 3, 20);
  double sum = 0;
  std::vector<double> expected;
  for (std::int64_t i = 0; i < 25; ++i) {
    double z[3], m = -1e300, s = 0;
    for (int c = 0; c < 3; ++c) {
      z[c] = b[std::size_t(c)];
      for (int j = 0; j < 4; ++j) z[c] += w[std::size_t(c * 4 + j)] * x[i * 4 + j];
      m = std::max(m, z[c]);
    }
    for (double v : z) s += std::exp(v - m);
    double g2 = 0;
    for (int j = 0; j < 4; ++j) {
      double g = 0;
      for (int c = 0; c < 3; ++c) g += (std::exp(z[c] - m) / s - (c == y[std::size_t(i)])) * w[std::size_t(c * 4 + j)];
      g2 += g * g;
    }
    expected.push_back(std::sqrt(g2));
    sum += std::sqrt(g2);
  }
  for (std::int64_t batch : {1, 7, 256}) {
    const auto norms = loss_gradient_norms<double>(model, x, y, batch);
    for (std::size_t i = 0; i < 25; ++i) CHECK(norms[i] == Approx(expected[i]).epsilon(1e-12));
    CHECK(loss_sensitivity<double>(model, x, y, batch) == Approx(sum / 25).epsilon(1e-12));
  }
}

TEST_CASE("Loss sensitivity restores the mode and rejects bad arguments", "[loss_sensitivity][errors]") {
  auto model = small_conv_net<float>(1);
  const auto x = test_images<float>(6, 21);
  const auto y = test_labels(6, 5, 21);
  model.set_training(true);
  CHECK(loss_sensitivity(model, x.view(), y) > 0);
  CHECK(model.training());
  CHECK_THROWS_AS(loss_sensitivity(model, x.view(), std::vector<int>{1, 2}), shape_error);
  CHECK_THROWS_AS(loss_sensitivity(model, x.view(), std::vector<int>{0, 1, 2, 3, 4, -1}), argument_error);
  CHECK_THROWS_AS(loss_sensitivity(model, x.view(), y, 0), argument_error);
}
