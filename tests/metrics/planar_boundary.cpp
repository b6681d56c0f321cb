#include "farbound/metrics/planar_boundary.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numbers>
#include <vector>

#include "farbound/core/parallel.hpp"
#include "farbound/metrics/boundary_distance.hpp"
#include "farbound/nn/dense.hpp"
#include "farbound/nn/zoo.hpp"

using namespace farbound;

namespace {

// A classifier of the plane given by a formula: logits = f(x, y). Forward only (the
// boundary is located by evaluating the model, never by its gradient).
template <class T>
class Formula final : public Layer<T> {
 public:
  Formula(int classes, std::function<void(double, double, double*)> f) : classes_(classes), f_(std::move(f)) {}
  std::string describe() const override { return "Formula"; }
  Shape output_shape(const Shape& in) const override { return {in[0], classes_}; }
  void forward(TensorView<const T> in, Tensor<T>& out) override {
    out.resize(output_shape(in.shape()));
    std::vector<double> z(static_cast<std::size_t>(classes_), 0.0);
    for (std::int64_t n = 0; n < in.size(0); ++n) {
      f_(double(in[2 * n]), double(in[2 * n + 1]), z.data());
      for (int c = 0; c < classes_; ++c) out[n * classes_ + c] = T(z[std::size_t(c)]);
    }
  }
  void backward(TensorView<const T>, TensorView<const T>, TensorView<const T>, Tensor<T>*, ParamGrads) override {
    throw argument_error("Formula: no backward");
  }

 private:
  int classes_;
  std::function<void(double, double, double*)> f_;
};

template <class T>
Sequential<T> formula_model(int classes, std::function<void(double, double, double*)> f) {
  Sequential<T> m;
  m.template add<Formula<T>>(classes, std::move(f));
  return m;
}

// An affine two-class model: logit 1 - logit 0 = w . x + b.
template <class T>
Sequential<T> affine_model(double w0, double w1, double b) {
  Sequential<T> m;
  auto& d = m.template add<Dense<T>>(2, 2);
  d.weight.value.zero();
  d.bias.value.zero();
  d.weight.value[2] = T(w0);
  d.weight.value[3] = T(w1);
  d.bias.value[1] = T(b);
  return m;
}

std::vector<Point2> test_points() {
  return {{0.3, 0.2}, {-1.2, 0.7}, {1.5, -1.1}, {-0.4, -1.6}, {0.05, 0.9}, {1.7, 1.7}, {-1.8, -0.1}};
}

}  // namespace

TEST_CASE("affine model: the boundary is the line and distances are |w.x + b| / |w|", "[planar_boundary]") {
  const double w0 = 0.8, w1 = -1.3, b = 0.35, norm = std::hypot(w0, w1);
  auto model = affine_model<double>(w0, w1, b);
  const PlaneGrid grid({-2, 2, -2, 2}, 200, 160);  // unequal sides on purpose
  const PlanarBoundary boundary = planar_boundary(model, grid);
  REQUIRE(!boundary.segments.empty());
  for (const Segment2& s : boundary.segments)
    for (const Point2 p : {s.a, s.b}) CHECK(std::abs(w0 * p.x + w1 * p.y + b) / norm < 1e-9);

  const std::vector<Point2> pts = test_points();
  const PlanarDistances d = planar_distances(boundary, pts);
  REQUIRE(d.distance.size() == pts.size());
  double sum = 0, least = 1e9;
  std::int64_t beyond = 0;  // points nearer the searched rectangle's edge than the line
  for (std::size_t k = 0; k < pts.size(); ++k) {
    const double exact = std::abs(w0 * pts[k].x + w1 * pts[k].y + b) / norm;
    CHECK(d.distance[k] == Approx(exact).margin(1e-9));
    sum += exact;
    least = std::min(least, exact);
    beyond += exact > grid.centre_rect().inner_distance(pts[k]);
  }
  CHECK(d.mean == Approx(sum / double(pts.size())).margin(1e-9));
  CHECK(d.min == Approx(least).margin(1e-9));
  CHECK(beyond > 0);
  CHECK(d.beyond_window == beyond);

  // Class fractions: the cells whose centre lies on each side.
  std::int64_t ones = 0;
  for (const Point2& c : grid.centres()) ones += w0 * c.x + w1 * c.y + b > 0;
  REQUIRE(boundary.class_fraction.size() == 2);
  CHECK(boundary.class_fraction[1] == Approx(double(ones) / double(grid.size())));
  CHECK(boundary.class_fraction[0] + boundary.class_fraction[1] == Approx(1));
}

TEST_CASE("float model: distances within float precision of the exact ones", "[planar_boundary]") {
  auto model = affine_model<float>(1.0, 0.5, -0.2);
  const PlanarBoundary boundary = planar_boundary(model, PlaneGrid({-2, 2, -2, 2}, 128, 128));
  const std::vector<Point2> pts = test_points();
  const PlanarDistances d = planar_distances(boundary, pts);
  for (std::size_t k = 0; k < pts.size(); ++k)
    CHECK(d.distance[k] == Approx(std::abs(pts[k].x + 0.5 * pts[k].y - 0.2) / std::hypot(1.0, 0.5)).margin(1e-5));
}

