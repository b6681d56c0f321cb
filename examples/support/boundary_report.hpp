#pragma once
// farbound-boundary's plumbing: the models by name, the planes of the slice sheet, the
// boundary metrics of one model over the test points, and their charts and table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/attack/carlini_wagner.hpp"
#include "farbound/attack/deepfool.hpp"
#include "farbound/attack/fab.hpp"
#include "farbound/io/model_file.hpp"
#include "farbound/metrics/accuracy.hpp"
#include "farbound/metrics/boundary_thickness.hpp"
#include "farbound/metrics/first_order_margin.hpp"
#include "farbound/metrics/image_plane.hpp"
#include "farbound/metrics/minimal_distance.hpp"
#include "farbound/metrics/ray_boundary_distance.hpp"
#include "farbound/metrics/statistics.hpp"
#include "farbound/viz/slice_sheet.hpp"
#include "support/charts.hpp"
#include "support/number_text.hpp"

namespace examples {

struct NamedModel {
  std::string name;
  farbound::LoadedModel<float> loaded;
};

// "NAME=PATH" or "PATH" (named by the file's stem); a model that does not map x's items to
// `classes` logits is a usage error naming the file.
inline NamedModel load_named_model(const std::string& flag, const farbound::Tensor<float>& x, std::int64_t classes) {
  using namespace farbound;
  const auto eq = flag.find('=');
  const bool named = eq != std::string::npos && eq > 0 && flag.substr(0, eq).find('/') == std::string::npos;
  const std::string path = named ? flag.substr(eq + 1) : flag;
  NamedModel m{named ? flag.substr(0, eq) : std::filesystem::path(flag).stem().string(), {}};
  try {
    m.loaded = load_model<float>(path);
  } catch (const shape_error& e) {
    throw io_error(path + ": " + e.what());
  }
  Shape out;
  try {
    out = m.loaded.model.output_shape(x.shape().with_batch(1));
  } catch (const shape_error& e) {
    throw argument_error(path + ": the model does not take the data set's images: " + e.what());
  }
  if (out.rank() != 2 || out[1] != classes)
    throw argument_error(path + ": the model's output " + out.to_string() + " does not fit " + std::to_string(classes) + " classes");
  return m;
}

// What spans the first axis of a slice's plane; the second is always a random direction.
enum class PlaneAxis { deepfool, gradient, random, nearest };

// The plane through item k of x (label y) for axis `axis`, the directions taken from
// `reference` (the first model), so every model is shown on the same plane.
inline farbound::ImagePlane<float> sheet_plane(PlaneAxis axis, farbound::Sequential<float>& reference,
                                               farbound::TensorView<const float> x, int y, std::int64_t k,
                                               const farbound::Tensor<float>& train, const std::vector<int>& train_y,
                                               std::optional<farbound::Bounds> clip) {
  using namespace farbound;
  const TensorView<const float> x0 = x.slice(k, 1);
  const Shape item = x0.shape();
  Tensor<float> first;
  if (axis == PlaneAxis::deepfool) {
    DeepFool<float> deepfool({.norm = Norm::l2});
    const std::vector<int> pred = predict(reference, x0);
    deepfool.run(reference, x0, pred, first);
    for (std::int64_t j = 0; j < first.numel(); ++j) first[j] -= x0.data()[j];
    if (!deepfool.fooled()[0]) first = random_direction<float>(item, 17, std::uint32_t(2 * k + 1));
  } else if (axis == PlaneAxis::gradient) {
    first = margin_gradient_direction(reference, x0, predict(reference, x0)[0]);
  } else if (axis == PlaneAxis::nearest) {
    first = nearest_other_class_direction(x0, y, train.view(), train_y);
  } else {
    first = random_direction<float>(item, 17, std::uint32_t(2 * k + 1));
  }
  const Tensor<float> second = random_direction<float>(item, 17, std::uint32_t(2 * k));
  return make_image_plane<float>(x0, first.view(), second.view(), clip);
}

struct SheetOptions {
  PlaneAxis axis = PlaneAxis::deepfool;
  double radius = 3, eps = 0.1;
  farbound::Norm ball = farbound::Norm::linf;
  std::int64_t side = 128;
  std::optional<farbound::Bounds> clip;
};

// Rows: the test images `rows` of x (labels y); columns: the models, each on the planes
// of the first model.
inline farbound::SliceSheet build_slice_sheet(std::vector<NamedModel>& models, farbound::TensorView<const float> x,
                                              const std::vector<int>& y, const std::vector<std::int64_t>& rows,
                                              std::vector<std::string> class_names, const farbound::Tensor<float>& train,
                                              const std::vector<int>& train_y, const SheetOptions& o) {
  using namespace farbound;
  SliceSheet sheet;
  sheet.class_names = std::move(class_names);
  for (const auto& m : models) sheet.column_names.push_back(m.name);
  for (std::int64_t k : rows) {
    const int label = y[std::size_t(k)];
    const ImagePlane<float> p = sheet_plane(o.axis, models[0].loaded.model, x, label, k, train, train_y, o.clip);
    sheet.row_names.push_back("test " + std::to_string(k) + ": " + sheet.class_names[std::size_t(label)]);
    auto& row = sheet.panels.emplace_back();
    for (auto& m : models) row.push_back({image_slice(m.loaded.model, p, o.radius, o.side), ball_section(p, o.eps, o.ball)});
  }
  return sheet;
}

struct MetricOptions {
  int random_rays = 4;          // random directions per point
  double ray_max = 10;          // L2, pixel units
  double thickness_eps = 0.353;  // 1.0 in normalised units times Fashion-MNIST's std
  int fab_steps = 100, cw_steps = 100, cw_searches = 5;
};

struct BoundaryMetrics {
  double accuracy = 0;
  std::vector<double> adversarial_rays, random_rays, thickness, margin_l2, margin_linf, minimal_l2;
  std::vector<std::string> minimal_by;
};

// Every metric of docs/boundary.md for one model over x, relative to its own predictions.
inline BoundaryMetrics measure_boundary(farbound::Sequential<float>& model, farbound::TensorView<const float> x,
                                        const std::vector<int>& labels, const MetricOptions& o) {
  using namespace farbound;
  const std::int64_t n = x.size(0), d = x.shape().item_numel();
  BoundaryMetrics m;
  const std::vector<int> pred = predict(model, x);
  for (std::int64_t i = 0; i < n; ++i) m.accuracy += pred[std::size_t(i)] == labels[std::size_t(i)];
  m.accuracy /= double(n);

  // Rays: DeepFool's direction (where it found another class), and random_rays random ones.
  DeepFool<float> deepfool({.norm = Norm::l2});
  Tensor<float> x_adv;
  deepfool.run(model, x, pred, x_adv);
  for (std::int64_t j = 0; j < x_adv.numel(); ++j) x_adv[j] -= x.data()[j];
  for (std::int64_t i = 0; i < n; ++i)  // no direction where DeepFool failed: any ray, its result dropped below
    if (!deepfool.fooled()[std::size_t(i)]) std::fill(x_adv.data() + i * d, x_adv.data() + (i + 1) * d, 1.0f);
  const RayDistanceOptions rays{.max_distance = o.ray_max};
  m.adversarial_rays = ray_boundary_distance(model, x, x_adv.view(), rays);
  for (std::int64_t i = 0; i < n; ++i)
    if (!deepfool.fooled()[std::size_t(i)]) m.adversarial_rays[std::size_t(i)] = std::numeric_limits<double>::quiet_NaN();
  Tensor<float> starts(x.shape().with_batch(n * o.random_rays)), dirs(starts.shape());
  for (std::int64_t r = 0; r < n * o.random_rays; ++r) {
    std::copy(x.data() + (r / o.random_rays) * d, x.data() + (r / o.random_rays + 1) * d, starts.data() + r * d);
    const Tensor<float> g = random_direction<float>(x.shape().with_batch(1), 29, std::uint32_t(r));
    std::copy(g.data(), g.data() + d, dirs.data() + r * d);
  }
  m.random_rays = ray_boundary_distance(model, starts.view(), dirs.view(), rays);

  const double eps = o.thickness_eps;
  m.thickness = boundary_thickness(model, x, pred, {.eps = eps, .step_size = 0.2 * eps}).thickness;
  const FirstOrderMargin margin = first_order_margin(model, x, pred);
  m.margin_l2 = margin.l2;
  m.margin_linf = margin.linf;
  Fab<float> fab({.norm = Norm::l2, .steps = o.fab_steps});
  CarliniWagnerL2<float> cw({.binary_search_steps = o.cw_searches, .steps = o.cw_steps});
  const MinimalDistances best = minimal_adversarial_distance(model, x, Norm::l2, {&deepfool, &cw, &fab});
  m.minimal_l2 = best.distance;
  m.minimal_by = best.by;
  return m;
}

namespace detail {

inline std::vector<double> finite(const std::vector<double>& v) {
  std::vector<double> out;
  for (double e : v)
    if (std::isfinite(e)) out.push_back(e);
  return out;
}

// Fractions of the values per bin over [0, upper].
inline StepSeries fractions(const std::string& name, const std::vector<double>& values, double upper, int bins = 40) {
  const farbound::Histogram h = farbound::histogram(values, bins, 0, upper);
  StepSeries s{name, {}};
  for (std::int64_t c : h.counts) s.values.push_back(values.empty() ? 0 : double(c) / double(values.size()));
  return s;
}

}  // namespace detail

// rays_NAME.svg per model (adversarial vs random), and one chart per metric with the models
// overlaid; metrics.md (the table, also printed) and metrics.json (per-point values).
inline void write_boundary_report(const std::filesystem::path& dir, const std::vector<std::string>& names,
                                  const std::vector<BoundaryMetrics>& metrics, const MetricOptions& o) {
  using farbound::quantile;
  std::vector<StepSeries> minimal, thick, margin;
  double upper_min = 0, upper_thick = 0, upper_margin = 0;
  for (const auto& m : metrics) {
    upper_min = std::max(upper_min, quantile(detail::finite(m.minimal_l2), 0.99));
    upper_thick = std::max(upper_thick, quantile(m.thickness, 1.0));
    upper_margin = std::max(upper_margin, quantile(detail::finite(m.margin_l2), 0.99));
  }
  const auto round = [](double v) { return v > 0 && std::isfinite(v) ? detail::round_up(v) : 1.0; };
  nlohmann::json json = nlohmann::json::object();
  std::string table =
      "| model | accuracy | minimal L2: q10 / median / q90 | along DeepFool: median | along random: median of those within T, % beyond T = " +
      significant(o.ray_max) + " | thickness: mean +- std | margin L2 / Linf: median |\n|---|---|---|---|---|---|---|\n";
  for (std::size_t k = 0; k < metrics.size(); ++k) {
    const BoundaryMetrics& m = metrics[k];
    const std::vector<double> adv = detail::finite(m.adversarial_rays), rnd = detail::finite(m.random_rays);
    write_step_chart(dir / ("rays_" + names[k] + ".svg"), names[k] + ": distance to the boundary along rays",
                     "L2 distance (pixel units)", "fraction of rays",
                     {detail::fractions("DeepFool direction", adv, o.ray_max),
                      detail::fractions("random directions", rnd, o.ray_max)},
                     0, o.ray_max);
    minimal.push_back(detail::fractions(names[k], detail::finite(m.minimal_l2), round(upper_min)));
    thick.push_back(detail::fractions(names[k], m.thickness, round(upper_thick)));
    margin.push_back(detail::fractions(names[k], detail::finite(m.margin_l2), round(upper_margin)));
    const farbound::MeanStd th = farbound::mean_std(m.thickness);
    const std::vector<double> mn = detail::finite(m.minimal_l2);
    char row[512];
    std::snprintf(row, sizeof row, "| %s | %.3f | %.3f / %.3f / %.3f | %.3f | %.3f, %.1f%% | %.3f +- %.3f | %.3f / %.4f |\n",
                  names[k].c_str(), m.accuracy, quantile(mn, 0.1), quantile(mn, 0.5), quantile(mn, 0.9),
                  quantile(adv, 0.5), quantile(rnd, 0.5), 100.0 * double(m.random_rays.size() - rnd.size()) / double(m.random_rays.size()),
                  th.mean, th.std, quantile(m.margin_l2, 0.5), quantile(m.margin_linf, 0.5));
    table += row;
    const auto finite_or_null = [](const std::vector<double>& v) {
      nlohmann::json a = nlohmann::json::array();
      for (double e : v) a.push_back(std::isfinite(e) ? nlohmann::json(e) : nlohmann::json(nullptr));
      return a;
    };
    json[names[k]] = {{"accuracy", m.accuracy},
                      {"minimal_l2", finite_or_null(m.minimal_l2)},
                      {"minimal_by", m.minimal_by},
                      {"deepfool_rays", finite_or_null(m.adversarial_rays)},
                      {"random_rays", finite_or_null(m.random_rays)},
                      {"thickness", finite_or_null(m.thickness)},
                      {"margin_l2", finite_or_null(m.margin_l2)},
                      {"margin_linf", finite_or_null(m.margin_linf)}};
  }
  write_step_chart(dir / "minimal_distance.svg", "minimal adversarial distance (best of DeepFool, CW, FAB)",
                   "L2 distance (pixel units)", "fraction of points", minimal, 0, round(upper_min));
  write_step_chart(dir / "thickness.svg", "boundary thickness", "thickness (L2, pixel units)", "fraction of points", thick,
                   0, round(upper_thick));
  write_step_chart(dir / "margin.svg", "first-order margin", "L2 margin (pixel units)", "fraction of points", margin, 0,
                   round(upper_margin));
  std::ofstream(dir / "metrics.md") << table;
  std::ofstream(dir / "metrics.json") << json.dump(1) << "\n";
  std::fputs(table.c_str(), stdout);
}

}  // namespace examples
