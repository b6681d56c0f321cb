#include "farbound/theory/subspace_deepfool.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;
using testing::normal_points;
using testing::predictions;

TEMPLATE_TEST_CASE("on an affine classifier one step reaches the boundary along M M^T w", "[theory][subspace_deepfool]",
                   float, double) {
  using T = TestType;
  // m(x) = w . x + b; moves x0 + M c with M = [[1, 0], [1, 1], [0, 2]] (not orthonormal).
  // g = M^T w, and the step c = 1.02 |m| / ||g||^2 g (min_step 0) crosses the boundary.
  const double w[3] = {0.5, -1, 0.25}, b = 0.2;
  auto model = affine_classifier<T>(3, {0, 0, 0, w[0], w[1], w[2]}, {0, b});
  Eigen::MatrixXd m(3, 2);
  m << 1, 0, 1, 1, 0, 2;
  const Eigen::Vector3d wv(w[0], w[1], w[2]);
  const Eigen::Vector2d g = m.transpose() * wv;
  const Tensor<T> x = normal_points<T>(50, 3, 21, 1);
  SubspaceDeepFool<T> attack(m, {.min_step = 0});
  Tensor<T> x_adv;
  attack.run(model, x.view(), predictions(model, x), x_adv);
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (std::int64_t i = 0; i < 50; ++i) {
    const Eigen::Vector3d xi(double(x[3 * i]), double(x[3 * i + 1]), double(x[3 * i + 2]));
    const double margin = wv.dot(xi) + b;
    const Eigen::Vector3d expected = xi - 1.02 * margin / g.squaredNorm() * (m * g);
    CHECK(attack.fooled()[std::size_t(i)] == 1);
    for (int j = 0; j < 3; ++j) CHECK(double(x_adv[3 * i + j]) == Approx(expected(j)).margin(tol * (1 + std::abs(expected(j)))));
  }
}

TEST_CASE("with orthonormal M the move is the smallest over the candidate classes", "[theory][subspace_deepfool]") {
  // Three classes, moves along (x0, x1) only; one step goes to the nearest linearised
  // boundary within that plane: length 1.02 * min_k |l_k| / ||(w_k - w_y) restricted||.
  const std::vector<double> wts{1, 0, 0.5, 0, 1, -2, -1, -1, 3};
  const std::vector<double> bs{0, 0.3, -0.2};
  auto model = affine_classifier<double>(3, wts, bs);
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(3, 2);
  m(0, 0) = 1;
  m(1, 1) = 1;
  const Tensor<double> x = normal_points<double>(40, 3, 21, 2);
  const std::vector<int> y = predictions(model, x);
  SubspaceDeepFool<double> attack(m, {.min_step = 0});
  Tensor<double> x_adv;
  attack.run(model, x.view(), y, x_adv);
  const std::vector<int> after = predictions(model, x_adv);
  for (std::int64_t i = 0; i < 40; ++i) {
    const int yi = y[std::size_t(i)];
    double best = std::numeric_limits<double>::infinity();
    for (int k = 0; k < 3; ++k) {
      if (k == yi) continue;
      double l = bs[std::size_t(k)] - bs[std::size_t(yi)], g0 = wts[std::size_t(3 * k)] - wts[std::size_t(3 * yi)],
             g1 = wts[std::size_t(3 * k + 1)] - wts[std::size_t(3 * yi + 1)];
      for (int j = 0; j < 3; ++j) l += (wts[std::size_t(3 * k + j)] - wts[std::size_t(3 * yi + j)]) * x[3 * i + j];
      best = std::min(best, std::abs(l) / std::hypot(g0, g1));
    }
    CHECK(attack.fooled()[std::size_t(i)] == 1);
    CHECK(after[std::size_t(i)] != yi);
    CHECK(x_adv[3 * i + 2] == x[3 * i + 2]);  // never moves outside M's span
    // The first step is the whole move unless it landed on a third class's side first.
    const double moved = std::hypot(x_adv[3 * i] - x[3 * i], x_adv[3 * i + 1] - x[3 * i + 1]);
    CHECK(moved >= 1.02 * best * (1 - 1e-12));
  }
}

TEST_CASE("no gradient in the subspace: no move, not fooled", "[theory][subspace_deepfool]") {
  auto model = affine_classifier<double>(2, {0, 0, 0, 1}, {0, 0});
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(2, 1);
  m(0, 0) = 1;  // the classifier looks at x1 only
  const Tensor<double> x = normal_points<double>(10, 2, 21, 3);
  SubspaceDeepFool<double> attack(m, {});
  Tensor<double> x_adv;
  attack.run(model, x.view(), predictions(model, x), x_adv);
  for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(x_adv[i] == x[i]);
  for (auto f : attack.fooled()) CHECK(f == 0);
}

TEST_CASE("SubspaceDeepFool rejects bad options and shapes", "[theory][subspace_deepfool][errors]") {
  const Eigen::MatrixXd m = Eigen::MatrixXd::Identity(2, 2);
  CHECK_THROWS_AS(SubspaceDeepFool<double>(m, {.max_iter = 0}), argument_error);
  CHECK_THROWS_AS(SubspaceDeepFool<double>(m, {.overshoot = -1}), argument_error);
  CHECK_THROWS_AS(SubspaceDeepFool<double>(m, {.min_step = std::nan("")}), argument_error);
  CHECK_THROWS_AS(SubspaceDeepFool<double>(m, {.batch_size = 0}), argument_error);
  CHECK_THROWS_AS(SubspaceDeepFool<double>(Eigen::MatrixXd(0, 0), {}), argument_error);
  auto model = affine_classifier<double>(3, {0, 0, 0, 1, 1, 1}, {0, 0});
  SubspaceDeepFool<double> attack(m, {});
  Tensor<double> x({2, 3}, 0.0), x_adv;
  CHECK_THROWS_AS(attack.run(model, x.view(), std::vector<int>{0, 0}, x_adv), shape_error);
}
