#pragma once
// farbound-eval's files in --out-dir, written all together or not at all: results.csv (one
// value per row), results.json (everything), and SVG plots (robust accuracy per attack and
// for every attack at once, the max-softmax histogram on OOD inputs).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/charts.hpp"
#include "support/eval_tables.hpp"
#include "support/staged_dir.hpp"

namespace examples {

// Where a model's curves are: its setting's index and its index within the setting.
inline std::pair<std::size_t, std::size_t> curve_index(const std::vector<farbound::ModelGroup<float>>& groups,
                                                       const farbound::Sequential<float>* model) {
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t k = 0; k < groups[g].models.size(); ++k)
      if (groups[g].models[k] == model) return {g, k};
  return {0, 0};
}

inline void write_model_rows(const EvalFlags& f, const std::vector<farbound::ModelGroup<float>>& groups,
                             const ModelEntry& e, const AttackComparisons& comparisons, const ModelMeasures& measures,
                             std::size_t m, std::ofstream& csv, nlohmann::json& json) {
  const std::string row = e.setting + "," + e.path + ",";
  nlohmann::json jm = {{"setting", e.setting}, {"file", e.path}};
  const auto [group, index] = curve_index(groups, &e.loaded.model);
  for (const auto& [name, cmp] : comparisons) {
    const farbound::GroupRobustness& gr = cmp.groups[group];
    if (name == comparisons.front().first) {
      jm["clean_accuracy"] = gr.clean_accuracy[index];
      csv << row << "clean_accuracy,,all,," << gr.clean_accuracy[index] << "\n";
    }
    for (const bool common : {true, false}) {
      const auto& curves = common ? gr.common_points : gr.all_points;
      if (curves.empty()) continue;
      const std::string which = common ? "common" : "all";
      jm["robust_accuracy"][name][which] = curves[index].accuracy;
      for (std::size_t k = 0; k < cmp.epsilons.size(); ++k)
        csv << row << "robust_accuracy," << name << "," << which << "," << cmp.epsilons[k] << ","
            << curves[index].accuracy[k] << "\n";
    }
  }
  if (f.deepfool_max_iter > 0) {
    const farbound::RhoResult& r = measures.rho[m];
    jm["rho"] = {{"successful", r.rho_successful}, {"all", r.rho_all}, {"success_ratio", r.success_ratio}};
    csv << row << "rho_successful,deepfool,all,," << r.rho_successful << "\n"
        << row << "rho_all,deepfool,all,," << r.rho_all << "\n"
        << row << "deepfool_success_ratio,deepfool,all,," << r.success_ratio << "\n";
  }
  if (f.ood != "none") {
    const farbound::SoftmaxProfile& p = measures.ood[m];
    nlohmann::json sorted = nlohmann::json::array(), sorted_std = nlohmann::json::array();
    for (const farbound::MeanStd& s : p.sorted) sorted.push_back(s.mean), sorted_std.push_back(s.std);
    jm["ood_softmax"] = {{"sorted_mean", sorted},
                         {"sorted_std", sorted_std},
                         {"max_mean", p.max.mean},
                         {"max_std", p.max.std},
                         {"max_histogram", p.max_histogram.counts}};
    csv << row << "ood_mean_max_softmax," << f.ood << ",all,," << p.max.mean << "\n";
  }
  if (f.sanity) jm["gradient_masking"] = to_json(measures.masking[m], f.epsilons.back());
  json["models"].push_back(jm);
}

inline void write_eval_charts(const EvalFlags& f, const std::filesystem::path& dir,
                              const std::vector<farbound::ModelGroup<float>>& groups,
                              const std::vector<ModelEntry>& entries, const AttackComparisons& comparisons,
                              const ModelMeasures& measures) {
  if (comparisons.size() > 1)
    write_line_chart(dir / "robust_accuracy_all.svg", "robust accuracy, every attack", "epsilon (pixel units)",
                     "robust accuracy", all_attack_series(comparisons, attack_title));
  for (const auto& [name, cmp] : comparisons) {
    std::vector<LineSeries> series;
    for (const auto& g : cmp.groups) {
      const farbound::CurveSummary& s = g.common_points.empty() ? g.all_summary : g.common_summary;
      LineSeries line{g.name, s.epsilons, {}, {}};
      for (const farbound::MeanError& m : s.accuracy) line.y.push_back(m.mean), line.error.push_back(m.standard_error);
      series.push_back(std::move(line));
    }
    const bool common = !cmp.groups.empty() && !cmp.groups[0].common_points.empty();
    write_line_chart(dir / ("robust_accuracy_" + name + ".svg"),
                     attack_title(name) + (common ? ", commonly correct points" : ", all points"),
                     "epsilon (pixel units)", "robust accuracy", series);
  }
  if (f.ood == "none") return;
  std::vector<StepSeries> series;
  for (const auto& g : groups) {
    StepSeries s{g.name, std::vector<double>(std::size_t(f.bins), 0.0)};
    double total = 0;
    for (std::size_t m = 0; m < entries.size(); ++m)
      if (entries[m].setting == g.name)
        for (std::size_t b = 0; b < std::size_t(f.bins); ++b) {
          s.values[b] += double(measures.ood[m].max_histogram.counts[b]);
          total += double(measures.ood[m].max_histogram.counts[b]);
        }
    for (double& v : s.values) v /= std::max(total, 1.0);
    series.push_back(std::move(s));
  }
  write_step_chart(dir / "max_softmax.svg", "max softmax on " + f.ood + " inputs", "largest probability",
                   "fraction of points", series, 0.0, 1.0);
}

inline void write_eval_files(const EvalFlags& f, std::int64_t points,
                             const std::vector<farbound::ModelGroup<float>>& groups,
                             const std::vector<ModelEntry>& entries, const AttackComparisons& comparisons,
                             const std::optional<SuiteShares>& shares, const ModelMeasures& measures) {
  StagedDir staged(f.out_dir);  // every file, or none if anything fails
  const std::filesystem::path& dir = staged.path();
  std::ofstream csv(dir / "results.csv");
  if (!csv) throw farbound::io_error((dir / "results.csv").string() + ": cannot open for writing");
  csv << "setting,model,metric,attack,points,eps,value\n";
  const std::size_t common = comparisons.empty() ? 0 : comparisons.front().second.common.size();
  nlohmann::json json = {{"dataset", f.dataset},   {"points", points},
                         {"epsilons", f.epsilons}, {"common_points", common},
                         {"ood", f.ood},           {"models", nlohmann::json::array()}};
  for (std::size_t m = 0; m < entries.size(); ++m)
    write_model_rows(f, groups, entries[m], comparisons, measures, m, csv, json);
  if (shares) {
    json["suite"] = to_json(*shares);
    for (std::size_t k = 0; k < shares->epsilons.size(); ++k)
      for (std::size_t a = 0; a < shares->attacks.size(); ++a)
        csv << "all,all,suite_removed_share," << shares->attacks[a] << ",suite," << shares->epsilons[k] << ","
            << share(*shares, k, a) << "\n";
  }
  write_eval_charts(f, dir, groups, entries, comparisons, measures);
  std::ofstream(dir / "results.json") << json.dump(2) << "\n";
  staged.commit();
  std::printf("\nwrote %s/results.csv, results.json and the SVG plots\n", f.out_dir.c_str());
}

}  // namespace examples
