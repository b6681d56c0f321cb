#include "farbound/attack/fgsm.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::small_conv_net;
using testing::test_images;
using testing::test_labels;

namespace {

// Fraction of items whose argmax of the logits equals the label.
template <class T>
double accuracy_of(Sequential<T>& model, const Tensor<T>& x, const std::vector<int>& y) {
  const auto logits = model.forward(x.view());
  const std::int64_t c = logits.size(1);
  int correct = 0;
  for (std::int64_t i = 0; i < x.size(0); ++i) correct += detail::argmax(logits.data() + i * c, c) == y[std::size_t(i)];
  return double(correct) / double(x.size(0));
}

}  // namespace

TEST_CASE("FGSM at eps 0 returns the inputs bit for bit and the clean accuracy", "[fgsm]") {
  auto model = small_conv_net<float>(3);
  const auto x = test_images<float>(37, 1);
  const auto y = test_labels(37, 5, 1);
  Fgsm<float> fgsm({.batch_size = 8});
  Tensor<float> adv;
  fgsm.run(model, x.view(), y, 0.0, adv);
  REQUIRE(adv.shape() == x.shape());
  CHECK(std::memcmp(adv.data(), x.data(), std::size_t(x.numel()) * sizeof(float)) == 0);
  const double clean = accuracy_of(model, x, y);
  int robust = 0;
  for (auto f : fgsm.fooled()) robust += !f;
  CHECK(double(robust) / 37.0 == clean);
  CHECK(accuracy_of(model, adv, y) == clean);
}

TEST_CASE("FGSM on an affine classifier is x + eps sign(w_other - w_label), clipped", "[fgsm]") {
  // Two classes over 4 inputs: the cross-entropy gradient for label y is
  // p_other (w_other - w_y), whose sign is that of w_other - w_y.
  const std::vector<double> w = {0.5, -1.0, 2.0, 0.0, -0.25, 1.5, -1.0, 0.75};
  auto model = affine_classifier<double>(4, w, {0.1, -0.2});
  Tensor<double> x({3, 4});
  const double pixels[] = {0.5, 0.5, 0.5, 0.5, 0.05, 0.95, 0.3, 0.6, 0.0, 1.0, 0.99, 0.01};
  std::memcpy(x.data(), pixels, sizeof pixels);
  const std::vector<int> y = {0, 1, 0};
  for (double eps : {0.02, 0.1, 0.4}) {
    Fgsm<double> fgsm;
    Tensor<double> adv;
    fgsm.run(model, x.view(), y, eps, adv);
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t j = 0; j < 4; ++j) {
        const int yi = y[std::size_t(i)];
        const double dir = w[std::size_t((1 - yi) * 4 + j)] - w[std::size_t(yi * 4 + j)];
        const double sign = double((dir > 0) - (dir < 0));
        const double expected = std::clamp(x[i * 4 + j] + eps * sign, 0.0, 1.0);
        INFO("eps " << eps << " item " << i << " pixel " << j);
        CHECK(adv[i * 4 + j] == expected);
      }
  }
}

TEST_CASE("FGSM restores the caller's training mode", "[fgsm]") {
  auto model = small_conv_net<double>(1);
  const auto x = test_images<double>(4, 2);
  const auto y = test_labels(4, 5, 2);
  Tensor<double> adv;
  model.set_training(true);
  Fgsm<double>().run(model, x.view(), y, 0.1, adv);
  CHECK(model.training());
  model.set_training(false);
  Fgsm<double>().run(model, x.view(), y, 0.1, adv);
  CHECK_FALSE(model.training());
}

TEST_CASE("FGSM rejects bad arguments", "[fgsm][errors]") {
  auto model = small_conv_net<float>(1);
  const auto x = test_images<float>(4, 3);
  const auto y = test_labels(4, 5, 3);
  Fgsm<float> fgsm;
  Tensor<float> adv;
  CHECK_THROWS_AS(fgsm.run(model, x.view(), y, -0.1, adv), argument_error);
  CHECK_THROWS_AS(fgsm.run(model, x.view(), y, std::nan(""), adv), argument_error);
  CHECK_THROWS_AS(fgsm.run(model, x.view(), y, std::numeric_limits<double>::infinity(), adv), argument_error);
  CHECK_THROWS_WITH(fgsm.run(model, x.view(), y, 1e39, adv), Catch::Contains("at most 3.40282e+38"));  // beyond float
  const std::vector<int> short_labels = {0, 1, 2};
  CHECK_THROWS_AS(fgsm.run(model, x.view(), short_labels, 0.1, adv), shape_error);
  const std::vector<int> bad_label = {0, 1, 5, 2};
  CHECK_THROWS_AS(fgsm.run(model, x.view(), bad_label, 0.1, adv), argument_error);
  const std::vector<int> unlabelled = {0, -1, 2, 2};
  CHECK_THROWS_AS(fgsm.run(model, x.view(), unlabelled, 0.1, adv), argument_error);
  const Tensor<float> empty({0, 1, 10, 10});
  CHECK_THROWS_AS(fgsm.run(model, empty.view(), std::vector<int>{}, 0.1, adv), shape_error);
  auto outside = x.clone();
  outside[17] = 1.5f;
  CHECK_THROWS_AS(fgsm.run(model, outside.view(), y, 0.1, adv), argument_error);
  const Tensor<float> wrong_size({4, 1, 9, 9}, 0.5f);
  CHECK_THROWS_AS(fgsm.run(model, wrong_size.view(), y, 0.1, adv), shape_error);
  CHECK_THROWS_AS(Fgsm<float>({.batch_size = 0}), argument_error);
  CHECK_THROWS_AS(Fgsm<float>({.bounds = {1.0, 0.0}}), argument_error);
}
