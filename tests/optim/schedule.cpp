#include "farbound/optim/schedule.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

#include "farbound/optim/sgd.hpp"

using namespace farbound;

TEST_CASE("steps_per_epoch is floor(N_labelled * (Nu + 1) / batch)", "[optim][schedule]") {
  CHECK(steps_per_epoch(1280, 1, 1) == 2560);  // the reference's MNIST setting: 128 per class, Nu = 1, batch 1
  CHECK(steps_per_epoch(10, 1, 3) == 6);       // 20 anchors / 3
  CHECK(steps_per_epoch(7, 0, 7) == 1);
}

TEST_CASE("LinearCosineLR is constant to L, then cosine to 0 at T", "[optim][schedule]") {
  const std::int64_t S = steps_per_epoch(10, 1, 4);  // floor(20 / 4) = 5
  const LinearCosineLR lr(1e-3, 3, 7, S);
  const std::int64_t L = 15, T = 35;
  CHECK(lr.linear_steps() == L);
  CHECK(lr.total_steps() == T);
  CHECK(lr(0) == 1e-3);
  CHECK(lr(L - 1) == 1e-3);
  CHECK(lr(L) == 1e-3);  // t <= L is still constant
  CHECK(lr(L + 1) == Approx(1e-3 / 2 * (1 + std::cos(std::numbers::pi / 20))).epsilon(1e-15));
  CHECK(lr(L + 1) < 1e-3);
  CHECK(lr(L + 10) == Approx(0.5e-3).epsilon(1e-12));  // halfway through the cosine
  CHECK(lr(T) == Approx(0.0).margin(1e-20));
  CHECK(lr(T + 5) == 0.0);  // stays at 0 after T
  for (std::int64_t t = L; t < T; ++t) CHECK(lr(t + 1) < lr(t));
  CHECK(lr.describe() == "LinearCosineLR(base 0.001, constant to step 15, cosine to 0 at step 35)");
}

TEST_CASE("ConstantLR, StepLR and CosineLR", "[optim][schedule]") {
  const ConstantLR constant(0.25);
  CHECK(constant(0) == 0.25);
  CHECK(constant(1000000) == 0.25);

  const StepLR step(0.1, 3, 0.5);  // 0.1 for t = 0..2, 0.05 for 3..5, ...
  CHECK(step(0) == 0.1);
  CHECK(step(2) == 0.1);
  CHECK(step(3) == Approx(0.05));
  CHECK(step(8) == Approx(0.025));

  const CosineLR cosine(2.0, 8);
  CHECK(cosine(0) == 2.0);
  CHECK(cosine(4) == Approx(1.0).epsilon(1e-15));
  CHECK(cosine(2) == Approx(1 + std::cos(std::numbers::pi / 4)).epsilon(1e-15));
  CHECK(cosine(8) == Approx(0.0).margin(1e-15));
  CHECK(cosine(9) == 0.0);
}

TEST_CASE("Optimizer::step(schedule) uses lr(t) for the step counted from t = 0", "[optim][schedule]") {
  Parameter<double> p("p", {1});
  SGD<double> sgd({&p}, 1.0);
  const StepLR schedule(0.1, 1, 0.5);  // 0.1, 0.05, 0.025, ...
  for (double want : {0.1, 0.05, 0.025}) {
    p.value[0] = 0;
    p.grad[0] = 1;
    sgd.step(schedule);
    CHECK(sgd.lr() == Approx(want));
    CHECK(p.value[0] == Approx(-want));
  }
  CHECK(sgd.steps() == 3);
}

TEST_CASE("Bad schedule arguments are argument errors naming the value", "[optim][schedule][errors]") {
  CHECK_THROWS_WITH(ConstantLR(-0.5), Catch::Contains("-0.5"));
  CHECK_THROWS_AS(ConstantLR(INFINITY), argument_error);
  CHECK_THROWS_WITH(StepLR(0.1, 0), Catch::Contains("step_size") && Catch::Contains("0"));
  CHECK_THROWS_WITH(StepLR(0.1, 2, -0.5), Catch::Contains("gamma") && Catch::Contains("-0.5"));
  CHECK_THROWS_WITH(CosineLR(0.1, 0), Catch::Contains("T"));
  CHECK_THROWS_WITH(LinearCosineLR(0.1, 100, 100, 5), Catch::Contains("num_epochs (got 100)") && Catch::Contains("linear_epoch (got 100)"));
  CHECK_THROWS_WITH(LinearCosineLR(0.1, 100, 50, 5), Catch::Contains("50"));
  CHECK_THROWS_WITH(LinearCosineLR(0.1, -1, 50, 5), Catch::Contains("linear_epoch") && Catch::Contains("-1"));
  CHECK_THROWS_WITH(LinearCosineLR(0.1, 1, 2, 0), Catch::Contains("steps per epoch"));
  CHECK_THROWS_WITH(LinearCosineLR(-1e-3, 1, 2, 1), Catch::Contains("-0.001"));
  CHECK_THROWS_AS(LinearCosineLR(0.1, 1, std::int64_t(1) << 62, 4), argument_error);
  CHECK_THROWS_WITH(steps_per_epoch(0, 1, 1), Catch::Contains("labelled") && Catch::Contains("0"));
  CHECK_THROWS_WITH(steps_per_epoch(10, -1, 1), Catch::Contains("-1"));
  CHECK_THROWS_WITH(steps_per_epoch(10, 1, 0), Catch::Contains("batch"));
  CHECK_THROWS_WITH(steps_per_epoch(10, 1, 21), Catch::Contains("21") && Catch::Contains("20 anchors"));
  CHECK_THROWS_WITH(ConstantLR(0.1).lr(-3), Catch::Contains("-3"));
}
