#include "farbound/nn/loss.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/core/random.hpp"
#include "support/gradcheck.hpp"

using namespace farbound;
using farbound::testing::close;
using farbound::testing::fill_uniform;
using farbound::testing::relative_error;

namespace {

// Logits with ordinary values, +-1e4 extremes, a constant row and ties at the maximum.
const std::vector<double> logits_5x4 = {0.5, -1.25, 2.0,  0.0,  1e4, -1e4, 0.0, 3.0, -3.0, -3.0,
                                        -3.0, -3.0, 0.1, 0.2, -0.7, 1.9, -1e4, 2.5, 1e4, 1e4};
const std::vector<int> labels_5 = {2, 0, -1, 3, 1};

// Produced with torch 1.13 (float64): z = torch.tensor(logits_5x4).view(5, 4);
// F.softmax(z, 1), F.log_softmax(z, 1), F.cross_entropy(z, labels_5, ignore_index=-1) and
// its gradient by torch.autograd.grad; printed with repr.
const std::vector<double> torch_softmax = {
    0.15969355003210822, 0.027750577932680404, 0.7156968377823844, 0.09685903425282705, 1.0, 0.0, 0.0, 0.0, 0.25, 0.25,
    0.25, 0.25, 0.11622302126130865, 0.128446303108886, 0.052222369749917646, 0.7031083058798877, 0.0, 0.0, 0.5, 0.5};
const std::vector<double> torch_log_softmax = {
    -1.8344986126036624, -3.5844986126036624, -0.33449861260366254, -2.3344986126036624, 0.0, -20000.0, -10000.0,
    -9997.0, -1.3862943611198906, -1.3862943611198906, -1.3862943611198906, -1.3862943611198906, -2.1522443366198196,
    -2.0522443366198195, -2.9522443366198194, -0.35224433661981974, -20000.69314718056, -9998.19314718056,
    -0.6931471805599453, -0.6931471805599453};
const double torch_loss = 2499.719972532446;
const std::vector<double> torch_grad = {
    0.03992338750802706, 0.006937644483170103, -0.07107579055440391, 0.024214758563206762, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.029055755315327163, 0.0321115757772215, 0.013055592437479412, -0.07422292353002807, 0.0, -0.25, 0.125,
    0.125};

template <class T>
Tensor<T> make_logits(const std::vector<double>& v, std::int64_t n, std::int64_t c) {
  Tensor<T> t(Shape{n, c});
  for (std::int64_t i = 0; i < n * c; ++i) t[i] = T(v[std::size_t(i)]);
  return t;
}

}  // namespace

TEMPLATE_TEST_CASE("softmax, log_softmax and cross_entropy match PyTorch", "[loss]", float, double) {
  const double rel = std::is_same_v<TestType, float> ? 1e-6 : 1e-14;
  const double abs_floor = std::is_same_v<TestType, float> ? 1e-7 : 1e-16;
  Tensor<TestType> z = make_logits<TestType>(logits_5x4, 5, 4), p, lp, g;
  softmax(z.view(), p);
  log_softmax(z.view(), lp);
  const TestType loss = cross_entropy(z.view(), labels_5, g);
  REQUIRE(p.shape() == Shape{5, 4});
  REQUIRE(lp.shape() == Shape{5, 4});
  REQUIRE(g.shape() == Shape{5, 4});
  for (std::int64_t i = 0; i < 20; ++i) {
    INFO("element " << i << ": softmax " << p[i] << ", log_softmax " << lp[i] << ", grad " << g[i]);
    CHECK(close(p[i], torch_softmax[std::size_t(i)], rel, abs_floor));
    CHECK(close(lp[i], torch_log_softmax[std::size_t(i)], rel, abs_floor));
    CHECK(close(g[i], torch_grad[std::size_t(i)], rel, abs_floor));
  }
  CHECK(close(loss, torch_loss, rel, 0));
}

