#include "farbound/metrics/robustness_suite.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "farbound/attack/fgsm.hpp"
#include "farbound/metrics/standard_suite.hpp"
#include "support/attack_models.hpp"
#include "support/closed_form.hpp"

using namespace farbound;

static_assert(EpsilonAttack<RobustnessSuite<float>, float>);

TEST_CASE("The suite keeps the per-point worst case and what each attack removed", "[robustness_suite]") {
  const testing::AffineProblem p = testing::affine_problem(200);
  auto model = p.model();
  const TensorView<const float> x = p.points(Norm::linf);
  std::vector<int> y(p.labels(Norm::linf).begin(), p.labels(Norm::linf).end());
  y[0] = (y[0] + 1) % 5;  // one point the model gets wrong at the clean input
  const double eps = p.linf_eps;

  Fgsm<float> fgsm;
  Tensor<float> adv;
  fgsm.run(model, x, y, eps, adv);
  std::int64_t fgsm_robust = 0;
  for (std::uint8_t f : fgsm.fooled()) fgsm_robust += !f;

  RobustnessSuite<float> suite({SuiteAttack<float>("FGSM", Fgsm<float>()),
                                SuiteAttack<float>("APGD-T", Apgd<float>({.loss = ApgdLoss::targeted_dlr}))});
  suite.run(model, x, y, eps, adv);
  const SuiteRun run = suite.last_run();  // a copy: later runs grow runs()
  CHECK(run.attacks == std::vector<std::string>{"FGSM", "APGD-T"});
  CHECK(run.fooled_by[0] == SuiteRun::misclassified_clean);
  CHECK(run.clean_correct == 99);
  // FGSM runs first on all correct points: it removes exactly what it fools alone.
  CHECK(run.removed[0] == 99 - fgsm_robust);
  CHECK(run.removed[1] > 0);
  CHECK(run.robust_points() == 99 - run.removed[0] - run.removed[1]);
  // Each attack's time is recorded, one entry per attack.
  REQUIRE(run.seconds.size() == 2);
  CHECK((run.seconds[0] >= 0 && run.seconds[1] >= 0));
  // The worst case reaches the exact robust accuracy (the exact count excludes point 0's
  // changed label: it is not robust either way).
  CHECK(std::abs(run.robust_accuracy() - testing::exact_robust_accuracy(p, Norm::linf, eps)) <= 0.01 + 1e-9);
  // Every point counted as fooled is misclassified at the returned point.
  const std::vector<int> at_adv = testing::predictions(model, adv);
  for (std::size_t i = 0; i < y.size(); ++i) CHECK(bool(suite.fooled()[i]) == (at_adv[i] != y[i]));

  // As an EpsilonAttack: a robust-accuracy curve.
  const std::vector<double> radii = {0.0, eps};
  const RobustAccuracyCurve curve = robust_accuracy(model, suite, x, y, radii);
  CHECK(curve.accuracy[0] == Approx(0.99));
  CHECK(curve.accuracy[1] == Approx(run.robust_accuracy()));
  CHECK(suite.runs().size() == 3);
}

TEST_CASE("The fast suite needs four classes", "[robustness_suite]") {
  auto model = testing::affine_classifier<float>(2, {1, 0, 0, 1, 1, 1}, {0, 0, 0});
  Tensor<float> x({1, 2}), adv;
  x.fill(0.5f);
  auto suite = fast_suite<float>();
  CHECK(suite.attacks().size() == 2);
  CHECK_THROWS_AS(suite.run(model, x.view(), std::vector<int>{2}, 0.1, adv), argument_error);
  CHECK(standard_suite<float>().attacks().size() == 4);
}
