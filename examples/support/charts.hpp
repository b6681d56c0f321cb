#pragma once
// Two small SVG charts for the examples: lines with error bars (robust accuracy against
// epsilon, one curve per model or setting) and overlaid step histograms (max-softmax
// distributions). Drawn with farbound::SvgDocument; the axes are linear.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "farbound/viz/svg.hpp"

namespace examples {

struct LineSeries {
  std::string name;
  std::vector<double> x, y, error;  // error: half-height of the bar at each point (may be empty)
};

struct StepSeries {
  std::string name;
  std::vector<double> values;  // one per bin, over [x_lower, x_upper]
};

namespace detail {

// A categorical palette (matplotlib's tab10).
inline const char* colour(std::size_t i) {
  static const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return palette[i % 10];
}

inline std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The smallest of 1, 2, 2.5, 5 times a power of ten that is >= v > 0: a round axis end.
inline double round_up(double v) {
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

// The plotting area of a chart and the map from data to pixels.
struct Frame {
  static constexpr double width = 640, height = 420, left = 70, right = 160, top = 50, bottom = 60;
  double x0, x1, y0, y1;

  double px(double x) const { return left + (x - x0) / (x1 - x0) * (width - left - right); }
  double py(double y) const { return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom); }

  // Axes, five ticks on each, labels, title, and a legend of `names`.
  void draw(farbound::SvgDocument& svg, const std::string& title, const std::string& x_label,
            const std::string& y_label, const std::vector<std::string>& names) const {
    const farbound::SvgStyle axis{.stroke = "black"}, grid{.stroke = "#dddddd"};
    for (int k = 0; k <= 4; ++k) {
      const double xv = x0 + (x1 - x0) * k / 4, yv = y0 + (y1 - y0) * k / 4;
      svg.line(px(xv), py(y0), px(xv), py(y1), grid);
      svg.line(px(x0), py(yv), px(x1), py(yv), grid);
      svg.text(px(xv), py(y0) + 18, tick_label(xv), {.size = 11, .anchor = "middle"});
      svg.text(px(x0) - 6, py(yv) + 4, tick_label(yv), {.size = 11, .anchor = "end"});
    }
    svg.line(px(x0), py(y0), px(x1), py(y0), axis);
    svg.line(px(x0), py(y0), px(x0), py(y1), axis);
    svg.text((px(x0) + px(x1)) / 2, height - 18, x_label, {.size = 13, .anchor = "middle"});
    svg.text(left, top - 10, y_label, {.size = 13, .anchor = "start"});
    svg.text(width / 2, 18, title, {.size = 15, .anchor = "middle", .weight = "bold"});
    for (std::size_t i = 0; i < names.size(); ++i) {
      const double y = top + 10 + 20 * double(i);
      svg.line(width - right + 15, y, width - right + 40, y, {.stroke = colour(i), .stroke_width = 2.5});
      svg.text(width - right + 46, y + 4, names[i], {.size = 12});
    }
  }
};

}  // namespace detail

// Lines through (x, y) of every series with error bars, y over [y_lower, y_upper].
inline void write_line_chart(const std::filesystem::path& path, const std::string& title, const std::string& x_label,
                             const std::string& y_label, const std::vector<LineSeries>& series, double y_lower = 0,
                             double y_upper = 1) {
  double x0 = 0, x1 = 0;
  bool first = true;
  for (const auto& s : series)
    for (double x : s.x) {
      x0 = first ? x : std::min(x0, x);
      x1 = first ? x : std::max(x1, x);
      first = false;
    }
  if (x1 <= x0) x1 = x0 + 1;
  const detail::Frame f{x0, x1, y_lower, y_upper};
  farbound::SvgDocument svg(f.width, f.height);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    names.push_back(s.name);
    farbound::SvgPath line;
    for (std::size_t k = 0; k < s.x.size(); ++k) {
      const double x = f.px(s.x[k]), y = f.py(std::clamp(s.y[k], y_lower, y_upper));
      k == 0 ? line.move_to(x, y) : line.line_to(x, y);
      svg.circle(x, y, 3, {.fill = detail::colour(i)});
      if (k < s.error.size() && s.error[k] > 0) {
        const double lo = f.py(std::max(y_lower, s.y[k] - s.error[k])),
                     hi = f.py(std::min(y_upper, s.y[k] + s.error[k]));
        svg.line(x, lo, x, hi, {.stroke = detail::colour(i), .stroke_width = 1.5});
        svg.line(x - 4, lo, x + 4, lo, {.stroke = detail::colour(i)});
        svg.line(x - 4, hi, x + 4, hi, {.stroke = detail::colour(i)});
      }
    }
    svg.path(line, {.stroke = detail::colour(i), .stroke_width = 2});
  }
  f.draw(svg, title, x_label, y_label, names);
  svg.write(path);
}

// Overlaid step outlines of per-bin values over [x_lower, x_upper], y from 0.
inline void write_step_chart(const std::filesystem::path& path, const std::string& title, const std::string& x_label,
                             const std::string& y_label, const std::vector<StepSeries>& series, double x_lower,
                             double x_upper) {
  double y1 = 0;
  for (const auto& s : series)
    for (double v : s.values) y1 = std::max(y1, v);
  const detail::Frame f{x_lower, x_upper, 0, y1 > 0 ? detail::round_up(y1) : 1};
  farbound::SvgDocument svg(f.width, f.height);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    names.push_back(s.name);
    if (s.values.empty()) continue;
    const double w = (x_upper - x_lower) / double(s.values.size());
    farbound::SvgPath outline;
    outline.move_to(f.px(x_lower), f.py(0));
    for (std::size_t b = 0; b < s.values.size(); ++b) {
      outline.line_to(f.px(x_lower + w * double(b)), f.py(s.values[b]));
      outline.line_to(f.px(x_lower + w * double(b + 1)), f.py(s.values[b]));
    }
    outline.line_to(f.px(x_upper), f.py(0));
    svg.path(outline, {.fill = detail::colour(i), .stroke = detail::colour(i), .stroke_width = 2, .opacity = 0.35});
  }
  f.draw(svg, title, x_label, y_label, names);
  svg.write(path);
}

}  // namespace examples
