#pragma once
// Heat maps of a scalar field over a rectangle of the plane, with overlays: a contour (e.g.
// a decision boundary, p = 0.5), labelled points coloured by class and, optionally, a cloud
// of unlabelled points. Rendered as an RgbImage (for PNG) or into an SvgDocument (the
// field as an embedded PNG under vector overlays), from one HeatmapPanel, so both show the
// same picture.
//
// The field's values are coloured on a diverging map over [0, 1]: 0 blue, 1/2 white, 1
// red, so a class-1 probability shows class 0's region blue and class 1's red, fading to
// white where the model is unsure. Points of class 0 and 1 are drawn in dark blue and dark
// red (further classes in other colours) with a white rim.
//
// Writing PNGs (encode_png) needs the stb_image_write bodies once in the program: see
// farbound/viz/png.hpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/metrics/plane_grid.hpp"
#include "farbound/viz/image.hpp"
#include "farbound/viz/png.hpp"
#include "farbound/viz/svg.hpp"

namespace farbound {

// One panel of a softmax heat map: the values on a grid, the boundary, the points.
struct HeatmapPanel {
  PlaneGrid grid;                 // where `values` were sampled; its rectangle is what is drawn
  std::vector<double> values;     // one per grid cell, in grid order, in [0, 1] (clamped)
  std::vector<Segment2> contour;  // plane coordinates
  std::vector<Point2> points;     // labelled points ...
  std::vector<int> classes;       // ... and their classes
  std::vector<Point2> cloud;      // unlabelled points (may be empty)

