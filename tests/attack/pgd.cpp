#include "farbound/attack/pgd.hpp"

#include "farbound/attack/fgsm.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::predictions;
using testing::small_conv_net;
using testing::test_images;
using testing::test_labels;

namespace {

template <class T>
bool bitwise_equal(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), std::size_t(a.numel()) * sizeof(T)) == 0;
}

}  // namespace

TEST_CASE("PGD stays inside the eps-ball and the bounds for every point", "[pgd]") {
  auto model = small_conv_net<float>(5);
  const auto x = test_images<float>(29, 4);
  const auto y = predictions(model, x);
  const std::int64_t d = x.shape().item_numel();
  for (Norm norm : {Norm::linf, Norm::l2}) {
    for (double eps : {0.01, 0.1, 0.5, 3.0}) {
      Pgd<float> pgd({.norm = norm, .steps = 7, .restarts = 2, .seed = 11, .batch_size = 8});
      Tensor<float> adv;
      pgd.run(model, x.view(), y, eps, adv);
      REQUIRE(adv.shape() == x.shape());
      bool moved = false;
      for (std::int64_t i = 0; i < x.size(0); ++i) {
        const float* a = adv.data() + i * d;
        const float* o = x.data() + i * d;
        for (std::int64_t j = 0; j < d; ++j) REQUIRE((a[j] >= 0.0f && a[j] <= 1.0f));
        const double dist = detail::distance(a, o, d, norm);
        INFO(to_string(norm) << " eps " << eps << " item " << i << " distance " << dist);
        // float rounding of x0 +- eps: a few ulps of the pixel values.
        REQUIRE(dist <= eps * (1 + 1e-6) + 1e-6);
        moved = moved || dist > 0.5 * eps;
      }
      if (eps <= 0.5) CHECK(moved);
    }
  }
}

TEST_CASE("PGD on an affine classifier matches its closed form", "[pgd]") {
  // Two classes: grad_x CE = p_other (w_other - w_y), a fixed direction u = w_other - w_y. From
  // x0 without random start, after k steps of size a*eps:
  //   L-inf: clip_bounds(x0 + min(k a, 1) eps sign(u))
  //   L2:    x0 + min(k a, 1) eps u / ||u||  (the bounds do not bind here)
  const std::vector<double> w = {0.5, -1.0, 2.0, 0.0, 0.3, -0.25, 1.5, -1.0, 0.75, -0.3};
  auto model = affine_classifier<double>(5, w, {0.1, -0.2});
  Tensor<double> x({2, 5});
  const double pixels[] = {0.5, 0.45, 0.55, 0.5, 0.6, 0.4, 0.5, 0.35, 0.62, 0.5};
  std::memcpy(x.data(), pixels, sizeof pixels);
  const std::vector<int> y = {0, 1};
  for (int steps : {1, 2, 5}) {
    for (double rel : {0.1, 0.3, 1.0}) {
      const double reach = std::min(steps * rel, 1.0);
      for (double eps : {0.05, 0.2, 0.7}) {
        Tensor<double> adv;
        Pgd<double>({.norm = Norm::linf, .steps = steps, .rel_stepsize = rel, .random_start = false})
            .run(model, x.view(), y, eps, adv);
        for (std::int64_t i = 0; i < 2; ++i)
          for (std::int64_t j = 0; j < 5; ++j) {
            const int yi = y[std::size_t(i)];
            const double u = w[std::size_t((1 - yi) * 5 + j)] - w[std::size_t(yi * 5 + j)];
            const double expected = std::clamp(x[i * 5 + j] + reach * eps * double((u > 0) - (u < 0)), 0.0, 1.0);
            INFO("Linf steps " << steps << " rel " << rel << " eps " << eps << " item " << i << " pixel " << j);
            CHECK(adv[i * 5 + j] == Approx(expected).margin(1e-15));
          }
        if (eps > 0.3) continue;  // keep the L2 walk inside the bounds
        Pgd<double>({.norm = Norm::l2, .steps = steps, .rel_stepsize = rel, .random_start = false})
            .run(model, x.view(), y, eps, adv);
        for (std::int64_t i = 0; i < 2; ++i) {
          const int yi = y[std::size_t(i)];
          double un = 0;
          for (std::int64_t j = 0; j < 5; ++j) {
            const double u = w[std::size_t((1 - yi) * 5 + j)] - w[std::size_t(yi * 5 + j)];
            un += u * u;
          }
          un = std::sqrt(un);
          for (std::int64_t j = 0; j < 5; ++j) {
            const double u = w[std::size_t((1 - yi) * 5 + j)] - w[std::size_t(yi * 5 + j)];
            INFO("L2 steps " << steps << " rel " << rel << " eps " << eps << " item " << i << " pixel " << j);
            CHECK(adv[i * 5 + j] == Approx(x[i * 5 + j] + reach * eps * u / un).margin(1e-14));
          }
        }
      }
    }
  }
}

