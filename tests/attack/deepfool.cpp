#include "farbound/attack/deepfool.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::predictions;
using testing::small_conv_net;
using testing::test_images;

namespace {

// DeepFool for one item written the plain way: a fresh forward and backward for every
// candidate, no batching, no shared activations.
std::vector<double> reference_deepfool(Sequential<double>& model, const double* x0, Shape item_shape, int y,
                                       const DeepFoolOptions& o) {
  const std::int64_t d = item_shape.numel();
  const Shape shape = item_shape;
  Tensor<double> x(shape);
  std::memcpy(x.data(), x0, std::size_t(d) * sizeof(double));
  std::vector<double> r_total(std::size_t(d), 0.0);
  auto logits_at = [&](const Tensor<double>& at) {
    const auto l = model.forward(at.view());
    return std::vector<double>(l.data(), l.data() + l.numel());
  };
  const std::vector<double> clean = logits_at(x);
  const int classes = int(clean.size());
  std::vector<int> order(static_cast<std::size_t>(classes));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int p, int q) { return clean[std::size_t(p)] > clean[std::size_t(q)]; });
  std::vector<int> candidates;
  for (int c : order)
    if (c != y && int(candidates.size()) < std::min(o.candidates, classes) - 1) candidates.push_back(c);

  for (int it = 0; it < o.max_iter; ++it) {
    const std::vector<double> z = logits_at(x);
    if (detail::argmax(z.data(), classes) != y) break;
    double best = std::numeric_limits<double>::infinity();
    std::vector<double> best_w;
    for (int k : candidates) {
      logits_at(x);
      Tensor<double> g({1, classes}, 0.0);
      g[k] = 1;
      g[y] = -1;
      const auto w = model.backward(g.view(), InputGrad::compute, ParamGrads::skip);
      double dual = 0;
      for (std::int64_t j = 0; j < d; ++j) dual += o.norm == Norm::l2 ? w[j] * w[j] : std::abs(w[j]);
      if (o.norm == Norm::l2) dual = std::sqrt(dual);
      const double dist = std::abs(z[std::size_t(k)] - z[std::size_t(y)]) / dual;
      if (dist < best) {
        best = dist;
        best_w.assign(w.data(), w.data() + d);
      }
    }
    best += o.min_step;
    double wn = 0;
    for (double v : best_w) wn += v * v;
    wn = std::sqrt(wn);
    for (std::int64_t j = 0; j < d; ++j) {
      const double wj = best_w[std::size_t(j)];
      r_total[std::size_t(j)] += o.norm == Norm::l2 ? best * wj / wn : best * double((wj > 0) - (wj < 0));
      x[j] = std::clamp(x0[j] + (1 + o.overshoot) * r_total[std::size_t(j)], o.bounds.lower, o.bounds.upper);
    }
  }
  return std::vector<double>(x.data(), x.data() + d);
}

}  // namespace

TEST_CASE("DeepFool on a two-class affine classifier lands on the hyperplane times 1.02 in one step", "[deepfool]") {
  // With min_step = 0 the step is the exact projection; by default it is 1e-4 longer.
  // margin l(x) = (w1 - w0).x + (b1 - b0) for label 0; the boundary is l = 0.
  const std::vector<double> w = {0.5, -1.0, 2.0, 0.25, -0.3, 1.5, -1.0, 0.75};
  const std::vector<double> b = {0.4, -0.2};
  auto model = affine_classifier<double>(4, w, b);
  Tensor<double> x({2, 4});
  const double pixels[] = {0.5, 0.45, 0.55, 0.5, 0.52, 0.47, 0.5, 0.49};
  std::memcpy(x.data(), pixels, sizeof pixels);
  const auto y = predictions(model, x);
  for (Norm norm : {Norm::l2, Norm::linf}) {
    for (double min_step : {0.0, 1e-4}) {
      DeepFool<double> deepfool({.norm = norm, .min_step = min_step});
      Tensor<double> adv;
      deepfool.run(model, x.view(), y, adv);
      for (std::int64_t i = 0; i < 2; ++i) {
        const int yi = y[std::size_t(i)], o = 1 - yi;
        double margin = b[std::size_t(o)] - b[std::size_t(yi)], margin_adv = margin, l2 = 0, l1 = 0;
        std::vector<double> u(4);
        for (std::int64_t j = 0; j < 4; ++j) {
          u[std::size_t(j)] = w[std::size_t(o * 4 + j)] - w[std::size_t(yi * 4 + j)];
          margin += u[std::size_t(j)] * x[i * 4 + j];
          margin_adv += u[std::size_t(j)] * adv[i * 4 + j];
          l2 += u[std::size_t(j)] * u[std::size_t(j)];
          l1 += std::abs(u[std::size_t(j)]);
        }
        REQUIRE(margin < 0);
        INFO(to_string(norm) << " item " << i);
        CHECK(deepfool.steps()[std::size_t(i)] == 1);
        CHECK(deepfool.fooled()[std::size_t(i)] == 1);
        // x_adv = x0 + 1.02 r with r the exact projection onto the hyperplane, so the margin at
        // x_adv is l - 1.02 l = -0.02 l.
        const double dual = norm == Norm::l2 ? std::sqrt(l2) : l1;
        if (min_step == 0) CHECK(margin_adv == Approx(-0.02 * margin).epsilon(1e-10));
        for (std::int64_t j = 0; j < 4; ++j) {
          const double uj = u[std::size_t(j)];
          const double length = -margin / dual + min_step;
          const double r = norm == Norm::l2 ? length * uj / std::sqrt(l2) : length * double((uj > 0) - (uj < 0));
          CHECK(adv[i * 4 + j] == Approx(x[i * 4 + j] + 1.02 * r).epsilon(1e-12));
        }
      }
    }
  }
}

