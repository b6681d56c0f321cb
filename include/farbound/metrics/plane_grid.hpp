#pragma once
// Coordinates of the plane shared by 2-D metrics and pictures: points, segments, an
// axis-aligned rectangle, and a grid of cells over it sampled at the cell centres.
//
// Grid order is image order: cell (i, j) is column i from the left and row j from the top,
// stored at index j * nx + i, so a grid of width x height cells is one value per pixel.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/core/tensor.hpp"

namespace farbound {

// A point of the plane.
struct Point2 {
  // First coordinate.
  double x = 0;
  // Second coordinate.
  double y = 0;
};

// A line segment of the plane.
struct Segment2 {
  // First end point.
  Point2 a;
  // Second end point.
  Point2 b;
};

// Euclidean distance from p to the closest point of segment s (its ends included).
inline double distance_to_segment(Point2 p, const Segment2& s) {
  const double ux = s.b.x - s.a.x, uy = s.b.y - s.a.y, wx = p.x - s.a.x, wy = p.y - s.a.y;
  const double len2 = ux * ux + uy * uy;
  // Parameter of the orthogonal projection onto the segment's line, clamped to the segment.
  const double t = len2 > 0 ? std::clamp((wx * ux + wy * uy) / len2, 0.0, 1.0) : 0.0;
  return std::hypot(wx - t * ux, wy - t * uy);
}

// An axis-aligned rectangle of the plane.
struct PlaneRect {
  // Left edge.
  double x_min = -1;
  // Right edge.
  double x_max = 1;
  // Bottom edge.
  double y_min = -1;
  // Top edge.
  double y_max = 1;

  // x_max - x_min.
  double width() const { return x_max - x_min; }
  // y_max - y_min.
  double height() const { return y_max - y_min; }
  // Whether p lies in the rectangle (edges included).
  bool contains(Point2 p) const { return p.x >= x_min && p.x <= x_max && p.y >= y_min && p.y <= y_max; }
  // Distance from p to the rectangle's border, 0 when p lies outside it.
  double inner_distance(Point2 p) const {
    if (!contains(p)) return 0;
    return std::min({p.x - x_min, x_max - p.x, p.y - y_min, y_max - p.y});
  }
  // The rectangle with the same centre and `factor` times the width and height.
  PlaneRect scaled(double factor) const {
    const double cx = (x_min + x_max) / 2, cy = (y_min + y_max) / 2, hw = width() / 2 * factor,
                 hh = height() / 2 * factor;
    return {cx - hw, cx + hw, cy - hh, cy + hh};
  }
  // Throws argument_error unless the bounds are finite and the rectangle has an area.
  void validate(const std::string& who) const {
    if (!(std::isfinite(x_min) && std::isfinite(x_max) && std::isfinite(y_min) && std::isfinite(y_max)) ||
        !(x_min < x_max && y_min < y_max))
      throw argument_error(who + ": rectangle [" + std::to_string(x_min) + ", " + std::to_string(x_max) + "] x [" +
                           std::to_string(y_min) + ", " + std::to_string(y_max) + "] is empty or not finite");
  }
};

// The smallest rectangle of the given aspect ratio (width / height) that holds every point
// with a border of `margin` times the larger side of the points' bounding box on each
// side, centred on that box. With aspect 1 it is the square a 2-D picture is drawn on.
inline PlaneRect framing_rect(std::span<const Point2> points, double margin, double aspect = 1.0) {
  if (points.empty()) throw argument_error("framing_rect: no points");
  if (!(margin >= 0) || !std::isfinite(margin)) throw argument_error("framing_rect: margin must be finite and >= 0");
  if (!(aspect > 0) || !std::isfinite(aspect)) throw argument_error("framing_rect: aspect must be finite and > 0");
  double x0 = points[0].x, x1 = x0, y0 = points[0].y, y1 = y0;
  for (const Point2& p : points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) throw argument_error("framing_rect: a point is not finite");
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  // Half sizes; a single point still gets a non-empty rectangle.
  const double border = margin * std::max(x1 - x0, y1 - y0);
  double hw = std::max((x1 - x0) / 2 + border, 1e-9), hh = std::max((y1 - y0) / 2 + border, 1e-9);
  if (hw < hh * aspect)
    hw = hh * aspect;
  else
    hh = hw / aspect;
  const double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return {cx - hw, cx + hw, cy - hh, cy + hh};
}

// nx x ny cells over `rect`, each sampled at its centre; cell (i, j) lies in column i from
// the left and row j from the top.
struct PlaneGrid {
  // The rectangle the cells cover.
  PlaneRect rect;
  // Columns.
  std::int64_t nx = 0;
  // Rows.
  std::int64_t ny = 0;

  // Most cells per side.
  static constexpr std::int64_t max_side = std::int64_t(1) << 15;

  PlaneGrid() = default;
  // `columns` x `rows` cells over `r`; argument_error unless r is valid and each side has 2 to max_side cells.
  PlaneGrid(PlaneRect r, std::int64_t columns, std::int64_t rows) : rect(r), nx(columns), ny(rows) {
    rect.validate("PlaneGrid");
    if (nx < 2 || ny < 2 || nx > max_side || ny > max_side)
      throw argument_error("PlaneGrid: " + std::to_string(nx) + " x " + std::to_string(ny) +
                           " cells; each side must lie in [2, " + std::to_string(max_side) + "]");
  }

  // Number of cells.
  std::int64_t size() const { return nx * ny; }
  // Width of a cell.
  double dx() const { return rect.width() / double(nx); }
  // Height of a cell.
  double dy() const { return rect.height() / double(ny); }
  // The centre of cell (i, j): column i from the left, row j from the top.
  Point2 centre(std::int64_t i, std::int64_t j) const {
    return {rect.x_min + (double(i) + 0.5) * dx(), rect.y_max - (double(j) + 0.5) * dy()};
  }
  // Every cell centre, in grid order.
  std::vector<Point2> centres() const {
    std::vector<Point2> out(static_cast<std::size_t>(size()));
    for (std::int64_t j = 0; j < ny; ++j)
      for (std::int64_t i = 0; i < nx; ++i) out[static_cast<std::size_t>(j * nx + i)] = centre(i, j);
    return out;
  }
  // The rectangle spanned by the cell centres: what a method working between centres sees.
  PlaneRect centre_rect() const {
    return {rect.x_min + dx() / 2, rect.x_max - dx() / 2, rect.y_min + dy() / 2, rect.y_max - dy() / 2};
  }
};

// Rows of an [N, 2] tensor as points.
template <class T>
std::vector<Point2> to_points(TensorView<const T> xy) {
  if (xy.rank() != 2 || xy.size(1) != 2)
    throw shape_error("to_points: points " + xy.shape().to_string() + " are not [N, 2]");
  std::vector<Point2> out(static_cast<std::size_t>(xy.size(0)));
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = {double(xy[std::int64_t(2 * i)]), double(xy[std::int64_t(2 * i + 1)])};
  return out;
}

}  // namespace farbound
