#pragma once
// The decision boundary of a classifier of points in the plane (a model taking [N, 2]
// inputs), located rather than estimated: where it runs inside a rectangle, how much of the
// rectangle each class gets, and how far given points lie from it. For the 2-D pictures of
// the data-sparsity hypothesis (docs/papers.md section 1): a robust model's boundary stays far
// from every class, and this measures how far.
//
// Method, on a PlaneGrid of cell centres (spacing h):
//   1. Predict the class at every centre (the class fractions are the counts / cells).
//   2. Wherever the two ends of a lattice edge (two neighbouring centres) get different
//      classes, the boundary crosses that edge. Bisection on "the predicted class is the
//      class of the first end" pins the crossing down to h / 2^bisection_steps: a point of
//      the true boundary, not an interpolation.
//   3. Inside each lattice cell (four neighbouring centres) the crossings on its edges are
//      joined by chords: two crossings give one chord; four (a saddle) give two, paired as
//      the class at the cell's centre says (marching squares' rule); three (a triple point,
//      3+ classes) are joined to their centroid.
//   4. A point's distance to the boundary is its distance to the nearest chord.
// What it can miss, hence "exact up to": a chord spans at most a cell's diagonal, so it
// departs from a boundary of curvature kappa by at most h^2 kappa / 4 (~1e-5 of the
// window's side for the toy sets on a 512 grid); a boundary piece that enters and leaves
// through one lattice edge (a feature smaller than h) is not seen; and nothing outside the
// centres' rectangle is seen, so a distance larger than the point's distance to that
// rectangle's border is only an upper bound (counted in PlanarDistances::beyond_window).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "farbound/nn/eval_mode.hpp"
#include "farbound/core/error.hpp"
#include "farbound/core/parallel.hpp"
#include "farbound/core/tensor.hpp"
#include "farbound/metrics/plane_grid.hpp"
#include "farbound/nn/sequential.hpp"

