// Closed forms on an affine classifier for the boundary-geometry metrics: planes through an
// input, distances along rays, boundary thickness, first-order margin and minimal
// adversarial distance (docs/boundary.md).
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "farbound/metrics/boundary_thickness.hpp"
#include "farbound/metrics/first_order_margin.hpp"
#include "farbound/metrics/image_plane.hpp"
#include "farbound/metrics/minimal_distance.hpp"
#include "farbound/metrics/ray_boundary_distance.hpp"
#include "support/attack_models.hpp"

using namespace farbound;
using testing::affine_classifier;

namespace {

// Two classes over 4 inputs: margin m(x) = z1 - z0 = w.x + c with w = (0.5, -1, 2, 0.25), c = -0.4.
const std::vector<double> geometry_w = {0.5, -1, 2, 0.25};
constexpr double geometry_c = -0.4;

Sequential<double> geometry_model() { return affine_classifier<double>(4, {0, 0, 0, 0, 0.5, -1, 2, 0.25}, {0.1, -0.3}); }

double geometry_margin(const double* x) {
  double m = geometry_c;
  for (int j = 0; j < 4; ++j) m += geometry_w[std::size_t(j)] * x[j];
  return m;
}

double geometry_norm(Norm norm) {
  double l2 = 0, l1 = 0;
  for (double v : geometry_w) l2 += v * v, l1 += std::abs(v);
  return norm == Norm::l2 ? std::sqrt(l2) : l1;
}

Tensor<double> geometry_points() {
  Tensor<double> x({4, 4});
  const double v[] = {0.5, 0.5, 0.5, 0.5, 0.2, 0.6, 0.3, 0.4, 0.7, 0.3, 0.25, 0.6, 0.4, 0.45, 0.35, 0.5};
  for (int i = 0; i < 16; ++i) x[i] = v[i];
  return x;
}

}  // namespace

TEST_CASE("An image plane is orthonormal and its slice follows the affine boundary", "[image_plane]") {
  auto model = geometry_model();
  Tensor<double> x0({1, 4}, 0.5), first({1, 4}), second({1, 4});
  for (int j = 0; j < 4; ++j) first[j] = geometry_w[std::size_t(j)], second[j] = j == 0 ? 1.0 : 0.0;
  const auto plane = make_image_plane<double>(x0.view(), first.view(), second.view());
  double uu = 0, vv = 0, uv = 0;
  for (int j = 0; j < 4; ++j) uu += plane.u[j] * plane.u[j], vv += plane.v[j] * plane.v[j], uv += plane.u[j] * plane.v[j];
  CHECK(uu == Approx(1));
  CHECK(vv == Approx(1));
  CHECK(uv == Approx(0).margin(1e-12));
  CHECK_THROWS_AS(make_image_plane<double>(x0.view(), first.view(), first.view()), argument_error);

  // Along u the margin grows at ||w||; along v not at all: class 1 exactly where a > -m(x0) / ||w||.
  const ImageSlice slice = image_slice(model, plane, 1.0, 40, 64);
  const double a_star = -geometry_margin(x0.data()) / geometry_norm(Norm::l2);
  int wrong = 0;
  for (std::int64_t j = 0; j < 40; ++j)
    for (std::int64_t i = 0; i < 40; ++i) {
      const Point2 p = slice.grid.centre(i, j);
      const std::size_t k = std::size_t(j * 40 + i);
      wrong += slice.classes[k] != (p.x > a_star ? 1 : 0);
      const double m = geometry_margin(x0.data()) + p.x * geometry_norm(Norm::l2);
      CHECK(slice.confidence[k] == Approx(1 / (1 + std::exp(-std::abs(m)))).epsilon(1e-5));
    }
  CHECK(wrong == 0);
  CHECK(slice.num_classes == 2);

  // The L2 ball's section is a circle; the L-inf ball's passes through eps / max|u_j| along u.
  for (const Point2& p : ball_section(plane, 0.3, Norm::l2, 16)) CHECK(std::hypot(p.x, p.y) == Approx(0.3));
  double umax = 0;
  for (int j = 0; j < 4; ++j) umax = std::max(umax, std::abs(plane.u[j]));
  CHECK(ball_section(plane, 0.3, Norm::linf, 16)[0].x == Approx(0.3 / umax));
}

TEST_CASE("Distance along a ray is |m(x)| / |w.d| for a unit direction d", "[ray_boundary_distance]") {
  auto model = geometry_model();
  const Tensor<double> x = geometry_points();
  Tensor<double> dirs({4, 4});
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) dirs[i * 4 + j] = (i == 3 ? 1.0 : -std::copysign(1.0, geometry_margin(x.data() + i * 4))) *
                                                  (j == i ? 3.0 : geometry_w[std::size_t(j)]);
  const auto dist = ray_boundary_distance(model, x.view(), dirs.view(), {.max_distance = 4, .scan_steps = 16, .bisection_steps = 30});
  for (int i = 0; i < 4; ++i) {
    double wd = 0, norm = 0;
    for (int j = 0; j < 4; ++j) wd += geometry_w[std::size_t(j)] * dirs[i * 4 + j], norm += dirs[i * 4 + j] * dirs[i * 4 + j];
    const double m = geometry_margin(x.data() + i * 4), slope = wd / std::sqrt(norm);
    INFO("ray " << i);
    if (m * slope < 0 && std::abs(m / slope) <= 4) {
      CHECK(dist[std::size_t(i)] >= std::abs(m / slope) * (1 - 1e-12));
      CHECK(dist[std::size_t(i)] == Approx(std::abs(m / slope)).epsilon(1e-8));
    } else {
      CHECK(std::isinf(dist[std::size_t(i)]));
    }
  }
  CHECK_THROWS_AS(ray_boundary_distance(model, x.view(), Tensor<double>({4, 4}, 0.0).view()), argument_error);
}

