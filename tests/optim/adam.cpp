#include "farbound/optim/adam.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "farbound/core/simd.hpp"
#include "farbound/optim/detail/divide_by_constant.hpp"
#include "optim/quadratic_problem.hpp"

using namespace farbound;
using farbound::testing::QuadraticProblem;
using farbound::testing::tolerance;

namespace {

// Five steps of `Opt` on the quadratic problem; returns the nine parameter values.
template <class Opt, class T>
std::array<double, 9> five_steps(QuadraticProblem<T>& prob, Opt& opt) {
  for (int s = 0; s < 5; ++s) {
    opt.zero_grad();
    prob.compute_grad();
    opt.step();
  }
  std::array<double, 9> out{};
  for (std::size_t i = 0; i < 9; ++i) out[i] = prob.value(i);
  return out;
}

template <class T>
void check_close(const std::array<double, 9>& got, const std::array<double, 9>& want) {
  for (std::size_t i = 0; i < 9; ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).margin(tolerance<T>).epsilon(tolerance<T>));
  }
}

// One scalar parameter p = 1 with the gradient fixed at 0.5, lr 0.1, weight decay 0.1.
template <class T>
struct OneScalar {
  Parameter<T> p{"p", {1}};
  OneScalar() { p.value[0] = T(1); }
  T step(Optimizer<T>& opt) {
    p.grad[0] = T(0.5);
    opt.step();
    return p.value[0];
  }
};

}  // namespace

TEMPLATE_TEST_CASE("Adam adds L2 weight decay to the gradient: two steps by hand", "[optim][adam]", float, double) {
  OneScalar<TestType> s;
  Adam<TestType> opt({&s.p}, 0.1, {.weight_decay = 0.1});
  // Step 1: g = 0.5 + 0.1*1 = 0.6, m = 0.1*0.6, v = 0.001*0.36, m_hat = 0.6, v_hat = 0.36:
  //   p = 1 - 0.1 * 0.6 / (0.6 + 1e-8)
  const double p1 = 1 - 0.1 * 0.6 / (0.6 + 1e-8);
  CHECK(s.step(opt) == Approx(p1).epsilon(tolerance<TestType>));
  CHECK(p1 == Approx(0.9000000016666666).epsilon(1e-15));
  // Step 2: g = 0.5 + 0.1*p1, m = 0.9*0.06 + 0.1*g, v = 0.999*0.00036 + 0.001*g^2,
  //   p = p1 - 0.1 * (m / (1 - 0.9^2)) / (sqrt(v / (1 - 0.999^2)) + 1e-8)
  const double g = 0.5 + 0.1 * p1, m = 0.9 * 0.06 + 0.1 * g, v = 0.999 * 0.00036 + 0.001 * g * g;
  const double p2 = p1 - 0.1 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.998001)) + 1e-8);
  CHECK(s.step(opt) == Approx(p2).epsilon(tolerance<TestType>));
  CHECK(p2 == Approx(0.8000473404883315).epsilon(1e-15));
  CHECK(opt.steps() == 2);
  CHECK(s.p.grad[0] == TestType(0.5));  // the gradient itself is not modified
}

TEMPLATE_TEST_CASE("AdamW decays the parameter before the update: two steps by hand", "[optim][adam]", float, double) {
  OneScalar<TestType> s;
  AdamW<TestType> opt({&s.p}, 0.1, {.weight_decay = 0.1});
  // With a constant gradient m_hat = 0.5 and v_hat = 0.25 exactly, so every step is
  //   p = p * (1 - 0.1*0.1) - 0.1 * 0.5 / (0.5 + 1e-8)
  const double update = 0.1 * 0.5 / (0.5 + 1e-8);
  const double p1 = 1 * 0.99 - update, p2 = p1 * 0.99 - update;
  CHECK(s.step(opt) == Approx(p1).epsilon(tolerance<TestType>));
  CHECK(s.step(opt) == Approx(p2).epsilon(tolerance<TestType>));
  CHECK(p2 == Approx(0.7811000039800006).epsilon(1e-15));
}

// Reference values: tests/optim/pytorch_reference.py under torch 1.13.0a0 (float64), the
// parameters after five steps on the quadratic problem of quadratic_problem.hpp.
TEMPLATE_TEST_CASE("Adam and AdamW match PyTorch over five steps", "[optim][adam][pytorch]", float, double) {
  SECTION("Adam(lr=0.01, weight_decay=0.1)") {
    QuadraticProblem<TestType> prob;
    Adam<TestType> opt(prob.parameters(), 0.01, {.weight_decay = 0.1});
    check_close<TestType>(five_steps(prob, opt),
                          {0.45008158922851954, -1.2000284838066726, 1.9500208274447248, 0.04945949997122101, -0.2504085160258085,
                           1.450030132699142, 0.7000628514772808, -1.9500260231103888, 0.04995383912362127});
  }
  SECTION("AdamW(lr=0.01, weight_decay=0.1)") {
    QuadraticProblem<TestType> prob;
    AdamW<TestType> opt(prob.parameters(), 0.01, {.weight_decay = 0.1});
    check_close<TestType>(five_steps(prob, opt),
                          {0.44768940211194613, -1.193893175319459, 1.940144886574934, 0.04938597725642923, -0.249435842963315,
                           1.442649690072955, 0.6964252496048728, -1.9401518031670966, 0.049862109955331066});
  }
  SECTION("Adam(lr=0.05, betas=(0.8, 0.99), eps=1e-3)") {
    QuadraticProblem<TestType> prob;
    Adam<TestType> opt(prob.parameters(), 0.05, {.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3});
    check_close<TestType>(five_steps(prob, opt),
                          {0.2555144521482229, -1.00179968947669, 1.7511719080006527, 0.18535799103262487, -0.15423084548602922,
                           1.2517738656403514, 0.5039710849275356, -1.7515920643218408, 0.24742775934132832});
  }
}