namespace farbound {

namespace detail {

// Calls row(k, logits of points[k], C) for every point, evaluating the model in eval mode
// in batches (the model keeps every layer's output, so one batch of a 512 x 512 grid
// would hold hundreds of megabytes). Returns C, the number of classes (0 without points).
template <class T, class F>
std::int64_t for_each_plane_logits(Sequential<T>& model, std::span<const Point2> points, F&& row) {
  constexpr std::int64_t batch = 4096;
  const EvalMode<T> eval(model);
  const auto n = std::int64_t(points.size());
  std::int64_t classes = 0;
  Tensor<T> x;
  for (std::int64_t first = 0; first < n; first += batch) {
    const std::int64_t b = std::min(batch, n - first);
    x.resize({b, 2});
    for (std::int64_t k = 0; k < b; ++k) {
      x[2 * k] = T(points[std::size_t(first + k)].x);
      x[2 * k + 1] = T(points[std::size_t(first + k)].y);
    }
    const TensorView<const T> logits = model.forward(x.view());
    if (logits.rank() != 2 || logits.size(0) != b || logits.size(1) < 2)
      throw shape_error("planar boundary: the model maps " + x.shape().to_string() + " to " +
                        logits.shape().to_string() + "; a classifier of the plane maps [N, 2] to [N, C >= 2]");
    classes = logits.size(1);
    for (std::int64_t k = 0; k < b; ++k) row(first + k, logits.data() + k * classes, classes);
  }
  return classes;
}

// Arg-max logit at each point into `out`; returns the number of classes.
template <class T>
std::int64_t predict_plane(Sequential<T>& model, std::span<const Point2> points, std::vector<int>& out) {
  out.resize(points.size());
  return for_each_plane_logits(model, points, [&](std::int64_t k, const T* z, std::int64_t c) {
    out[std::size_t(k)] = int(std::max_element(z, z + c) - z);
  });
}

}  // namespace detail

// The model's predicted class (arg-max logit) at each point.
template <class T>
std::vector<int> predicted_classes(Sequential<T>& model, std::span<const Point2> points) {
  std::vector<int> out;
  detail::predict_plane(model, points, out);
  return out;
}

// softmax(logits)_cls at each point: the surface a heat map shows.
template <class T>
std::vector<double> class_probability(Sequential<T>& model, std::span<const Point2> points, int cls) {
  std::vector<double> out(points.size());
  detail::for_each_plane_logits(model, points, [&](std::int64_t k, const T* z, std::int64_t c) {
    if (cls < 0 || cls >= c)
      throw argument_error("class_probability: class " + std::to_string(cls) + " of a " + std::to_string(c) +
                           "-class model");
    const double m = double(*std::max_element(z, z + c));
    double sum = 0;
    for (std::int64_t q = 0; q < c; ++q) sum += std::exp(double(z[q]) - m);
    out[std::size_t(k)] = std::exp(double(z[cls]) - m) / sum;
  });
  return out;
}

// The decision boundary of a model of two inputs, located on a grid.
struct PlanarBoundary {
  PlaneGrid grid;                      // where it was looked for
  std::vector<Segment2> segments;      // the decision boundary inside grid.centre_rect()
  std::vector<double> class_fraction;  // per class: fraction of the grid's cells predicted as it
};

// Locates the decision boundary of `model` over `grid` (see the top of this file).
template <class T>
PlanarBoundary planar_boundary(Sequential<T>& model, const PlaneGrid& grid, int bisection_steps = 32) {
  if (grid.nx < 2 || grid.ny < 2) throw argument_error("planar_boundary: the grid needs at least 2 x 2 cells");
  if (bisection_steps < 0 || bisection_steps > 60)
    throw argument_error("planar_boundary: bisection_steps " + std::to_string(bisection_steps) + " outside [0, 60]");
  const std::int64_t nx = grid.nx, ny = grid.ny;
  const std::vector<Point2> centres = grid.centres();
  std::vector<int> cls;
  PlanarBoundary out;
  out.grid = grid;
  out.class_fraction.assign(std::size_t(detail::predict_plane(model, centres, cls)), 0.0);
  for (int c : cls) out.class_fraction[std::size_t(c)] += 1.0;
  for (double& f : out.class_fraction) f /= double(grid.size());

  // Lattice edges: horizontal edge (i, j)-(i+1, j) has id j*(nx-1) + i, vertical edge
  // (i, j)-(i, j+1) has id H + j*nx + i with H = ny*(nx-1). crossing_of[edge] indexes
  // `crossings`, or -1 where both ends share a class.
  const std::int64_t horizontal = ny * (nx - 1);
  const auto node = [nx](std::int64_t i, std::int64_t j) { return j * nx + i; };
  std::vector<std::int64_t> crossing_of(std::size_t(horizontal + (ny - 1) * nx), -1);
  struct Crossing {
    Point2 inside, outside;  // inside: predicted as `cls`; outside: not
    int cls;
  };
  std::vector<Crossing> crossings;
  const auto add_edge = [&](std::int64_t edge, std::int64_t a, std::int64_t b) {
    if (cls[std::size_t(a)] == cls[std::size_t(b)]) return;
    crossing_of[std::size_t(edge)] = std::int64_t(crossings.size());
    crossings.push_back({centres[std::size_t(a)], centres[std::size_t(b)], cls[std::size_t(a)]});
  };
  for (std::int64_t j = 0; j < ny; ++j)
    for (std::int64_t i = 0; i + 1 < nx; ++i) add_edge(j * (nx - 1) + i, node(i, j), node(i + 1, j));
  for (std::int64_t j = 0; j + 1 < ny; ++j)
    for (std::int64_t i = 0; i < nx; ++i) add_edge(horizontal + j * nx + i, node(i, j), node(i, j + 1));

  // Bisection of every crossing at once: one batched evaluation per step.
  std::vector<Point2> mid(crossings.size());
  const auto midpoint = [](Point2 p, Point2 q) { return Point2{(p.x + q.x) / 2, (p.y + q.y) / 2}; };
  for (int step = 0; step < bisection_steps && !crossings.empty(); ++step) {
    for (std::size_t e = 0; e < crossings.size(); ++e) mid[e] = midpoint(crossings[e].inside, crossings[e].outside);
    const std::vector<int> c = predicted_classes(model, mid);
    for (std::size_t e = 0; e < crossings.size(); ++e)
      (c[e] == crossings[e].cls ? crossings[e].inside : crossings[e].outside) = mid[e];
  }
  for (std::size_t e = 0; e < crossings.size(); ++e) mid[e] = midpoint(crossings[e].inside, crossings[e].outside);

  // Lattice cell (i, j) has corners (i, j), (i+1, j), (i+1, j+1), (i, j+1); its edges in
  // order around it: top, right, bottom, left.
  std::vector<std::array<std::int64_t, 2>> saddles;  // (cell's corner (i, j) node, first chord index)
  for (std::int64_t j = 0; j + 1 < ny; ++j)
    for (std::int64_t i = 0; i + 1 < nx; ++i) {
      const std::array<std::int64_t, 4> around = {
          crossing_of[std::size_t(j * (nx - 1) + i)], crossing_of[std::size_t(horizontal + j * nx + i + 1)],
          crossing_of[std::size_t((j + 1) * (nx - 1) + i)], crossing_of[std::size_t(horizontal + j * nx + i)]};
      std::array<Point2, 4> p{};
      int count = 0;
      for (std::int64_t e : around)
        if (e >= 0) p[std::size_t(count++)] = mid[std::size_t(e)];
      if (count == 2) {
        out.segments.push_back({p[0], p[1]});
      } else if (count == 3) {
        const Point2 centroid{(p[0].x + p[1].x + p[2].x) / 3, (p[0].y + p[1].y + p[2].y) / 3};
        for (int k = 0; k < 3; ++k) out.segments.push_back({p[std::size_t(k)], centroid});
      } else if (count == 4) {
        // Provisionally (top, right) and (bottom, left): right when the cell's centre has
        // the class of corner (i, j), which then connects to the opposite corner.
        saddles.push_back({node(i, j), std::int64_t(out.segments.size())});
        out.segments.push_back({p[0], p[1]});
        out.segments.push_back({p[2], p[3]});
      }
    }
  if (!saddles.empty()) {
    std::vector<Point2> cell_centres(saddles.size());
    for (std::size_t s = 0; s < saddles.size(); ++s) {
      const Point2 c = centres[std::size_t(saddles[s][0])];
      cell_centres[s] = {c.x + grid.dx() / 2, c.y - grid.dy() / 2};
    }
    const std::vector<int> c = predicted_classes(model, cell_centres);
    for (std::size_t s = 0; s < saddles.size(); ++s) {
      if (c[s] == cls[std::size_t(saddles[s][0])]) continue;
      // The centre joins the other two corners: chords (left, top) and (right, bottom).
      Segment2& first = out.segments[std::size_t(saddles[s][1])];
      Segment2& second = out.segments[std::size_t(saddles[s][1] + 1)];
      const Point2 top = first.a, right = first.b, bottom = second.a, left = second.b;
      first = {left, top};
      second = {right, bottom};
    }
  }
  return out;
}

// Distances from points to a located planar boundary.
struct PlanarDistances {
  std::vector<double> distance;    // per point; +infinity when no boundary was found
  // Mean and minimum over the points.
  double mean = 0, min = 0;        // over the points
  std::int64_t beyond_window = 0;  // points whose distance is only an upper bound (see top)
};

// Distance from every point to the located boundary.
inline PlanarDistances planar_distances(const PlanarBoundary& boundary, std::span<const Point2> points) {
  if (points.empty()) throw argument_error("planar_distances: no points");
  PlanarDistances out;
  out.distance.assign(points.size(), std::numeric_limits<double>::infinity());
  std::vector<char> beyond(points.size(), 0);
  const PlaneRect seen = boundary.grid.centre_rect();
  parallel_for(std::int64_t(points.size()), [&](std::int64_t k) {
    const Point2 p = points[std::size_t(k)];
    double d = std::numeric_limits<double>::infinity();
    for (const Segment2& s : boundary.segments) d = std::min(d, distance_to_segment(p, s));
    out.distance[std::size_t(k)] = d;
    beyond[std::size_t(k)] = d > seen.inner_distance(p);
  });
  double sum = 0;
  out.min = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < points.size(); ++k) {
    sum += out.distance[k];
    out.min = std::min(out.min, out.distance[k]);
    out.beyond_window += beyond[k];
  }
  out.mean = sum / double(points.size());
  return out;
}

}  // namespace farbound