  // Throws argument_error when the sizes do not match.
  void validate() const {
    if (std::int64_t(values.size()) != grid.size())
      throw argument_error("HeatmapPanel: " + std::to_string(values.size()) + " values for a " + std::to_string(grid.nx) +
                           " x " + std::to_string(grid.ny) + " grid");
    if (classes.size() != points.size())
      throw argument_error("HeatmapPanel: " + std::to_string(classes.size()) + " classes for " +
                           std::to_string(points.size()) + " points");
    for (int c : classes)
      if (c < 0) throw argument_error("HeatmapPanel: negative class " + std::to_string(c));
  }
};

// Sizes and colours of a heat map's marks.
struct HeatmapStyle {
  double point_radius = 4.5;   // pixels
  // Width of the points' white rim, pixels.
  double point_rim = 1.2;
  // Radius of the cloud's points, pixels.
  double cloud_radius = 1.6;
  // Opacity of the cloud's points.
  double cloud_opacity = 0.45;
  // Width of the boundary line, pixels.
  double contour_width = 2.5;
  // Colour of the boundary line.
  Rgb contour_colour{20, 20, 20};
  // Colour of the cloud's points.
  Rgb cloud_colour{60, 60, 60};
};

// Diverging colour of v in [0, 1]: blue, white at 1/2, red (RdBu's middle range).
inline Rgb heatmap_colour(double v) {
  constexpr Rgb low{67, 147, 195}, mid{247, 247, 247}, high{214, 96, 77};
  v = std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.5;
  return v < 0.5 ? mix(low, mid, 2 * v) : mix(mid, high, 2 * v - 1);
}

// Colour of a labelled point of class c.
inline Rgb class_colour(int c) {
  static constexpr std::array<Rgb, 8> palette{{{5, 48, 97},    // class 0: dark blue
                                              {103, 0, 31},    // class 1: dark red
                                              {27, 120, 55},   {118, 42, 131}, {191, 129, 45},
                                              {1, 102, 94},    {140, 81, 10},  {64, 64, 64}}};
  return palette[std::size_t(c) % palette.size()];
}

namespace detail {

// Plane rectangle -> pixel box (x, y, w, h), y downwards.
struct PixelFrame {
  PlaneRect rect;
  double x, y, w, h;
  Point2 operator()(Point2 p) const {
    return {x + (p.x - rect.x_min) / rect.width() * w, y + (rect.y_max - p.y) / rect.height() * h};
  }
};

// The field alone, width x height pixels: each pixel centre's value interpolated
// bilinearly between the four nearest cell centres (clamped at the border).
inline RgbImage render_field(const HeatmapPanel& panel, int width, int height) {
  RgbImage image(width, height);
  const PlaneGrid& g = panel.grid;
  const auto value = [&](std::int64_t i, std::int64_t j) { return panel.values[std::size_t(j * g.nx + i)]; };
  for (int v = 0; v < height; ++v)
    for (int u = 0; u < width; ++u) {
      // Cell coordinates of the pixel centre: cell (i, j) has its centre at (i, j).
      const double fi = std::clamp((u + 0.5) / width * double(g.nx) - 0.5, 0.0, double(g.nx - 1));
      const double fj = std::clamp((v + 0.5) / height * double(g.ny) - 0.5, 0.0, double(g.ny - 1));
      const auto i = std::min(std::int64_t(fi), g.nx - 2), j = std::min(std::int64_t(fj), g.ny - 2);
      const double s = fi - double(i), t = fj - double(j);
      const double top = (1 - s) * value(i, j) + s * value(i + 1, j);
      const double bottom = (1 - s) * value(i, j + 1) + s * value(i + 1, j + 1);
      image.set(u, v, heatmap_colour((1 - t) * top + t * bottom));
    }
  return image;
}

}  // namespace detail

// The panel as a width x height image: the field, the cloud, the contour, the points.
inline RgbImage render_heatmap(const HeatmapPanel& panel, int width, int height, const HeatmapStyle& style = {}) {
  panel.validate();
  RgbImage image = detail::render_field(panel, width, height);
  const detail::PixelFrame to_pixel{panel.grid.rect, 0, 0, double(width), double(height)};
  for (const Point2& p : panel.cloud) {
    const Point2 q = to_pixel(p);
    image.draw_disc(q.x, q.y, style.cloud_radius, style.cloud_colour, {}, 0, style.cloud_opacity);
  }
  std::vector<Segment2> contour(panel.contour.size());
  for (std::size_t k = 0; k < contour.size(); ++k) contour[k] = {to_pixel(panel.contour[k].a), to_pixel(panel.contour[k].b)};
  image.draw_segments(contour, style.contour_width, style.contour_colour);
  for (std::size_t k = 0; k < panel.points.size(); ++k) {
    const Point2 q = to_pixel(panel.points[k]);
    image.draw_disc(q.x, q.y, style.point_radius, class_colour(panel.classes[k]), {255, 255, 255}, style.point_rim);
  }
  return image;
}

// The panel into the box (x, y, w, h) of an SVG: the field as an embedded PNG of one pixel
// per grid cell, the overlays as vector shapes clipped to the box.
inline void draw_heatmap(SvgDocument& svg, const HeatmapPanel& panel, double x, double y, double w, double h,
                         const HeatmapStyle& style = {}) {
  panel.validate();
  const detail::PixelFrame to_box{panel.grid.rect, x, y, w, h};
  svg.image_png(x, y, w, h, encode_png(detail::render_field(panel, int(panel.grid.nx), int(panel.grid.ny))));
  svg.begin_clip(x, y, w, h);
  for (const Point2& p : panel.cloud) {
    const Point2 q = to_box(p);
    svg.circle(q.x, q.y, style.cloud_radius, {.fill = to_hex(style.cloud_colour), .opacity = style.cloud_opacity});
  }
  SvgPath contour;
  for (const Segment2& s : panel.contour) {
    const Point2 a = to_box(s.a), b = to_box(s.b);
    contour.move_to(a.x, a.y).line_to(b.x, b.y);
  }
  svg.path(contour, {.stroke = to_hex(style.contour_colour), .stroke_width = style.contour_width});
  for (std::size_t k = 0; k < panel.points.size(); ++k) {
    const Point2 q = to_box(panel.points[k]);
    svg.circle(q.x, q.y, style.point_radius - style.point_rim / 2,
               {.fill = to_hex(class_colour(panel.classes[k])), .stroke = "#ffffff", .stroke_width = style.point_rim});
  }
  svg.end_group();
  svg.rect(x, y, w, h, {.stroke = "#444444", .stroke_width = 1});
}

}  // namespace farbound