TEST_CASE("cross_entropy gradient matches finite differences", "[loss][gradcheck]") {
  struct Case {
    std::int64_t n, c;
    std::vector<int> labels;
  };
  const std::vector<Case> cases = {
      {1, 1, {0}}, {1, 3, {2}}, {1, 3, {-1}}, {5, 7, {0, -1, 6, 3, 3}}, {4, 10, {9, 8, -1, -1}}, {3, 2, {1, 0, 1}}};
  std::uint32_t salt = 40;
  for (const Case& cs : cases) {
    Tensor<double> z(Shape{cs.n, cs.c}), g, scratch;
    fill_uniform(z.view(), salt++, -4.0, 4.0);
    cross_entropy(z.view(), cs.labels, g);
    const double h = 1e-5;
    for (std::int64_t i = 0; i < z.numel(); ++i) {
      const double saved = z[i];
      z[i] = saved + h;
      const double up = cross_entropy(z.view(), cs.labels, scratch);
      z[i] = saved - h;
      const double down = cross_entropy(z.view(), cs.labels, scratch);
      z[i] = saved;
      const double numeric = (up - down) / (2 * h);
      INFO("[" << cs.n << ", " << cs.c << "] logit " << i << ": analytic " << g[i] << ", numeric " << numeric);
      CHECK(relative_error(g[i], numeric) < 1e-6);
    }
  }
}

TEST_CASE("log_softmax rows sum to one after exponentiation, softmax is its exponential", "[loss]") {
  Tensor<double> z(Shape{7, 13}), p, lp;
  fill_uniform(z.view(), 3, -20.0, 20.0);
  softmax(z.view(), p);
  log_softmax(z.view(), lp);
  for (std::int64_t i = 0; i < 7; ++i) {
    double s = 0;
    for (std::int64_t k = 0; k < 13; ++k) {
      s += p[i * 13 + k];
      CHECK(std::exp(lp[i * 13 + k]) == Approx(p[i * 13 + k]).epsilon(1e-13));
    }
    CHECK(s == Approx(1.0).epsilon(1e-14));
  }
}

TEMPLATE_TEST_CASE("Extreme logits give finite losses and gradients", "[loss]", float, double) {
  // [1e4, -1e4]: label 0 costs exactly 0, label 1 costs 2e4.
  Tensor<TestType> z(Shape{2, 2}), g;
  z[0] = TestType(1e4), z[1] = TestType(-1e4), z[2] = TestType(1e4), z[3] = TestType(-1e4);
  const TestType loss = cross_entropy(z.view(), std::vector<int>{0, 1}, g);
  CHECK(loss == TestType(1e4));  // mean of 0 and 2e4
  CHECK(g[0] == TestType(0));
  CHECK(g[1] == TestType(0));
  CHECK(g[2] == TestType(0.5));
  CHECK(g[3] == TestType(-0.5));

  // Random +-1e4 logits over many classes.
  Tensor<double> zd(Shape{9, 11});
  fill_uniform(zd.view(), 17, -1.0, 1.0);
  Tensor<TestType> big(Shape{9, 11}), p, lp;
  for (std::int64_t i = 0; i < big.numel(); ++i) big[i] = TestType(zd[i] < 0 ? -1e4 : 1e4) * TestType(std::abs(zd[i]));
  std::vector<std::int64_t> labels = {0, 1, 2, 3, 4, 5, 6, 7, 10};
  const TestType l = cross_entropy(big.view(), std::span<const std::int64_t>(labels), g);
  softmax(big.view(), p);
  log_softmax(big.view(), lp);
  CHECK(std::isfinite(l));
  for (std::int64_t i = 0; i < big.numel(); ++i) {
    INFO("element " << i);
    REQUIRE(std::isfinite(g[i]));
    REQUIRE(std::isfinite(p[i]));
    REQUIRE(std::isfinite(lp[i]));
  }
}

TEST_CASE("Unlabelled rows (-1) are ignored as PyTorch's ignore_index", "[loss]") {
  Tensor<double> z(Shape{4, 3}), g_all, g_sub;
  fill_uniform(z.view(), 21, -2.0, 2.0);
  const double with_unlabelled = cross_entropy(z.view(), std::vector<int>{1, -1, 2, -1}, g_all);
  // The same as the mean over the two labelled rows alone.
  Tensor<double> sub(Shape{2, 3});
  for (int k = 0; k < 3; ++k) sub[k] = z[k], sub[3 + k] = z[6 + k];
  const double labelled_only = cross_entropy(sub.view(), std::vector<int>{1, 2}, g_sub);
  CHECK(with_unlabelled == Approx(labelled_only).epsilon(1e-15));
  for (int k = 0; k < 3; ++k) {
    CHECK(g_all[k] == Approx(g_sub[k]).epsilon(1e-15));
    CHECK(g_all[3 + k] == 0.0);
    CHECK(g_all[6 + k] == Approx(g_sub[3 + k]).epsilon(1e-15));
    CHECK(g_all[9 + k] == 0.0);
  }
  // No labelled row at all: loss 0, gradient 0 (PyTorch gives NaN).
  Tensor<double> g(Shape{4, 3}, 7.0);
  CHECK(cross_entropy(z.view(), std::vector<int>{-1, -1, -1, -1}, g) == 0.0);
  for (double v : g.span()) CHECK(v == 0.0);
}

