#pragma once
// farbound-toy2d's figure, as a PNG and an SVG of the same layout: a title row, the two
// models' softmax surfaces as square panels side by side, a caption row.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "farbound/core/error.hpp"
#include "farbound/data/dataset.hpp"
#include "farbound/sampling/unlabelled_cloud.hpp"
#include "farbound/viz/heatmap.hpp"
#include "farbound/viz/image.hpp"
#include "farbound/viz/png.hpp"
#include "farbound/viz/svg.hpp"
#include "farbound/viz/text.hpp"
#include "support/number_text.hpp"
#include "support/toy2d_flags.hpp"
#include "support/toy2d_report.hpp"

namespace examples {

// Where the panels go in a width x height figure.
struct PanelLayout {
  static constexpr int gap = 16, title_h = 34, caption_h = 30;
  int width, height, side, left, top;
};

// Throws argument_error when the figure leaves panels too small to read.
inline PanelLayout panel_layout(int width, int height) {
  constexpr int gap = PanelLayout::gap;
  const int side = std::min((width - 3 * gap) / 2, height - PanelLayout::title_h - PanelLayout::caption_h);
  if (side < 32)
    throw farbound::argument_error("--width/--height leave panels of " + std::to_string(side) + " px; need >= 32");
  return {width, height, side, (width - 2 * side - gap) / 2, PanelLayout::title_h};
}

inline std::string panel_title(bool regularised, const Framework& f) {
  if (!regularised) return "plain cross-entropy";
  return "framework: lambda " + significant(f.lambda) + ", sigma_u " + significant(f.sigma_u) + ", Nu " +
         std::to_string(f.nu) + ", K " + std::to_string(f.k);
}

// The anchors the trainer drew in epoch 0 around the labelled points: ids N .. N(1 + Nu) - 1
// are the copies (sampling/unlabelled_cloud.hpp).
inline std::vector<farbound::Point2> first_epoch_cloud(const farbound::Dataset<float>& data, const Framework& f,
                                                       std::uint64_t seed) {
  const std::int64_t n = data.size();
  const farbound::UnlabelledCloud<farbound::GaussianNoise> cloud(n, f.nu, farbound::GaussianNoise(f.sigma_u), seed);
  std::vector<std::uint32_t> ids(std::size_t(n * f.nu));
  std::iota(ids.begin(), ids.end(), std::uint32_t(n));
  farbound::Tensor<float> anchors({std::int64_t(ids.size()), 2});
  std::vector<int> labels_unused;
  cloud.gather_anchors<float>(0, ids, data.inputs(), data.labels(), anchors.view(), labels_unused);
  return farbound::to_points<float>(anchors.view());
}

inline void write_toy2d_figure(const std::filesystem::path& png_path, const std::filesystem::path& svg_path,
                               const PanelLayout& layout, const std::vector<ToyOutcome>& outcomes) {
  const auto caption = [](const ToyOutcome& o) {
    return "train acc " + fixed(100 * o.accuracy, 1) + "%   mean dist " + fixed(o.distance.mean, 3) + "   min dist " +
           fixed(o.distance.min, 3);
  };
  const int side = layout.side, top = layout.top;
  farbound::RgbImage png(layout.width, layout.height);
  farbound::SvgDocument svg(layout.width, layout.height);
  svg.rect(0, 0, layout.width, layout.height, {.fill = "#ffffff"});
  constexpr farbound::Rgb ink{30, 30, 30};
  for (std::size_t m = 0; m < outcomes.size(); ++m) {
    const ToyOutcome& o = outcomes[m];
    const int x = layout.left + int(m) * (side + PanelLayout::gap);
    png.blit(farbound::render_heatmap(o.panel, side, side), x, top);
    farbound::draw_text(png, x + (side - farbound::text_width(o.title, 2)) / 2, 8, o.title, 2, ink);
    farbound::draw_text(png, x + (side - farbound::text_width(caption(o), 2)) / 2, top + side + 8, caption(o), 2, ink);
    farbound::draw_heatmap(svg, o.panel, x, top, side, side);
    svg.text(x + side / 2.0, 22, o.title, {.size = 15, .anchor = "middle", .weight = "bold"});
    svg.text(x + side / 2.0, top + side + 20, caption(o), {.size = 14, .anchor = "middle"});
  }
  farbound::write_png(png_path, png);
  svg.write(svg_path);
}

}  // namespace examples