TEST_CASE("DeepFool on a multi-class affine classifier takes the nearest boundary", "[deepfool]") {
  const std::vector<double> w = {1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, -1.0, -1.0, 0.0};
  auto model = affine_classifier<double>(3, w, {0.3, 0.0, 0.1, 0.0});
  Tensor<double> x({1, 3});
  x[0] = 0.5;
  x[1] = 0.4;
  x[2] = 0.45;
  const std::vector<int> y = {0};  // logits 0.8, 0.4, 0.55, -0.9
  DeepFool<double> deepfool({.min_step = 0});
  Tensor<double> adv;
  deepfool.run(model, x.view(), y, adv);
  // Distances |l_k| / ||w_k - w_0||: class 1: 0.4/sqrt(2), class 2: 0.25/sqrt(2), class 3: 1.7/sqrt(5).
  double dist = 0;
  for (int j = 0; j < 3; ++j) dist += (adv[j] - x[j]) * (adv[j] - x[j]);
  CHECK(std::sqrt(dist) == Approx(1.02 * 0.25 / std::sqrt(2.0)).epsilon(1e-12));
  CHECK(deepfool.fooled()[0] == 1);
  CHECK(predictions(model, adv)[0] == 2);
}

TEST_CASE("Batched DeepFool equals the plain one-item algorithm on a conv net", "[deepfool]") {
  auto model = small_conv_net<double>(2);
  const auto x = test_images<double>(9, 8);
  const auto y = predictions(model, x);
  for (Norm norm : {Norm::l2, Norm::linf}) {
    for (int candidates : {2, 3, 10}) {
      const DeepFoolOptions o{.norm = norm, .max_iter = 6, .candidates = candidates, .batch_size = 4};
      DeepFool<double> deepfool(o);
      Tensor<double> adv;
      deepfool.run(model, x.view(), y, adv);
      int fooled = 0;
      for (std::int64_t i = 0; i < 9; ++i) {
        const auto expected = reference_deepfool(model, x.data() + i * 100, {1, 1, 10, 10}, y[std::size_t(i)], o);
        INFO(to_string(norm) << " candidates " << candidates << " item " << i);
        for (std::int64_t j = 0; j < 100; ++j)
          REQUIRE(adv[i * 100 + j] == Approx(expected[std::size_t(j)]).margin(1e-12));
        fooled += deepfool.fooled()[std::size_t(i)];
      }
      CHECK(fooled >= 7);
    }
  }
}

TEST_CASE("DeepFool leaves misclassified items alone and restores the mode", "[deepfool]") {
  auto model = small_conv_net<float>(4);
  const auto x = test_images<float>(6, 9);
  auto y = predictions(model, x);
  y[2] = (y[2] + 1) % 5;
  model.set_training(true);
  DeepFool<float> deepfool;
  Tensor<float> adv;
  deepfool.run(model, x.view(), y, adv);
  CHECK(model.training());
  CHECK(deepfool.steps()[2] == 0);
  CHECK(deepfool.fooled()[2] == 1);
  CHECK(std::memcmp(adv.data() + 200, x.data() + 200, 100 * sizeof(float)) == 0);
  for (std::int64_t i = 0; i < adv.numel(); ++i) REQUIRE((adv[i] >= 0.0f && adv[i] <= 1.0f));
}

TEST_CASE("DeepFool rejects bad options and arguments", "[deepfool][errors]") {
  CHECK_THROWS_AS(DeepFool<float>({.max_iter = 0}), argument_error);
  CHECK_THROWS_AS(DeepFool<float>({.overshoot = -0.1}), argument_error);
  CHECK_THROWS_AS(DeepFool<float>({.min_step = std::nan("")}), argument_error);
  CHECK_THROWS_AS(DeepFool<float>({.candidates = 1}), argument_error);
  CHECK_THROWS_AS(DeepFool<float>({.batch_size = 0}), argument_error);
  auto model = small_conv_net<float>(1);
  const auto x = test_images<float>(3, 7);
  DeepFool<float> deepfool;
  Tensor<float> adv;
  CHECK_THROWS_AS(deepfool.run(model, x.view(), std::vector<int>{0, 1}, adv), shape_error);
  CHECK_THROWS_AS(deepfool.run(model, x.view(), std::vector<int>{0, 1, 7}, adv), argument_error);
  CHECK_THROWS_AS(deepfool.run(model, Tensor<float>({0, 1, 10, 10}).view(), std::vector<int>{}, adv), shape_error);
  auto one_class = affine_classifier<float>(2, {1, 1}, {0});
  CHECK_THROWS_AS(deepfool.run(one_class, Tensor<float>({1, 2}, 0.5f).view(), std::vector<int>{0}, adv),
                  argument_error);
}