TEST_CASE("cross_entropy takes labels of any integer type", "[loss]") {
  Tensor<float> z(Shape{3, 4}), g;
  for (std::int64_t i = 0; i < 12; ++i) z[i] = float(i % 5) - 2.0f;
  const float a = cross_entropy(z.view(), std::vector<int>{3, -1, 0}, g);
  Tensor<std::int32_t> t(Shape{3});
  t[0] = 3, t[1] = -1, t[2] = 0;
  const float b = cross_entropy(z.view(), t.span(), g);
  const std::vector<std::int64_t> v = {3, -1, 0};
  const float c = cross_entropy(z.view(), std::span<const std::int64_t>(v), g);
  CHECK(a == b);
  CHECK(a == c);
}

TEST_CASE("Losses give identical results on 1 and 2 threads", "[loss][threads]") {
  const std::int64_t n = 3001, c = 10;
  Tensor<float> z(Shape{n, c});
  RandomStream(4, Purpose::user).normal(z.span(), 5.0);
  std::vector<int> labels(static_cast<std::size_t>(n));
  RandomStream s(4, Purpose::user, 1);
  for (std::int64_t i = 0; i < n; ++i) labels[std::size_t(i)] = int(s.below(std::uint64_t(i), 11)) - 1;
  float loss[2];
  Tensor<float> g[2], p[2], lp[2];
  const int saved_threads = max_threads();
  for (int threads : {1, 2}) {
    set_threads(threads);
    loss[threads - 1] = cross_entropy(z.view(), labels, g[threads - 1]);
    softmax(z.view(), p[threads - 1]);
    log_softmax(z.view(), lp[threads - 1]);
  }
  set_threads(saved_threads);
  const auto bytes = sizeof(float) * std::size_t(n * c);
  CHECK(std::memcmp(&loss[0], &loss[1], sizeof(float)) == 0);
  CHECK(std::memcmp(g[0].data(), g[1].data(), bytes) == 0);
  CHECK(std::memcmp(p[0].data(), p[1].data(), bytes) == 0);
  CHECK(std::memcmp(lp[0].data(), lp[1].data(), bytes) == 0);
}

TEST_CASE("Losses reject bad labels and shapes with clear messages", "[loss][errors]") {
  Tensor<double> z(Shape{3, 4}, 0.0), g;
  CHECK_THROWS_WITH(cross_entropy(z.view(), std::vector<int>{0, 4, 1}, g),
                    "cross_entropy: row 1 has label 4, outside [-1, 4) for 4 classes");
  CHECK_THROWS_WITH(cross_entropy(z.view(), std::vector<int>{0, 1, -2}, g), Catch::Contains("row 2 has label -2"));
  CHECK_THROWS_AS(cross_entropy(z.view(), std::vector<int>{0, 1, -2}, g), argument_error);
  CHECK_THROWS_WITH(cross_entropy(z.view(), std::vector<int>{0, 1}, g),
                    "cross_entropy: logits [3, 4] have 3 rows but there are 2 labels");
  CHECK_THROWS_AS(cross_entropy(z.view(), std::vector<int>{0, 1}, g), shape_error);
  Tensor<double> flat(Shape{12}, 0.0), p;
  CHECK_THROWS_WITH(softmax(flat.view(), p), "softmax: logits must be [N, C] with C >= 1, got [12]");
  CHECK_THROWS_AS(log_softmax(flat.view(), p), shape_error);
  Tensor<double> no_classes(Shape{3, 0});
  CHECK_THROWS_AS(cross_entropy(no_classes.view(), std::vector<int>{-1, -1, -1}, g), shape_error);
}
