#include "farbound/optim/optimizer.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "farbound/optim/adam.hpp"
#include "farbound/optim/sgd.hpp"
#include "optim/quadratic_problem.hpp"

using namespace farbound;
using farbound::testing::QuadraticProblem;

namespace {

// A parameter spanning several chunks with a ragged end, filled from the generator.
template <class T>
Parameter<T> big_parameter(std::uint32_t salt) {
  Parameter<T> p("big", {3, 7, 1021});  // 21441 elements: two chunks, the second not a multiple of any SIMD width
  RandomStream(7, Purpose::user, salt).normal(p.value.span());
  RandomStream(7, Purpose::user, salt + 1).normal(p.grad.span());
  return p;
}

}  // namespace

TEST_CASE("Adam on a multi-chunk parameter equals the plain scalar formula", "[optim][optimizer]") {
  Parameter<double> p = big_parameter<double>(1);
  std::vector<double> ref(p.value.span().begin(), p.value.span().end()), m(ref.size()), v(ref.size());
  Adam<double> adam({&p}, 0.01, {.weight_decay = 0.02});
  for (int t = 1; t <= 3; ++t) {
    adam.step();
    for (std::size_t i = 0; i < ref.size(); ++i) {
      const double g = p.grad[static_cast<std::int64_t>(i)] + 0.02 * ref[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      const double m_hat = m[i] / (1 - std::pow(0.9, t)), v_hat = v[i] / (1 - std::pow(0.999, t));
      ref[i] -= 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8);
    }
  }
  double worst = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ref[i] - p.value[static_cast<std::int64_t>(i)]));
  CHECK(worst < 1e-15);
}

TEST_CASE("Optimiser results do not depend on the thread count", "[optim][optimizer]") {
  auto run = [](int threads) {
    const int before = max_threads();
    set_threads(threads);
    Parameter<float> p = big_parameter<float>(3);
    Parameter<float> q = big_parameter<float>(5);
    AdamW<float> adamw({&p, &q}, 0.01);
    SGD<float> sgd({&q}, 0.1, {.momentum = 0.9, .nesterov = true});
    for (int t = 0; t < 3; ++t) {
      adamw.step();
      sgd.step();
    }
    set_threads(before);
    std::vector<float> out(p.value.span().begin(), p.value.span().end());
    out.insert(out.end(), q.value.span().begin(), q.value.span().end());
    return out;
  };
  CHECK(run(1) == run(4));
}

TEST_CASE("state() and load_state() resume exactly where the optimiser stopped", "[optim][optimizer]") {
  QuadraticProblem<double> a;
  Adam<double> adam_a(a.parameters(), 0.01, {.weight_decay = 0.1});
  for (int s = 0; s < 3; ++s) {
    a.compute_grad();
    adam_a.step();
  }
  const OptimizerState<double> saved = adam_a.state();
  CHECK(saved.steps == 3);
  REQUIRE(saved.tensors.size() == 4);
  CHECK(saved.tensors[0].name == "0.exp_avg");
  CHECK(saved.tensors[1].name == "1.exp_avg");
  CHECK(saved.tensors[2].name == "0.exp_avg_sq");
  CHECK(saved.tensors[0].tensor.shape() == Shape{2, 3});
  CHECK(saved.tensors[1].tensor.shape() == Shape{3});

  QuadraticProblem<double> b;
  for (std::size_t i = 0; i < 9; ++i) b.value(i) = a.value(i);
  Adam<double> adam_b(b.parameters(), 0.01, {.weight_decay = 0.1});
  adam_b.load_state(saved);
  CHECK(adam_b.steps() == 3);
  for (int s = 0; s < 2; ++s) {
    a.compute_grad();
    adam_a.step();
    b.compute_grad();
    adam_b.step();
  }
  for (std::size_t i = 0; i < 9; ++i) CHECK(a.value(i) == b.value(i));
}

TEST_CASE("load_state rejects a state that does not fit and changes nothing", "[optim][optimizer][errors]") {
  QuadraticProblem<float> prob;
  Adam<float> adam(prob.parameters());
  prob.compute_grad();
  adam.step();
  const auto before = adam.state();

  SECTION("a state from SGD") {
    SGD<float> sgd(prob.parameters(), 0.1, {.momentum = 0.9});
    CHECK_THROWS_WITH(adam.load_state(sgd.state()), Catch::Contains("'0.exp_avg' is missing"));
  }
  SECTION("a wrong shape") {
    auto s = adam.state();
    s.tensors[3].tensor = Tensor<float>({4}, 1.0f);
    CHECK_THROWS_WITH(adam.load_state(s), Catch::Contains("1.exp_avg_sq") && Catch::Contains("[4]") && Catch::Contains("[3]"));
  }
  SECTION("an extra tensor") {
    auto s = adam.state();
    s.tensors[0].tensor.fill(5.0f);
    s.tensors.push_back({"2.exp_avg", Tensor<float>({1}, 0.0f)});
    CHECK_THROWS_WITH(adam.load_state(s), Catch::Contains("5 tensors, expected 4"));
  }
  SECTION("a negative step count") {
    auto s = adam.state();
    s.steps = -2;
    CHECK_THROWS_WITH(adam.load_state(s), Catch::Contains("-2"));
  }
  const auto after = adam.state();
  CHECK(after.steps == before.steps);
  for (std::size_t k = 0; k < after.tensors.size(); ++k)
    for (std::int64_t i = 0; i < after.tensors[k].tensor.numel(); ++i) CHECK(after.tensors[k].tensor[i] == before.tensors[k].tensor[i]);
}

TEST_CASE("Bad parameter lists are rejected", "[optim][optimizer][errors]") {
  Parameter<float> p("weight", {2, 2});
  CHECK_THROWS_WITH(SGD<float>({}, 0.1), Catch::Contains("empty parameter list"));
  CHECK_THROWS_WITH(SGD<float>({&p, nullptr}, 0.1), Catch::Contains("parameter 1 is null"));
  CHECK_THROWS_WITH(Adam<float>({&p, &p}), Catch::Contains("'weight' appears more than once"));
  Parameter<float> mismatched("bias", {3});
  mismatched.grad.resize({4});
  CHECK_THROWS_AS(SGD<float>({&mismatched}, 0.1), shape_error);

  SGD<float> sgd({&p}, 0.1);
  p.value.resize({4});
  CHECK_THROWS_WITH(sgd.step(), Catch::Contains("'weight' changed shape") && Catch::Contains("[2, 2]") && Catch::Contains("[4]"));
}

TEST_CASE("zero_grad clears every gradient; empty parameters are fine", "[optim][optimizer]") {
  Parameter<double> p("w", {3}), empty("e", {0});
  p.grad.fill(2.0);
  SGD<double> sgd({&p, &empty}, 0.5);
  sgd.step();
  CHECK(p.value[0] == -1.0);
  sgd.zero_grad();
  for (double g : p.grad.span()) CHECK(g == 0.0);
}
