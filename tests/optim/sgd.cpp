#include "farbound/optim/sgd.hpp"

#include <catch2/catch.hpp>

#include <array>

#include "optim/quadratic_problem.hpp"

using namespace farbound;
using farbound::testing::QuadraticProblem;
using farbound::testing::tolerance;

namespace {

// Three steps from p = 1 with the gradient fixed at 1 and lr 0.1; the parameter after each.
template <class T>
std::array<double, 3> three_steps(SgdOptions opt) {
  Parameter<T> p("p", {1});
  p.value[0] = T(1);
  SGD<T> sgd({&p}, 0.1, opt);
  std::array<double, 3> out{};
  for (double& v : out) {
    p.grad[0] = T(1);
    sgd.step();
    v = p.value[0];
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("SGD with momentum: three steps by hand", "[optim][sgd]", float, double) {
  SECTION("plain momentum: b = 1, 1.9, 2.71; p -= 0.1 * b") {
    const auto p = three_steps<TestType>({.momentum = 0.9});
    CHECK(p[0] == Approx(0.9).epsilon(tolerance<TestType>));
    CHECK(p[1] == Approx(0.71).epsilon(tolerance<TestType>));
    CHECK(p[2] == Approx(0.439).epsilon(tolerance<TestType>));
  }
  SECTION("Nesterov: p -= 0.1 * (1 + 0.9 * b) = 0.19, 0.271, 0.3439") {
    const auto p = three_steps<TestType>({.momentum = 0.9, .nesterov = true});
    CHECK(p[0] == Approx(0.81).epsilon(tolerance<TestType>));
    CHECK(p[1] == Approx(0.539).epsilon(tolerance<TestType>));
    CHECK(p[2] == Approx(0.1951).epsilon(tolerance<TestType>));
  }
  SECTION("dampening 0.5 applies from the second step: b = 1, 1.4, 1.76") {
    const auto p = three_steps<TestType>({.momentum = 0.9, .dampening = 0.5});
    CHECK(p[0] == Approx(0.9).epsilon(tolerance<TestType>));
    CHECK(p[1] == Approx(0.76).epsilon(tolerance<TestType>));
    CHECK(p[2] == Approx(0.584).epsilon(tolerance<TestType>));
  }
  SECTION("weight decay 0.5 adds 0.5 * p to the gradient: p = 1 - 0.1 * 1.5") {
    const auto p = three_steps<TestType>({.weight_decay = 0.5});
    CHECK(p[0] == Approx(0.85).epsilon(tolerance<TestType>));
    CHECK(p[1] == Approx(0.85 - 0.1 * (1 + 0.5 * 0.85)).epsilon(tolerance<TestType>));
  }
}

// Reference values: tests/optim/pytorch_reference.py under torch 1.13.0a0 (float64), the
// parameters after five steps on the quadratic problem of quadratic_problem.hpp.
TEMPLATE_TEST_CASE("SGD matches PyTorch over five steps", "[optim][sgd][pytorch]", float, double) {
  auto run = [](SgdOptions opt, double lr) {
    QuadraticProblem<TestType> prob;
    SGD<TestType> sgd(prob.parameters(), lr, opt);
    std::array<double, 9> out{};
    for (int s = 0; s < 5; ++s) {
      sgd.zero_grad();
      prob.compute_grad();
      sgd.step();
    }
    for (std::size_t i = 0; i < 9; ++i) out[i] = prob.value(i);
    return out;
  };
  auto check = [](const std::array<double, 9>& got, const std::array<double, 9>& want) {
    for (std::size_t i = 0; i < 9; ++i) {
      INFO("element " << i);
      CHECK(got[i] == Approx(want[i]).margin(tolerance<TestType>).epsilon(tolerance<TestType>));
    }
  };
  SECTION("SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)") {
    check(run({.momentum = 0.9, .nesterov = true, .weight_decay = 0.01}, 0.1),
          {-0.16537456101256728, -0.10902151167184938, -1.0441171735697652, 0.17890554975019557, -0.257651203465172,
           -0.4987040833239805, -0.31227005536028263, -0.10835661993121358, 0.817417424473899});
  }
  SECTION("SGD(lr=0.1, momentum=0.9, dampening=0.1)") {
    check(run({.momentum = 0.9, .dampening = 0.1}, 0.1),
          {-0.08616508660000012, -0.3461300587296875, -1.2973319168000004, 0.2360307964, -0.2710369071913086,
           -0.45186526045312503, -0.40023206400000005, -0.3391989213, 0.6573599572875001});
  }
  SECTION("SGD(lr=0.1, weight_decay=0.05)") {
    check(run({.weight_decay = 0.05}, 0.1),
          {0.2465885358984375, -0.8524508292882812, 0.535266190725, 0.10988162102500001, -0.28116453676000003,
           0.6462116805421875, 0.2381754018726562, -1.2701749833875, 0.2687656365375});
  }
}

TEST_CASE("SGD keeps a momentum buffer only with momentum", "[optim][sgd]") {
  QuadraticProblem<float> prob;
  CHECK(SGD<float>(prob.parameters(), 0.1).state().tensors.empty());
  const auto state = SGD<float>(prob.parameters(), 0.1, {.momentum = 0.5}).state();
  REQUIRE(state.tensors.size() == 2);
  CHECK(state.tensors[1].name == "1.momentum_buffer");
  CHECK(SGD<float>(prob.parameters(), 0.1, {.momentum = 0.9, .nesterov = true}).describe() ==
        "SGD(lr 0.1, momentum 0.9, dampening 0, Nesterov, weight_decay 0)");
}

TEST_CASE("Bad SGD arguments are argument errors naming the value", "[optim][sgd][errors]") {
  QuadraticProblem<double> prob;
  CHECK_THROWS_WITH(SGD<double>(prob.parameters(), -2.5), Catch::Contains("-2.5"));
  CHECK_THROWS_WITH(SGD<double>(prob.parameters(), 0.1, {.momentum = -0.9}), Catch::Contains("momentum") && Catch::Contains("-0.9"));
  CHECK_THROWS_WITH(SGD<double>(prob.parameters(), 0.1, {.nesterov = true}), Catch::Contains("Nesterov"));
  CHECK_THROWS_WITH(SGD<double>(prob.parameters(), 0.1, {.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                    Catch::Contains("Nesterov") && Catch::Contains("0.1"));
  CHECK_THROWS_WITH(SGD<double>(prob.parameters(), 0.1, {.weight_decay = -3}), Catch::Contains("weight_decay") && Catch::Contains("-3"));
}
