#include "farbound/attack/apgd.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "support/attack_models.hpp"
#include "support/closed_form.hpp"

using namespace farbound;
using testing::predictions;
using testing::small_conv_net;
using testing::test_images;

TEST_CASE("APGD checkpoints follow p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)", "[apgd]") {
  // N = 100: after 22, 41, 57, 70, 80, 87, 93, 99 iterations (0-based: one less).
  CHECK(apgd_checkpoints(100) == std::vector<int>{21, 40, 56, 69, 79, 86, 92, 98});
  // N = 1000: intervals 220, 190, ..., 70, 60, 60, ...
  const std::vector<int> long_run = apgd_checkpoints(1000);
  REQUIRE(long_run.size() >= 3);
  CHECK(long_run[0] == 219);
  CHECK(long_run[1] - long_run[0] == 190);
  CHECK(long_run.back() - long_run[long_run.size() - 2] == 60);
  CHECK(long_run.back() < 1000);
  // Tiny runs: every interval is one iteration.
  CHECK(apgd_checkpoints(4) == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("APGD halves its step when the loss oscillates or stalls, step by step", "[apgd]") {
  ApgdStepSize s(2.0, 0.0);
  // Interval of 4: the loss rises 4 times out of 4 (> 0.75 * 4): keep the step.
  for (double loss : {1.0, 2.0, 3.0, 4.0}) CHECK(s.record(loss));
  CHECK_FALSE(s.check(4));
  CHECK(s.step() == 2.0);
  // Rises 3 times of 4 (<= 3): oscillation, halve.
  CHECK(s.record(5.0));
  CHECK_FALSE(s.record(4.5));
  CHECK(s.record(6.0));
  CHECK(s.record(7.0));
  CHECK(s.check(4));
  CHECK(s.step() == 1.0);
  CHECK(s.best_loss() == 7.0);
  // A spike, then a fall: rises 3 times of 4 (10 > 7, 2 > 1, 3 > 2) and halves again.
  for (double loss : {10.0, 1.0, 2.0, 3.0}) s.record(loss);
  CHECK(s.check(4));
  CHECK(s.step() == 0.5);
  // Rises 4 of 4 but stays below the best 10: (a) does not fire, and (b) cannot, the step
  // was halved at the last checkpoint.
  for (double loss : {4.0, 5.0, 6.0, 7.0}) CHECK_FALSE(s.record(loss));
  CHECK_FALSE(s.check(4));
  CHECK(s.step() == 0.5);
  // Again no new best, and not halved last time: (b) halves.
  for (double loss : {8.0, 9.0, 9.5, 9.8}) s.record(loss);
  CHECK(s.check(4));
  CHECK(s.step() == 0.25);
  CHECK(s.best_loss() == 10.0);
}

TEST_CASE("APGD's DLR losses match finite differences and need 4 classes", "[apgd]") {
  const double z[6] = {0.3, 1.7, -0.4, 1.1, 0.9, -1.2};
  for (ApgdLoss loss : {ApgdLoss::cross_entropy, ApgdLoss::dlr, ApgdLoss::targeted_dlr})
    for (int y : {1, 3}) {
      double grad[6], unused[6], probe[6];
      detail::apgd_loss(loss, z, 6, y, 4, grad);
      for (int j = 0; j < 6; ++j) {
        const double h = 1e-6;
        std::copy(z, z + 6, probe);
        probe[j] += h;
        const double up = detail::apgd_loss(loss, probe, 6, y, 4, unused);
        probe[j] -= 2 * h;
        const double down = detail::apgd_loss(loss, probe, 6, y, 4, unused);
        INFO(to_string(loss) << " label " << y << " logit " << j);
        CHECK(grad[j] == Approx((up - down) / (2 * h)).margin(1e-7));
      }
    }
  // DLR is invariant to shifting and scaling the logits.
  double shifted[6], grad[6];
  for (int j = 0; j < 6; ++j) shifted[j] = 3 * z[j] + 5;
  CHECK(detail::apgd_loss(ApgdLoss::dlr, shifted, 6, 3, 0, grad) ==
        Approx(detail::apgd_loss(ApgdLoss::dlr, z, 6, 3, 0, grad)));

  auto model = testing::affine_classifier<float>(2, {1, 0, 0, 1, 1, 1}, {0, 0, 0});
  Tensor<float> x({1, 2}), adv;
  x.fill(0.5f);
  const std::vector<int> y = {0};
  for (ApgdLoss loss : {ApgdLoss::dlr, ApgdLoss::targeted_dlr})
    CHECK_THROWS_AS(Apgd<float>({.loss = loss}).run(model, x.view(), y, 0.1, adv), argument_error);
  CHECK_NOTHROW(Apgd<float>({.steps = 2}).run(model, x.view(), y, 0.1, adv));
}

TEST_CASE("APGD on an affine classifier reaches the exact robust accuracy", "[apgd]") {
  const testing::AffineProblem p = testing::affine_problem(400);
  for (Norm norm : {Norm::linf, Norm::l2}) {
    const double eps = norm == Norm::linf ? p.linf_eps : p.l2_eps;
    const double exact = testing::exact_robust_accuracy(p, norm, eps);
    INFO(to_string(norm) << " eps " << eps << " exact robust accuracy " << exact);
    REQUIRE(exact > 0.2);
    REQUIRE(exact < 0.8);
    for (ApgdLoss loss : {ApgdLoss::cross_entropy, ApgdLoss::targeted_dlr}) {
      Apgd<float> apgd({.norm = norm, .loss = loss, .batch_size = 64});
      Tensor<float> adv;
      auto model = p.model();
      const TensorView<const float> x = p.points(norm);
      const std::span<const int> y = p.labels(norm);
      apgd.run(model, x, y, eps, adv);
      const std::vector<int> at_adv = predictions(model, adv);
      double robust = 0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        // The returned point is the one the verdict is about.
        CHECK(bool(apgd.fooled()[i]) == (at_adv[i] != y[i]));
        robust += !apgd.fooled()[i];
        const std::int64_t at = std::int64_t(i) * p.d;
        CHECK(detail::distance(adv.data() + at, x.data() + at, p.d, norm) <= eps * (1 + 1e-6) + 1e-6);
      }
      robust /= double(y.size());
      INFO(to_string(loss));
      CHECK(std::abs(robust - exact) <= 0.01 + 1e-9);
    }
  }
}

TEST_CASE("APGD stays in the ball and the bounds and is deterministic on any thread count", "[apgd]") {
  auto model = small_conv_net<float>(7);
  const auto x = test_images<float>(13, 5);
  const auto y = predictions(model, x);
  const std::int64_t d = x.shape().item_numel();
  for (Norm norm : {Norm::linf, Norm::l2}) {
    const double eps = norm == Norm::linf ? 0.03 : 0.3;
    Apgd<float> apgd({.norm = norm, .loss = ApgdLoss::targeted_dlr, .steps = 10, .restarts = 2,
                      .target_classes = 2, .seed = 5, .batch_size = 4});
    Tensor<float> a, b;
    apgd.run(model, x.view(), y, eps, a);
    const int threads = max_threads();
    set_threads(1);
    apgd.run(model, x.view(), y, eps, b);
    set_threads(threads);
    CHECK(std::memcmp(a.data(), b.data(), std::size_t(a.numel()) * sizeof(float)) == 0);
    for (std::int64_t i = 0; i < x.size(0); ++i) {
      for (std::int64_t j = 0; j < d; ++j) REQUIRE((a[i * d + j] >= 0.0f && a[i * d + j] <= 1.0f));
      CHECK(detail::distance(a.data() + i * d, x.data() + i * d, d, norm) <= eps * (1 + 1e-6) + 1e-6);
    }
    CHECK(apgd.loss_trace().size() == 11);
    CHECK(apgd.loss_trace().back() >= apgd.loss_trace().front());
  }
}