TEST_CASE("circle: curved boundary within the chord bound h^2 / (4 R)", "[planar_boundary]") {
  const double radius = 1.1;
  auto model = formula_model<double>(2, [&](double x, double y, double* z) {
    z[0] = 0;
    z[1] = radius * radius - (x * x + y * y);  // class 1 inside
  });
  const PlaneGrid grid({-2, 2, -2, 2}, 100, 100);
  const PlanarBoundary boundary = planar_boundary(model, grid);
  // A chord spans at most a cell's diagonal, sqrt(2) h, so it departs from the circle by at
  // most (sqrt(2) h)^2 / (8 R).
  const double h = grid.dx(), bound = h * h / (4 * radius) + 1e-9;
  const std::vector<Point2> pts = test_points();
  const PlanarDistances d = planar_distances(boundary, pts);
  for (std::size_t k = 0; k < pts.size(); ++k) {
    const double exact = std::abs(radius - std::hypot(pts[k].x, pts[k].y));
    CHECK(std::abs(d.distance[k] - exact) <= bound);
  }
  // Counting cell centres errs by at most the cells the circle passes through: perimeter
  // * sqrt(2) h / area.
  CHECK(boundary.class_fraction[1] ==
        Approx(std::numbers::pi * radius * radius / 16).margin(2 * std::numbers::pi * radius * std::sqrt(2.0) * h / 16));
}

TEST_CASE("three classes: a triple point, every chord end a tie of the two top logits", "[planar_boundary]") {
  // Logits w_c . x with w_c at 90, 210 and 330 degrees: boundaries are rays from the origin at
  // 150, 270 and 30 degrees.
  const double angles[3] = {90, 210, 330};
  auto model = formula_model<double>(3, [&](double x, double y, double* z) {
    for (int c = 0; c < 3; ++c) z[c] = std::cos(angles[c] * std::numbers::pi / 180) * x + std::sin(angles[c] * std::numbers::pi / 180) * y;
  });
  const PlaneGrid grid({-1.93, 2.07, -2.011, 1.989}, 120, 120);  // the origin off the lattice lines
  const PlanarBoundary boundary = planar_boundary(model, grid);
  REQUIRE(boundary.class_fraction.size() == 3);
  for (double f : boundary.class_fraction) CHECK(f == Approx(1.0 / 3).margin(0.05));  // the rectangle is off-centre
  const auto top_two_gap = [&](Point2 p) {
    double z[3];
    for (int c = 0; c < 3; ++c) z[c] = std::cos(angles[c] * std::numbers::pi / 180) * p.x + std::sin(angles[c] * std::numbers::pi / 180) * p.y;
    std::sort(z, z + 3);
    return z[2] - z[1];
  };
  // Chord ends are crossings (ties) except the centroids of triple-point cells, next to the origin.
  const double h = grid.dx();
  for (const Segment2& s : boundary.segments)
    for (const Point2 p : {s.a, s.b})
      if (top_two_gap(p) > 1e-9) CHECK(std::hypot(p.x, p.y) < 2 * h);

  // Distances to the three rays, away from the junction cell.
  const double rays[3] = {150, 270, 30};
  for (const Point2 p : std::vector<Point2>{{0.9, 1.4}, {-1.5, -0.5}, {1.2, -1.3}, {-0.2, 1.6}}) {
    double exact = std::numeric_limits<double>::infinity();
    for (double a : rays) {
      const double ux = std::cos(a * std::numbers::pi / 180), uy = std::sin(a * std::numbers::pi / 180);
      const double t = std::max(0.0, p.x * ux + p.y * uy);
      exact = std::min(exact, std::hypot(p.x - t * ux, p.y - t * uy));
    }
    CHECK(planar_distances(boundary, std::vector<Point2>{p}).mean == Approx(exact).margin(h));
  }
}

TEST_CASE("saddle cells pair their crossings as the class at the cell centre says", "[planar_boundary]") {
  // Class 1 where x y + eps > 0: near the origin the boundary is the two axes, and the
  // class-1 quadrants (+,+) and (-,-) connect through the origin. The origin is the centre
  // of a lattice cell (an even number of cells over a symmetric rectangle).
  const double eps = 1e-9;
  auto model = formula_model<double>(2, [&](double x, double y, double* z) {
    z[0] = 0;
    z[1] = x * y + eps;
  });
  const PlaneGrid grid({-1, 1, -1, 1}, 8, 8);
  const PlanarBoundary boundary = planar_boundary(model, grid);
  const double h = grid.dx();
  // A point on the (+,+) diagonal inside the saddle cell: the right chords cut off the
  // class-0 corners and pass h / (2 sqrt 2) from it; the wrong pairing would pass through it.
  const PlanarDistances d = planar_distances(boundary, std::vector<Point2>{{h / 4, h / 4}});
  CHECK(d.mean == Approx(h / (2 * std::sqrt(2.0))).margin(1e-6));
}

