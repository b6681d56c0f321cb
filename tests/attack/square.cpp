#include "farbound/attack/square.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "support/attack_models.hpp"
#include "support/closed_form.hpp"

using namespace farbound;
using testing::predictions;

TEST_CASE("Square's window share halves after the published query counts", "[square]") {
  CHECK(square_fraction(0.8, 0, 10000) == 0.8);
  CHECK(square_fraction(0.8, 10, 10000) == 0.8);
  CHECK(square_fraction(0.8, 11, 10000) == 0.4);
  CHECK(square_fraction(0.8, 51, 10000) == 0.2);
  CHECK(square_fraction(0.8, 1001, 10000) == Approx(0.8 / 32));
  CHECK(square_fraction(0.8, 9999, 10000) == Approx(0.8 / 512));
  // Rescaled to 5000 queries: query 6 is query 12 of 10 000.
  CHECK(square_fraction(0.8, 5, 5000) == 0.8);
  CHECK(square_fraction(0.8, 6, 5000) == 0.4);
  // The L2 bump is centred, of unit norm, positive above and negative below.
  detail::SquareBumps<float> bumps;
  bumps.prepare(5);
  double norm = 0;
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 5; ++c) norm += bumps.at(5, false, r, c) * bumps.at(5, false, r, c);
  CHECK(norm == Approx(1.0));
  CHECK(bumps.at(5, false, 1, 2) > 0);
  CHECK(bumps.at(5, false, 3, 2) < 0);
  CHECK(bumps.at(5, true, 2, 1) == bumps.at(5, false, 1, 2));
}

TEST_CASE("Square fools an affine classifier wherever the margin is well below eps", "[square]") {
  const testing::AffineProblem p = testing::affine_problem(200);
  auto model = p.model();
  for (Norm norm : {Norm::linf, Norm::l2}) {
    const double eps = norm == Norm::linf ? p.linf_eps : p.l2_eps;
    const TensorView<const float> x = p.points(norm);
    const std::span<const int> y = p.labels(norm);
    Square<float> square({.norm = norm, .queries = 1000, .seed = 3, .batch_size = 32});
    Tensor<float> adv;
    square.run(model, x, y, eps, adv);
    const std::vector<int> at_adv = predictions(model, adv);
    int reachable = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const auto item = std::int64_t(i) + p.first(norm);
      INFO(to_string(norm) << " eps " << eps << " item " << i << " distance " << p.boundary_distance(item, norm));
      CHECK(bool(square.fooled()[i]) == (at_adv[i] != y[i]));
      const std::int64_t at = std::int64_t(i) * p.d;
      CHECK(detail::distance(adv.data() + at, x.data() + at, p.d, norm) <= eps * (1 + 1e-6) + 1e-6);
      for (std::int64_t j = 0; j < p.d; ++j) REQUIRE((adv[at + j] >= 0.0f && adv[at + j] <= 1.0f));
      // Not robust at half the radius (the bounds included): Square must find a point.
      if (!testing::exactly_robust(p, item, norm, eps / 2)) {
        ++reachable;
        CHECK(square.fooled()[i]);
      }
    }
    CHECK(reachable > 10);
  }
}

TEST_CASE("Square stays in the ball and the bounds and is deterministic on any thread count", "[square]") {
  auto model = testing::small_conv_net<float>(7);
  const auto x = testing::test_images<float>(9, 5);
  const auto y = predictions(model, x);
  const std::int64_t d = x.shape().item_numel();
  for (Norm norm : {Norm::linf, Norm::l2}) {
    const double eps = norm == Norm::linf ? 0.03 : 0.3;
    Square<float> square({.norm = norm, .queries = 60, .restarts = 2, .seed = 5, .batch_size = 4});
    Tensor<float> a, b;
    square.run(model, x.view(), y, eps, a);
    const int threads = max_threads();
    set_threads(1);
    square.run(model, x.view(), y, eps, b);
    set_threads(threads);
    CHECK(std::memcmp(a.data(), b.data(), std::size_t(a.numel()) * sizeof(float)) == 0);
    for (std::int64_t i = 0; i < x.size(0); ++i) {
      for (std::int64_t j = 0; j < d; ++j) REQUIRE((a[i * d + j] >= 0.0f && a[i * d + j] <= 1.0f));
      CHECK(detail::distance(a.data() + i * d, x.data() + i * d, d, norm) <= eps * (1 + 1e-6) + 1e-6);
    }
  }
  // Flat items are searched as one row of pixels.
  auto affine = testing::affine_classifier<float>(3, {1, 0, 0, 0, 1, 0}, {0, 0});
  Tensor<float> flat({1, 3}), adv;
  flat.fill(0.5f);
  flat[0] = 0.55f;
  Square<float> square({.queries = 50});
  square.run(affine, flat.view(), std::vector<int>{0}, 0.1, adv);
  CHECK(square.fooled()[0]);
}
