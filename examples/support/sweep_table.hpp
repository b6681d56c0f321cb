#pragma once
// The sweep's report, written by rank 0 once every run is done or failed: per setting, the
// mean +- standard error over its seeds of the clean accuracy and of the robust accuracy
// under every attack at every epsilon, as
//   table.csv    one row per setting, one mean and one s.e. column per number (%.17g)
//   table.json   the same with the per-seed values and the failed runs with their errors
//   table.md     a markdown table in percent, the failed runs listed under it
//   robust_<attack>.svg  robust accuracy against epsilon, one line per setting, s.e. bars
// Only the runs' result.json files are read, so the table does not depend on which rank ran
// what, and a restarted sweep reports the runs of earlier jobs too.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/metrics/statistics.hpp"
#include "support/charts.hpp"
#include "support/number_text.hpp"
#include "support/sweep_grid.hpp"
#include "support/sweep_run.hpp"

namespace examples {

struct SettingSummary {
  std::string setting;
  std::vector<double> clean;                             // one per finished seed
  std::map<std::string, std::vector<std::vector<double>>> robust;  // attack -> epsilon -> seeds
  std::vector<nlohmann::json> failed;                    // {name, error}
  std::int64_t missing = 0;                              // neither done nor failed
};

inline std::vector<SettingSummary> summarise(const SweepGrid& grid, const std::filesystem::path& out) {
  std::vector<SettingSummary> table;
  for (const SweepRun& run : grid.runs) {
    if (table.empty() || table.back().setting != run.setting) {
      table.push_back({run.setting, {}, {}, {}, 0});
      for (const auto& a : grid.evaluation.attacks) table.back().robust[a].resize(grid.evaluation.epsilons.size());
    }
    SettingSummary& s = table.back();
    const std::filesystem::path dir = run_dir(out, run);
    const RunState state = run_state(dir);
    if (state == RunState::pending) {
      ++s.missing;
      continue;
    }
    nlohmann::json record;
    std::ifstream(dir / (state == RunState::done ? "result.json" : "error.json")) >> record;
    if (state == RunState::failed) {
      s.failed.push_back({{"name", run.name()}, {"error", record.at("error")}});
      continue;
    }
    s.clean.push_back(record.at("clean_accuracy").get<double>());
    for (auto& [attack, per_eps] : s.robust)
      for (std::size_t k = 0; k < per_eps.size(); ++k)
        per_eps[k].push_back(record.at("robust_accuracy").at(attack).at(k).get<double>());
  }
  return table;
}

namespace detail {

inline std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

inline std::string percent(const farbound::MeanError& m) {
  if (m.count == 0) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f ± %.2f", 100 * m.mean, 100 * m.standard_error);
  return buf;
}

}  // namespace detail

inline void write_sweep_table(const SweepGrid& grid, const std::filesystem::path& out) {
  using farbound::mean_standard_error;
  std::filesystem::create_directories(out);
  const auto table = summarise(grid, out);
  const auto& eps = grid.evaluation.epsilons;
  const auto eps_text = [&](std::size_t k) { return significant(eps[k]); };

  std::ofstream csv(out / "table.csv"), md(out / "table.md");
  csv << "setting,seeds,failed,missing,clean_mean,clean_se";
  md << "| setting | seeds | clean accuracy (%)";
  for (const auto& a : grid.evaluation.attacks)
    for (std::size_t k = 0; k < eps.size(); ++k) {
      csv << ',' << a << '@' << eps_text(k) << "_mean," << a << '@' << eps_text(k) << "_se";
      md << " | " << a << " eps " << eps_text(k) << " (%)";
    }
  csv << '\n';
  md << " |\n|---|---|---";
  for (std::size_t i = 0; i < eps.size() * grid.evaluation.attacks.size(); ++i) md << "|---";
  md << "|\n";

  nlohmann::json json = nlohmann::json::array();
  std::map<std::string, std::vector<LineSeries>> curves;
  for (const SettingSummary& s : table) {
    const auto clean = mean_standard_error(s.clean);
    csv << s.setting << ',' << s.clean.size() << ',' << s.failed.size() << ',' << s.missing << ','
        << detail::exact(clean.mean) << ',' << detail::exact(clean.standard_error);
    md << "| " << s.setting << " | " << s.clean.size() << " | " << detail::percent(clean);
    nlohmann::json row = {{"setting", s.setting}, {"seeds", s.clean.size()},   {"failed", s.failed},
                          {"missing", s.missing}, {"clean", s.clean},          {"clean_mean", clean.mean},
                          {"clean_se", clean.standard_error}};
    for (const auto& [attack, per_eps] : s.robust) {
      LineSeries series{s.setting, eps, {}, {}};
      for (std::size_t k = 0; k < per_eps.size(); ++k) {
        const auto m = mean_standard_error(per_eps[k]);
        row["robust"][attack].push_back({{"epsilon", eps[k]}, {"values", per_eps[k]}, {"mean", m.mean}, {"se", m.standard_error}});
        series.y.push_back(m.mean);
        series.error.push_back(m.standard_error);
      }
      if (!s.clean.empty()) curves[attack].push_back(std::move(series));
    }
    // CSV and markdown columns in the order of the grid's attacks.
    for (const auto& attack : grid.evaluation.attacks)
      for (const auto& cell : row["robust"][attack]) {
        csv << ',' << detail::exact(cell["mean"].get<double>()) << ',' << detail::exact(cell["se"].get<double>());
        md << " | " << detail::percent({cell["mean"].get<double>(), cell["se"].get<double>(), std::int64_t(s.clean.size())});
      }
    csv << '\n';
    md << " |\n";
    json.push_back(std::move(row));
  }
  bool heading = false;
  for (const SettingSummary& s : table)
    for (const auto& f : s.failed) {
      if (!heading) md << "\nFailed runs:\n\n";
      heading = true;
      md << "- " << f["name"].get<std::string>() << ": " << f["error"].get<std::string>() << '\n';
    }
  std::ofstream(out / "table.json") << json.dump(2) << '\n';
  if (!csv.flush() || !md.flush()) throw farbound::io_error((out / "table.csv").string() + ": cannot write the table");
  for (const auto& [attack, series] : curves)
    write_line_chart(out / ("robust_" + attack + ".svg"), "Robust accuracy under " + attack + " (mean ± s.e. over seeds)",
                     "epsilon", "robust accuracy", series);
}

}  // namespace examples