TEST_CASE("DeepFool + bisection never beats the located distance and mostly matches it", "[planar_boundary]") {
  // A random tanh MLP has a curved boundary; the attack finds a point on it, hence a
  // distance >= the true one (up to its bisection tolerance), equal when it goes straight.
  auto model = build_model<double>({.arch = "mlp", .activation = "tanh", .in_channels = 2, .image_size = 1,
                                    .num_classes = 2, .hidden = {16}},
                                   3);
  const PlaneGrid grid({-8, 8, -8, 8}, 800, 800);
  const PlanarBoundary boundary = planar_boundary(model, grid);
  REQUIRE(!boundary.segments.empty());
  Tensor<double> x({49, 2});
  for (std::int64_t k = 0; k < 49; ++k) x[2 * k] = -1.5 + 0.5 * double(k % 7), x[2 * k + 1] = -1.5 + 0.5 * double(k / 7);
  const PlanarDistances located = planar_distances(boundary, to_points<double>(x.view()));
  DeepFool<double> deepfool(DeepFoolOptions{.bounds = {-100, 100}});
  const BoundaryDistances attacked = boundary_distance(model, deepfool, x.view(), {.bisection_steps = 40});
  int close = 0;
  for (std::size_t k = 0; k < 49; ++k) {
    REQUIRE(attacked.found[k]);
    CHECK(attacked.distance[k] >= located.distance[k] - 1e-6);
    close += attacked.distance[k] <= 1.02 * located.distance[k] + 1e-6;
  }
  CHECK(close >= 30);  // 36 of 49 here: where the boundary curves, the attack's straight line overshoots
}

TEST_CASE("a boundary outside the searched rectangle is flagged", "[planar_boundary]") {
  auto model = affine_model<double>(1, 0, -1.5);  // the line x = 1.5
  const PlanarBoundary inside = planar_boundary(model, PlaneGrid({-2, 2, -2, 2}, 64, 64));
  const PlanarDistances near_edge = planar_distances(inside, std::vector<Point2>{{0, 0}, {-1.9, 0}});
  CHECK(near_edge.distance[0] == Approx(1.5).margin(1e-9));
  CHECK(near_edge.beyond_window == 1);  // (-1.9, 0) is nearer the edge than the line

  const PlanarBoundary none = planar_boundary(model, PlaneGrid({-1, 1, -1, 1}, 32, 32));
  CHECK(none.segments.empty());
  CHECK(none.class_fraction[0] == 1);
  const PlanarDistances far = planar_distances(none, std::vector<Point2>{{0, 0}});
  CHECK(std::isinf(far.mean));
  CHECK(far.beyond_window == 1);
}

TEST_CASE("class_probability is the softmax of the logits", "[planar_boundary]") {
  auto model = affine_model<double>(2, 0, 0);
  const std::vector<double> p = class_probability(model, std::vector<Point2>{{0, 5}, {0.5, 0}, {-1, 1}}, 1);
  CHECK(p[0] == Approx(0.5));
  CHECK(p[1] == Approx(1 / (1 + std::exp(-1.0))));
  CHECK(p[2] == Approx(1 / (1 + std::exp(2.0))));
  CHECK(predicted_classes(model, std::vector<Point2>{{1, 0}, {-1, 0}}) == std::vector<int>{1, 0});
  CHECK_THROWS_AS(class_probability(model, std::vector<Point2>{{0, 0}}, 2), argument_error);
}

TEST_CASE("the model keeps its mode, and results do not depend on the thread count", "[planar_boundary]") {
  auto model = formula_model<double>(2, [](double x, double y, double* z) {
    z[0] = std::sin(3 * x);
    z[1] = std::cos(2 * y);
  });
  model.set_training(true);
  const PlaneGrid grid({-2, 2, -2, 2}, 90, 70);
  std::vector<double> distances[2];
  for (int threads : {1, 2}) {
    set_threads(threads);
    const PlanarBoundary b = planar_boundary(model, grid);
    distances[threads - 1] = planar_distances(b, test_points()).distance;
  }
  CHECK(distances[0] == distances[1]);
  CHECK(model.training());
}

TEST_CASE("bad arguments and models that are not plane classifiers are reported", "[planar_boundary][errors]") {
  auto model = affine_model<double>(1, 1, 0);
  const PlaneGrid grid({-1, 1, -1, 1}, 16, 16);
  CHECK_THROWS_AS(planar_boundary(model, grid, -1), argument_error);
  CHECK_THROWS_AS(planar_boundary(model, grid, 61), argument_error);
  CHECK_THROWS_AS(planar_boundary(model, PlaneGrid{}), argument_error);
  CHECK_THROWS_AS(planar_distances(planar_boundary(model, grid), std::vector<Point2>{}), argument_error);

  Sequential<double> one_logit;
  one_logit.add<Dense<double>>(2, 1);
  CHECK_THROWS_WITH(planar_boundary(one_logit, grid), Catch::Contains("[N, C >= 2]"));
  Sequential<double> three_inputs;
  three_inputs.add<Dense<double>>(3, 2);
  CHECK_THROWS_AS(planar_boundary(three_inputs, grid), shape_error);
}