TEST_CASE("Boundary thickness on an affine classifier is the segment's length inside the margin band", "[boundary_thickness]") {
  auto model = geometry_model();
  const Tensor<double> x = geometry_points();
  const std::vector<int> labels = {0, 1, 0, 1};
  const BoundaryThicknessOptions options{.eps = 1.0, .step_size = 0.2, .bounds = {-100, 100}, .batch_size = 3};
  const auto th = boundary_thickness(model, x.view(), labels, options);
  const double wn = geometry_norm(Norm::l2);
  for (int i = 0; i < 4; ++i) {
    // PGD walks along -/+ w to x_r = x + s eps w / ||w||, s = +1 towards class 1; p_y - p_j =
    // tanh(s' m / 2) with s' = -1 for y = 0; the band alpha < tanh(.) < beta is an interval of m.
    const double s = labels[std::size_t(i)] == 0 ? 1 : -1, m0 = geometry_margin(x.data() + i * 4);
    const double lo = 2 * std::atanh(0.0), hi = 2 * std::atanh(0.75);
    // g(t) = -s (m0 + s t eps ||w||) = -s m0 - t eps ||w||: inside (lo, hi) for t in an interval.
    const double t_a = (-s * m0 - hi) / wn, t_b = (-s * m0 - lo) / wn;
    const double expected = std::max(0.0, std::min(1.0, t_b) - std::max(0.0, t_a));
    INFO("item " << i);
    CHECK(th.target[std::size_t(i)] == 1 - labels[std::size_t(i)]);
    CHECK(th.thickness[std::size_t(i)] == Approx(expected).margin(2.0 / 128));
  }
  CHECK_THROWS_AS(boundary_thickness(model, x.view(), labels, {.alpha = 0.8, .beta = 0.75}), argument_error);
}

TEST_CASE("First-order margin on an affine classifier is the signed distance m / ||w||_*", "[first_order_margin]") {
  auto model = geometry_model();
  const Tensor<double> x = geometry_points();
  const std::vector<int> labels = {0, 0, 1, 1};
  const auto margin = first_order_margin(model, x.view(), labels, 9, 3);
  for (int i = 0; i < 4; ++i) {
    const double m = geometry_margin(x.data() + i * 4) * (labels[std::size_t(i)] == 1 ? 1 : -1);
    CHECK(margin.l2[std::size_t(i)] == Approx(m / geometry_norm(Norm::l2)));
    CHECK(margin.linf[std::size_t(i)] == Approx(m / geometry_norm(Norm::linf)));
  }
}

TEST_CASE("The minimal adversarial distance on an affine classifier is |m| / ||w||_*", "[minimal_distance]") {
  auto model = geometry_model();
  const Tensor<double> x = geometry_points();
  for (Norm norm : {Norm::l2, Norm::linf}) {
    DeepFool<double> deepfool({.norm = norm});
    Fab<double> fab({.norm = norm, .steps = 20});
    CarliniWagnerL2<double> cw({.binary_search_steps = 5, .steps = 100, .stepsize = 0.05});
    MinimalDistanceAttacks<double> attacks{&deepfool, norm == Norm::l2 ? &cw : nullptr, &fab};
    const auto best = minimal_adversarial_distance(model, x.view(), norm, attacks, {.bisection_steps = 40});
    for (int i = 0; i < 4; ++i) {
      const double expected = std::abs(geometry_margin(x.data() + i * 4)) / geometry_norm(norm);
      INFO(to_string(norm) << " item " << i << " by " << best.by[std::size_t(i)]);
      CHECK(best.distance[std::size_t(i)] >= expected * (1 - 1e-9));
      CHECK(best.distance[std::size_t(i)] == Approx(expected).epsilon(1e-3));
    }
    CHECK_THROWS_AS(minimal_adversarial_distance(model, x.view(), norm, MinimalDistanceAttacks<double>{}), argument_error);
  }
}

TEST_CASE("On a conv net the class changes at the ray distance and not before", "[ray_boundary_distance]") {
  auto model = testing::small_conv_net<double>(4);
  const auto x = testing::test_images<double>(6, 31);
  Tensor<double> dirs({6, 1, 10, 10});
  RandomStream(7, Purpose::user, 1).normal(dirs.span());
  const auto dist = ray_boundary_distance(model, x.view(), dirs.view(), {.max_distance = 20, .bisection_steps = 30});
  const std::vector<int> start = predict(model, x.view());
  int crossed = 0;
  for (std::int64_t i = 0; i < 6; ++i) {
    if (!std::isfinite(dist[std::size_t(i)])) continue;
    ++crossed;
    const double norm = detail::norm_of(dirs.data() + i * 100, 100, Norm::l2);
    const auto at = [&](double t) {
      Tensor<double> p({1, 1, 10, 10});
      for (int j = 0; j < 100; ++j) p[j] = x[i * 100 + j] + t / norm * dirs[i * 100 + j];
      return predict(model, p.view())[0];
    };
    INFO("ray " << i << " at " << dist[std::size_t(i)]);
    CHECK(at(dist[std::size_t(i)]) != start[std::size_t(i)]);
    CHECK(at(dist[std::size_t(i)] * (1 - 1e-6)) == start[std::size_t(i)]);
  }
  CHECK(crossed >= 3);
}
