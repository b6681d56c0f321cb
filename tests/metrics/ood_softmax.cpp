#include "farbound/metrics/ood_softmax.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::small_conv_net;

TEST_CASE("A flat model's softmax profile is uniform", "[ood_softmax]") {
  auto flat = affine_classifier<double>(3, std::vector<double>(30, 0.0), std::vector<double>(10, 0.0));
  const auto noise = uniform_noise<double>({7, 3}, 1);
  const SoftmaxProfile p = softmax_profile(flat, noise.view(), 20);
  CHECK(p.points == 7);
  REQUIRE(p.sorted.size() == 10);
  for (const auto& m : p.sorted) {
    CHECK(m.mean == Approx(0.1).epsilon(1e-14));
    CHECK(m.std == Approx(0.0).margin(1e-15));
  }
  CHECK(p.max.mean == Approx(0.1));
  // 0.1 lies in bin 2 of 20 over [0, 1].
  CHECK(p.max_histogram.counts[2] == 7);
}

TEST_CASE("Softmax profile: sorted ranks decrease, classes and ranks each sum to one", "[ood_softmax]") {
  // Two classes: p = (1 - s, s) with s = sigmoid(x_0 - x_1) for the logits (0, x_0 - x_1).
  auto model = affine_classifier<double>(2, {0, 0, 4, -4}, {0, 0});
  Tensor<double> x({4, 2});
  const double v[] = {1, 0, 0, 1, 0.5, 0.5, 0.75, 0.25};
  for (int i = 0; i < 8; ++i) x[i] = v[i];
  const SoftmaxProfile p = softmax_profile(model, x.view(), 10, 3);
  const double s4 = 1 / (1 + std::exp(-4.0)), s2 = 1 / (1 + std::exp(-2.0));
  // largest probabilities: s4, s4, 0.5, s2
  const std::vector<double> maxima = {s4, s4, 0.5, s2};
  CHECK(p.sorted[0].mean == Approx((2 * s4 + 0.5 + s2) / 4));
  CHECK(p.sorted[0].mean + p.sorted[1].mean == Approx(1.0));
  CHECK(p.by_class[0].mean + p.by_class[1].mean == Approx(1.0));
  CHECK(p.by_class[1].mean == Approx((s4 + (1 - s4) + 0.5 + s2) / 4));
  CHECK(p.max.mean == p.sorted[0].mean);
  CHECK(p.max.std == Approx(mean_std(maxima).std));
  std::int64_t total = 0;
  for (auto c : p.max_histogram.counts) total += c;
  CHECK(total == 4);
  CHECK(p.max_histogram.counts[5] == 1);  // 0.5 starts bin 5 of 10
  CHECK(p.max_histogram.counts[9] == 2);  // s4 = 0.982
}

TEST_CASE("Uniform noise stays in the bounds and is drawn per image", "[ood_softmax]") {
  const auto a = uniform_noise<float>({5, 1, 4, 4}, 9, {0.25, 0.75});
  const auto b = uniform_noise<float>({2, 1, 4, 4}, 9, {0.25, 0.75});
  for (std::int64_t i = 0; i < a.numel(); ++i) REQUIRE((a[i] >= 0.25f && a[i] <= 0.75f));
  for (std::int64_t i = 0; i < b.numel(); ++i) CHECK(a[i] == b[i]);
  CHECK(a[0] != a[16]);
  CHECK_THROWS_AS(uniform_noise<float>({0, 3}, 1), shape_error);
  CHECK_THROWS_AS(uniform_noise<float>({2, 3}, 1, {1.0, 0.0}), argument_error);
}

TEST_CASE("Softmax profile of a conv net on noise, and bad arguments", "[ood_softmax]") {
  auto model = small_conv_net<float>(5);
  const auto noise = uniform_noise<float>({16, 1, 10, 10}, 3);
  const SoftmaxProfile p = softmax_profile(model, noise.view());
  for (std::size_t r = 1; r < p.sorted.size(); ++r) CHECK(p.sorted[r].mean <= p.sorted[r - 1].mean);
  CHECK(p.max.mean >= 0.2);
  CHECK_THROWS_AS(softmax_profile(model, noise.view(), 0), argument_error);
  CHECK_THROWS_AS(softmax_profile(model, Tensor<float>({2, 3}, 0.f).view()), shape_error);
}