TEST_CASE("Adam and AdamW keep PyTorch's defaults and say what they are", "[optim][adam]") {
  QuadraticProblem<float> prob;
  Adam<float> adam(prob.parameters());
  AdamW<float> adamw(prob.parameters());
  CHECK(adam.lr() == 1e-3);
  CHECK(adam.options().weight_decay == 0);
  CHECK(adamw.options().weight_decay == 1e-2);
  CHECK(adam.describe() == "Adam(lr 0.001, betas (0.9, 0.999), eps 1e-08, weight_decay 0)");
  CHECK(adamw.describe() == "AdamW(lr 0.001, betas (0.9, 0.999), eps 1e-08, weight_decay 0.01)");
  const auto state = adam.state();
  REQUIRE(state.tensors.size() == 4);
  CHECK(state.tensors[0].name == "0.exp_avg");
  CHECK(state.tensors[3].name == "1.exp_avg_sq");
}

TEST_CASE("Bad Adam arguments are argument errors naming the value", "[optim][adam][errors]") {
  QuadraticProblem<double> prob;
  CHECK_THROWS_WITH(Adam<double>(prob.parameters(), -0.1), Catch::Contains("learning rate") && Catch::Contains("-0.1"));
  CHECK_THROWS_AS(Adam<double>(prob.parameters(), NAN), argument_error);
  CHECK_THROWS_WITH(Adam<double>(prob.parameters(), 1e-3, {.beta1 = 1.0}), Catch::Contains("beta1") && Catch::Contains("1"));
  CHECK_THROWS_WITH(AdamW<double>(prob.parameters(), 1e-3, {.beta2 = -0.5}), Catch::Contains("AdamW") && Catch::Contains("-0.5"));
  CHECK_THROWS_WITH(Adam<double>(prob.parameters(), 1e-3, {.eps = -1e-8}), Catch::Contains("eps") && Catch::Contains("-1e-08"));
  CHECK_THROWS_WITH(Adam<double>(prob.parameters(), 1e-3, {.weight_decay = -1}), Catch::Contains("weight_decay"));
  Adam<double> ok(prob.parameters());
  CHECK_THROWS_AS(ok.set_lr(-1), argument_error);
  CHECK(ok.lr() == 1e-3);
}

// On AVX-512 Adam divides sqrt(v) by sqrt(1 - beta2^t) with a product and Markstein's correction
// (optim/detail/divide_by_constant.hpp): the same bits as the division, checked on 16 K
// significands spread over two binades, on the scalar tail's path and the batches', for the
// constants of steps 1 to 64 and a few later ones at PyTorch's beta2 and at 0.9. (A driver
// that ran every significand for 148 such constants and 464 others over [2^-15, 1] found no
// difference.) Zero, the smallest square roots and infinity hold too.
TEMPLATE_TEST_CASE("Adam's division by its step constant gives the division's bits", "[optim][adam]", float, double) {
  using T = TestType;
  using U = std::conditional_t<std::is_same_v<T, float>, std::uint32_t, std::uint64_t>;
  using B = simd::batch<T>;
  constexpr int mantissa_bits = std::numeric_limits<T>::digits - 1;
  const U one = std::bit_cast<U>(T(1));
  const U significands = U(1) << mantissa_bits;
  const U stride = std::is_same_v<T, float> ? U(1021) : (significands >> 13) + 1;
  std::vector<int> steps;
  for (int t = 1; t <= 64; ++t) steps.push_back(t);
  for (int t : {100, 1000, 5000, 40000, 1000000}) steps.push_back(t);
  std::size_t mismatches = 0, checked = 0;
  for (double beta2 : {0.999, 0.9}) {
    for (int t : steps) {
      const T c = static_cast<T>(std::sqrt(1 - std::pow(beta2, t)));
      const T inverse_c = T(1) / c;
      std::array<T, simd::width<T>> x{}, q{};
      for (U bits = one; bits < one + 2 * significands; bits += stride * U(simd::width<T>)) {
        for (std::size_t l = 0; l < x.size(); ++l) x[l] = std::bit_cast<T>(U(bits + l * stride));
        detail::divide_by_constant(B::load_unaligned(x.data()), c, inverse_c).store_unaligned(q.data());
        for (std::size_t l = 0; l < x.size(); ++l) {
          mismatches += q[l] != x[l] / c;
          mismatches += detail::divide_by_constant(x[l], c, inverse_c) != x[l] / c;
          checked += 2;
        }
      }
      const T inf = std::numeric_limits<T>::infinity();
      const T smallest_root = std::sqrt(std::numeric_limits<T>::denorm_min());
      for (T special : {T(0), smallest_root, std::nextafter(smallest_root, T(1)), inf}) {
        CHECK(detail::divide_by_constant(special, c, inverse_c) == special / c);
        CHECK(detail::divide_by_constant(B(special), c, inverse_c).get(0) == special / c);
      }
    }
  }
  INFO(checked << " quotients checked");
  CHECK(mismatches == 0);
}
