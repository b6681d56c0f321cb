#pragma once
// farbound-oracle's figure: eta-hat against delta2 on a log axis, one line per
// classifier, the Clopper-Pearson intervals as bars.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "farbound/viz/svg.hpp"
#include "support/number_text.hpp"
#include "support/oracle_report.hpp"

namespace examples {

inline void write_eta_plot(const std::string& path, const std::vector<OracleRow>& rows, const std::vector<double>& deltas,
                           double confidence) {
  using farbound::SvgDocument, farbound::SvgPath, farbound::EtaEstimate;
  const double width = 660, height = 420, left = 70, right = 190, top = 50, bottom = 50;
  const double pw = width - left - right, ph = height - top - bottom;
  const auto [dmin, dmax] = std::minmax_element(deltas.begin(), deltas.end());
  const double lo = std::floor(std::log10(*dmin)), hi = std::ceil(std::log10(*dmax));
  // The y axis: from 0 past the highest interval, in steps of 1, 2 or 5 times a power of 10.
  double top_value = 1e-3;
  for (const OracleRow& r : rows)
    for (const EtaEstimate& e : r.eta) top_value = std::max(top_value, e.interval.upper);
  const double raw_step = top_value / 4, decade = std::pow(10, std::floor(std::log10(raw_step)));
  const double ystep = decade * (raw_step <= decade ? 1 : raw_step <= 2 * decade ? 2 : raw_step <= 5 * decade ? 5 : 10);
  const int yticks = int(std::ceil(top_value / ystep - 1e-9));
  const double ymax = ystep * yticks;
  const auto px = [&](double delta) { return left + (std::log10(delta) - lo) / (hi - lo) * pw; };
  const auto py = [&](double eta) { return top + (1 - eta / ymax) * ph; };

  SvgDocument svg(width, height);
  svg.rect(0, 0, width, height, {.fill = "white"});
  svg.text(left + pw / 2, 20, "eta-hat of (delta2, eta)-strong-robustness", {.size = 15, .anchor = "middle"});
  for (double e = lo; e <= hi; ++e) {
    svg.line(px(std::pow(10, e)), top, px(std::pow(10, e)), top + ph, {.stroke = "#dddddd"});
    svg.text(px(std::pow(10, e)), top + ph + 18, "1e" + std::to_string(int(e)), {.size = 11, .anchor = "middle"});
  }
  for (int k = 0; k <= yticks; ++k) {
    const double v = ystep * k;
    svg.line(left, py(v), left + pw, py(v), {.stroke = "#dddddd"});
    svg.text(left - 6, py(v) + 4, significant(v, 3), {.size = 11, .anchor = "end"});
  }
  svg.rect(left, top, pw, ph, {.stroke = "black"});
  svg.text(left + pw / 2, height - 8, "delta2 (oracle radius, log scale)", {.size = 12, .anchor = "middle"});
  svg.text(left, top - 8, "eta-hat", {.size = 12, .anchor = "middle"});
  for (std::size_t m = 0; m < rows.size(); ++m) {
    const OracleRow& r = rows[m];
    SvgPath line;
    for (std::size_t i = 0; i < r.eta.size(); ++i) {
      const double x = px(r.eta[i].delta2) + (double(m) - 1.5) * 3;  // side by side: bars do not overlap
      i == 0 ? line.move_to(x, py(r.eta[i].eta)) : line.line_to(x, py(r.eta[i].eta));
      svg.line(x, py(r.eta[i].interval.lower), x, py(r.eta[i].interval.upper), {.stroke = r.colour, .stroke_width = 1.5});
      svg.circle(x, py(r.eta[i].eta), 3, {.fill = r.colour});
    }
    svg.path(line, {.stroke = r.colour, .stroke_width = 2});
    const double ly = top + 20 + 22 * double(m);
    svg.line(left + pw + 14, ly - 4, left + pw + 38, ly - 4, {.stroke = r.colour, .stroke_width = 2});
    svg.text(left + pw + 44, ly, r.name, {.size = 12});
  }
  svg.text(left + pw + 14, top + 20 + 22 * double(rows.size()) + 8,
           "bars: " + fixed(100 * confidence, 0) + "% Clopper-Pearson", {.size = 10});
  svg.write(path);
}

}  // namespace examples
