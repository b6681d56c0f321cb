#pragma once
// farbound-eval's report of a RobustnessSuite: which member removed how many points, per
// radius, summed over every model and point set the suite was run on; and one chart with
// the robust-accuracy curves of every attack.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "farbound/metrics/robust_accuracy.hpp"
#include "farbound/metrics/robustness_suite.hpp"
#include "support/charts.hpp"

namespace examples {

struct SuiteShares {
  std::vector<std::string> attacks;
  std::vector<double> epsilons;
  std::vector<std::int64_t> points;               // per radius: points attacked (summed over runs)
  std::vector<std::vector<std::int64_t>> removed;  // [radius][attack]
};

inline SuiteShares suite_shares(const std::vector<farbound::SuiteRun>& runs) {
  SuiteShares s;
  for (const farbound::SuiteRun& r : runs) {
    if (s.attacks.empty()) s.attacks = r.attacks;
    auto at = std::find(s.epsilons.begin(), s.epsilons.end(), r.eps);
    if (at == s.epsilons.end()) {
      s.epsilons.push_back(r.eps);
      s.points.push_back(0);
      s.removed.emplace_back(s.attacks.size(), 0);
      at = s.epsilons.end() - 1;
    }
    const auto k = std::size_t(at - s.epsilons.begin());
    s.points[k] += std::int64_t(r.fooled_by.size());
    for (std::size_t a = 0; a < r.removed.size(); ++a) s.removed[k][a] += r.removed[a];
  }
  return s;
}

inline double share(const SuiteShares& s, std::size_t eps, std::size_t attack) {
  return s.points[eps] > 0 ? double(s.removed[eps][attack]) / double(s.points[eps]) : 0.0;
}

inline void print_suite_shares(const SuiteShares& s) {
  std::printf("\nShare of points (%%) each suite attack removed first (all models and point sets)\n%-16s", "attack");
  for (double e : s.epsilons) {
    char head[32];
    std::snprintf(head, sizeof head, "eps %g", e);
    std::printf(" %16s", head);
  }
  std::printf("\n");
  for (std::size_t a = 0; a < s.attacks.size(); ++a) {
    std::printf("%-16s", s.attacks[a].c_str());
    for (std::size_t k = 0; k < s.epsilons.size(); ++k) std::printf(" %16.2f", 100 * share(s, k, a));
    std::printf("\n");
  }
}

inline nlohmann::json to_json(const SuiteShares& s) {
  nlohmann::json j = {{"attacks", s.attacks}, {"epsilons", s.epsilons}, {"points", s.points}};
  for (std::size_t a = 0; a < s.attacks.size(); ++a) {
    std::vector<double> v;
    for (std::size_t k = 0; k < s.epsilons.size(); ++k) v.push_back(share(s, k, a));
    j["removed_share"][s.attacks[a]] = v;
  }
  return j;
}

// Every (attack, setting) curve in one chart: the commonly-correct points where measured.
inline std::vector<LineSeries> all_attack_series(
    const std::vector<std::pair<std::string, farbound::RobustnessComparison>>& results,
    std::string (*title)(const std::string&)) {
  std::vector<LineSeries> series;
  for (const auto& [name, cmp] : results)
    for (const auto& g : cmp.groups) {
      const farbound::CurveSummary& s = g.common_points.empty() ? g.all_summary : g.common_summary;
      LineSeries line{g.name + ", " + title(name), s.epsilons, {}, {}};
      for (const farbound::MeanError& m : s.accuracy) line.y.push_back(m.mean), line.error.push_back(m.standard_error);
      series.push_back(std::move(line));
    }
  return series;
}

}  // namespace examples
