#pragma once
// farbound-eval's tables on stdout: robust accuracy per attack, setting and radius (mean +-
// standard error over a setting's models), the suite's shares, the gradient-masking checks,
// and one line per setting with clean accuracy, rho and the softmax on OOD inputs.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "farbound/metrics/robust_accuracy.hpp"
#include "farbound/metrics/statistics.hpp"
#include "support/eval_flags.hpp"
#include "support/eval_inputs.hpp"
#include "support/eval_measures.hpp"
#include "support/number_text.hpp"
#include "support/sanity_report.hpp"
#include "support/suite_report.hpp"

namespace examples {

using AttackComparisons = std::vector<std::pair<std::string, farbound::RobustnessComparison>>;

// "87.50 +- 0.40" for several models, "87.50" for one.
inline std::string percent(const farbound::MeanError& m) {
  char buf[48];
  if (m.count > 1)
    std::snprintf(buf, sizeof buf, "%6.2f +- %.2f", 100 * m.mean, 100 * m.standard_error);
  else
    std::snprintf(buf, sizeof buf, "%6.2f", 100 * m.mean);
  return buf;
}

inline std::string mean_and_error(const farbound::MeanError& m) {
  char buf[48];
  std::snprintf(buf, sizeof buf, m.count > 1 ? "%.4f +- %.4f" : "%.4f", m.mean, m.standard_error);
  return buf;
}

inline void print_robust_accuracy(const AttackComparisons& comparisons) {
  if (comparisons.empty()) return;
  const farbound::RobustnessComparison& first = comparisons.front().second;
  std::printf("\n%lld of %lld points are classified correctly by every model\n",
              static_cast<long long>(first.common.size()), static_cast<long long>(first.points));
  for (const auto& [name, cmp] : comparisons)
    for (const bool common : {true, false}) {
      if (cmp.groups.empty() || (common ? cmp.groups[0].common_points : cmp.groups[0].all_points).empty()) continue;
      std::printf("\n%s robust accuracy (%%) on %s\n%-16s", attack_title(name).c_str(),
                  common ? "the commonly correct points" : "all points", "setting");
      for (double e : cmp.epsilons) std::printf(" %16s", ("eps " + significant(e)).c_str());
      std::printf("\n");
      for (const auto& g : cmp.groups) {
        std::printf("%-16s", g.name.c_str());
        for (const farbound::MeanError& m : (common ? g.common_summary : g.all_summary).accuracy)
          std::printf(" %16s", percent(m).c_str());
        std::printf("\n");
      }
    }
}

inline void print_eval_tables(const EvalFlags& f, const std::vector<farbound::ModelGroup<float>>& groups,
                              const std::vector<ModelEntry>& entries, const AttackComparisons& comparisons,
                              const std::optional<SuiteShares>& shares, const ModelMeasures& measures) {
  print_robust_accuracy(comparisons);
  if (shares) print_suite_shares(*shares);
  for (std::size_t m = 0; m < entries.size() && f.sanity; ++m)
    print_masking_checks(entries[m].path, f.epsilons.back(), measures.masking_points, measures.masking[m]);
  std::printf("\n%-16s %6s %16s %16s %16s %16s\n", "setting", "models", "clean acc (%)", "rho (success)",
              "DeepFool success", "OOD max softmax");
  for (const auto& g : groups) {
    std::vector<double> clean, rho, success, max_softmax;
    for (std::size_t m = 0; m < entries.size(); ++m) {
      if (entries[m].setting != g.name) continue;
      clean.push_back(measures.clean_accuracy[m]);
      rho.push_back(measures.rho[m].rho_successful);
      success.push_back(measures.rho[m].success_ratio);
      max_softmax.push_back(measures.ood[m].max.mean);
    }
    const bool with_rho = f.deepfool_max_iter > 0;
    std::printf("%-16s %6zu %16s %16s %16s %16s\n", g.name.c_str(), g.models.size(),
                percent(farbound::mean_standard_error(clean)).c_str(),
                with_rho ? mean_and_error(farbound::mean_standard_error(rho)).c_str() : "-",
                with_rho ? mean_and_error(farbound::mean_standard_error(success)).c_str() : "-",
                f.ood != "none" ? mean_and_error(farbound::mean_standard_error(max_softmax)).c_str() : "-");
  }
}

}  // namespace examples
