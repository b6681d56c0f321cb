#pragma once
// Pictures of a classifier on planes through its inputs (metrics/image_plane.hpp): each
// panel colours a slice's cells by predicted class, dark where the max softmax is low and
// full where it is 1, draws the decision boundaries (the cell edges between two classes),
// marks the input x0 at the centre with a white cross, and outlines the evaluation's eps
// ball cut by the plane. A sheet puts N inputs (rows) x M models (columns) side by side on
// the same planes, with a legend naming the classes. Rendered as an RgbImage (for PNG) and
// as an SVG from the same SlicePanels and the same layout, both with the row, column and
// class names (the PNG's drawn with stb_easy_font, viz/text.hpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/metrics/image_plane.hpp"
#include "farbound/metrics/plane_grid.hpp"
#include "farbound/viz/image.hpp"
#include "farbound/viz/png.hpp"
#include "farbound/viz/svg.hpp"
#include "farbound/viz/text.hpp"

namespace farbound {

// One panel of a sheet: a slice of a model on a plane and the eps ball cut by that plane.
struct SlicePanel {
  // The model's classes and confidences on the plane's grid.
  ImageSlice slice;
  std::vector<Point2> ball;  // closed polygon in plane coordinates (ball_section), may be empty
};

// A grid of panels: rows are inputs, columns are models, plus names for the SVG's labels.
struct SliceSheet {
  std::vector<std::vector<SlicePanel>> panels;  // [row][column]
  // One name per row (input), shown left of the row; may be shorter or empty.
  std::vector<std::string> row_names;
  // One name per column (model), shown above the column; may be shorter or empty.
  std::vector<std::string> column_names;
  // The legend: one name per class, in class order.
  std::vector<std::string> class_names;
  int panel_size = 160;  // pixels
};

// The colour of class c in a slice (matplotlib's tab10, repeating after 10).
inline Rgb slice_class_colour(int c) {
  static constexpr std::array<Rgb, 10> palette{{{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                               {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                               {188, 189, 34}, {23, 190, 207}}};
  return palette[std::size_t(c) % palette.size()];
}

// A cell's colour: its class's colour scaled from 25% (max softmax 1 / C, chance) to 100% (1).
inline Rgb slice_cell_colour(const ImageSlice& s, std::size_t cell) {
  const double chance = s.num_classes > 0 ? 1.0 / double(s.num_classes) : 0.0;
  const double sure = std::clamp((double(s.confidence[cell]) - chance) / (1 - chance), 0.0, 1.0);
  return mix({0, 0, 0}, slice_class_colour(s.classes[cell]), 0.25 + 0.75 * sure);
}

// The decision boundaries of a slice in plane coordinates: the shared edge of every two
// neighbouring cells of different classes.
inline std::vector<Segment2> slice_boundaries(const ImageSlice& s) {
  const PlaneGrid& g = s.grid;
  std::vector<Segment2> out;
  const auto cls = [&](std::int64_t i, std::int64_t j) { return s.classes[std::size_t(j * g.nx + i)]; };
  for (std::int64_t j = 0; j < g.ny; ++j)
    for (std::int64_t i = 0; i < g.nx; ++i) {
      const Point2 c = g.centre(i, j);
      const double hx = g.dx() / 2, hy = g.dy() / 2;
      if (i + 1 < g.nx && cls(i, j) != cls(i + 1, j)) out.push_back({{c.x + hx, c.y - hy}, {c.x + hx, c.y + hy}});
      if (j + 1 < g.ny && cls(i, j) != cls(i, j + 1)) out.push_back({{c.x - hx, c.y - hy}, {c.x + hx, c.y - hy}});
    }
  return out;
}

namespace detail {

inline void require_slice(const ImageSlice& s) {
  if (s.grid.nx < 2 || std::int64_t(s.classes.size()) != s.grid.size() || s.confidence.size() != s.classes.size())
    throw argument_error("slice picture: the slice's values do not match its grid");
}

// Plane coordinates -> pixels of the box (x, y, side, side).
inline Point2 slice_pixel(const PlaneGrid& g, double x, double y, double side, Point2 p) {
  return {x + (p.x - g.rect.x_min) / g.rect.width() * side, y + (g.rect.y_max - p.y) / g.rect.height() * side};
}

// The cells as a raster of side x side pixels, nearest cell per pixel.
inline RgbImage slice_raster(const ImageSlice& s, int side) {
  RgbImage image(side, side);
  for (int v = 0; v < side; ++v)
    for (int u = 0; u < side; ++u) {
      const auto i = std::min<std::int64_t>(s.grid.nx - 1, std::int64_t((u + 0.5) / side * double(s.grid.nx)));
      const auto j = std::min<std::int64_t>(s.grid.ny - 1, std::int64_t((v + 0.5) / side * double(s.grid.ny)));
      image.set(u, v, slice_cell_colour(s, std::size_t(j * s.grid.nx + i)));
    }
  return image;
}

inline std::vector<Segment2> closed_polygon(const std::vector<Point2>& p) {
  std::vector<Segment2> out;
  for (std::size_t k = 0; k < p.size(); ++k) out.push_back({p[k], p[(k + 1) % p.size()]});
  return out;
}

}  // namespace detail

// One panel as a side x side image.
inline RgbImage render_slice(const SlicePanel& panel, int side) {
  detail::require_slice(panel.slice);
  RgbImage image = detail::slice_raster(panel.slice, side);
  const PlaneGrid& g = panel.slice.grid;
  const auto to_pixels = [&](std::vector<Segment2> segments) {
    for (Segment2& s : segments) s = {detail::slice_pixel(g, 0, 0, side, s.a), detail::slice_pixel(g, 0, 0, side, s.b)};
    return segments;
  };
  image.draw_segments(to_pixels(slice_boundaries(panel.slice)), 1.2, {20, 20, 20});
  image.draw_segments(to_pixels(detail::closed_polygon(panel.ball)), 1.5, {255, 255, 255});
  const Point2 o = detail::slice_pixel(g, 0, 0, side, {0, 0});
  const std::vector<Segment2> cross = {{{o.x - 5, o.y - 5}, {o.x + 5, o.y + 5}}, {{o.x - 5, o.y + 5}, {o.x + 5, o.y - 5}}};
  image.draw_segments(cross, 2.0, {255, 255, 255});
  return image;
}

namespace detail {

// The PNG's labels: stb_easy_font at 2 pixels per font unit (14-pixel capitals).
inline constexpr double sheet_text_scale = 2;

// Where everything goes, in pixels. The left margin and the legend's columns widen to the
// longest row and class name in the PNG's font (wider than the SVG's), so both fit.
struct SheetLayout {
  int side, gap, left, top, rows, columns, legend_width, legend_columns, legend_rows;
  int width() const { return left + columns * (side + gap); }
  int height() const { return top + rows * (side + gap) + 10 + 20 * legend_rows; }
  int panel_x(int c) const { return left + c * (side + gap); }
  int panel_y(int r) const { return top + r * (side + gap); }
  // Legend entry k: a swatch of 14 pixels and its name, legend_columns entries a line.
  int legend_x(int k) const { return left + (k % legend_columns) * legend_width; }
  int legend_y(int k) const { return top + rows * (side + gap) + 10 + 20 * (k / legend_columns); }
};

inline int widest_text(const std::vector<std::string>& names) {
  int widest = 0;
  for (const std::string& n : names) widest = std::max(widest, text_width(n, sheet_text_scale));
  return widest;
}

inline SheetLayout sheet_layout(const SliceSheet& sheet) {
  if (sheet.panels.empty() || sheet.panels[0].empty()) throw argument_error("slice sheet: no panels");
  for (const auto& row : sheet.panels)
    if (row.size() != sheet.panels[0].size()) throw argument_error("slice sheet: rows of different lengths");
  if (sheet.panel_size < 16) throw argument_error("slice sheet: panel_size must be >= 16 pixels");
  const int classes = int(sheet.class_names.size()), columns = int(sheet.panels[0].size()), gap = 8;
  const int left = std::max(110, widest_text(sheet.row_names) + 16);
  const int legend_width = std::max(120, 20 + widest_text(sheet.class_names) + 12);
  const int per_row = std::max(1, columns * (sheet.panel_size + gap) / legend_width);
  return {sheet.panel_size, gap, left, 30, int(sheet.panels.size()), columns, legend_width, per_row, (classes + per_row - 1) / per_row};
}

}  // namespace detail

// The sheet as one image, labelled like the SVG: model names above the columns, input
// names left of the rows (right-aligned), the legend's swatches and class names below.
inline RgbImage render_slice_sheet(const SliceSheet& sheet) {
  const detail::SheetLayout l = detail::sheet_layout(sheet);
  const double scale = detail::sheet_text_scale;
  const Rgb ink{20, 20, 20};
  const int cap = int(7 * scale);  // capital height, to centre a line on a point
  RgbImage image(l.width(), l.height());
  for (int c = 0; c < l.columns && c < int(sheet.column_names.size()); ++c) {
    const std::string& name = sheet.column_names[std::size_t(c)];
    draw_text(image, l.panel_x(c) + (l.side - text_width(name, scale)) / 2, l.top - 10 - cap, name, scale, ink);
  }
  for (int r = 0; r < l.rows; ++r) {
    if (r < int(sheet.row_names.size())) {
      const std::string& name = sheet.row_names[std::size_t(r)];
      draw_text(image, l.left - 8 - text_width(name, scale), l.panel_y(r) + (l.side - cap) / 2, name, scale, ink);
    }
    for (int c = 0; c < l.columns; ++c) image.blit(render_slice(sheet.panels[std::size_t(r)][std::size_t(c)], l.side), l.panel_x(c), l.panel_y(r));
  }
  for (int k = 0; k < int(sheet.class_names.size()); ++k) {
    image.fill_rect(l.legend_x(k), l.legend_y(k), l.legend_x(k) + 14, l.legend_y(k) + 14, slice_class_colour(k));
    draw_text(image, l.legend_x(k) + 20, l.legend_y(k), sheet.class_names[std::size_t(k)], scale, ink);
  }
  return image;
}

// The sheet as an SVG: every panel's cells as an embedded PNG (one pixel per cell) under
// vector boundaries, ball and marker; row, column and class names as text.
inline SvgDocument slice_sheet_svg(const SliceSheet& sheet) {
  const detail::SheetLayout l = detail::sheet_layout(sheet);
  SvgDocument svg(l.width(), l.height());
  for (int c = 0; c < l.columns && c < int(sheet.column_names.size()); ++c)
    svg.text(l.panel_x(c) + l.side / 2.0, l.top - 10, sheet.column_names[std::size_t(c)], {.size = 13, .anchor = "middle", .weight = "bold"});
  for (int r = 0; r < l.rows; ++r) {
    if (r < int(sheet.row_names.size())) svg.text(l.left - 8, l.panel_y(r) + l.side / 2.0, sheet.row_names[std::size_t(r)], {.size = 12, .anchor = "end"});
    for (int c = 0; c < l.columns; ++c) {
      const SlicePanel& p = sheet.panels[std::size_t(r)][std::size_t(c)];
      detail::require_slice(p.slice);
      const double x = l.panel_x(c), y = l.panel_y(r), s = l.side;
      const PlaneGrid& g = p.slice.grid;
      svg.image_png(x, y, s, s, encode_png(detail::slice_raster(p.slice, int(std::min<std::int64_t>(g.nx, 1024)))));
      svg.begin_clip(x, y, s, s);
      SvgPath edges, ball;
      for (const Segment2& e : slice_boundaries(p.slice)) {
        const Point2 a = detail::slice_pixel(g, x, y, s, e.a), b = detail::slice_pixel(g, x, y, s, e.b);
        edges.move_to(a.x, a.y).line_to(b.x, b.y);
      }
      for (std::size_t k = 0; k < p.ball.size(); ++k) {
        const Point2 q = detail::slice_pixel(g, x, y, s, p.ball[k]);
        k == 0 ? ball.move_to(q.x, q.y) : ball.line_to(q.x, q.y);
      }
      if (!ball.empty()) ball.close();
      svg.path(edges, {.stroke = "#141414", .stroke_width = 1});
      svg.path(ball, {.stroke = "#ffffff", .stroke_width = 1.5});
      const Point2 o = detail::slice_pixel(g, x, y, s, {0, 0});
      svg.path(SvgPath().move_to(o.x - 5, o.y - 5).line_to(o.x + 5, o.y + 5).move_to(o.x - 5, o.y + 5).line_to(o.x + 5, o.y - 5),
               {.stroke = "#ffffff", .stroke_width = 2});
      svg.end_group();
    }
  }
  for (int k = 0; k < int(sheet.class_names.size()); ++k) {
    const double x = l.legend_x(k), y = l.legend_y(k);
    svg.rect(x, y, 14, 14, {.fill = to_hex(slice_class_colour(k))});
    svg.text(x + 20, y + 12, sheet.class_names[std::size_t(k)], {.size = 12});
  }
  return svg;
}

}  // namespace farbound