TEST_CASE("PGD is deterministic for a seed, on any thread count", "[pgd]") {
  auto model = small_conv_net<float>(7);
  const auto x = test_images<float>(21, 5);
  const auto y = predictions(model, x);
  for (Norm norm : {Norm::linf, Norm::l2}) {
    const double eps = norm == Norm::linf ? 0.05 : 0.5;
    Pgd<float> pgd({.norm = norm, .steps = 5, .restarts = 2, .seed = 99, .batch_size = 6});
    Tensor<float> a, b, c, other;
    pgd.run(model, x.view(), y, eps, a);
    const std::vector<std::uint8_t> fooled(pgd.fooled().begin(), pgd.fooled().end());
    pgd.run(model, x.view(), y, eps, b);
    CHECK(bitwise_equal(a, b));
    CHECK(std::equal(fooled.begin(), fooled.end(), pgd.fooled().begin()));
    const int threads = max_threads();
    set_threads(1);
    pgd.run(model, x.view(), y, eps, c);
    set_threads(threads);
    CHECK(bitwise_equal(a, c));
    Pgd<float>({.norm = norm, .steps = 5, .restarts = 2, .seed = 100, .batch_size = 6})
        .run(model, x.view(), y, eps, other);
    CHECK_FALSE(bitwise_equal(a, other));
  }
}

TEST_CASE("PGD random starts are drawn per item, whatever the batch", "[pgd]") {
  // With zero steps' worth of movement (a tiny step) the result is the random start itself,
  // which depends on (seed, restart, item) only.
  auto model = affine_classifier<double>(3, {1, 0, 0, 0, 1, 0}, {0, 0});
  Tensor<double> x({5, 3}, 0.5);
  const std::vector<int> y = {0, 1, 0, 1, 0};
  Tensor<double> whole, batched;
  const PgdOptions o{.steps = 1, .rel_stepsize = 1e-300, .seed = 3, .batch_size = 5};
  Pgd<double>(o).run(model, x.view(), y, 0.1, whole);
  PgdOptions small = o;
  small.batch_size = 2;
  Pgd<double>(small).run(model, x.view(), y, 0.1, batched);
  CHECK(bitwise_equal(whole, batched));
  // Different items get different starts.
  CHECK(whole[0] != whole[3]);
}

TEST_CASE("PGD restarts only add fooled points and never lower the loss", "[pgd]") {
  auto model = small_conv_net<float>(9);
  const auto x = test_images<float>(40, 6);
  const auto y = predictions(model, x);
  Pgd<float> once({.steps = 3, .restarts = 1, .seed = 5, .batch_size = 16});
  Pgd<float> thrice({.steps = 3, .restarts = 3, .seed = 5, .batch_size = 16});
  Tensor<float> a, b;
  once.run(model, x.view(), y, 0.15, a);
  thrice.run(model, x.view(), y, 0.15, b);
  int fooled_once = 0, fooled_thrice = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    fooled_once += once.fooled()[i];
    fooled_thrice += thrice.fooled()[i];
    if (once.fooled()[i]) CHECK(thrice.fooled()[i]);
    if (!thrice.fooled()[i]) CHECK(thrice.losses()[i] >= once.losses()[i]);
  }
  CHECK(fooled_thrice >= fooled_once);
  CHECK(fooled_once > 0);
  CHECK(fooled_once < 40);
}

TEST_CASE("PGD rejects bad options and arguments", "[pgd][errors]") {
  CHECK_THROWS_AS(Pgd<float>({.steps = 0}), argument_error);
  CHECK_THROWS_AS(Pgd<float>({.rel_stepsize = -0.1}), argument_error);
  CHECK_THROWS_AS(Pgd<float>({.rel_stepsize = 0.0}), argument_error);
  CHECK_THROWS_AS(Pgd<float>({.restarts = 0}), argument_error);
  CHECK_THROWS_AS(Pgd<float>({.bounds = {0.0, 0.0}}), argument_error);
  CHECK_THROWS_AS(Pgd<float>({.batch_size = -1}), argument_error);
  auto model = small_conv_net<float>(1);
  const auto x = test_images<float>(3, 7);
  Pgd<float> pgd;
  Tensor<float> adv;
  CHECK_THROWS_AS(pgd.run(model, x.view(), std::vector<int>{0, 1, 2}, -1e-9, adv), argument_error);
  CHECK_THROWS_AS(pgd.run(model, x.view(), std::vector<int>{0, 1}, 0.1, adv), shape_error);
  CHECK_THROWS_AS(pgd.run(model, Tensor<float>({0, 1, 10, 10}).view(), std::vector<int>{}, 0.1, adv), shape_error);
  // The attack must not write over its own inputs.
  auto same = x.clone();
  CHECK_THROWS_AS(pgd.run(model, same.view(), std::vector<int>{0, 1, 2}, 0.1, same), argument_error);
}

TEST_CASE("PGD's unscored run gives run()'s points bit for bit, one start only", "[pgd]") {
  auto model = small_conv_net<float>(3);
  const auto x = test_images<float>(13, 6);
  const auto y = predictions(model, x);
  for (Norm norm : {Norm::linf, Norm::l2}) {
    const double eps = norm == Norm::linf ? 0.05 : 0.5;
    Pgd<float> pgd({.norm = norm, .steps = 4, .seed = 5, .batch_size = 5});
    Tensor<float> scored, unscored;
    pgd.run(model, x.view(), y, eps, scored);
    pgd.run_unscored(model, x.view(), y, eps, unscored);
    CHECK(bitwise_equal(scored, unscored));
  }
  Tensor<float> a, b;
  Fgsm<float> fgsm;
  fgsm.run(model, x.view(), y, 0.05, a);
  fgsm.run_unscored(model, x.view(), y, 0.05, b);
  CHECK(bitwise_equal(a, b));
  Tensor<float> adv;
  CHECK_THROWS_AS(Pgd<float>({.restarts = 2}).run_unscored(model, x.view(), y, 0.05, adv), argument_error);
}
