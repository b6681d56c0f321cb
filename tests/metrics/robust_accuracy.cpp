#include "farbound/metrics/robust_accuracy.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "farbound/attack/fgsm.hpp"
#include "farbound/attack/pgd.hpp"
#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::small_conv_net;
using testing::test_images;
using testing::test_labels;

static_assert(EpsilonAttack<Fgsm<float>, float>);
static_assert(EpsilonAttack<Pgd<double>, double>);

TEST_CASE("FGSM at eps 0 gives exactly the clean accuracy", "[robust_accuracy]") {
  auto model = small_conv_net<float>(6);
  const auto x = test_images<float>(50, 10);
  const auto y = test_labels(50, 5, 10);
  Fgsm<float> fgsm({.batch_size = 16});
  const std::vector<double> eps = {0.0};
  const auto curve = robust_accuracy(model, fgsm, x.view(), y, eps);
  CHECK(curve.points == 50);
  CHECK(curve.accuracy[0] == accuracy(model, x.view(), y));
}

TEST_CASE("Robust accuracy on an affine classifier: a point falls once eps exceeds its L-inf margin",
          "[robust_accuracy]") {
  // Two classes, u = w1 - w0 = (1, -2): FGSM moves x by eps sign(+-u) and, without clipping,
  // changes the margin l = u.x + b by eps ||u||_1 = 3 eps. A point of label y falls at eps > |l| / 3.
  auto model = affine_classifier<double>(2, {0, 0, 1, -2}, {0, 0.1});
  Tensor<double> x({4, 2});
  const double v[] = {0.5, 0.5, 0.4, 0.6, 0.6, 0.2, 0.45, 0.45};
  for (int i = 0; i < 8; ++i) x[i] = v[i];
  const std::vector<int> y = {0, 0, 1, 0};  // margins -0.4, -0.7, 0.3, -0.35: thresholds 0.133, 0.233, 0.1, 0.117
  const std::vector<double> eps = {0.0, 0.11, 0.12, 0.134, 0.2, 0.25};
  Fgsm<double> fgsm;
  const auto curve = robust_accuracy(model, fgsm, x.view(), y, eps);
  const std::vector<double> expected = {1.0, 0.75, 0.5, 0.25, 0.25, 0.0};
  CHECK(curve.accuracy == expected);
  CHECK(curve.epsilons == eps);
}

TEST_CASE("PGD robust accuracy falls with eps", "[robust_accuracy]") {
  auto model = small_conv_net<float>(8);
  const auto x = test_images<float>(30, 11);
  const auto y = predict(model, x.view());
  Pgd<float> pgd({.steps = 5, .seed = 2});
  const std::vector<double> eps = {0.0, 0.05, 0.15, 0.5};
  const auto curve = robust_accuracy(model, pgd, x.view(), y, eps);
  CHECK(curve.accuracy[0] == 1.0);
  for (std::size_t k = 1; k < eps.size(); ++k) CHECK(curve.accuracy[k] <= curve.accuracy[k - 1]);
  CHECK(curve.accuracy.back() < 0.5);
}

TEST_CASE("compare_robustness: common points, per-model curves, mean and standard error", "[robust_accuracy]") {
  auto a1 = small_conv_net<float>(1), a2 = small_conv_net<float>(2), b1 = small_conv_net<float>(3);
  const auto x = test_images<float>(40, 12);
  const auto y = predict(a1, x.view());  // a1 is right everywhere, the others in places
  const std::vector<ModelGroup<float>> groups = {{"A", {&a1, &a2}}, {"B", {&b1}}};
  Fgsm<float> fgsm;
  const std::vector<double> eps = {0.0, 0.05, 0.1};
  std::vector<std::int64_t> progress;
  const auto cmp = compare_robustness<float>(groups, fgsm, x.view(), y, eps,
                                             {.progress = [&](std::int64_t done, std::int64_t total) {
                                               CHECK(total == 6);
                                               progress.push_back(done);
                                             }});
  CHECK(progress == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});
  REQUIRE(cmp.groups.size() == 2);
  CHECK(cmp.points == 40);
  std::vector<Sequential<float>*> all = {&a1, &a2, &b1};
  CHECK(cmp.common == commonly_correct<float>(all, x.view(), y));
  REQUIRE(!cmp.common.empty());
  const auto& ga = cmp.groups[0];
  CHECK(ga.name == "A");
  REQUIRE(ga.all_points.size() == 2);
  REQUIRE(ga.common_points.size() == 2);
  CHECK(ga.clean_accuracy[0] == 1.0);
  CHECK(ga.all_points[1].accuracy[0] == ga.clean_accuracy[1]);
  for (const auto& g : cmp.groups)
    for (const auto& c : g.common_points) {
      CHECK(c.points == std::int64_t(cmp.common.size()));
      CHECK(c.accuracy[0] == 1.0);  // every common point is classified correctly
    }
  // The summary is the mean and standard error of the two seeds' curves.
  for (std::size_t k = 0; k < eps.size(); ++k) {
    const double p = ga.all_points[0].accuracy[k], q = ga.all_points[1].accuracy[k];
    CHECK(ga.all_summary.accuracy[k].mean == Approx((p + q) / 2));
    CHECK(ga.all_summary.accuracy[k].standard_error == Approx(std::abs(p - q) / 2).margin(1e-15));
  }
  CHECK(cmp.groups[1].all_summary.accuracy[1].standard_error == 0.0);

  // Only the common points: no curves over all points.
  const auto common_only = compare_robustness<float>(groups, fgsm, x.view(), y, eps, {.all_points = false});
  CHECK(common_only.groups[0].all_points.empty());
  CHECK(common_only.groups[0].common_points.size() == 2);
  CHECK(common_only.groups[0].common_points[1].accuracy == ga.common_points[1].accuracy);
}

TEST_CASE("Robust accuracy rejects bad arguments", "[robust_accuracy][errors]") {
  auto model = small_conv_net<float>(1);
  const auto x = test_images<float>(3, 13);
  Fgsm<float> fgsm;
  const std::vector<double> none, eps = {0.1}, negative = {-0.1};
  const std::vector<int> y = {0, 1, 2};
  CHECK_THROWS_AS(robust_accuracy(model, fgsm, x.view(), y, none), argument_error);
  CHECK_THROWS_AS(robust_accuracy(model, fgsm, x.view(), std::vector<int>{0}, eps), shape_error);
  CHECK_THROWS_AS(robust_accuracy(model, fgsm, x.view(), y, negative), argument_error);
  const std::vector<RobustAccuracyCurve> mixed = {{{0.1}, {0.5}, 3}, {{0.2}, {0.5}, 3}};
  CHECK_THROWS_AS(summarize(mixed), argument_error);
  const std::vector<ModelGroup<float>> empty_group = {{"empty", {}}};
  CHECK_THROWS_AS(compare_robustness<float>(empty_group, fgsm, x.view(), y, eps), argument_error);
}
